/**
 * GPU nodes: an EKS managed node group on the AL2023 NVIDIA AMI (driver and container toolkit
 * preinstalled), labelled and tainted so only pods that ask for GPUs land there, plus the NVIDIA
 * device plugin (official Helm chart) that advertises `nvidia.com/gpu` on those nodes.
 *
 * Pods that want a GPU request `nvidia.com/gpu`, tolerate {@link GPU_TAINT} and select
 * {@link GPU_NODE_LABELS}. The stack creates this component only when `gpuEnabled` is true; with
 * GPUs off (CPU-only dev), nothing here exists and serving runs on the system nodes.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { managedNodeGroup } from "./managedNodeGroup";

/** Labels of every GPU node. `nvidia.com/gpu.present` is what the device plugin chart's default affinity selects. */
export const GPU_NODE_LABELS = {
  "node.onnx-eks-serving/accelerator": "nvidia",
  "nvidia.com/gpu.present": "true",
} as const;

/**
 * The label the Cluster Autoscaler's AWS provider reads to know a node has a GPU before the device
 * plugin advertises `nvidia.com/gpu` (cluster-autoscaler/cloudprovider/aws/README.md, "Special
 * note on GPU instances"): without it a new GPU node looks GPU-less for the plugin's start-up, the
 * Pending GPU pod still does not fit, and the autoscaler adds another node. Its value is the GPU
 * type; the presence is what stops the over-scaling.
 */
export const AUTOSCALER_GPU_LABEL = "k8s.amazonaws.com/accelerator";

/** GPU of each x86_64 NVIDIA instance family, as the autoscaler README spells types (nvidia-tesla-k80). */
export const GPU_TYPE_BY_FAMILY: Readonly<Record<string, string>> = {
  p3: "nvidia-tesla-v100",
  p3dn: "nvidia-tesla-v100",
  g4dn: "nvidia-tesla-t4",
  g5: "nvidia-a10g",
  g6: "nvidia-l4",
  gr6: "nvidia-l4",
  g6e: "nvidia-l40s",
  p4d: "nvidia-tesla-a100",
  p4de: "nvidia-tesla-a100",
  p5: "nvidia-h100",
  p5e: "nvidia-h200",
  p5en: "nvidia-h200",
};

/**
 * The {@link AUTOSCALER_GPU_LABEL} value for a node group's instance types: their GPU type when
 * they share one, else "nvidia" (one label per group; presence is what the autoscaler needs).
 */
export function autoscalerGpuType(instanceTypes: readonly string[]): string {
  const types = new Set(instanceTypes.map((t) => GPU_TYPE_BY_FAMILY[t.split(".")[0]] ?? "nvidia"));
  return types.size === 1 ? [...types][0] : "nvidia";
}

/** The taint keeping everything that does not tolerate it off the GPU nodes. */
export const GPU_TAINT = { key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" } as const;

/** The Kubernetes form of the toleration for {@link GPU_TAINT} (EKS spells the effect NO_SCHEDULE, Kubernetes NoSchedule). */
export const GPU_TOLERATION = { key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" } as const;

export const NVIDIA_DEVICE_PLUGIN_REPO = "https://nvidia.github.io/k8s-device-plugin";

export interface GpuNodeGroupArgs {
  /** Cluster name. Required. */
  readonly clusterName: pulumi.Input<string>;
  /** Kubernetes version of the nodes (the cluster's). Required. */
  readonly kubernetesVersion: pulumi.Input<string>;
  /** Node role (shared with the system nodes). Required. */
  readonly nodeRoleArn: pulumi.Input<string>;
  /** Private subnets for the nodes. Required. */
  readonly subnetIds: pulumi.Input<string[]>;
  /** Kubernetes provider of the cluster. Required. */
  readonly provider: k8s.Provider;
  /** x86_64 NVIDIA instance types. Default ["g5.xlarge"]. */
  readonly instanceTypes?: readonly string[];
  /** Minimum nodes. Default 1. */
  readonly minSize?: number;
  /** Desired nodes. Default 1. */
  readonly desiredSize?: number;
  /** Maximum nodes. Default 3. */
  readonly maxSize?: number;
  /** The Cluster Autoscaler sizes the group between min and max (Pulumi sets `desiredSize` only at creation). Default false. */
  readonly autoscaled?: boolean;
  /** Root volume per node, GiB (CUDA images are large). Default 100. */
  readonly diskSizeGiB?: number;
  /** "ON_DEMAND" or "SPOT". Default "ON_DEMAND". */
  readonly capacityType?: "ON_DEMAND" | "SPOT";
  /** nvidia-device-plugin chart version. Default "0.17.1". */
  readonly devicePluginChartVersion?: string;
  /** Resources the node group waits for (node role attachments, CNI). Default []. */
  readonly dependsOn?: pulumi.Resource[];
  /** Resources the device plugin waits for (system nodes, CoreDNS). Default []. */
  readonly devicePluginDependsOn?: pulumi.Resource[];
  /** Tags for AWS resources. Default {}. */
  readonly tags?: Record<string, string>;
}

/** Helm values of the NVIDIA device plugin: run only on our GPU nodes, tolerating their taint. */
export function devicePluginValues(): Record<string, unknown> {
  return {
    nodeSelector: {
      "node.onnx-eks-serving/accelerator": GPU_NODE_LABELS["node.onnx-eks-serving/accelerator"],
    },
    tolerations: [{ ...GPU_TOLERATION }, { key: "CriticalAddonsOnly", operator: "Exists" }],
    // A node without the plugin cannot run any GPU pod: keep it scheduled ahead of workloads.
    priorityClassName: "system-node-critical",
    // GPU feature discovery is not needed: the node group labels its nodes itself.
    gfd: { enabled: false },
  };
}

export class GpuNodeGroup extends pulumi.ComponentResource {
  readonly nodeGroup: aws.eks.NodeGroup;
  readonly devicePlugin: k8s.helm.v3.Release;
  /** What GPU workloads wait for: nodes and the device plugin. */
  readonly workloadDependencies: pulumi.Resource[];

  constructor(name: string, args: GpuNodeGroupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("onnx-eks-serving:index:GpuNodeGroup", name, {}, opts);
    const instanceTypes = args.instanceTypes ?? ["g5.xlarge"];
    const minSize = args.minSize ?? 1;
    const desiredSize = args.desiredSize ?? 1;
    const maxSize = args.maxSize ?? 3;
    if (instanceTypes.length === 0) throw new Error(`GpuNodeGroup ${name}: instanceTypes must not be empty`);
    if (!(minSize <= desiredSize && desiredSize <= maxSize)) {
      throw new Error(
        `GpuNodeGroup ${name}: need minSize <= desiredSize <= maxSize, got ${minSize}, ${desiredSize}, ${maxSize}`,
      );
    }
    const tags = args.tags ?? {};

    this.nodeGroup = managedNodeGroup(
      `${name}-nodes`,
      {
        clusterName: args.clusterName,
        kubernetesVersion: args.kubernetesVersion,
        nodeRoleArn: args.nodeRoleArn,
        subnetIds: args.subnetIds,
        // NVIDIA driver and container toolkit are part of this AMI; the device plugin is not.
        amiType: "AL2023_x86_64_NVIDIA",
        capacityType: args.capacityType ?? "ON_DEMAND",
        instanceTypes,
        scaling: { minSize, desiredSize, maxSize },
        diskSizeGiB: args.diskSizeGiB ?? 100,
        nameTag: `${name}-gpu`,
        autoscaled: args.autoscaled ?? false,
        // Set by the kubelet at registration, before the device plugin runs.
        labels: { ...GPU_NODE_LABELS, [AUTOSCALER_GPU_LABEL]: autoscalerGpuType(instanceTypes) },
        taints: [{ ...GPU_TAINT }],
        tags,
      },
      { parent: this, dependsOn: args.dependsOn ?? [] },
    );

    this.devicePlugin = new k8s.helm.v3.Release(
      `${name}-device-plugin`,
      {
        name: "nvidia-device-plugin",
        chart: "nvidia-device-plugin",
        version: args.devicePluginChartVersion ?? "0.17.1",
        repositoryOpts: { repo: NVIDIA_DEVICE_PLUGIN_REPO },
        namespace: "kube-system",
        values: devicePluginValues(),
        atomic: true,
        cleanupOnFail: true,
      },
      {
        parent: this,
        provider: args.provider,
        // After the GPU nodes, so the DaemonSet rolls out onto them and GPUs are advertised
        // before any workload that requests one is created.
        dependsOn: [this.nodeGroup, ...(args.devicePluginDependsOn ?? [])],
      },
    );
    this.workloadDependencies = [this.nodeGroup, this.devicePlugin];
    this.registerOutputs({ nodeGroupArn: this.nodeGroup.arn });
  }
}
