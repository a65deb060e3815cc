import assert from "node:assert/strict";
import type { StackEvaluation } from "../../infra/harness";
import {
  AUTOSCALER_GPU_LABEL,
  autoscalerGpuType,
  GPU_NODE_LABELS,
  GPU_TAINT,
  NVIDIA_DEVICE_PLUGIN_REPO,
} from "../../infra/components/gpuNodeGroup";
import { cpuStack, devStack, T, variantStack } from "./support/stacks";

describe("gpuNodeGroup: GPU nodes and the NVIDIA device plugin (mocks)", () => {
  let dev: StackEvaluation;
  let variant: StackEvaluation;
  let cpu: StackEvaluation;
  before(async () => {
    [dev, variant, cpu] = await Promise.all([devStack(), variantStack(), cpuStack()]);
  });

  describe("node group", () => {
    it("runs the AL2023 NVIDIA AMI", () => {
      assert.equal(dev.one(T.nodeGroup, "gpu-nodes").inputs.amiType, "AL2023_x86_64_NVIDIA");
    });

    it("uses the configured instance types, capacity and scaling (dev: g5.xlarge on demand, 0/0/3)", () => {
      const nodes = dev.one(T.nodeGroup, "gpu-nodes");
      assert.deepEqual(nodes.inputs.instanceTypes, ["g5.xlarge"]);
      assert.equal(nodes.inputs.capacityType, "ON_DEMAND");
      assert.deepEqual(nodes.inputs.scalingConfig, { minSize: 0, desiredSize: 0, maxSize: 3 });
      const spot = variant.one(T.nodeGroup, "gpu-nodes");
      assert.deepEqual(spot.inputs.instanceTypes, ["g6.xlarge", "g5.2xlarge"]);
      assert.equal(spot.inputs.capacityType, "SPOT");
      assert.deepEqual(spot.inputs.scalingConfig, { minSize: 0, desiredSize: 1, maxSize: 4 });
    });

    it("labels its nodes as NVIDIA GPU nodes, with the GPU type the Cluster Autoscaler reads", () => {
      assert.deepEqual(dev.one(T.nodeGroup, "gpu-nodes").inputs.labels, {
        "node.onnx-eks-serving/accelerator": "nvidia",
        "nvidia.com/gpu.present": "true",
        "k8s.amazonaws.com/accelerator": "nvidia-a10g",
      });
      assert.deepEqual(dev.one(T.nodeGroup, "gpu-nodes").inputs.labels, {
        ...GPU_NODE_LABELS,
        [AUTOSCALER_GPU_LABEL]: "nvidia-a10g",
      });
      // g6.xlarge (L4) and g5.2xlarge (A10G) in one group: one label, the generic value.
      assert.equal(
        variant.one(T.nodeGroup, "gpu-nodes").inputs.labels
          ? (variant.one(T.nodeGroup, "gpu-nodes").inputs.labels as Record<string, string>)[
              AUTOSCALER_GPU_LABEL
            ]
          : undefined,
        "nvidia",
      );
    });

    it("autoscalerGpuType: the GPU of the instance families, generic when they differ", () => {
      const cases: Array<[string[], string]> = [
        [["g5.xlarge"], "nvidia-a10g"],
        [["g5.xlarge", "g5.2xlarge"], "nvidia-a10g"],
        [["g4dn.xlarge"], "nvidia-tesla-t4"],
        [["g6.xlarge", "gr6.4xlarge"], "nvidia-l4"],
        [["p5.48xlarge"], "nvidia-h100"],
        [["g6.xlarge", "g5.xlarge"], "nvidia"],
        [["g7.xlarge"], "nvidia"],
      ];
      for (const [types, expected] of cases)
        assert.equal(autoscalerGpuType(types), expected, types.join(","));
    });

    it("waits for vpc-cni and kube-proxy, as the system nodes do (no self-managed add-ons to fall back on)", () => {
      const nodes = dev.one(T.nodeGroup, "gpu-nodes");
      for (const addon of ["cluster-vpc-cni", "cluster-kube-proxy"]) {
        assert.ok(dev.dependsOn(nodes, dev.one(T.addon, addon)), `gpu-nodes must wait for ${addon}`);
        assert.ok(dev.dependsOn(dev.one(T.nodeGroup, "cluster-system"), dev.one(T.addon, addon)));
      }
    });

    it("taints its nodes nvidia.com/gpu NO_SCHEDULE so only GPU pods land there", () => {
      assert.deepEqual(dev.one(T.nodeGroup, "gpu-nodes").inputs.taints, [
        { key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" },
      ]);
      assert.deepEqual(GPU_TAINT, { key: "nvidia.com/gpu", value: "true", effect: "NO_SCHEDULE" });
    });

    it("runs in the private subnets with the cluster's node role and Kubernetes version", () => {
      const nodes = dev.one(T.nodeGroup, "gpu-nodes");
      assert.deepEqual(nodes.inputs.subnetIds, dev.one(T.vpc).state.privateSubnetIds);
      assert.equal(nodes.inputs.nodeRoleArn, dev.one(T.role, "cluster-node").state.arn);
      assert.equal(nodes.inputs.clusterName, "onnx-eks-serving-dev");
      assert.equal(nodes.inputs.version, "1.35");
      for (const attachment of dev.all(T.attachment, /^cluster-node-/)) {
        assert.ok(dev.dependsOn(nodes, attachment), `gpu-nodes must wait for ${attachment.name}`);
      }
    });

    it("sizes the root volume from config in a launch template with IMDSv2 only", () => {
      const nodes = dev.one(T.nodeGroup, "gpu-nodes");
      const template = dev.one(T.launchTemplate, "gpu-nodes");
      assert.deepEqual(nodes.inputs.launchTemplate, { id: template.id, version: "1" });
      assert.equal(nodes.inputs.diskSize, undefined, "disk size lives in the launch template");
      const ebs = (template.inputs.blockDeviceMappings as Array<{ ebs: Record<string, unknown> }>)[0].ebs;
      assert.equal(ebs.volumeSize, 100);
      assert.equal(ebs.encrypted, "true");
      const variantEbs = (
        variant.one(T.launchTemplate, "gpu-nodes").inputs.blockDeviceMappings as Array<{
          ebs: Record<string, unknown>;
        }>
      )[0].ebs;
      assert.equal(variantEbs.volumeSize, 200);
      assert.deepEqual(template.inputs.metadataOptions, {
        httpEndpoint: "enabled",
        httpTokens: "required",
        httpPutResponseHopLimit: 1,
      });
    });
  });

  describe("device plugin", () => {
    it("is the official chart at the configured version, in kube-system", () => {
      const plugin = dev.one(T.release, "gpu-device-plugin");
      assert.equal(plugin.inputs.chart, "nvidia-device-plugin");
      assert.deepEqual(plugin.inputs.repositoryOpts, { repo: "https://nvidia.github.io/k8s-device-plugin" });
      assert.equal(NVIDIA_DEVICE_PLUGIN_REPO, "https://nvidia.github.io/k8s-device-plugin");
      assert.equal(plugin.inputs.version, "0.17.1");
      assert.equal(plugin.inputs.namespace, "kube-system");
      assert.equal(variant.one(T.release, "gpu-device-plugin").inputs.version, "0.17.0");
    });

    it("tolerates the GPU taint and selects the GPU nodes", () => {
      const values = dev.one(T.release, "gpu-device-plugin").inputs.values as Record<string, unknown>;
      assert.deepEqual(values.tolerations, [
        { key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" },
        { key: "CriticalAddonsOnly", operator: "Exists" },
      ]);
      assert.deepEqual(values.nodeSelector, { "node.onnx-eks-serving/accelerator": "nvidia" });
      assert.equal(values.priorityClassName, "system-node-critical");
    });

    it("is installed after the GPU nodes and the cluster's core add-ons", () => {
      const plugin = dev.one(T.release, "gpu-device-plugin");
      assert.ok(dev.dependsOn(plugin, dev.one(T.nodeGroup, "gpu-nodes")), "after gpu-nodes");
      assert.ok(dev.dependsOn(plugin, dev.one(T.addon, "cluster-coredns")), "after coredns");
    });
  });

  describe("gpuEnabled false (CPU-only dev)", () => {
    it("creates no GPU node group, launch template or device plugin", () => {
      assert.deepEqual(
        cpu.all(T.nodeGroup).map((n) => n.name),
        ["cluster-system"],
      );
      assert.deepEqual(
        cpu.all(T.launchTemplate).map((n) => n.name),
        ["cluster-system"],
      );
      assert.deepEqual(
        cpu
          .all(T.release)
          .map((r) => r.name)
          .sort(),
        ["cluster-autoscaler-release", "lb-controller-release"],
      );
      assert.deepEqual(cpu.all("onnx-eks-serving:index:GpuNodeGroup"), []);
    });
  });
});
