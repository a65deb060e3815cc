/**
 * Serializing an Open Inference Protocol inference response. Tensor data is written directly as
 * JSON text so 64-bit integers keep every digit (JSON.stringify cannot write a BigInt).
 */
import type { ModelManifest } from "../../model/manifest";
import { elementsToJson } from "../../runtime/datatypes";
import type { HostTensor } from "../../runtime/runtime";

/**
 * Response JSON text: `{model_name, model_version, id?, parameters?, outputs: [{name, datatype,
 * shape, data}]}`; `parameters` carries the experiment's variant and prediction id.
 */
export function serializeInferResponse(
  manifest: ModelManifest,
  id: string | undefined,
  outputNames: readonly string[],
  outputs: Readonly<Record<string, HostTensor>>,
  parameters?: Readonly<Record<string, string | number | boolean>>,
): string {
  const head = JSON.stringify({
    model_name: manifest.name,
    model_version: manifest.version,
    ...(id !== undefined ? { id } : {}),
    ...(parameters !== undefined ? { parameters } : {}),
  });
  const tensors = outputNames.map((name) => {
    const t = outputs[name];
    const meta = JSON.stringify({ name, datatype: t.datatype, shape: t.shape });
    return `${meta.slice(0, -1)},"data":${elementsToJson(t.datatype, t.data)}}`;
  });
  return `${head.slice(0, -1)},"outputs":[${tensors.join(",")}]}`;
}
