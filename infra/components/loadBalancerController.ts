/**
 * AWS Load Balancer Controller in TargetGroupBinding-only mode: Pulumi owns the ALB, listeners,
 * rules, target groups and security-group rules; the controller only keeps each target group's
 * registered pod IPs in step with its Service's ready endpoints and drives the pods' target-health
 * readiness gates.
 *
 * Its IRSA policy is least privilege for exactly that job: register/deregister targets on target
 * groups, and the read-only calls the TargetGroupBinding reconciler and its webhooks make. No
 * elasticloadbalancing Create or Delete action at all, no security-group writes (bindings carry
 * no `networking` section, so the controller never authorizes ingress rules), no "*" action.
 *
 * Sources: the controller's documented "IAM permission subset for those who use
 * TargetGroupBinding only" (docs/deploy/installation.md) and its TargetGroupBinding reconciler
 * (pkg/targetgroupbinding). ModifyTargetGroup and ModifyTargetGroupAttributes from that subset are
 * left out on purpose: Pulumi owns the target groups' settings (health check, deregistration delay)
 * and the reconciler never changes them.
 */
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { SYSTEM_NODE_LABEL } from "./cluster";
import type { PolicyDocument } from "./irsaRole";
import { irsaHelmRelease } from "./irsaHelmRelease";

export const LB_CONTROLLER_CHART_REPO = "https://aws.github.io/eks-charts";
export const LB_CONTROLLER_NAMESPACE = "kube-system";
export const LB_CONTROLLER_SERVICE_ACCOUNT = "aws-load-balancer-controller";

/** One permission and the reason the controller needs it. */
export interface ControllerPermission {
  readonly action: string;
  readonly why: string;
}

/** Read-only calls; these actions support no resource-level scoping, so they apply to "*". */
export const CONTROLLER_READ_PERMISSIONS: readonly ControllerPermission[] = [
  {
    action: "elasticloadbalancing:DescribeTargetGroups",
    why: "The TargetGroupBinding webhooks read the target group's target type, VPC and IP address type to default and validate each binding.",
  },
  {
    action: "elasticloadbalancing:DescribeTargetHealth",
    why: "The reconciler lists registered targets and their health: to diff against ready endpoints and to set the pods' readiness-gate condition.",
  },
  {
    action: "ec2:DescribeVpcs",
    why: "Before registering pod IPs the reconciler reads the VPC's CIDRs (targets outside them need AvailabilityZone=all).",
  },
  {
    action: "ec2:DescribeSecurityGroups",
    why: "Every reconcile runs the networking manager's clean-up pass, which looks up security groups tagged for the cluster (it finds no rules to revoke: bindings have no networking section).",
  },
  {
    action: "ec2:DescribeInstances",
    why: "Resolves node/instance ENIs in the binding reconciler; part of the controller's documented TargetGroupBinding-only policy.",
  },
];

/** Target registration; scoped to the stack's target groups when they are known. */
export const CONTROLLER_TARGET_PERMISSIONS: readonly ControllerPermission[] = [
  {
    action: "elasticloadbalancing:RegisterTargets",
    why: "Registers each ready pod IP of a color's Service in that color's target group.",
  },
  {
    action: "elasticloadbalancing:DeregisterTargets",
    why: "Deregisters pod IPs that are terminating or gone, so the ALB drains them before the pod exits.",
  },
];

/**
 * The controller's IAM policy. `targetGroupArns` scopes registration to exactly those target
 * groups; without it, to every target group of the account in the region.
 */
export function loadBalancerControllerPolicy(args: {
  partition: string;
  region: string;
  accountId: string;
  targetGroupArns?: readonly string[];
}): PolicyDocument {
  const targetGroups =
    args.targetGroupArns && args.targetGroupArns.length > 0
      ? [...args.targetGroupArns]
      : [`arn:${args.partition}:elasticloadbalancing:${args.region}:${args.accountId}:targetgroup/*/*`];
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DescribeForTargetGroupBindings",
        Effect: "Allow",
        Action: CONTROLLER_READ_PERMISSIONS.map((p) => p.action),
        Resource: "*",
      },
      {
        Sid: "RegisterPodTargets",
        Effect: "Allow",
        Action: CONTROLLER_TARGET_PERMISSIONS.map((p) => p.action),
        Resource: targetGroups,
      },
    ],
  };
}

export interface LoadBalancerControllerArgs {
  /** Kubernetes provider of the cluster. Required. */
  readonly provider: k8s.Provider;
  /** Cluster name (controller flag --cluster-name). Required. */
  readonly clusterName: pulumi.Input<string>;
  /** Region (set so the controller needs no instance metadata). Required. */
  readonly region: string;
  /** VPC id (set so the controller needs no instance metadata). Required. */
  readonly vpcId: pulumi.Input<string>;
  /** ARN of the cluster's IAM OIDC provider. Required. */
  readonly oidcProviderArn: pulumi.Input<string>;
  /** OIDC issuer without "https://". Required. */
  readonly oidcIssuer: pulumi.Input<string>;
  /** aws-load-balancer-controller chart version. Default "1.13.3". */
  readonly chartVersion?: string;
  /** Target groups the controller may register targets in. Default: any target group of the account in the region. */
  readonly targetGroupArns?: pulumi.Input<pulumi.Input<string>[]>;
  /** Controller replicas (leader election; 2 keeps the webhooks available during node drains). Default 2. */
  readonly replicas?: number;
  /** Resources the release waits for (system nodes, CoreDNS). Default []. */
  readonly dependsOn?: pulumi.Resource[];
  /** Tags for AWS resources. Default {}. */
  readonly tags?: Record<string, string>;
}

/** Helm values: TargetGroupBinding only, pinned to the system nodes, no metadata lookups. */
export function loadBalancerControllerValues(args: {
  clusterName: string;
  region: string;
  vpcId: string;
  roleArn: string;
  replicas: number;
}): Record<string, unknown> {
  return {
    clusterName: args.clusterName,
    region: args.region,
    vpcId: args.vpcId,
    replicaCount: args.replicas,
    serviceAccount: {
      create: true,
      name: LB_CONTROLLER_SERVICE_ACCOUNT,
      annotations: { "eks.amazonaws.com/role-arn": args.roleArn },
    },
    // System nodes only: no GPU toleration, so it never takes a GPU node's capacity.
    nodeSelector: { ...SYSTEM_NODE_LABEL },
    podDisruptionBudget: { maxUnavailable: 1 },
    // This controller manages no load balancers: do not claim Services of type LoadBalancer,
    // create no IngressClass, and skip the ingress-only WAF/Shield integrations (no permissions).
    enableServiceMutatorWebhook: false,
    createIngressClassResource: false,
    enableShield: false,
    enableWaf: false,
    enableWafv2: false,
  };
}

export class LoadBalancerController extends pulumi.ComponentResource {
  /** The Helm release; TargetGroupBindings depend on it (CRDs, webhooks and controller are up). */
  readonly release: k8s.helm.v3.Release;
  readonly roleArn: pulumi.Output<string>;

  constructor(name: string, args: LoadBalancerControllerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("onnx-eks-serving:index:LoadBalancerController", name, {}, opts);
    const replicas = args.replicas ?? 2;
    // The role's policy first: the controller's first reconcile must already be allowed.
    const { role, release } = irsaHelmRelease(
      name,
      {
        provider: args.provider,
        oidcProviderArn: args.oidcProviderArn,
        oidcIssuer: args.oidcIssuer,
        namespace: LB_CONTROLLER_NAMESPACE,
        serviceAccount: LB_CONTROLLER_SERVICE_ACCOUNT,
        description: "AWS Load Balancer Controller, TargetGroupBinding only",
        policy: ({ partition, accountId }) =>
          pulumi.all([partition, accountId, args.targetGroupArns ?? []]).apply(([p, account, tgs]) =>
            loadBalancerControllerPolicy({
              partition: p,
              region: args.region,
              accountId: account,
              targetGroupArns: tgs,
            }),
          ),
        chart: {
          name: "aws-load-balancer-controller",
          version: args.chartVersion ?? "1.13.3",
          repo: LB_CONTROLLER_CHART_REPO,
        },
        values: (roleArn) =>
          pulumi.all([args.clusterName, args.vpcId, roleArn]).apply(([clusterName, vpcId, arn]) =>
            loadBalancerControllerValues({
              clusterName,
              region: args.region,
              vpcId,
              roleArn: arn,
              replicas,
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
