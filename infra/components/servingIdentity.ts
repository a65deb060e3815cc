/**
 * Workload identity of the model server: an IRSA role only the `model-server` ServiceAccount of
 * the serving namespace can assume, allowed to read model artifacts and to write experiment
 * records, nothing else: s3:GetObject under `models/`, s3:ListBucket restricted to the `models/`
 * prefix, s3:PutObject under `experiments/` only, and kms:Decrypt / kms:GenerateDataKey on the
 * bucket's key only when S3 asks on the pod's behalf.
 */
import * as pulumi from "@pulumi/pulumi";
import { IrsaRole, type PolicyDocument } from "./irsaRole";

/** Where experiments' prediction and outcome records live in the model bucket (`experiments/<name>/`). */
export const EXPERIMENTS_PREFIX = "experiments/";

/** The ServiceAccount the serving pods run as (B creates it in the serving namespace). */
export const SERVING_SERVICE_ACCOUNT = "model-server";

export interface ServingIdentityArgs {
  /** ARN of the cluster's IAM OIDC provider. Required. */
  readonly oidcProviderArn: pulumi.Input<string>;
  /** OIDC issuer without "https://". Required. */
  readonly oidcIssuer: pulumi.Input<string>;
  /** Namespace of the serving workloads. Required. */
  readonly namespace: string;
  /** ServiceAccount name. Default {@link SERVING_SERVICE_ACCOUNT}. */
  readonly serviceAccount?: string;
  /** Model bucket ARN. Required. */
  readonly bucketArn: pulumi.Input<string>;
  /** KMS key of the model bucket. Required. */
  readonly kmsKeyArn: pulumi.Input<string>;
  /** Region of the bucket (for the kms:ViaService condition). Required. */
  readonly region: string;
  /** Key prefix readable by the role. Default "models/". */
  readonly prefix?: string;
  /** Key prefix the role may put experiment records under. Default {@link EXPERIMENTS_PREFIX}. */
  readonly experimentsPrefix?: string;
  /** Tags. Default {}. */
  readonly tags?: Record<string, string>;
}

/** The model reader policy: read-only, one prefix, one key. */
export function modelReaderPolicy(args: {
  bucketArn: string;
  kmsKeyArn: string;
  region: string;
  prefix?: string;
}): PolicyDocument {
  const prefix = args.prefix ?? "models/";
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ReadModelArtifacts",
        Effect: "Allow",
        Action: ["s3:GetObject"],
        Resource: [`${args.bucketArn}/${prefix}*`],
      },
      {
        Sid: "ListModelVersions",
        Effect: "Allow",
        Action: ["s3:ListBucket"],
        Resource: [args.bucketArn],
        Condition: { StringLike: { "s3:prefix": [`${prefix}*`] } },
      },
      {
        Sid: "DecryptModelArtifacts",
        Effect: "Allow",
        Action: ["kms:Decrypt"],
        Resource: [args.kmsKeyArn],
        // Only through S3 (SSE-KMS reads), never a direct Decrypt call.
        Condition: { StringEquals: { "kms:ViaService": `s3.${args.region}.amazonaws.com` } },
      },
    ],
  };
}

/**
 * Writing experiment records: s3:PutObject under the experiments prefix and nothing else (no
 * read, list, delete or overwrite of models). The bucket encrypts with SSE-KMS and a bucket key,
 * so a put needs kms:GenerateDataKey, allowed only through S3. The grant does not depend on which
 * experiments run, so starting one changes only that color's Deployment.
 */
export function experimentWriterStatements(args: {
  bucketArn: string;
  kmsKeyArn: string;
  region: string;
  prefix?: string;
}): PolicyDocument["Statement"] {
  return [
    {
      Sid: "WriteExperimentRecords",
      Effect: "Allow",
      Action: ["s3:PutObject"],
      Resource: [`${args.bucketArn}/${args.prefix ?? EXPERIMENTS_PREFIX}*`],
    },
    {
      Sid: "EncryptExperimentRecords",
      Effect: "Allow",
      Action: ["kms:GenerateDataKey"],
      Resource: [args.kmsKeyArn],
      Condition: { StringEquals: { "kms:ViaService": `s3.${args.region}.amazonaws.com` } },
    },
  ];
}

export class ServingIdentity extends pulumi.ComponentResource {
  /** Role ARN for the ServiceAccount annotation `eks.amazonaws.com/role-arn`. */
  readonly roleArn: pulumi.Output<string>;
  readonly serviceAccount: string;
  /** The role's policy: serving pods depend on it so their first S3 read is allowed. */
  readonly permissions: pulumi.Resource[];

  constructor(name: string, args: ServingIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
    super("onnx-eks-serving:index:ServingIdentity", name, {}, opts);
    this.serviceAccount = args.serviceAccount ?? SERVING_SERVICE_ACCOUNT;
    const role = new IrsaRole(
      `${name}-irsa`,
      {
        oidcProviderArn: args.oidcProviderArn,
        oidcIssuer: args.oidcIssuer,
        namespace: args.namespace,
        serviceAccount: this.serviceAccount,
        description: `Model server (${args.namespace}/${this.serviceAccount}): read models from the registry bucket, write experiment records`,
        policy: pulumi.all([args.bucketArn, args.kmsKeyArn]).apply(([bucketArn, kmsKeyArn]) => {
          const reader = modelReaderPolicy({
            bucketArn,
            kmsKeyArn,
            region: args.region,
            prefix: args.prefix,
          });
          const writer = experimentWriterStatements({
            bucketArn,
            kmsKeyArn,
            region: args.region,
            prefix: args.experimentsPrefix,
          });
          return { ...reader, Statement: [...reader.Statement, ...writer] };
        }),
        tags: args.tags,
      },
      { parent: this },
    );
    this.roleArn = role.roleArn;
    this.permissions = role.permissions;
    this.registerOutputs({ roleArn: this.roleArn });
  }
}
