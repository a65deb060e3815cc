import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { sha256Bytes } from "../src/model/checksum";
import { MANIFEST_FILE, MODEL_FILE, serializeManifest, type ModelManifest } from "../src/model/manifest";
import type { BuiltModel } from "./models";

/** Options of {@link writeModelVersion}. */
export interface WriteModelVersionArgs {
  /** Model repository root; the version goes to `<root>/<name>/<version>/`. */
  readonly root: string;
  /** Model name. */
  readonly name: string;
  /** Model version. Default: "1.0.0". */
  readonly version?: string;
  /** The model to write. */
  readonly model: BuiltModel;
  /** Overrides the manifest's sha256 (tests use it to plant a mismatch). Default: the real one. */
  readonly sha256?: string;
}

/** Writes `model.onnx` and a matching `manifest.json`; returns the version directory and manifest. */
export async function writeModelVersion(
  args: WriteModelVersionArgs,
): Promise<{ dir: string; manifest: ModelManifest }> {
  const version = args.version ?? "1.0.0";
  const dir = join(args.root, args.name, version);
  const manifest: ModelManifest = {
    name: args.name,
    version,
    sha256: args.sha256 ?? sha256Bytes(args.model.bytes),
    framework: "onnx",
    inputs: args.model.inputs,
    outputs: args.model.outputs,
    ...(args.model.labels ? { labels: args.model.labels } : {}),
    createdAt: new Date(0).toISOString(),
  };
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, MODEL_FILE), args.model.bytes);
  await writeFile(join(dir, MANIFEST_FILE), serializeManifest(manifest));
  return { dir, manifest };
}
