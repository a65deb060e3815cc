import type { ModelManifest } from "./manifest";

/**
 * A model version that is on local disk and whose bytes matched the manifest's sha256.
 * The runtime only ever loads a `VerifiedModel`.
 */
export interface VerifiedModel {
  readonly manifest: ModelManifest;
  /** Absolute path of the verified `model.onnx` on local disk. */
  readonly modelPath: string;
}

/** Where model versions come from: a local repository directory or the S3 model bucket. */
export interface ModelStore {
  /** Human-readable location, for logs (`file:///models/churn/1.0.0/`, `s3://bucket/models/...`). */
  readonly location: string;
  /**
   * Fetches (if remote) and verifies one model version.
   * Rejects with `ModelVerificationError` on a checksum mismatch and `ModelNotFoundError`
   * when the version does not exist; never returns an unverified model.
   */
  load(): Promise<VerifiedModel>;
}

export class ModelNotFoundError extends Error {
  override name = "ModelNotFoundError";
}

export class ModelVerificationError extends Error {
  override name = "ModelVerificationError";
}
