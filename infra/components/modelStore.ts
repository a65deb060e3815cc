/**
 * The model registry bucket: versioned, SSE-KMS with a dedicated key and S3 bucket keys, every
 * public access path blocked, ACLs disabled (bucket owner enforced), TLS-only, and a lifecycle
 * that expires replaced object versions after a configurable number of days.
 *
 * Layout (serving/src/model/manifest.ts): `models/<name>/<version>/{model.onnx,manifest.json}`.
 * Unless turned off, the bundled model (what `npm start` serves) is published as the first
 * version, with the same keys and manifest the registry CLI writes, so the first deploy has
 * something to serve.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { sha256Bytes } from "../../serving/src/model/checksum";
import {
  MANIFEST_FILE,
  MODEL_FILE,
  MODELS_PREFIX,
  parseManifest,
  serializeManifest,
  versionPrefix,
  type ModelManifest,
} from "../../serving/src/model/manifest";
import { requireAbsolute } from "../paths";
import { privateBucket, tlsOnlyBucketPolicy } from "./privateBucket";

export interface ModelStoreArgs {
  /** Days a noncurrent (replaced or deleted) object version is kept. Default 30. */
  readonly noncurrentVersionDays?: number;
  /** Days after which incomplete multipart uploads are aborted. Default 7. */
  readonly abortIncompleteUploadDays?: number;
  /** Local version directory (`.../<name>/<version>/` with model.onnx and manifest.json), absolute, to publish. Default: none. */
  readonly seedModelDir?: string;
  /** Tags for every resource. Default {}. */
  readonly tags?: Record<string, string>;
}

/** A model version read from disk and checked against its manifest. */
export interface BundledModel {
  readonly manifest: ModelManifest;
  readonly modelPath: string;
  /** Bucket key prefix, `models/<name>/<version>/`. */
  readonly prefix: string;
}

/**
 * Reads `<dir>/manifest.json`, checks it names the directory's model and version and that
 * sha256(model.onnx) equals its `sha256`, so a corrupt or mismatched bundle fails the preview.
 */
export function readBundledModel(dir: string): BundledModel {
  const manifestPath = path.join(dir, MANIFEST_FILE);
  const modelPath = path.join(dir, MODEL_FILE);
  for (const file of [manifestPath, modelPath]) {
    if (!fs.existsSync(file)) {
      throw new Error(
        `bundled model file ${file} is missing; build it (see serving/models) or set seedBundledModel to false`,
      );
    }
  }
  const manifest = parseManifest(fs.readFileSync(manifestPath, "utf8"));
  const [dirName, dirVersion] = [
    path.basename(path.dirname(path.resolve(dir))),
    path.basename(path.resolve(dir)),
  ];
  if (manifest.name !== dirName || manifest.version !== dirVersion) {
    throw new Error(
      `${manifestPath} describes ${manifest.name}/${manifest.version} but lives in ${dirName}/${dirVersion}`,
    );
  }
  const actual = sha256Bytes(fs.readFileSync(modelPath));
  if (actual !== manifest.sha256) {
    throw new Error(`${modelPath} has sha256 ${actual} but ${manifestPath} says ${manifest.sha256}`);
  }
  return { manifest, modelPath, prefix: versionPrefix(manifest.name, manifest.version) };
}

/** Where seeded model files are staged, by sha256: one absolute path on every machine and checkout. */
export const DEFAULT_ASSET_ROOT = "/tmp/onnx-eks-serving/model-assets";

/**
 * Copies `file` (whose sha256 is `sha256`) to `<root>/<sha256>/<basename>` and returns that path,
 * reusing a copy already there. The asset path is a resource input: a path inside the checkout
 * would differ between checkouts of the same commit.
 */
export function stageByDigest(file: string, sha256: string, root: string = DEFAULT_ASSET_ROOT): string {
  const target = path.join(root, sha256, path.basename(file));
  if (fs.existsSync(target) && sha256Bytes(fs.readFileSync(target)) === sha256) return target;
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  fs.copyFileSync(file, tmp);
  fs.chmodSync(tmp, 0o644);
  fs.renameSync(tmp, target);
  return target;
}

export class ModelStore extends pulumi.ComponentResource {
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;
  /** The bucket's KMS key: readers need kms:Decrypt on it. */
  readonly kmsKeyArn: pulumi.Output<string>;
  /** Key prefix of the registry, "models/". */
  readonly modelsPrefix = MODELS_PREFIX;
  /** The published bundled model version, when seeding. */
  readonly seededModel?: BundledModel;
  /** The seeded objects (model first, then manifest); a Deployment serving that version depends on them. */
  readonly seededObjects: aws.s3.BucketObjectv2[] = [];

  constructor(name: string, args: ModelStoreArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("onnx-eks-serving:index:ModelStore", name, {}, opts);
    const noncurrentDays = args.noncurrentVersionDays ?? 30;
    const abortDays = args.abortIncompleteUploadDays ?? 7;
    if (!Number.isInteger(noncurrentDays) || noncurrentDays < 1) {
      throw new Error(
        `ModelStore ${name}: noncurrentVersionDays must be a positive integer, got ${noncurrentDays}`,
      );
    }
    const tags = args.tags ?? {};
    const parent = { parent: this };
    // Read and verify the bundle before creating anything.
    // An absolute path: the model object's FileAsset path is an input and must not depend on the cwd.
    const bundle =
      args.seedModelDir !== undefined
        ? readBundledModel(requireAbsolute(args.seedModelDir, `ModelStore ${name}: seedModelDir`))
        : undefined;

    const key = new aws.kms.Key(
      `${name}-key`,
      {
        description: `Model registry bucket ${name}`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        tags,
      },
      parent,
    );
    // Model artifacts are the product: a stack destroy must not empty the bucket on its way out.
    const { bucket, publicAccess, ownership } = privateBucket(name, tags, parent);
    const versioning = new aws.s3.BucketVersioning(
      `${name}-versioning`,
      { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
      parent,
    );
    const encryption = new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket: bucket.id,
        rules: [
          {
            applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key.arn },
            // One data key per bucket instead of per object: fewer KMS calls, lower cost.
            bucketKeyEnabled: true,
          },
        ],
      },
      parent,
    );
    const policy = new aws.s3.BucketPolicy(
      `${name}-tls-only`,
      { bucket: bucket.id, policy: bucket.arn.apply((arn) => JSON.stringify(tlsOnlyBucketPolicy(arn))) },
      { parent: this, dependsOn: [publicAccess] },
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      {
        bucket: bucket.id,
        rules: [
          {
            id: "expire-noncurrent-versions",
            status: "Enabled",
            filter: { prefix: "" },
            noncurrentVersionExpiration: { noncurrentDays },
            // Delete markers with no versions left behind them are clutter; remove them.
            expiration: { expiredObjectDeleteMarker: true },
          },
          {
            id: "abort-incomplete-multipart-uploads",
            status: "Enabled",
            filter: { prefix: "" },
            abortIncompleteMultipartUpload: { daysAfterInitiation: abortDays },
          },
        ],
      },
      { parent: this, dependsOn: [versioning] },
    );

    if (bundle) {
      // Objects go in only once encryption, versioning, ownership and the policy apply to them.
      const ready = [encryption, versioning, ownership, publicAccess, policy];
      const model = new aws.s3.BucketObjectv2(
        `${name}-seed-model`,
        {
          bucket: bucket.id,
          key: `${bundle.prefix}${MODEL_FILE}`,
          // A path that depends on the content only (like the image's build context): a second
          // checkout of the same commit must not plan an object update.
          source: new pulumi.asset.FileAsset(stageByDigest(bundle.modelPath, bundle.manifest.sha256)),
          contentType: "application/octet-stream",
          // S3 stores (and verifies on upload) a SHA-256 of the object.
          checksumAlgorithm: "SHA256",
          metadata: { sha256: bundle.manifest.sha256 },
          tags,
        },
        // Registry objects outlive the resource that first wrote them: turning seeding off (or a
        // rename) must not delete a version a color serves or rolls back to.
        { parent: this, dependsOn: ready, retainOnDelete: true },
      );
      // The manifest last: readers that find a manifest can rely on the model being there.
      const manifest = new aws.s3.BucketObjectv2(
        `${name}-seed-manifest`,
        {
          bucket: bucket.id,
          key: `${bundle.prefix}${MANIFEST_FILE}`,
          content: serializeManifest(bundle.manifest),
          contentType: "application/json",
          checksumAlgorithm: "SHA256",
          tags,
        },
        { parent: this, dependsOn: [...ready, model], retainOnDelete: true },
      );
      this.seededModel = bundle;
      this.seededObjects.push(model, manifest);
    }

    this.bucketName = bucket.bucket;
    this.bucketArn = bucket.arn;
    this.kmsKeyArn = key.arn;
    this.registerOutputs({
      bucketName: this.bucketName,
      bucketArn: this.bucketArn,
      kmsKeyArn: this.kmsKeyArn,
    });
  }
}
