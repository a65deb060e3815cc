/**
 * EKS managed node groups the way this stack runs them: each with its own launch template
 * (IMDSv2 only, encrypted gp3 root volume), rolling one node at a time. The system nodes
 * (components/cluster.ts) and the GPU nodes (components/gpuNodeGroup.ts) are both made here.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

/**
 * Launch template for managed node groups: IMDSv2 only with a hop limit of 1, so pods cannot use
 * the node role's credentials (they get their own through IRSA), and an encrypted gp3 root volume.
 * No security groups here: EKS then attaches the cluster security group to the nodes.
 */
export function nodeLaunchTemplate(
  name: string,
  args: { diskSizeGiB: number; nameTag: string; tags?: Record<string, string> },
  opts: pulumi.CustomResourceOptions,
): aws.ec2.LaunchTemplate {
  return new aws.ec2.LaunchTemplate(
    name,
    {
      description: `Nodes of ${args.nameTag}`,
      updateDefaultVersion: true,
      metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
      blockDeviceMappings: [
        {
          // The root device of the EKS AL2023 AMIs.
          deviceName: "/dev/xvda",
          ebs: {
            volumeSize: args.diskSizeGiB,
            volumeType: "gp3",
            encrypted: "true",
            deleteOnTermination: "true",
          },
        },
      ],
      tagSpecifications: [
        { resourceType: "instance", tags: { ...args.tags, Name: args.nameTag } },
        { resourceType: "volume", tags: { ...args.tags, Name: args.nameTag } },
      ],
      tags: args.tags,
    },
    opts,
  );
}

export interface ManagedNodeGroupArgs {
  /** Cluster name. Required. */
  readonly clusterName: pulumi.Input<string>;
  /** Kubernetes version of the nodes (the cluster's). Required. */
  readonly kubernetesVersion: pulumi.Input<string>;
  /** Node IAM role. Required. */
  readonly nodeRoleArn: pulumi.Input<string>;
  /** Subnets of the nodes (private). Required. */
  readonly subnetIds: pulumi.Input<string[]>;
  /** EKS AMI type. Required. */
  readonly amiType: "AL2023_x86_64_STANDARD" | "AL2023_x86_64_NVIDIA";
  /** "ON_DEMAND" or "SPOT". Required. */
  readonly capacityType: "ON_DEMAND" | "SPOT";
  /** Instance types. Required. */
  readonly instanceTypes: readonly string[];
  /** Group sizes. Required. */
  readonly scaling: { readonly minSize: number; readonly desiredSize: number; readonly maxSize: number };
  /** Root volume per node, GiB. Required. */
  readonly diskSizeGiB: number;
  /** Name tag of the instances and volumes. Required. */
  readonly nameTag: string;
  /** Kubernetes labels of the nodes. Required. */
  readonly labels: Readonly<Record<string, string>>;
  /** Kubernetes taints of the nodes (EKS spelling of the effect). Default: none. */
  readonly taints?: ReadonlyArray<{ readonly key: string; readonly value: string; readonly effect: string }>;
  /** Tags for the AWS resources. Default {}. */
  readonly tags?: Record<string, string>;
  /**
   * The Cluster Autoscaler owns the group's desired size: Pulumi sets it at creation and ignores
   * it afterwards, or a `pulumi up --refresh` would undo the autoscaler's scaling. Default false.
   */
  readonly autoscaled?: boolean;
}

/**
 * A launch template and the managed node group using it, both named `name`. `opts` apply to the
 * node group (the template only takes its parent): its `dependsOn` says what the nodes wait for.
 */
export function managedNodeGroup(
  name: string,
  args: ManagedNodeGroupArgs,
  opts: pulumi.CustomResourceOptions,
): aws.eks.NodeGroup {
  const template = nodeLaunchTemplate(
    name,
    { diskSizeGiB: args.diskSizeGiB, nameTag: args.nameTag, tags: args.tags },
    { parent: opts.parent },
  );
  return new aws.eks.NodeGroup(
    name,
    {
      clusterName: args.clusterName,
      version: args.kubernetesVersion,
      nodeRoleArn: args.nodeRoleArn,
      subnetIds: args.subnetIds,
      amiType: args.amiType,
      capacityType: args.capacityType,
      instanceTypes: [...args.instanceTypes],
      scalingConfig: { ...args.scaling },
      updateConfig: { maxUnavailable: 1 },
      launchTemplate: { id: template.id, version: template.latestVersion.apply(String) },
      labels: { ...args.labels },
      ...(args.taints ? { taints: args.taints.map((t) => ({ ...t })) } : {}),
      tags: args.tags ?? {},
    },
    args.autoscaled
      ? { ...opts, ignoreChanges: [...(opts.ignoreChanges ?? []), "scalingConfig.desiredSize"] }
      : opts,
  );
}
