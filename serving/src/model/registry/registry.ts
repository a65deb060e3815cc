/**
 * The model registry over an S3 bucket: `models/<name>/<version>/{model.onnx,manifest.json}`.
 * Versions are immutable, so rolling back is only ever a change of the version a color serves.
 *
 * Push order matters: `model.onnx` first, `manifest.json` last. The manifest's presence marks a
 * complete version; a reader that finds a manifest finds the model it describes.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  GetObjectCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";

import { sha256Bytes, sha256File } from "../checksum";
import { GOLDEN_FILE, GoldenSetError, parseGoldenSet } from "../golden";
import { inspectModel } from "../inspect";
import {
  MANIFEST_FILE,
  ManifestError,
  MODEL_FILE,
  MODELS_PREFIX,
  type ModelManifest,
  parseManifest,
  serializeManifest,
  validateModelName,
  validateModelVersion,
  versionPrefix,
} from "../manifest";
import { s3ErrorCode, s3Url } from "../s3Client";
import { ModelNotFoundError } from "../store";
import { BucketNotFoundError, IncompleteVersionError, RegistryError, VersionExistsError } from "./errors";
import { compareVersions } from "./versions";

/** Largest object a single PutObject accepts (S3's limit). */
export const MAX_SINGLE_PUT_BYTES = 5 * 1024 ** 3;

/** Object metadata key (`x-amz-meta-sha256`) carrying the model's hex sha256. */
const SHA256_METADATA = "sha256";

/** Options of {@link ModelRegistry}. */
export interface ModelRegistryArgs {
  /** Client for the bucket's region (see `createS3Client`). Required. */
  readonly client: S3Client;
  /** Name of the model bucket. Required. */
  readonly bucket: string;
}

/** What to publish; see {@link ModelRegistry.push}. */
export interface PushArgs {
  /** Path of the `.onnx` file. Required. */
  readonly file: string;
  /** Model name (`[a-z0-9][a-z0-9._-]*`). Required. */
  readonly name: string;
  /** Semantic version. Required. */
  readonly version: string;
  /** Evaluation metrics to record. Default: none. */
  readonly metrics?: Readonly<Record<string, number>>;
  /** Class labels, index-aligned with the model's class outputs. Default: none. */
  readonly labels?: readonly string[];
  /** Publish time recorded as `createdAt`. Default: now. */
  readonly createdAt?: Date;
  /**
   * Path of a golden set (`golden.jsonl`, serving/src/model/golden.ts) to store beside model.onnx:
   * the requests and outputs the rollout checks the version against before it takes traffic.
   * Default: none.
   */
  readonly golden?: string;
}

export interface PushResult {
  /** The manifest as written. */
  readonly manifest: ModelManifest;
  /** `s3://bucket/models/<name>/<version>/`: the MODEL_URI that serves this version. */
  readonly uri: string;
  /**
   * True when `model.onnx` was already in the bucket with this file's sha256 (an earlier push
   * stopped before the manifest) and only the manifest was written.
   */
  readonly resumed: boolean;
}

/** Outcome of {@link ModelRegistry.verify}. */
export type VerifyResult = { readonly ok: true } | { readonly ok: false; readonly problem: string };

/** One version found in the bucket. */
export interface VersionEntry {
  readonly version: string;
  /**
   * Both `manifest.json` and `model.onnx` are listed. Only their presence: their contents are
   * checked by {@link ModelRegistry.verify}. False for an interrupted push (no manifest) or a
   * version missing its model.
   */
  readonly complete: boolean;
  /** Whether `manifest.json` is listed. */
  readonly hasManifest: boolean;
  /** Whether `model.onnx` is listed. */
  readonly hasModel: boolean;
  /** Last-modified time of the manifest (of the model file for an incomplete version). */
  readonly lastModified?: Date;
  /** True when a golden set is stored beside the model. */
  readonly golden: boolean;
}

/** The versions of one model, in semantic-version order. */
export interface ModelVersions {
  readonly name: string;
  readonly versions: readonly VersionEntry[];
}

export class ModelRegistry {
  private readonly client: S3Client;
  readonly bucket: string;

  constructor(args: ModelRegistryArgs) {
    this.client = args.client;
    this.bucket = args.bucket;
  }

  /** `s3://bucket/models/<name>/<version>/`. */
  uri(name: string, version: string): string {
    return s3Url(this.bucket, versionPrefix(name, version));
  }

  /**
   * Publishes a model version: checks name and version, loads the file in onnxruntime to read
   * its interface, hashes it, then uploads `model.onnx` and `manifest.json`. Never overwrites.
   */
  async push(args: PushArgs): Promise<PushResult> {
    const prefix = versionPrefix(args.name, args.version); // validates name and version first
    const info = await stat(args.file).catch((err: Error) => {
      throw new RegistryError(`cannot read model file ${args.file}: ${err.message}`);
    });
    if (info.size > MAX_SINGLE_PUT_BYTES) {
      throw new RegistryError(
        `model file ${args.file} is ${info.size} bytes; a single S3 upload takes at most ${MAX_SINGLE_PUT_BYTES}`,
      );
    }
    const signature = await inspectModel(args.file);
    const golden = args.golden === undefined ? undefined : await readGolden(args.golden, signature);
    const sha256 = await sha256File(args.file);
    const manifest: ModelManifest = {
      name: args.name,
      version: args.version,
      sha256,
      framework: "onnx",
      inputs: signature.inputs,
      outputs: signature.outputs,
      ...(args.labels !== undefined ? { labels: args.labels } : {}),
      ...(args.metrics !== undefined ? { metrics: args.metrics } : {}),
      createdAt: (args.createdAt ?? new Date()).toISOString(),
      ...(golden ? { golden: golden.entry } : {}),
    };
    const manifestText = serializeManifest(manifest); // validates labels and metrics too

    const uri = s3Url(this.bucket, prefix);
    const modelKey = prefix + MODEL_FILE;
    const manifestKey = prefix + MANIFEST_FILE;

    // On AWS the conditional writes below (If-None-Match: *) are the atomic guard against
    // overwriting. These HEADs are a courtesy check with a clearer message, and the only guard
    // on S3-compatible stores without conditional writes (s3rver ignores If-None-Match on PUT).
    if (await this.head(manifestKey)) {
      throw new VersionExistsError(
        `model ${args.name} version ${args.version} already exists at ${uri}; versions are immutable, publish a new version`,
      );
    }
    const existingModel = await this.head(modelKey);
    let resumed = false;
    if (existingModel) {
      if (existingModel.Metadata?.[SHA256_METADATA] !== sha256) {
        throw new IncompleteVersionError(
          `${s3Url(this.bucket, modelKey)} exists without ${MANIFEST_FILE} (an interrupted push) and is not this ` +
            `file (sha256 ${existingModel.Metadata?.[SHA256_METADATA] ?? "unknown"}, this file ${sha256}); ` +
            `delete it or publish under a new version`,
        );
      }
      resumed = true; // the same bytes are already there: finish the interrupted push
    } else {
      await this.putOnce(args, modelKey, {
        Body: createReadStream(args.file),
        ContentLength: info.size,
        ContentType: "application/octet-stream",
        // S3 checks the received bytes against this and rejects a corrupted upload.
        ChecksumSHA256: Buffer.from(sha256, "hex").toString("base64"),
        Metadata: { [SHA256_METADATA]: sha256 },
      });
    }
    if (golden) await this.putGolden(args, prefix + GOLDEN_FILE, golden);
    await this.putOnce(args, manifestKey, {
      Body: manifestText,
      ContentType: "application/json",
    });
    return { manifest: parseManifest(manifestText), uri, resumed };
  }

  /** Lists every model (or only `name`) with its versions, complete or interrupted. */
  async list(name?: string): Promise<ModelVersions[]> {
    const prefix = name === undefined ? MODELS_PREFIX : `${MODELS_PREFIX}${validateModelName(name)}/`;
    const found = new Map<string, Map<string, { manifest?: Date; model?: Date; golden?: Date }>>();
    let token: string | undefined;
    do {
      const page = await this.send(
        () =>
          this.client.send(
            new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }),
          ),
        prefix,
      );
      for (const object of page.Contents ?? []) {
        const parsed = parseVersionKey(object.Key ?? "");
        if (parsed === undefined) continue; // not part of the registry layout
        const versions = found.get(parsed.name) ?? new Map();
        found.set(parsed.name, versions);
        const entry = versions.get(parsed.version) ?? {};
        versions.set(parsed.version, entry);
        const slot =
          parsed.file === MANIFEST_FILE ? "manifest" : parsed.file === GOLDEN_FILE ? "golden" : "model";
        entry[slot] = object.LastModified ?? new Date(0);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);

    return [...found.keys()].sort().map((modelName) => ({
      name: modelName,
      versions: [...found.get(modelName)!.entries()]
        .sort(([a], [b]) => compareVersions(a, b))
        .map(([version, files]) => ({
          version,
          complete: files.manifest !== undefined && files.model !== undefined,
          hasManifest: files.manifest !== undefined,
          hasModel: files.model !== undefined,
          lastModified: files.manifest ?? files.model,
          golden: files.golden !== undefined,
        })),
    }));
  }

  /** Reads and validates one version's manifest; `ModelNotFoundError` when it does not exist. */
  async show(name: string, version: string): Promise<ModelManifest> {
    const key = versionPrefix(name, version) + MANIFEST_FILE;
    let text: string;
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      text = await out.Body!.transformToString("utf-8");
    } catch (err) {
      if (s3ErrorCode(err) === "NoSuchKey") {
        throw new ModelNotFoundError(
          `model ${name} version ${version} not found: ${s3Url(this.bucket, key)} does not exist`,
        );
      }
      throw this.translate(err, key);
    }
    const manifest = parseManifest(text);
    // A manifest copied under the wrong path must not pass for another version.
    if (manifest.name !== name || manifest.version !== version) {
      throw new RegistryError(
        `${s3Url(this.bucket, key)} describes ${manifest.name} ${manifest.version}, not ${name} ${version}; ` +
          `the version is broken: publish it again under a new version`,
      );
    }
    return manifest;
  }

  /**
   * Checks one listed version end to end, as the server would before serving it: the manifest
   * parses and names this version, `model.onnx` hashes to its sha256, and onnxruntime loads it.
   * Downloads the model to a temporary file (removed after).
   */
  async verify(name: string, version: string): Promise<VerifyResult> {
    let manifest: ModelManifest;
    try {
      manifest = await this.show(name, version);
    } catch (err) {
      if (err instanceof RegistryError || err instanceof ModelNotFoundError || err instanceof ManifestError) {
        return { ok: false, problem: err.message };
      }
      throw err;
    }
    const key = versionPrefix(name, version) + MODEL_FILE;
    const dir = await mkdtemp(join(tmpdir(), "model-verify-"));
    try {
      const file = join(dir, MODEL_FILE);
      try {
        const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
        await pipeline(out.Body as Readable, createWriteStream(file));
      } catch (err) {
        if (s3ErrorCode(err) === "NoSuchKey") {
          return { ok: false, problem: `${s3Url(this.bucket, key)} does not exist` };
        }
        throw this.translate(err, key);
      }
      const actual = await sha256File(file);
      if (actual !== manifest.sha256) {
        return {
          ok: false,
          problem: `sha256 mismatch: the manifest says ${manifest.sha256}, ${s3Url(this.bucket, key)} hashes to ${actual}`,
        };
      }
      try {
        await inspectModel(file);
      } catch (err) {
        return { ok: false, problem: (err as Error).message.replaceAll(file, s3Url(this.bucket, key)) };
      }
      return { ok: true };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Uploads the golden set before the manifest; an interrupted push's identical copy is kept. */
  private async putGolden(args: PushArgs, key: string, golden: GoldenFile): Promise<void> {
    const existing = await this.head(key);
    if (existing) {
      if (existing.Metadata?.[SHA256_METADATA] === golden.entry.sha256) return;
      throw new IncompleteVersionError(
        `${s3Url(this.bucket, key)} exists without ${MANIFEST_FILE} (an interrupted push) and is not this golden ` +
          `set; delete it or publish under a new version`,
      );
    }
    await this.putOnce(args, key, {
      Body: golden.bytes,
      ContentType: "application/x-ndjson",
      ChecksumSHA256: Buffer.from(golden.entry.sha256, "hex").toString("base64"),
      Metadata: { [SHA256_METADATA]: golden.entry.sha256 },
    });
  }

  /** HEAD one key: its metadata, or undefined when absent. */
  private async head(key: string): Promise<HeadObjectCommandOutput | undefined> {
    try {
      return await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      // A HEAD response has no body, so a missing key and a missing bucket look alike here;
      // the PUT that follows tells them apart.
      if (s3ErrorCode(err) === "NotFound" || s3ErrorCode(err) === "NoSuchKey") return undefined;
      throw this.translate(err, key);
    }
  }

  /** PutObject that fails instead of replacing an existing object. */
  private async putOnce(
    args: PushArgs,
    key: string,
    input: Omit<ConstructorParameters<typeof PutObjectCommand>[0], "Bucket" | "Key">,
  ): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({ ...input, Bucket: this.bucket, Key: key, IfNoneMatch: "*" }),
      );
    } catch (err) {
      const code = s3ErrorCode(err);
      // 412: the key exists; 409: another conditional write to it is in flight.
      if (code === "PreconditionFailed" || code === "ConditionalRequestConflict") {
        throw new VersionExistsError(
          `model ${args.name} version ${args.version} was published concurrently: ${s3Url(this.bucket, key)} ` +
            `already exists (conditional write refused); versions are immutable, publish a new version`,
        );
      }
      throw this.translate(err, key);
    }
  }

  private async send<T>(call: () => Promise<T>, key: string): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw this.translate(err, key);
    }
  }

  /** Turns S3 failures the user can fix into registry errors; passes the rest through. */
  private translate(err: unknown, key: string): unknown {
    const code = s3ErrorCode(err);
    if (code === "NoSuchBucket") {
      return new BucketNotFoundError(
        `bucket ${JSON.stringify(this.bucket)} does not exist (while accessing ${s3Url(this.bucket, key)}); ` +
          `check --bucket or the stack output modelBucketName`,
      );
    }
    if (code === "AccessDenied" || code === "Forbidden") {
      return new RegistryError(
        `access denied to ${s3Url(this.bucket, key)}: check the AWS credentials and the bucket policy`,
      );
    }
    return err;
  }
}

/** Splits `models/<name>/<version>/<file>` into its parts; undefined for other keys. */
export function parseVersionKey(
  key: string,
):
  | { name: string; version: string; file: typeof MODEL_FILE | typeof MANIFEST_FILE | typeof GOLDEN_FILE }
  | undefined {
  if (!key.startsWith(MODELS_PREFIX)) return undefined;
  const parts = key.slice(MODELS_PREFIX.length).split("/");
  if (parts.length !== 3) return undefined;
  const [name, version, file] = parts;
  if (file !== MODEL_FILE && file !== MANIFEST_FILE && file !== GOLDEN_FILE) return undefined;
  try {
    validateModelName(name);
    validateModelVersion(version);
  } catch {
    return undefined;
  }
  return { name, version, file };
}

/** A golden set read for a push: its bytes and its manifest entry. */
interface GoldenFile {
  readonly bytes: Buffer;
  readonly entry: NonNullable<ModelManifest["golden"]>;
}

/**
 * Reads and checks a golden set before anything is uploaded: its format (parseGoldenSet), and
 * that every case names only the model's inputs and outputs, so a set written for another
 * model fails here rather than at the rollout's gate.
 */
async function readGolden(
  path: string,
  signature: Pick<ModelManifest, "inputs" | "outputs">,
): Promise<GoldenFile> {
  const bytes = await readFile(path).catch((err: Error) => {
    throw new RegistryError(`cannot read golden set ${path}: ${err.message}`);
  });
  let cases;
  try {
    cases = parseGoldenSet(bytes.toString("utf8"));
  } catch (err) {
    if (err instanceof GoldenSetError) throw new RegistryError(`${path}: ${err.message}`);
    throw err;
  }
  const inputs = new Set(signature.inputs.map((t) => t.name));
  const outputs = new Set(signature.outputs.map((t) => t.name));
  for (const [i, c] of cases.entries()) {
    const at = `${path}: golden set line ${i + 1}`;
    for (const name of Object.keys(c.expected)) {
      if (!outputs.has(name)) {
        throw new RegistryError(
          `${at}: expected.${name} is not an output of the model (outputs: ${[...outputs].join(", ")})`,
        );
      }
    }
    const requested = (c.request as { inputs?: unknown }).inputs;
    const names = Array.isArray(requested) ? requested.map((t) => (t as { name?: unknown })?.name) : [];
    const unknown = names.filter((n) => typeof n !== "string" || !inputs.has(n));
    if (names.length === 0 || unknown.length > 0) {
      throw new RegistryError(
        `${at}: request.inputs must name the model's inputs (${[...inputs].join(", ")}), got ${JSON.stringify(names)}`,
      );
    }
  }
  return { bytes, entry: { file: GOLDEN_FILE, sha256: sha256Bytes(bytes), cases: cases.length } };
}
