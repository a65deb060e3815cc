/**
 * The baseline every bucket of the stack starts from: an S3 bucket that a stack destroy will not
 * empty (`forceDestroy: false`), all four public access blocks, and ACLs disabled (bucket owner
 * enforced, so every object belongs to the account whoever wrote it). Encryption, versioning,
 * lifecycle and the bucket policy differ per bucket and stay with the component that owns it;
 * `tlsOnlyBucketPolicy` is the statement every one of those policies starts with.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import type { PolicyDocument } from "./irsaRole";

/** The bucket and the settings that make it private. */
export interface PrivateBucket {
  readonly bucket: aws.s3.Bucket;
  readonly publicAccess: aws.s3.BucketPublicAccessBlock;
  readonly ownership: aws.s3.BucketOwnershipControls;
}

/** Creates `<name>-bucket`, `<name>-public-access` and `<name>-ownership` under `parent`. */
export function privateBucket(
  name: string,
  tags: Record<string, string>,
  parent: pulumi.CustomResourceOptions,
): PrivateBucket {
  const bucket = new aws.s3.Bucket(`${name}-bucket`, { forceDestroy: false, tags }, parent);
  const publicAccess = new aws.s3.BucketPublicAccessBlock(
    `${name}-public-access`,
    {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    },
    parent,
  );
  const ownership = new aws.s3.BucketOwnershipControls(
    `${name}-ownership`,
    { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
    parent,
  );
  return { bucket, publicAccess, ownership };
}

/** Bucket policy: deny any request not made over TLS, on the bucket and on every object. */
export function tlsOnlyBucketPolicy(bucketArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: "s3:*",
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
      },
    ],
  };
}
