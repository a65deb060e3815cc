import assert from "node:assert/strict";
import type { RecordedResource, StackEvaluation } from "../../infra/harness";
import {
  CONTROLLER_READ_PERMISSIONS,
  CONTROLLER_TARGET_PERMISSIONS,
  loadBalancerControllerPolicy,
} from "../../infra/components/loadBalancerController";
import { SYSTEM_NODE_LABEL } from "../../infra/components/cluster";
import { modelReaderPolicy } from "../../infra/components/servingIdentity";
import { devStack, irsaRole, policyOf, stateString, T, variantStack } from "./support/stacks";

/** The issuer host/path of the recorded cluster (what IRSA conditions are keyed by). */
function issuerOf(ev: StackEvaluation): string {
  const ids = ev.one(T.cluster).state.identities as Array<{ oidcs: Array<{ issuer: string }> }>;
  return ids[0].oidcs[0].issuer.replace(/^https:\/\//, "");
}

/** Asserts an IRSA trust policy for exactly one ServiceAccount. */
function assertIrsaTrust(ev: StackEvaluation, role: RecordedResource, subject: string): void {
  const issuer = issuerOf(ev);
  assert.deepEqual(policyOf(role, "assumeRolePolicy"), {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: stateString(ev.one(T.oidc), "arn") },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: { StringEquals: { [`${issuer}:sub`]: subject, [`${issuer}:aud`]: "sts.amazonaws.com" } },
      },
    ],
  });
}

/** Every action of a policy, flattened. */
function actionsOf(policy: { Statement: Array<Record<string, unknown>> }): string[] {
  return policy.Statement.flatMap((s) =>
    Array.isArray(s.Action) ? (s.Action as string[]) : [s.Action as string],
  );
}

describe("servingIdentity: IRSA role of the model server (mocks)", () => {
  let dev: StackEvaluation;
  let variant: StackEvaluation;
  before(async () => {
    [dev, variant] = await Promise.all([devStack(), variantStack()]);
  });

  it("only model-serving/model-server can assume it, through the cluster's OIDC provider, for STS", () => {
    assertIrsaTrust(
      dev,
      irsaRole(dev, "serving-identity-irsa").role,
      "system:serviceaccount:model-serving:model-server",
    );
  });

  it("follows the configured serving namespace", () => {
    assertIrsaTrust(
      variant,
      irsaRole(variant, "serving-identity-irsa").role,
      "system:serviceaccount:ml-serving:model-server",
    );
  });

  it("may read objects under models/ (listing only that prefix), put objects under experiments/ only, and use the bucket key only via S3", () => {
    const { policy } = irsaRole(dev, "serving-identity-irsa");
    assert.ok(policy, "the serving role needs an inline policy");
    const bucketArn = stateString(dev.one(T.bucket, "models-bucket"), "arn");
    const keyArn = stateString(dev.one(T.kmsKey, "models-key"), "arn");
    assert.deepEqual(policyOf(policy), {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "ReadModelArtifacts",
          Effect: "Allow",
          Action: ["s3:GetObject"],
          Resource: [`${bucketArn}/models/*`],
        },
        {
          Sid: "ListModelVersions",
          Effect: "Allow",
          Action: ["s3:ListBucket"],
          Resource: [bucketArn],
          Condition: { StringLike: { "s3:prefix": ["models/*"] } },
        },
        {
          Sid: "DecryptModelArtifacts",
          Effect: "Allow",
          Action: ["kms:Decrypt"],
          Resource: [keyArn],
          Condition: { StringEquals: { "kms:ViaService": "s3.us-west-2.amazonaws.com" } },
        },
        {
          Sid: "WriteExperimentRecords",
          Effect: "Allow",
          Action: ["s3:PutObject"],
          Resource: [`${bucketArn}/experiments/*`],
        },
        {
          Sid: "EncryptExperimentRecords",
          Effect: "Allow",
          Action: ["kms:GenerateDataKey"],
          Resource: [keyArn],
          Condition: { StringEquals: { "kms:ViaService": "s3.us-west-2.amazonaws.com" } },
        },
      ],
    });
    assert.equal(policy.inputs.role, stateString(irsaRole(dev, "serving-identity-irsa").role, "name"));
  });

  it("grants no delete, no write outside experiments/ and no wildcard action", () => {
    const policy = policyOf(irsaRole(dev, "serving-identity-irsa").policy as RecordedResource);
    const actions = actionsOf(policy);
    assert.deepEqual(actions.sort(), [
      "kms:Decrypt",
      "kms:GenerateDataKey",
      "s3:GetObject",
      "s3:ListBucket",
      "s3:PutObject",
    ]);
    const puts = policy.Statement.filter((st) => (st.Action as string[]).includes("s3:PutObject"));
    assert.deepEqual(
      puts.map((st) => (st.Resource as string[]).map((r) => r.replace(/^arn:aws:s3:::[^/]+/, ""))),
      [["/experiments/*"]],
    );
    assert.ok(
      actions.every((a) => !a.includes("*")),
      `wildcard in ${actions.join(", ")}`,
    );
  });

  it("modelReaderPolicy scopes to another prefix when asked", () => {
    const p = modelReaderPolicy({
      bucketArn: "arn:aws:s3:::b",
      kmsKeyArn: "arn:aws:kms:eu-west-1:1:key/k",
      region: "eu-west-1",
      prefix: "models/churn/",
    });
    assert.deepEqual(p.Statement[0].Resource, ["arn:aws:s3:::b/models/churn/*"]);
    assert.deepEqual(p.Statement[1].Condition, { StringLike: { "s3:prefix": ["models/churn/*"] } });
    assert.deepEqual(p.Statement[2].Condition, {
      StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" },
    });
  });
});

describe("loadBalancerController: TargetGroupBinding-only controller (mocks)", () => {
  let dev: StackEvaluation;
  let variant: StackEvaluation;
  let release: RecordedResource;
  before(async () => {
    [dev, variant] = await Promise.all([devStack(), variantStack()]);
    release = dev.one(T.release, "lb-controller-release");
  });
  const controllerPolicy = (
    ev: StackEvaluation,
  ): { Version: string; Statement: Array<Record<string, unknown>> } =>
    policyOf(irsaRole(ev, "lb-controller-irsa").policy as RecordedResource);

  describe("IAM", () => {
    it("only kube-system/aws-load-balancer-controller can assume its role", () => {
      assertIrsaTrust(
        dev,
        irsaRole(dev, "lb-controller-irsa").role,
        "system:serviceaccount:kube-system:aws-load-balancer-controller",
      );
    });

    it("has no wildcard action", () => {
      const actions = actionsOf(controllerPolicy(dev));
      assert.ok(actions.length > 0);
      for (const action of actions) assert.ok(!action.includes("*"), `wildcard action ${action}`);
    });

    it("cannot create, delete or modify load balancers, listeners, rules or target groups", () => {
      const forbidden = actionsOf(controllerPolicy(dev)).filter((a) =>
        /^elasticloadbalancing:(Create|Delete|Modify|Add|Remove|Set)/.test(a),
      );
      assert.deepEqual(forbidden, []);
    });

    it("has no EC2 write action (Pulumi owns the security-group rules)", () => {
      const ec2Writes = actionsOf(controllerPolicy(dev)).filter(
        (a) => a.startsWith("ec2:") && !a.startsWith("ec2:Describe"),
      );
      assert.deepEqual(ec2Writes, []);
    });

    it("allows exactly the describes the binding reconciler needs, and target registration on the stack's target groups only", () => {
      const policy = controllerPolicy(dev);
      const targetGroupArns = dev.all(T.targetGroup).map((tg) => stateString(tg, "arn"));
      assert.equal(targetGroupArns.length, 2, "blue and green target groups");
      assert.equal(policy.Version, "2012-10-17");
      assert.deepEqual(policy.Statement, [
        {
          Sid: "DescribeForTargetGroupBindings",
          Effect: "Allow",
          Action: [
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetHealth",
            "ec2:DescribeVpcs",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeInstances",
          ],
          Resource: "*",
        },
        {
          Sid: "RegisterPodTargets",
          Effect: "Allow",
          Action: ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
          Resource: policy.Statement[1].Resource,
        },
      ]);
      assert.deepEqual((policy.Statement[1].Resource as string[]).slice().sort(), targetGroupArns.sort());
    });

    it("gives a reason for every action", () => {
      for (const p of [...CONTROLLER_READ_PERMISSIONS, ...CONTROLLER_TARGET_PERMISSIONS]) {
        assert.ok(p.why.length >= 40, `${p.action}: reason too short: ${p.why}`);
      }
    });

    it("without known target groups, registration is scoped to the account's target groups in the region", () => {
      const p = loadBalancerControllerPolicy({
        partition: "aws",
        region: "eu-west-1",
        accountId: "111122223333",
      });
      assert.deepEqual(p.Statement[1].Resource, [
        "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/*/*",
      ]);
    });
  });

  describe("Helm release", () => {
    it("is the official chart at the configured version in kube-system", () => {
      assert.equal(release.inputs.chart, "aws-load-balancer-controller");
      assert.deepEqual(release.inputs.repositoryOpts, { repo: "https://aws.github.io/eks-charts" });
      assert.equal(release.inputs.version, "1.13.3");
      assert.equal(release.inputs.namespace, "kube-system");
      assert.equal(variant.one(T.release, "lb-controller-release").inputs.version, "1.13.2");
    });

    it("knows its cluster, region and VPC (no instance metadata lookups)", () => {
      const values = release.inputs.values as Record<string, unknown>;
      assert.equal(values.clusterName, "onnx-eks-serving-dev");
      assert.equal(values.region, "us-west-2");
      assert.equal(values.vpcId, dev.one(T.vpc).state.vpcId);
    });

    it("creates its ServiceAccount annotated with the IRSA role's ARN", () => {
      const values = release.inputs.values as Record<string, unknown>;
      assert.deepEqual(values.serviceAccount, {
        create: true,
        name: "aws-load-balancer-controller",
        annotations: {
          "eks.amazonaws.com/role-arn": stateString(irsaRole(dev, "lb-controller-irsa").role, "arn"),
        },
      });
    });

    it("runs 2 replicas on the system nodes, with no tolerations", () => {
      const values = release.inputs.values as Record<string, unknown>;
      assert.equal(values.replicaCount, 2);
      assert.deepEqual(values.nodeSelector, { ...SYSTEM_NODE_LABEL });
      assert.equal(values.tolerations, undefined);
      assert.deepEqual(values.podDisruptionBudget, { maxUnavailable: 1 });
    });

    it("manages no load balancers itself: no Service mutation, no IngressClass, no WAF/Shield", () => {
      const values = release.inputs.values as Record<string, unknown>;
      assert.equal(values.enableServiceMutatorWebhook, false);
      assert.equal(values.createIngressClassResource, false);
      assert.equal(values.enableShield, false);
      assert.equal(values.enableWaf, false);
      assert.equal(values.enableWafv2, false);
    });

    it("is installed after its policy, the system nodes and CoreDNS", () => {
      assert.ok(
        dev.dependsOn(release, irsaRole(dev, "lb-controller-irsa").policy as RecordedResource),
        "after the IRSA policy",
      );
      assert.ok(dev.dependsOn(release, dev.one(T.nodeGroup, "cluster-system")), "after the system nodes");
      assert.ok(dev.dependsOn(release, dev.one(T.addon, "cluster-coredns")), "after coredns");
    });
  });
});
