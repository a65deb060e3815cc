import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "./config";

/** Server name reported by `GET /v2`. */
export const SERVER_NAME = "onnx-eks-serving";

let cached: string | undefined;

/** The package version (from the package.json the server runs from), reported by `GET /v2`. */
export function serverVersion(): string {
  if (cached === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as {
        version?: unknown;
      };
      cached = typeof pkg.version === "string" ? pkg.version : "0.0.0";
    } catch {
      cached = "0.0.0";
    }
  }
  return cached;
}
