import type { ModelLocation } from "../config";
import { silentLogger, type Logger } from "../logger";
import { LocalModelStore } from "./localStore";
import { validateModelName, validateModelVersion } from "./manifest";
import type { ModelStore } from "./store";

/**
 * Picks the store for the configured model: `MODEL_URI=s3://...` -> the S3 store (loaded lazily,
 * so a local-only server never loads the AWS SDK); `MODEL_URI=<dir>` -> that version directory;
 * otherwise `<MODEL_ROOT>/<MODEL_NAME>/<MODEL_VERSION>/`.
 */
export async function createModelStore(
  location: ModelLocation,
  logger: Logger = silentLogger,
): Promise<ModelStore> {
  const uri = location.uri;
  if (uri?.startsWith("s3://")) {
    // require, not import(): tsx leaves import() as a native ESM import, which cannot resolve
    // an extensionless .ts path; require works both under tsx and compiled to CommonJS.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { S3ModelStore } = require("./s3Store") as typeof import("./s3Store");
    return new S3ModelStore(uri, location.cacheDir, {
      logger,
      ...(location.s3 ? { limits: location.s3 } : {}),
    });
  }
  // A version directory named by path must hold the version its path names, as S3 URIs must.
  if (uri !== undefined) return new LocalModelStore(uri, { expect: versionFromPath(uri) });
  return LocalModelStore.forVersion(location.root, location.name, location.version);
}

/**
 * Name and version a local version directory must hold: the last two segments of
 * `.../<name>/<version>/`, the layout of a model repository and of the S3 registry. Throws
 * (ManifestError) when the path does not end that way.
 */
export function versionFromPath(dir: string): { name: string; version: string } {
  const segments = dir.split(/[\\/]+/).filter((s) => s !== "");
  const [name, version] = segments.slice(-2);
  return { name: validateModelName(name ?? ""), version: validateModelVersion(version ?? "") };
}
