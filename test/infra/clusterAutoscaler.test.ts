import assert from "node:assert/strict";
import { evaluateStack, type RecordedResource, type StackEvaluation } from "../../infra/harness";
import {
  AUTOSCALER_NODEGROUP_PERMISSIONS,
  AUTOSCALER_READ_PERMISSIONS,
  AUTOSCALER_SCALING_PERMISSIONS,
  clusterAutoscalerImageTag,
} from "../../infra/components/clusterAutoscaler";
import { cpuStack, devStack, irsaRole, policyOf, stateString, T, variantStack } from "./support/stacks";

const COMPONENT = "onnx-eks-serving:index:ClusterAutoscaler";
const CLUSTER = "onnx-eks-serving-dev";
const ACCOUNT = "123456789012";

/** The autoscaler's inline IAM policy, parsed from its JSON. */
const autoscalerPolicy = (
  ev: StackEvaluation,
): { Version: string; Statement: Array<Record<string, unknown>> } =>
  policyOf(irsaRole(ev, "cluster-autoscaler-irsa").policy as RecordedResource);

const valuesOf = (release: RecordedResource): Record<string, unknown> =>
  release.inputs.values as Record<string, unknown>;

describe("clusterAutoscaler: node autoscaling for the managed node groups (mocks)", () => {
  let dev: StackEvaluation;
  let variant: StackEvaluation;
  let cpu: StackEvaluation;
  let release: RecordedResource;
  before(async () => {
    [dev, variant, cpu] = await Promise.all([devStack(), variantStack(), cpuStack()]);
    release = dev.one(T.release, "cluster-autoscaler-release");
  });

  describe("IAM", () => {
    it("only kube-system/cluster-autoscaler can assume its role, through the cluster's OIDC provider, for STS", () => {
      const ids = dev.one(T.cluster).state.identities as Array<{ oidcs: Array<{ issuer: string }> }>;
      const issuer = ids[0].oidcs[0].issuer.replace(/^https:\/\//, "");
      assert.deepEqual(policyOf(irsaRole(dev, "cluster-autoscaler-irsa").role, "assumeRolePolicy"), {
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Federated: stateString(dev.one(T.oidc), "arn") },
            Action: "sts:AssumeRoleWithWebIdentity",
            Condition: {
              StringEquals: {
                [`${issuer}:sub`]: "system:serviceaccount:kube-system:cluster-autoscaler",
                [`${issuer}:aud`]: "sts.amazonaws.com",
              },
            },
          },
        ],
      });
    });

    it("describes on *, DescribeNodegroup on this cluster's node groups, scaling only on groups tagged as this cluster's", () => {
      assert.deepEqual(autoscalerPolicy(dev), {
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DescribeNodeGroups",
            Effect: "Allow",
            Action: [
              "autoscaling:DescribeAutoScalingGroups",
              "autoscaling:DescribeAutoScalingInstances",
              "autoscaling:DescribeScalingActivities",
              "ec2:DescribeLaunchTemplateVersions",
              "ec2:DescribeInstanceTypes",
              "ec2:DescribeImages",
            ],
            Resource: "*",
          },
          {
            Sid: "DescribeClusterManagedNodeGroups",
            Effect: "Allow",
            Action: ["eks:DescribeNodegroup"],
            Resource: [`arn:aws:eks:us-west-2:${ACCOUNT}:nodegroup/${CLUSTER}/*/*`],
          },
          {
            Sid: "ScaleClusterNodeGroups",
            Effect: "Allow",
            Action: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
            Resource: [`arn:aws:autoscaling:us-west-2:${ACCOUNT}:autoScalingGroup:*:autoScalingGroupName/*`],
            Condition: {
              StringEquals: {
                "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
                [`aws:ResourceTag/k8s.io/cluster-autoscaler/${CLUSTER}`]: "owned",
              },
            },
          },
        ],
      });
      assert.equal(
        irsaRole(dev, "cluster-autoscaler-irsa").policy?.inputs.role,
        stateString(irsaRole(dev, "cluster-autoscaler-irsa").role, "name"),
      );
    });

    it("has no wildcard action, and no write action on * or without the cluster tag condition", () => {
      for (const statement of autoscalerPolicy(dev).Statement) {
        const actions = statement.Action as string[];
        for (const action of actions) assert.ok(!action.includes("*"), `wildcard action ${action}`);
        const writes = actions.filter((a) => !/^[a-z0-9]+:(Describe|Get)/.test(a));
        if (writes.length === 0) continue;
        assert.notEqual(statement.Resource, "*", `${writes.join(", ")} on *`);
        assert.ok(
          (statement.Resource as string[]).every((r) => r !== "*"),
          `${writes.join(", ")} on *`,
        );
        const condition = statement.Condition as { StringEquals: Record<string, string> } | undefined;
        assert.equal(
          condition?.StringEquals[`aws:ResourceTag/k8s.io/cluster-autoscaler/${CLUSTER}`],
          "owned",
          `${writes.join(", ")} without the cluster tag condition`,
        );
      }
    });

    it("gives a reason for every action", () => {
      for (const p of [
        ...AUTOSCALER_READ_PERMISSIONS,
        ...AUTOSCALER_NODEGROUP_PERMISSIONS,
        ...AUTOSCALER_SCALING_PERMISSIONS,
      ]) {
        assert.ok(p.why.length >= 40, `${p.action}: reason too short: ${p.why}`);
      }
    });
  });

  describe("Helm release", () => {
    it("is the official chart at the configured version in kube-system", () => {
      assert.equal(release.inputs.name, "cluster-autoscaler");
      assert.equal(release.inputs.chart, "cluster-autoscaler");
      assert.deepEqual(release.inputs.repositoryOpts, { repo: "https://kubernetes.github.io/autoscaler" });
      assert.equal(release.inputs.version, "9.59.0");
      assert.equal(release.inputs.namespace, "kube-system");
      assert.equal(release.inputs.atomic, true);
    });

    it("has exactly the expected values: discovery by this cluster's tags, region, IRSA, flags, system nodes, restricted security context", () => {
      assert.deepEqual(valuesOf(release), {
        cloudProvider: "aws",
        awsRegion: "us-west-2",
        autoDiscovery: {
          clusterName: CLUSTER,
          tags: ["k8s.io/cluster-autoscaler/enabled", `k8s.io/cluster-autoscaler/${CLUSTER}`],
        },
        image: { tag: "v1.35.2" },
        rbac: {
          serviceAccount: {
            create: true,
            name: "cluster-autoscaler",
            annotations: {
              "eks.amazonaws.com/role-arn": stateString(irsaRole(dev, "cluster-autoscaler-irsa").role, "arn"),
            },
          },
        },
        extraArgs: {
          "balance-similar-node-groups": true,
          expander: "least-waste",
          "skip-nodes-with-system-pods": false,
          "skip-nodes-with-local-storage": false,
          "scale-down-unneeded-time": "15m",
          "scale-down-delay-after-add": "15m",
        },
        replicaCount: 1,
        nodeSelector: { "node.onnx-eks-serving/role": "system" },
        resources: { requests: { cpu: "100m", memory: "300Mi" }, limits: { memory: "600Mi" } },
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
      });
    });

    it("runs the autoscaler release of the cluster's Kubernetes minor and the configured chart", () => {
      const values = valuesOf(variant.one(T.release, "cluster-autoscaler-release"));
      assert.equal(variant.config.clusterVersion, "1.34");
      assert.deepEqual(values.image, { tag: "v1.34.5" });
      assert.equal(variant.one(T.release, "cluster-autoscaler-release").inputs.version, "9.58.0");
      assert.equal(clusterAutoscalerImageTag("1.31"), undefined);
    });

    it("is installed after its IAM policy, the system and GPU node groups and CoreDNS", () => {
      assert.ok(
        dev.dependsOn(release, irsaRole(dev, "cluster-autoscaler-irsa").policy as RecordedResource),
        "after the IRSA policy",
      );
      assert.ok(dev.dependsOn(release, dev.one(T.nodeGroup, "cluster-system")), "after the system nodes");
      assert.ok(dev.dependsOn(release, dev.one(T.nodeGroup, "gpu-nodes")), "after the GPU nodes");
      assert.ok(dev.dependsOn(release, dev.one(T.addon, "cluster-coredns")), "after coredns");
      assert.ok(dev.dependsOn(release, dev.one(T.cluster)), "after the cluster");
    });

    it("is installed without GPUs too (it scales the system nodes), after them", () => {
      const cpuRelease = cpu.one(T.release, "cluster-autoscaler-release");
      assert.ok(cpu.dependsOn(cpuRelease, cpu.one(T.nodeGroup, "cluster-system")));
      assert.deepEqual(valuesOf(cpuRelease).nodeSelector, { "node.onnx-eks-serving/role": "system" });
    });
  });

  describe("node groups", () => {
    it("leave their desired size to the autoscaler (set at creation, then ignored), and keep it when it is off", async () => {
      const off = await evaluateStack("dev", { clusterAutoscaler: "false" });
      for (const name of ["cluster-system", "gpu-nodes"]) {
        assert.deepEqual(
          dev.one(T.nodeGroup, name).options.ignoreChanges,
          ["scalingConfig.desiredSize"],
          name,
        );
        assert.deepEqual(off.one(T.nodeGroup, name).options.ignoreChanges, [], `${name}, autoscaler off`);
        assert.deepEqual(
          dev.one(T.nodeGroup, name).inputs.scalingConfig,
          off.one(T.nodeGroup, name).inputs.scalingConfig,
          `${name}: the sizes Pulumi creates the group with do not change`,
        );
      }
      // Pulumi.dev.yaml: gpuNodesMin 0, gpuNodesDesired 0, gpuNodesMax 3 (churn computes on CPU)
      assert.deepEqual(dev.one(T.nodeGroup, "gpu-nodes").inputs.scalingConfig, {
        minSize: 0,
        desiredSize: 0,
        maxSize: 3,
      });
    });
  });

  describe("clusterAutoscaler false", () => {
    it("creates no autoscaler, role, policy or release, and nothing else changes", async () => {
      const off = await evaluateStack("dev", { clusterAutoscaler: "false" });
      assert.deepEqual(off.all(COMPONENT), []);
      assert.deepEqual(off.all(T.release, "cluster-autoscaler-release"), []);
      assert.deepEqual(off.all(T.role, "cluster-autoscaler-irsa-role"), []);
      assert.deepEqual(off.all(T.rolePolicy, "cluster-autoscaler-irsa-policy"), []);
      const names = (ev: StackEvaluation): string[] => ev.resources.map((r) => `${r.type} ${r.name}`).sort();
      const removed = names(dev).filter((n) => !names(off).includes(n));
      assert.deepEqual(removed, [
        "aws:iam/role:Role cluster-autoscaler-irsa-role",
        "aws:iam/rolePolicy:RolePolicy cluster-autoscaler-irsa-policy",
        "kubernetes:helm.sh/v3:Release cluster-autoscaler-release",
        "onnx-eks-serving:index:ClusterAutoscaler cluster-autoscaler",
        "onnx-eks-serving:index:IrsaRole cluster-autoscaler-irsa",
      ]);
      assert.deepEqual(
        names(off).filter((n) => !names(dev).includes(n)),
        [],
      );
    });
  });
});
