/** Failures of the model registry, each with a message that says what to do next. */
export class RegistryError extends Error {
  override name = "RegistryError";
}

/** The version is already published (or being published): versions are immutable. */
export class VersionExistsError extends RegistryError {
  override name = "VersionExistsError";
}

/** `model.onnx` is in the bucket without `manifest.json` and is not the file being pushed. */
export class IncompleteVersionError extends RegistryError {
  override name = "IncompleteVersionError";
}

/** The model bucket does not exist (or is not visible with these credentials). */
export class BucketNotFoundError extends RegistryError {
  override name = "BucketNotFoundError";
}

/** Bucket or region could not be resolved from flags, environment or stack outputs. */
export class RegistryConfigError extends RegistryError {
  override name = "RegistryConfigError";
}
