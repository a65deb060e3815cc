/**
 * The server's model store for `MODEL_URI=s3://bucket/models/<name>/<version>/`: fetches the
 * version into a local cache and hands out a `VerifiedModel` only after its bytes match the
 * manifest's sha256. Credentials come from the SDK's default chain (IRSA in the cluster); an
 * S3-compatible endpoint can be set with the SDK's standard AWS_ENDPOINT_URL_S3.
 */
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";

import { silentLogger, type Logger } from "../logger";
import { sha256File } from "./checksum";
import {
  MANIFEST_FILE,
  MODEL_FILE,
  type ModelManifest,
  parseManifest,
  validateModelName,
  validateModelVersion,
} from "./manifest";
import { createS3Client, s3ErrorCode, s3Url } from "./s3Client";
import type { S3CallLimits } from "./s3Limits";
import { ModelNotFoundError, type ModelStore, ModelVerificationError, type VerifiedModel } from "./store";

/** A parsed `s3://bucket/<prefix>/<name>/<version>/` model URI. */
export interface S3ModelUri {
  readonly bucket: string;
  /** Key prefix of the version, ending in `/` (`models/churn/1.0.0/`). */
  readonly prefix: string;
  readonly name: string;
  readonly version: string;
}

/** Parses a version URI; the last two path segments are the model name and version. */
export function parseS3ModelUri(uri: string): S3ModelUri {
  const m = /^s3:\/\/([^/]+)\/(.+?)\/?$/.exec(uri);
  const segments = m?.[2].split("/") ?? [];
  const expected = "expected s3://<bucket>/models/<name>/<version>/";
  if (!m || segments.length < 2 || segments.some((s) => s === "")) {
    throw new Error(`MODEL_URI ${JSON.stringify(uri)} is invalid: ${expected}`);
  }
  const [name, version] = segments.slice(-2);
  try {
    validateModelName(name);
    validateModelVersion(version);
  } catch (err) {
    throw new Error(`MODEL_URI ${JSON.stringify(uri)} is invalid (${(err as Error).message}); ${expected}`);
  }
  return { bucket: m[1], prefix: segments.join("/") + "/", name, version };
}

/** Options of {@link S3ModelStore}. */
export interface S3ModelStoreOptions {
  /** S3 client to use. Default: `createS3Client()` (default credential chain, AWS_ENDPOINT_URL_S3). */
  readonly client?: S3Client;
  /** Where cache hits, downloads, verification failures and failed S3 attempts are logged. Default: silent. */
  readonly logger?: Logger;
  /** Timeouts and attempts of the default client's calls. Default: from the environment. */
  readonly limits?: S3CallLimits;
}

export class S3ModelStore implements ModelStore {
  readonly location: string;
  private readonly target: S3ModelUri;
  private readonly client: S3Client;
  private readonly logger: Logger;

  /**
   * @param uri `s3://bucket/models/<name>/<version>/`
   * @param cacheDir Directory for downloads; the version lands in `<cacheDir>/<name>/<version>/`.
   */
  constructor(
    uri: string,
    private readonly cacheDir: string,
    opts: S3ModelStoreOptions = {},
  ) {
    this.target = parseS3ModelUri(uri);
    this.location = s3Url(this.target.bucket, this.target.prefix);
    this.logger = opts.logger ?? silentLogger;
    this.client =
      opts.client ?? createS3Client({ logger: this.logger, ...(opts.limits ? { limits: opts.limits } : {}) });
  }

  async load(): Promise<VerifiedModel> {
    const manifest = await this.fetchManifest();
    const dir = join(this.cacheDir, manifest.name, manifest.version);
    await mkdir(dir, { recursive: true });
    const modelPath = join(dir, MODEL_FILE);

    // A cached copy is only trusted if it still hashes to the manifest's sha256.
    const cached = await sha256File(modelPath).catch(() => undefined);
    if (cached === manifest.sha256) {
      this.logger.info(
        { location: this.location, modelPath },
        "model found in cache with the manifest's sha256",
      );
    } else {
      if (cached !== undefined) {
        this.logger.warn(
          { modelPath, expected: manifest.sha256, actual: cached },
          "cached model is stale; downloading",
        );
      }
      await rm(modelPath, { force: true });
      const started = Date.now();
      await this.download(manifest, modelPath);
      this.logger.info(
        { location: this.location, modelPath, sha256: manifest.sha256, ms: Date.now() - started },
        "model downloaded and verified",
      );
    }
    await writeAtomically(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2) + "\n");
    return { manifest, modelPath };
  }

  private async fetchManifest(): Promise<ModelManifest> {
    const key = this.target.prefix + MANIFEST_FILE;
    const body = await this.get(key, "manifest");
    const text = Buffer.from(await body.transformToByteArray()).toString("utf8");
    let manifest: ModelManifest;
    try {
      manifest = parseManifest(text);
    } catch (err) {
      throw new ModelVerificationError(
        `${s3Url(this.target.bucket, key)} is invalid: ${(err as Error).message}`,
      );
    }
    // A manifest copied under the wrong path must not pass for another version.
    if (manifest.name !== this.target.name || manifest.version !== this.target.version) {
      throw new ModelVerificationError(
        `${s3Url(this.target.bucket, key)} describes ${manifest.name} ${manifest.version}, ` +
          `but the URI names ${this.target.name} ${this.target.version}`,
      );
    }
    return manifest;
  }

  /** Streams model.onnx to a temp file while hashing it; renames it into place only on a match. */
  private async download(manifest: ModelManifest, modelPath: string): Promise<void> {
    const key = this.target.prefix + MODEL_FILE;
    const body = await this.get(key, "model");
    const tmp = `${modelPath}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
    const hash = createHash("sha256");
    try {
      await pipeline(
        body as unknown as Readable,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            hash.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(tmp, { flags: "wx" }),
      );
      const actual = hash.digest("hex");
      if (actual !== manifest.sha256) {
        throw new ModelVerificationError(
          `sha256 mismatch for ${s3Url(this.target.bucket, key)}: the manifest says ${manifest.sha256}, ` +
            `the downloaded bytes hash to ${actual}; refusing to load it`,
        );
      }
      await rename(tmp, modelPath);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  private async get(key: string, what: "manifest" | "model") {
    const url = s3Url(this.target.bucket, key);
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.target.bucket, Key: key }));
      if (!out.Body) throw new Error(`${url} returned no body`);
      return out.Body;
    } catch (err) {
      const code = s3ErrorCode(err);
      const version = `model ${this.target.name} version ${this.target.version}`;
      if (code === "NoSuchKey") {
        throw new ModelNotFoundError(
          what === "manifest"
            ? `${version} not found: ${url} does not exist (publish it with \`npm run model -- push\`)`
            : `${version} is incomplete: ${url} does not exist although its manifest does`,
        );
      }
      if (code === "NoSuchBucket") {
        throw new ModelNotFoundError(`${version} not found: bucket ${this.target.bucket} does not exist`);
      }
      if (code === "AccessDenied") {
        // Without s3:ListBucket, S3 answers 403 rather than 404 for a missing key.
        throw new Error(
          `access denied reading ${url}: the pod's role lacks s3:GetObject on it, or the version does not exist`,
        );
      }
      throw new Error(`reading ${url} failed: ${(err as Error).message}`);
    }
  }
}

/** Writes via a temp file and rename, so a reader never sees half a file. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, text, { flag: "wx" });
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
}
