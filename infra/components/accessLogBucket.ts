/**
 * The bucket the ALB writes its access logs to: a per-request record of production traffic kept
 * by AWS, off the serving pods' CPU (they log only 4xx/5xx answers by default). Every public
 * access path blocked, ACLs disabled (bucket owner enforced), SSE-S3, TLS-only, and a lifecycle
 * that expires log objects after a configurable number of days.
 *
 * The bucket policy follows "Enable access logs for your Application Load Balancer" (Elastic Load
 * Balancing user guide, Step 2 "Attach a policy to your S3 bucket"): s3:PutObject on exactly
 * `<bucket>/<prefix>/AWSLogs/<account-id>/*`, granted to the Region's Elastic Load Balancing
 * account in the Regions the guide lists (those available before August 2022), and to the log
 * delivery service principal `logdelivery.elasticloadbalancing.amazonaws.com` in every other Region.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { PolicyDocument, PolicyStatement } from "./irsaRole";
import { privateBucket, tlsOnlyBucketPolicy } from "./privateBucket";

/** The service principal ELB writes access logs as in Regions available as of August 2022 or later. */
export const ELB_LOG_DELIVERY_PRINCIPAL = "logdelivery.elasticloadbalancing.amazonaws.com";

/**
 * Regions whose access logs are written by a regional Elastic Load Balancing account (the Regions
 * available before August 2022, as the ALB user guide lists them). `aws.elb.getServiceAccount`
 * knows the account of exactly these and fails with "unsupported AWS Region" on any other, so it
 * is only called for them; every other Region gets the service principal alone. Same list as the
 * provider's (terraform-provider-aws internal/service/elb/service_account_data_source.go).
 */
export const ELB_ACCOUNT_REGIONS: ReadonlySet<string> = new Set([
  "af-south-1",
  "ap-east-1",
  "ap-northeast-1",
  "ap-northeast-2",
  "ap-northeast-3",
  "ap-south-1",
  "ap-southeast-1",
  "ap-southeast-2",
  "ap-southeast-3",
  "ca-central-1",
  "cn-north-1",
  "cn-northwest-1",
  "eu-central-1",
  "eu-north-1",
  "eu-south-1",
  "eu-west-1",
  "eu-west-2",
  "eu-west-3",
  "me-south-1",
  "sa-east-1",
  "us-east-1",
  "us-east-2",
  "us-gov-east-1",
  "us-gov-west-1",
  "us-west-1",
  "us-west-2",
]);

export interface AccessLogBucketArgs {
  /** Region of the bucket and the load balancer (they must be the same); picks the policy's principals. Required. */
  readonly region: string;
  /** Key prefix the load balancer writes under (no leading or trailing "/", no "AWSLogs"; "" = none). Default "alb". */
  readonly prefix?: string;
  /** Days after which a log object is deleted (1-3650). Default 90. */
  readonly expirationDays?: number;
  /** Tags for every resource. Default {}. */
  readonly tags?: Record<string, string>;
}

/** Why `prefix` cannot be an access-log prefix, or undefined when it can. */
export function accessLogPrefixProblem(prefix: string): string | undefined {
  // ELB appends "/AWSLogs/<account>/..." itself and refuses a prefix that contains AWSLogs.
  if (prefix === "") return undefined;
  if (!/^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/.test(prefix) || prefix.includes("AWSLogs")) {
    return (
      `prefix must be "" or S3 key segments without a leading or trailing "/" and without "AWSLogs" ` +
      `(ELB adds AWSLogs/<account-id>/ itself), got ${JSON.stringify(prefix)}`
    );
  }
  return undefined;
}

/** The key prefix ELB writes under: `[<prefix>/]AWSLogs/<account-id>/`. */
export function accessLogKeyPrefix(prefix: string, accountId: string): string {
  return `${prefix === "" ? "" : `${prefix}/`}AWSLogs/${accountId}/`;
}

/**
 * Bucket policy of the access-log bucket: TLS only, and s3:PutObject on the stack account's log
 * prefix for ELB. Scoping the resource to `AWSLogs/<our account>/` means a load balancer of any
 * other account (which ELB files under its own account id) cannot write here.
 */
export function accessLogBucketPolicy(p: {
  readonly bucketArn: string;
  readonly prefix: string;
  readonly accountId: string;
  /** `arn:<partition>:iam::<elb-account-id>:root` of the Region, when it has one. */
  readonly elbAccountArn?: string;
}): PolicyDocument {
  const logObjects = `${p.bucketArn}/${accessLogKeyPrefix(p.prefix, p.accountId)}*`;
  // Exactly as the guide says, one writer per Region: its ELB account where it has one, the log
  // delivery service elsewhere. (Granting the service in the older Regions too would be harmless
  // in the aws partition, but that principal is not documented for China or GovCloud.)
  const writers: PolicyStatement[] = [
    p.elbAccountArn === undefined
      ? {
          Sid: "ElbLogDeliveryWritesAccessLogs",
          Effect: "Allow",
          Principal: { Service: ELB_LOG_DELIVERY_PRINCIPAL },
          Action: "s3:PutObject",
          Resource: logObjects,
        }
      : {
          Sid: "ElbRegionalAccountWritesAccessLogs",
          Effect: "Allow",
          Principal: { AWS: p.elbAccountArn },
          Action: "s3:PutObject",
          Resource: logObjects,
        },
  ];
  return {
    Version: "2012-10-17",
    Statement: [...tlsOnlyBucketPolicy(p.bucketArn).Statement, ...writers],
  };
}

/** Where a load balancer writes its access logs, and what must exist before it may. */
export interface AccessLogDestination {
  readonly bucketName: pulumi.Output<string>;
  /** Key prefix ("" = the bucket root). */
  readonly prefix: string;
  /** ELB test-writes when access logs are turned on: the load balancer waits for these. */
  readonly writeDependencies: readonly pulumi.Resource[];
}

export class AccessLogBucket extends pulumi.ComponentResource implements AccessLogDestination {
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;
  readonly prefix: string;
  /** The bucket policy that lets ELB write (plus the settings it writes under). */
  readonly policy: aws.s3.BucketPolicy;
  readonly writeDependencies: readonly pulumi.Resource[];

  constructor(name: string, args: AccessLogBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("onnx-eks-serving:index:AccessLogBucket", name, {}, opts);
    const prefix = args.prefix ?? "alb";
    const expirationDays = args.expirationDays ?? 90;
    const problems: string[] = [];
    if (!(Number.isInteger(expirationDays) && expirationDays >= 1 && expirationDays <= 3650)) {
      problems.push(
        `expirationDays must be an integer from 1 to 3650, got ${JSON.stringify(expirationDays)}`,
      );
    }
    const prefixProblem = accessLogPrefixProblem(prefix);
    if (prefixProblem !== undefined) problems.push(prefixProblem);
    if (problems.length > 0) throw new Error(`AccessLogBucket ${name}: ${problems.join("; ")}`);
    const tags = args.tags ?? {};
    const parent = { parent: this };

    // The logs are the audit record of the traffic: a stack destroy must not empty the bucket.
    const { bucket, publicAccess, ownership } = privateBucket(name, tags, parent);
    // SSE-S3, not SSE-KMS: "The only server-side encryption option that's supported is Amazon
    // S3-managed keys (SSE-S3)" (ALB user guide, access log bucket requirements).
    const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] },
      parent,
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: bucket.id,
        rules: [
          {
            id: "expire-access-logs",
            status: "Enabled",
            filter: { prefix: "" },
            expiration: { days: expirationDays },
          },
        ],
      },
      parent,
    );

    const accountId = aws.getCallerIdentityOutput({}, parent).accountId;
    const elbAccountArn: pulumi.Output<string | undefined> = ELB_ACCOUNT_REGIONS.has(args.region)
      ? aws.elb.getServiceAccountOutput({ region: args.region }, parent).arn
      : pulumi.output(undefined);
    this.policy = new aws.s3.BucketPolicy(
      `${name}-policy`,
      {
        bucket: bucket.id,
        policy: pulumi
          .all([bucket.arn, accountId, elbAccountArn])
          .apply(([bucketArn, account, elbArn]) =>
            JSON.stringify(
              accessLogBucketPolicy({ bucketArn, prefix, accountId: account, elbAccountArn: elbArn }),
            ),
          ),
      },
      // A policy put while the public access block is being written can fail; order them.
      { parent: this, dependsOn: [publicAccess] },
    );

    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.prefix = prefix;
    this.writeDependencies = [this.policy, ownership, encryption, publicAccess];
    this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn, prefix });
  }
}
