/**
 * Where each color computes, GPU or CPU, and what follows from it: the image variant the stack
 * builds and a color's resource requests. Pure rules, table-tested.
 *
 * A GPU only pays for models whose kernels the CUDA execution provider runs: the bundled churn
 * model is an `ai.onnx.ml` TreeEnsemble, which onnxruntime runs on the CPU provider only, so a
 * churn pod holding an A10G would compute on its CPU. The model's manifest says which it needs
 * (`accelerator`), and a color's `accelerator` ("" by default) follows it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { MANIFEST_FILE, parseManifest, type ManifestAccelerator } from "../serving/src/model/manifest";
import type { Accelerator } from "./config";
import { SERVING_RESOURCE_DEFAULTS } from "./servingResources";

/** The models directory of the repository (bundled versions: `<name>/<version>/`). */
export const BUNDLED_MODELS_DIR = path.join("serving", "models");

/**
 * The `accelerator` the manifest of bundled version `<name>/<version>` declares, or undefined when
 * that version is not bundled in `<repoRoot>/serving/models` or its manifest does not say.
 */
export function bundledAccelerator(
  repoRoot: string,
  name: string,
  version: string,
): ManifestAccelerator | undefined {
  if (version === "") return undefined;
  const file = path.join(repoRoot, BUNDLED_MODELS_DIR, name, version, MANIFEST_FILE);
  if (!fs.existsSync(file)) return undefined;
  return parseManifest(fs.readFileSync(file, "utf8")).accelerator;
}

/**
 * A color's accelerator: its config value when set; else what the model's manifest asks for
 * (`fromManifest`, read from the bundled versions); else "cpu", which runs every model. The stack
 * cannot read a registry-only version's manifest offline, so a version that needs a GPU and is
 * not bundled says so with `<color>.accelerator: gpu`. Without GPU nodes, always "cpu".
 */
export function resolveAccelerator(
  configured: Accelerator | "",
  fromManifest: ManifestAccelerator | undefined,
  gpuEnabled: boolean,
): Accelerator {
  if (configured !== "") return configured;
  if (!gpuEnabled) return "cpu";
  return fromManifest ?? "cpu";
}

/**
 * The image the stack builds: the CUDA variant (onnxruntime's CUDA provider libraries, on the
 * nvidia/cuda base) when a color that serves a model computes on a GPU, the CPU variant otherwise.
 * The CUDA image runs CPU colors too (their EXECUTION_PROVIDERS is `cpu`).
 */
export function imageVariant(
  colors: ReadonlyArray<{ readonly modelVersion: string; readonly accelerator: Accelerator }>,
): "cuda" | "cpu" {
  return colors.some((c) => c.modelVersion !== "" && c.accelerator === "gpu") ? "cuda" : "cpu";
}

/**
 * CPU and memory requests of a color's pods. The stack-wide servingCpu/servingMemory default to
 * the GPU-node sizes on a GPU stack; a CPU color there runs on the small CPU system nodes, where
 * a request of 2 CPUs never schedules, so a value equal to the GPU default becomes the CPU-node
 * default (500m, 1Gi). Any other value is used as set.
 */
export function colorRequests(
  configured: { readonly cpu: string; readonly memory: string },
  gpuEnabled: boolean,
  accelerator: Accelerator,
): { cpu: string; memory: string } {
  if (!gpuEnabled || accelerator === "gpu") return { ...configured };
  const { gpu, cpuOnly } = SERVING_RESOURCE_DEFAULTS;
  return {
    cpu: configured.cpu === gpu.cpu ? cpuOnly.cpu : configured.cpu,
    memory: configured.memory === gpu.memory ? cpuOnly.memory : configured.memory,
  };
}
