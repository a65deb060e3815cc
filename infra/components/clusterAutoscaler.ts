/**
 * Kubernetes Cluster Autoscaler (AWS provider): adds nodes when pods are Pending for lack of
 * capacity (an HPA scaling a color past what the GPU nodes hold) and removes nodes that stay
 * underused, always within each node group's min/max (gpuNodesMin..gpuNodesMax; the system group
 * systemNodeCount..2 x systemNodeCount). It only ever changes an Auto Scaling group's desired size.
 *
 * Node groups are found by tag: EKS managed node groups tag their Auto Scaling groups for
 * auto-discovery by the Cluster Autoscaler themselves ("Nodes launched as part of a managed node
 * group are automatically tagged for auto-discovery by the Kubernetes Cluster Autoscaler",
 * docs.aws.amazon.com/eks/latest/userguide/managed-node-groups.html), with
 * `k8s.io/cluster-autoscaler/enabled` = "true" and `k8s.io/cluster-autoscaler/<cluster>` = "owned".
 *
 * Its IRSA policy follows the "Full Cluster Autoscaler Features Policy (Recommended)" of
 * cluster-autoscaler/cloudprovider/aws/README.md, tightened as that README recommends: the two
 * write actions only on Auto Scaling groups of this account and region that carry both of this
 * cluster's tags, eks:DescribeNodegroup only on this cluster's node groups. Left out on purpose:
 * autoscaling:DescribeLaunchConfigurations (managed node groups use launch templates, never launch
 * configurations), ec2:GetInstanceTypesFromInstanceRequirements (only for attribute-based
 * instance selection, which managed node groups do not use) and autoscaling:DescribeTags
 * (discovery filters DescribeAutoScalingGroups by tag).
 *
 * Version: the Cluster Autoscaler's minor must match the Kubernetes minor (the autoscaler embeds
 * that release's scheduler and is not tested across versions), while the chart's default image
 * follows the newest release. So the image tag is chosen here from the cluster version, never left
 * to the chart.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { SYSTEM_NODE_LABEL } from "./cluster";
import type { PolicyDocument } from "./irsaRole";
import { irsaHelmRelease } from "./irsaHelmRelease";

export const CLUSTER_AUTOSCALER_CHART_REPO = "https://kubernetes.github.io/autoscaler";
/**
 * cluster-autoscaler chart 9.59.0 (appVersion 1.35.0). Its values (autoDiscovery, awsRegion,
 * rbac.serviceAccount, extraArgs, image.tag, nodeSelector, securityContext,
 * containerSecurityContext) are what {@link clusterAutoscalerValues} sets.
 */
export const DEFAULT_CLUSTER_AUTOSCALER_CHART_VERSION = "9.59.0";
export const CLUSTER_AUTOSCALER_NAMESPACE = "kube-system";
export const CLUSTER_AUTOSCALER_SERVICE_ACCOUNT = "cluster-autoscaler";

/**
 * Cluster Autoscaler image tag per Kubernetes minor: the newest patch release of the matching
 * release branch (registry.k8s.io/autoscaling/cluster-autoscaler), as of the review in issue 14:
 * 1.32.7, 1.33.6, 1.34.5, 1.35.2. A cluster minor missing here is refused by the config check
 * rather than run with a mismatched autoscaler.
 */
export const CLUSTER_AUTOSCALER_IMAGE_TAGS: Readonly<Record<string, string>> = {
  "1.32": "v1.32.7",
  "1.33": "v1.33.6",
  "1.34": "v1.34.5",
  "1.35": "v1.35.2",
};

/** The image tag for a cluster version "1.<minor>"; undefined when no matching release is known. */
export function clusterAutoscalerImageTag(kubernetesVersion: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(CLUSTER_AUTOSCALER_IMAGE_TAGS, kubernetesVersion)
    ? CLUSTER_AUTOSCALER_IMAGE_TAGS[kubernetesVersion]
    : undefined;
}

/** Tag key every managed node group's Auto Scaling group carries (value "true"). */
export const ENABLED_TAG = "k8s.io/cluster-autoscaler/enabled";
/** Tag key naming the cluster on its node groups' Auto Scaling groups (value "owned"). */
export const clusterTag = (clusterName: string): string => `k8s.io/cluster-autoscaler/${clusterName}`;

/** One permission and the reason the autoscaler needs it. */
export interface AutoscalerPermission {
  readonly action: string;
  readonly why: string;
}

/** Read-only calls; these actions support no resource-level scoping, so they apply to "*". */
export const AUTOSCALER_READ_PERMISSIONS: readonly AutoscalerPermission[] = [
  {
    action: "autoscaling:DescribeAutoScalingGroups",
    why: "Auto-discovery: lists the Auto Scaling groups carrying this cluster's tags, with their min, max, desired size and instances.",
  },
  {
    action: "autoscaling:DescribeAutoScalingInstances",
    why: "Maps each node's EC2 instance to its Auto Scaling group, so a node is removed through the group that owns it.",
  },
  {
    action: "autoscaling:DescribeScalingActivities",
    why: "Sees failed launches (e.g. InsufficientInstanceCapacity for GPU types) at once and backs off that group instead of waiting out max-node-provision-time.",
  },
  {
    action: "ec2:DescribeLaunchTemplateVersions",
    why: "Reads the instance type and AMI of a node group's launch template to build the template node of a group it scales from zero.",
  },
  {
    action: "ec2:DescribeInstanceTypes",
    why: "CPU, memory and GPU count of the instance types, so it knows whether a new node would fit the Pending pods (a GPU pod needs nvidia.com/gpu).",
  },
  {
    action: "ec2:DescribeImages",
    why: "Architecture and OS of the launch template's AMI, labels of the template node for a group scaled from zero.",
  },
];

/** Calls on this cluster's managed node groups only. */
export const AUTOSCALER_NODEGROUP_PERMISSIONS: readonly AutoscalerPermission[] = [
  {
    action: "eks:DescribeNodegroup",
    why: "Labels and taints of a managed node group at zero nodes (gpuNodesMin 0): without them the GPU pods' node selector and toleration match no template and the group is never scaled up.",
  },
];

/** Scaling; only on Auto Scaling groups tagged as this cluster's. */
export const AUTOSCALER_SCALING_PERMISSIONS: readonly AutoscalerPermission[] = [
  {
    action: "autoscaling:SetDesiredCapacity",
    why: "Scale-up: raises a node group's desired size (never above its max) when Pending pods fit its nodes.",
  },
  {
    action: "autoscaling:TerminateInstanceInAutoScalingGroup",
    why: "Scale-down: after draining an unneeded node, terminates exactly that instance and lowers the desired size with it.",
  },
];

/**
 * The autoscaler's IAM policy: reads on "*", eks:DescribeNodegroup on this cluster's node groups,
 * scaling only on Auto Scaling groups of the account and region tagged with both discovery tags
 * of this cluster (so it can never resize another cluster's, or any untagged, group).
 */
export function clusterAutoscalerPolicy(args: {
  partition: string;
  region: string;
  accountId: string;
  clusterName: string;
}): PolicyDocument {
  const { partition, region, accountId, clusterName } = args;
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DescribeNodeGroups",
        Effect: "Allow",
        Action: AUTOSCALER_READ_PERMISSIONS.map((p) => p.action),
        Resource: "*",
      },
      {
        Sid: "DescribeClusterManagedNodeGroups",
        Effect: "Allow",
        Action: AUTOSCALER_NODEGROUP_PERMISSIONS.map((p) => p.action),
        Resource: [`arn:${partition}:eks:${region}:${accountId}:nodegroup/${clusterName}/*/*`],
      },
      {
        Sid: "ScaleClusterNodeGroups",
        Effect: "Allow",
        Action: AUTOSCALER_SCALING_PERMISSIONS.map((p) => p.action),
        Resource: [
          `arn:${partition}:autoscaling:${region}:${accountId}:autoScalingGroup:*:autoScalingGroupName/*`,
        ],
        Condition: {
          StringEquals: {
            [`aws:ResourceTag/${ENABLED_TAG}`]: "true",
            [`aws:ResourceTag/${clusterTag(clusterName)}`]: "owned",
          },
        },
      },
    ],
  };
}

/** Scale-down timing, chosen for GPU nodes (see {@link clusterAutoscalerArgs}). */
export interface ScaleDownSettings {
  /** How long a node must be unneeded before it is removed. */
  readonly unneededTime: string;
  /** How long after a scale-up no node is removed. */
  readonly delayAfterAdd: string;
}

/**
 * Flags passed through the chart's `extraArgs` (rendered as `--<key>=<value>`). Discovery itself
 * comes from `autoDiscovery` (the chart renders `--node-group-auto-discovery=asg:tag=<tags>`).
 */
export function clusterAutoscalerArgs(scaleDown: ScaleDownSettings): Record<string, string | boolean> {
  return {
    // Groups with the same instance shape and labels (e.g. a GPU group per AZ, if one is added
    // for capacity) are grown evenly rather than one after the other.
    "balance-similar-node-groups": true,
    // Of the groups that fit the Pending pods, pick the one leaving the least idle CPU/memory (for
    // GPU pods: no bigger GPU instance than needed).
    expander: "least-waste",
    // CoreDNS, the controllers and this autoscaler run on the system nodes; they all have PDBs or
    // replicas elsewhere, so they must not pin a node forever.
    "skip-nodes-with-system-pods": false,
    // Serving pods keep their model cache in an emptyDir: it is re-downloadable, and with the
    // default (true) no GPU node running a serving pod could ever be removed.
    "skip-nodes-with-local-storage": false,
    // A GPU node takes minutes to replace (NVIDIA AMI boot, device plugin, a multi-GB CUDA image,
    // model load) and costs dollars per hour idle: remove it after a sustained idle period longer
    // than the HPA's 5-minute scale-in window, not on the first dip in traffic.
    "scale-down-unneeded-time": scaleDown.unneededTime,
    // After adding nodes, wait before removing any, so a scale-up is not undone while the new
    // pods are still pulling their image.
    "scale-down-delay-after-add": scaleDown.delayAfterAdd,
  };
}

export interface ClusterAutoscalerArgs {
  /** Kubernetes provider of the cluster. Required. */
  readonly provider: k8s.Provider;
  /** Cluster name: the discovery tags and the IAM scoping. Required. */
  readonly clusterName: pulumi.Input<string>;
  /** Kubernetes version of the cluster, "1.<minor>": picks the matching autoscaler release. Required. */
  readonly kubernetesVersion: string;
  /** Region (set so the autoscaler needs no instance metadata). Required. */
  readonly region: string;
  /** ARN of the cluster's IAM OIDC provider. Required. */
  readonly oidcProviderArn: pulumi.Input<string>;
  /** OIDC issuer without "https://". Required. */
  readonly oidcIssuer: pulumi.Input<string>;
  /** cluster-autoscaler chart version. Default {@link DEFAULT_CLUSTER_AUTOSCALER_CHART_VERSION} ("9.59.0"). */
  readonly chartVersion?: string;
  /** Scale-down timing. Default {unneededTime "15m", delayAfterAdd "15m"}. */
  readonly scaleDown?: ScaleDownSettings;
  /** Resources the release waits for (node groups, CoreDNS). Default []. */
  readonly dependsOn?: pulumi.Resource[];
  /** Tags for AWS resources. Default {}. */
  readonly tags?: Record<string, string>;
}

/** Helm values: tag discovery, matching image, IRSA, system nodes, restricted security context. */
export function clusterAutoscalerValues(args: {
  clusterName: string;
  region: string;
  roleArn: string;
  imageTag: string;
  scaleDown: ScaleDownSettings;
}): Record<string, unknown> {
  return {
    cloudProvider: "aws",
    awsRegion: args.region,
    autoDiscovery: {
      clusterName: args.clusterName,
      // Both keys, so a group needs this cluster's own tag too (the enabled tag is on every
      // managed node group of every cluster in the account).
      tags: [ENABLED_TAG, clusterTag(args.clusterName)],
    },
    image: { tag: args.imageTag },
    rbac: {
      serviceAccount: {
        create: true,
        name: CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
        annotations: { "eks.amazonaws.com/role-arn": args.roleArn },
      },
    },
    extraArgs: clusterAutoscalerArgs(args.scaleDown),
    // One replica (leader election is on by default): it is not on any request path, and a
    // rescheduled pod resumes from the cluster's state.
    replicaCount: 1,
    // System nodes only: no GPU toleration, so it never holds a GPU node up (or takes its capacity).
    nodeSelector: { ...SYSTEM_NODE_LABEL },
    resources: { requests: { cpu: "100m", memory: "300Mi" }, limits: { memory: "600Mi" } },
    // Restricted Pod Security Standard: the image runs as non-root and writes nothing to disk.
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 65534,
      runAsGroup: 65534,
      fsGroup: 65534,
      seccompProfile: { type: "RuntimeDefault" },
    },
    containerSecurityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    },
  };
}

export class ClusterAutoscaler extends pulumi.ComponentResource {
  readonly release: k8s.helm.v3.Release;
  readonly roleArn: pulumi.Output<string>;

  constructor(name: string, args: ClusterAutoscalerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("onnx-eks-serving:index:ClusterAutoscaler", name, {}, opts);
    const imageTag = clusterAutoscalerImageTag(args.kubernetesVersion);
    if (imageTag === undefined) {
      throw new Error(
        `ClusterAutoscaler ${name}: no Cluster Autoscaler release known for Kubernetes ` +
          `${JSON.stringify(args.kubernetesVersion)}; known: ${Object.keys(CLUSTER_AUTOSCALER_IMAGE_TAGS).join(", ")}`,
      );
    }
    const scaleDown = args.scaleDown ?? { unneededTime: "15m", delayAfterAdd: "15m" };
    // The role's policy first (its first discovery must already be allowed), and the node groups
    // (args.dependsOn), so their Auto Scaling groups exist and are tagged when it starts.
    const { role, release } = irsaHelmRelease(
      name,
      {
        provider: args.provider,
        oidcProviderArn: args.oidcProviderArn,
        oidcIssuer: args.oidcIssuer,
        namespace: CLUSTER_AUTOSCALER_NAMESPACE,
        serviceAccount: CLUSTER_AUTOSCALER_SERVICE_ACCOUNT,
        description: "Cluster Autoscaler, this cluster's tagged node groups only",
        policy: ({ partition, accountId }) =>
          pulumi
            .all([partition, accountId, args.clusterName])
            .apply(([p, account, clusterName]) =>
              clusterAutoscalerPolicy({ partition: p, region: args.region, accountId: account, clusterName }),
            ),
        chart: {
          name: "cluster-autoscaler",
          version: args.chartVersion ?? DEFAULT_CLUSTER_AUTOSCALER_CHART_VERSION,
          repo: CLUSTER_AUTOSCALER_CHART_REPO,
        },
        values: (roleArn) =>
          pulumi.all([args.clusterName, roleArn]).apply(([clusterName, arn]) =>
            clusterAutoscalerValues({
              clusterName,
              region: args.region,
              roleArn: arn,
              imageTag,
              scaleDown,
            }),
          ),
        dependsOn: args.dependsOn,
        tags: args.tags,
      },
      this,
    );
    this.roleArn = role.roleArn;
    this.release = release;
    this.registerOutputs({ roleArn: this.roleArn });
  }
}
