/**
 * Reads a stack's configuration the way the Pulumi CLI hands it to the program, without the CLI:
 * `Pulumi.<stack>.yaml` from the project root, keys of the project namespace without their
 * `<project>:` prefix, `aws:region` as is. Project-level defaults are not merged here: parseConfig
 * applies the same defaults (a test keeps Pulumi.yaml and config.ts in step).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import type { RawConfig } from "../config";
import { REPO_ROOT } from "../paths";

export class StackFileError extends Error {
  override name = "StackFileError";
}

function readYaml(file: string): unknown {
  if (!fs.existsSync(file)) throw new StackFileError(`${file} does not exist`);
  try {
    return yaml.load(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new StackFileError(`${file} is not valid YAML: ${(err as Error).message}`);
  }
}

/** The project name declared in Pulumi.yaml. */
export function readProjectName(root: string = REPO_ROOT): string {
  const doc = readYaml(path.join(root, "Pulumi.yaml")) as { name?: unknown } | null;
  if (!doc || typeof doc.name !== "string")
    throw new StackFileError(`${root}/Pulumi.yaml has no project name`);
  return doc.name;
}

/**
 * The raw config of stack `stack` (file `Pulumi.<stack>.yaml`): project keys without namespace,
 * plus `aws:region`. Keys of other namespaces (e.g. `aws:profile`) are left out. Encrypted values
 * are rejected: the offline harness has no key to decrypt them.
 */
export function readStackConfig(stack: string, root: string = REPO_ROOT): Record<string, unknown> {
  const project = readProjectName(root);
  const file = path.join(root, `Pulumi.${stack}.yaml`);
  const doc = readYaml(file) as { config?: Record<string, unknown> } | null;
  const config = doc?.config ?? {};
  const raw: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (typeof value === "object" && value !== null && "secure" in value) {
      throw new StackFileError(`${file}: ${key} is a secret; the offline harness cannot decrypt it`);
    }
    if (key === "aws:region") raw[key] = value;
    else if (key.startsWith(`${project}:`)) raw[key.slice(project.length + 1)] = value;
  }
  return raw;
}

/**
 * Applies overrides to raw config. A key may be a path into an object value (`green.modelVersion`);
 * the object (possibly a JSON string, as the CLI passes it) is copied, never mutated.
 */
export function applyOverrides(
  raw: RawConfig,
  overrides: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  for (const [key, value] of Object.entries(overrides)) {
    const [head, ...rest] = key.split(".");
    if (rest.length === 0 || key === "aws:region") {
      out[key] = value;
      continue;
    }
    let base: unknown = out[head];
    if (typeof base === "string") {
      try {
        base = JSON.parse(base);
      } catch {
        throw new StackFileError(`cannot set ${key}: ${head} is not an object (${JSON.stringify(base)})`);
      }
    }
    const root: Record<string, unknown> =
      typeof base === "object" && base !== null && !Array.isArray(base)
        ? (structuredClone(base as object) as Record<string, unknown>)
        : {};
    let node = root;
    for (const part of rest.slice(0, -1)) {
      const child = node[part];
      node[part] =
        typeof child === "object" && child !== null && !Array.isArray(child) ? { ...(child as object) } : {};
      node = node[part] as Record<string, unknown>;
    }
    node[rest[rest.length - 1]] = value;
    out[head] = root;
  }
  return out;
}
