import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import {
  accessLogBucketPolicy,
  accessLogPrefixProblem,
  ELB_LOG_DELIVERY_PRINCIPAL,
} from "../../infra/components/accessLogBucket";
import { loadBalancerArgProblems } from "../../infra/components/loadBalancer";
import { evaluateStack, type StackEvaluation } from "../../infra/harness";
import { devStack, evaluateEntryPoint, policyOf, stateString, T } from "./support/stacks";

const COMPONENT = "onnx-eks-serving:index:AccessLogBucket";
const ACCOUNT = "123456789012";
/** The Elastic Load Balancing account of us-west-2 (the dev stack's region) and of eu-west-1. */
const ELB_ACCOUNT_US_WEST_2 = "arn:aws:iam::797873946194:root";
const ELB_ACCOUNT_EU_WEST_1 = "arn:aws:iam::156460612806:root";

const bucketOf = (ev: StackEvaluation) => ev.one(T.bucket, "alb-logs-bucket");
const bucketName = (ev: StackEvaluation): string => stateString(bucketOf(ev), "bucket");

/** The access-log policy the docs prescribe for `bucket`: the Region's ELB account if it has one, else the log delivery service. */
function expectedPolicy(bucket: string, elbAccountArn?: string): unknown {
  const arn = `arn:aws:s3:::${bucket}`;
  const logObjects = `${arn}/alb/AWSLogs/${ACCOUNT}/*`;
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [arn, `${arn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
      elbAccountArn
        ? {
            Sid: "ElbRegionalAccountWritesAccessLogs",
            Effect: "Allow",
            Principal: { AWS: elbAccountArn },
            Action: "s3:PutObject",
            Resource: logObjects,
          }
        : {
            Sid: "ElbLogDeliveryWritesAccessLogs",
            Effect: "Allow",
            Principal: { Service: "logdelivery.elasticloadbalancing.amazonaws.com" },
            Action: "s3:PutObject",
            Resource: logObjects,
          },
    ],
  };
}

describe("accessLogBucket: ALB access logs into a private bucket (mocks)", () => {
  let dev: StackEvaluation;
  let ireland: StackEvaluation;
  let uae: StackEvaluation;
  let shortRetention: StackEvaluation;
  let off: StackEvaluation;
  before(async () => {
    [dev, ireland, uae, shortRetention, off] = await Promise.all([
      devStack(),
      evaluateStack("dev", { "aws:region": "eu-west-1" }),
      // Middle East (UAE) opened in August 2022: no ELB account, the service principal only.
      evaluateStack("dev", { "aws:region": "me-central-1" }),
      evaluateStack("dev", { albAccessLogRetentionDays: "7" }),
      evaluateStack("dev", { albAccessLogs: "false" }),
    ]);
  });

  describe("bucket", () => {
    it("is on by default: one AccessLogBucket component owning the bucket and its settings", () => {
      const component = dev.one(COMPONENT, "alb-logs");
      assert.deepEqual(
        dev
          .childrenOf(component)
          .map((r) => [r.type, r.name])
          .sort(),
        [
          [T.bucket, "alb-logs-bucket"],
          [T.lifecycle, "alb-logs-lifecycle"],
          [T.bucketPolicy, "alb-logs-policy"],
          [T.encryption, "alb-logs-encryption"],
          [T.ownership, "alb-logs-ownership"],
          [T.publicAccess, "alb-logs-public-access"],
        ].sort(),
      );
      assert.equal(bucketOf(dev).inputs.forceDestroy, false);
    });

    it("blocks every kind of public access", () => {
      assert.deepEqual(
        { ...dev.one(T.publicAccess, "alb-logs-public-access").inputs },
        {
          bucket: bucketOf(dev).id,
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        },
      );
    });

    it("disables ACLs: the bucket owner owns every log object", () => {
      const ownership = dev.one(T.ownership, "alb-logs-ownership");
      assert.equal(ownership.inputs.bucket, bucketOf(dev).id);
      assert.deepEqual(ownership.inputs.rule, { objectOwnership: "BucketOwnerEnforced" });
    });

    it("encrypts with SSE-S3 (AES256), the only encryption ALB access logs support; no KMS key", () => {
      const sse = dev.one(T.encryption, "alb-logs-encryption");
      assert.equal(sse.inputs.bucket, bucketOf(dev).id);
      assert.deepEqual(sse.inputs.rules, [
        { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
      ]);
    });

    it("expires log objects after albAccessLogRetentionDays (default 90)", () => {
      const rules = (ev: StackEvaluation): unknown => ev.one(T.lifecycle, "alb-logs-lifecycle").inputs.rules;
      const expected = (days: number): unknown => [
        { id: "expire-access-logs", status: "Enabled", filter: { prefix: "" }, expiration: { days } },
      ];
      assert.deepEqual(rules(dev), expected(90));
      assert.deepEqual(rules(shortRetention), expected(7));
    });
  });

  describe("bucket policy", () => {
    it("us-west-2 (before August 2022): TLS only; PutObject on alb/AWSLogs/<account>/* for the Region's ELB account only", () => {
      const policy = dev.one(T.bucketPolicy, "alb-logs-policy");
      assert.equal(policy.inputs.bucket, bucketOf(dev).id);
      assert.deepEqual(policyOf(policy), expectedPolicy(bucketName(dev), ELB_ACCOUNT_US_WEST_2));
    });

    it("eu-west-1: the principal is that Region's ELB account", () => {
      assert.deepEqual(
        policyOf(ireland.one(T.bucketPolicy, "alb-logs-policy")),
        expectedPolicy(bucketName(ireland), ELB_ACCOUNT_EU_WEST_1),
      );
    });

    it("me-central-1 (August 2022 or later): the log delivery service principal only, and no ELB account lookup", () => {
      // The mocks fail getServiceAccount for such Regions as the provider does: this evaluation
      // succeeding shows the lookup is not made there.
      assert.deepEqual(policyOf(uae.one(T.bucketPolicy, "alb-logs-policy")), expectedPolicy(bucketName(uae)));
    });

    it("is put after the public access block", () => {
      assert.ok(
        dev.dependsOn(
          dev.one(T.bucketPolicy, "alb-logs-policy"),
          dev.one(T.publicAccess, "alb-logs-public-access"),
        ),
      );
    });
  });

  describe("load balancer", () => {
    it("writes its access logs to the bucket under the prefix alb", () => {
      assert.deepEqual(dev.one(T.alb, "serving").inputs.accessLogs, {
        enabled: true,
        bucket: bucketName(dev),
        prefix: "alb",
      });
    });

    it("is created only after the bucket policy, ownership, encryption and public access block", () => {
      const alb = dev.one(T.alb, "serving");
      for (const [type, name] of [
        [T.bucketPolicy, "alb-logs-policy"],
        [T.ownership, "alb-logs-ownership"],
        [T.encryption, "alb-logs-encryption"],
        [T.publicAccess, "alb-logs-public-access"],
      ]) {
        const dep = dev.one(type, name);
        assert.ok(alb.dependsOn.includes(dep.urn), `the ALB must wait for ${type} ${name}`);
      }
    });

    it("albAccessLogs=false: no log bucket, no policy, no accessLogs on the ALB", () => {
      assert.deepEqual(off.all(COMPONENT), []);
      assert.deepEqual(
        off.all(T.bucket).map((b) => b.name),
        ["models-bucket"],
      );
      assert.deepEqual(off.all(T.bucketPolicy, /^alb-logs/), []);
      assert.equal(off.one(T.alb, "serving").inputs.accessLogs, undefined);
      assert.equal(off.outputs.albAccessLogBucketName, "");
    });

    it("the stack exports the bucket name as albAccessLogBucketName (infra/index.ts too)", async () => {
      assert.equal(dev.outputs.albAccessLogBucketName, bucketName(dev));
      const entry = await evaluateEntryPoint();
      assert.equal(entry.outputs.albAccessLogBucketName, bucketName(dev));
    });
  });

  describe("policy and prefix rules", () => {
    it("without a prefix the log objects are AWSLogs/<account>/* at the bucket root", () => {
      const doc = accessLogBucketPolicy({ bucketArn: "arn:aws:s3:::logs", prefix: "", accountId: ACCOUNT });
      assert.deepEqual(
        doc.Statement.map((s) => [s.Sid, s.Principal, s.Resource]),
        [
          ["DenyInsecureTransport", "*", ["arn:aws:s3:::logs", "arn:aws:s3:::logs/*"]],
          [
            "ElbLogDeliveryWritesAccessLogs",
            { Service: ELB_LOG_DELIVERY_PRINCIPAL },
            `arn:aws:s3:::logs/AWSLogs/${ACCOUNT}/*`,
          ],
        ],
      );
    });

    it("refuses prefixes ELB does not accept, naming the value", () => {
      assert.equal(accessLogPrefixProblem("alb"), undefined);
      assert.equal(accessLogPrefixProblem("prod/alb"), undefined);
      assert.equal(accessLogPrefixProblem(""), undefined);
      for (const bad of ["/alb", "alb/", "logs/AWSLogs", "a b"]) {
        assert.equal(
          accessLogPrefixProblem(bad),
          `prefix must be "" or S3 key segments without a leading or trailing "/" and without "AWSLogs" ` +
            `(ELB adds AWSLogs/<account-id>/ itself), got ${JSON.stringify(bad)}`,
        );
      }
    });

    it("the load balancer checks the prefix it is given", () => {
      const problems = loadBalancerArgProblems({
        vpcId: "vpc-1",
        publicSubnetIds: ["subnet-1", "subnet-2"],
        clusterSecurityGroupId: "sg-1",
        accessLogs: { bucketName: pulumi.output("logs"), prefix: "alb/", writeDependencies: [] },
      });
      assert.deepEqual(problems, [
        'accessLogs.prefix must be "" or S3 key segments without a leading or trailing "/" and without ' +
          '"AWSLogs" (ELB adds AWSLogs/<account-id>/ itself), got "alb/"',
      ]);
    });
  });
});
