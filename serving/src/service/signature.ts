/**
 * Checks between the manifest (the contract clients are validated against) and the model as
 * onnxruntime sees it, plus the warm-up feeds derived from the manifest.
 */
import type { ModelManifest, TensorSpec } from "../model/manifest";
import { allocate } from "../runtime/datatypes";
import { elementCount, type HostTensor, type InferenceRuntime } from "../runtime/runtime";

/**
 * Differences between the manifest and the loaded model, one message each; empty when they agree.
 * The manifest may narrow a dynamic model dimension to a fixed size, never the other way round.
 */
export function signatureMismatches(
  manifest: ModelManifest,
  runtime: Pick<InferenceRuntime, "inputs" | "outputs">,
): string[] {
  return [
    ...compare("input", manifest.inputs, runtime.inputs, true),
    ...compare("output", manifest.outputs, runtime.outputs, false),
  ];
}

function compare(
  kind: string,
  declared: readonly TensorSpec[],
  actual: readonly TensorSpec[],
  exhaustive: boolean,
): string[] {
  const problems: string[] = [];
  const byName = new Map(actual.map((t) => [t.name, t]));
  for (const d of declared) {
    const a = byName.get(d.name);
    if (!a) {
      problems.push(
        `manifest ${kind} "${d.name}" does not exist in the model (model ${kind}s: ${names(actual)})`,
      );
      continue;
    }
    if (a.datatype !== d.datatype) {
      problems.push(`${kind} "${d.name}": manifest says ${d.datatype}, the model has ${a.datatype}`);
    }
    // An empty model shape means onnxruntime does not know the rank: nothing to compare.
    if (a.shape.length > 0) {
      const fits =
        a.shape.length === d.shape.length && a.shape.every((dim, i) => dim === -1 || dim === d.shape[i]);
      if (!fits) {
        problems.push(
          `${kind} "${d.name}": manifest shape ${JSON.stringify(d.shape)} does not fit the model's ${JSON.stringify(a.shape)}`,
        );
      }
    }
  }
  if (exhaustive) {
    const declaredNames = new Set(declared.map((t) => t.name));
    for (const a of actual) {
      if (!declaredNames.has(a.name)) problems.push(`model ${kind} "${a.name}" is missing from the manifest`);
    }
  }
  return problems;
}

function names(specs: readonly TensorSpec[]): string {
  return specs.map((s) => `"${s.name}"`).join(", ") || "none";
}

/** Whether every input and output has a dynamic leading (batch) dimension to merge requests along. */
export function isBatchable(manifest: ModelManifest): boolean {
  return [...manifest.inputs, ...manifest.outputs].every((t) => t.shape.length > 0 && t.shape[0] === -1);
}

/** Zero-valued feeds with the manifest's input shapes (dynamic dimensions as 1), for warm-up. */
export function warmupFeeds(manifest: ModelManifest): Record<string, HostTensor> {
  const feeds: Record<string, HostTensor> = {};
  for (const input of manifest.inputs) {
    const shape = input.shape.map((d) => (d === -1 ? 1 : d));
    feeds[input.name] = {
      datatype: input.datatype,
      shape,
      data: allocate(input.datatype, elementCount(shape)),
    };
  }
  return feeds;
}
