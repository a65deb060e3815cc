/**
 * Every filesystem location the program reads, resolved from this file's directory and never
 * from `process.cwd()`: with `main: infra/` in Pulumi.yaml the Pulumi CLI runs the program from
 * infra/, while tests and `npm run plan` run it from the repository root. Both must see the same
 * paths, and so must the state (build context, Dockerfile and asset paths are resource inputs).
 */
import * as path from "node:path";

/** The repository root: holds Pulumi.yaml and the stack files, and is the image's build context. */
export const REPO_ROOT = path.resolve(__dirname, "..");

/** The bundled model (what `npm start` serves), relative to the repository root. */
export const BUNDLED_MODEL_DIR = path.join("serving", "models", "churn", "1.0.0");

/** The server's Dockerfile, relative to the repository root (the build context). */
export const SERVING_DOCKERFILE = path.join("serving", "Dockerfile");

/**
 * Throws unless `p` is absolute: a relative path would be resolved against whatever directory
 * the program happens to run from. `what` names the argument in the message.
 */
export function requireAbsolute(p: string, what: string): string {
  if (!path.isAbsolute(p)) {
    throw new Error(
      `${what} must be an absolute path (resolve it from __dirname or REPO_ROOT in infra/paths.ts), got ${JSON.stringify(p)}`,
    );
  }
  return p;
}
