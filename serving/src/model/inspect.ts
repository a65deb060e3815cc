/**
 * Reads a model's inputs and outputs the way the server will see them: by loading it in
 * onnxruntime-node. A file onnxruntime cannot load is refused here, before it reaches a bucket.
 */
import { stat } from "node:fs/promises";
import { InferenceSession } from "onnxruntime-node";

import type { TensorDatatype, TensorSpec } from "./manifest";

/** Open Inference Protocol datatype of each onnxruntime-node tensor type the protocol names. */
export const ORT_TO_OIP_DATATYPE: Readonly<Record<string, TensorDatatype>> = {
  bool: "BOOL",
  uint8: "UINT8",
  uint16: "UINT16",
  uint32: "UINT32",
  uint64: "UINT64",
  int8: "INT8",
  int16: "INT16",
  int32: "INT32",
  int64: "INT64",
  float16: "FP16",
  float32: "FP32",
  float64: "FP64",
  string: "BYTES",
};

/** What onnxruntime reports about a model's interface. */
export interface ModelSignature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

/** The file is not a model onnxruntime-node can load, or its interface cannot be described. */
export class ModelInspectionError extends Error {
  override name = "ModelInspectionError";
}

/** Inspects the ONNX model at `path`; rejects with {@link ModelInspectionError}. */
export async function inspectModel(path: string): Promise<ModelSignature> {
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new ModelInspectionError(`${path} is not a regular file`);
    size = info.size;
  } catch (err) {
    if (err instanceof ModelInspectionError) throw err;
    throw new ModelInspectionError(`cannot read model file ${path}: ${(err as Error).message}`);
  }
  if (size === 0) throw new ModelInspectionError(`model file ${path} is empty`);

  let session: InferenceSession;
  try {
    // Graph optimizations are off: only the declared interface matters, not a fast session.
    session = await InferenceSession.create(path, { graphOptimizationLevel: "disabled" });
  } catch (err) {
    throw new ModelInspectionError(
      `${path} is not a model onnxruntime can load: ${firstLine((err as Error).message)}`,
    );
  }
  try {
    return {
      inputs: session.inputMetadata.map((m) => toTensorSpec(path, "input", m)),
      outputs: session.outputMetadata.map((m) => toTensorSpec(path, "output", m)),
    };
  } finally {
    await session.release();
  }
}

function toTensorSpec(path: string, kind: string, meta: InferenceSession.ValueMetadata): TensorSpec {
  if (!meta.isTensor) {
    // e.g. a ZipMap output (sequence of maps): neither the manifest nor the protocol can carry it.
    throw new ModelInspectionError(
      `${path}: ${kind} "${meta.name}" is not a tensor; export the model without ZipMap or other non-tensor ${kind}s`,
    );
  }
  const datatype = ORT_TO_OIP_DATATYPE[meta.type];
  if (datatype === undefined) {
    throw new ModelInspectionError(
      `${path}: ${kind} "${meta.name}" has element type ${meta.type}, which the Open Inference Protocol cannot carry ` +
        `(supported: ${Object.keys(ORT_TO_OIP_DATATYPE).join(", ")})`,
    );
  }
  // Symbolic dimensions ("batch") and unknown ones (negative) are both dynamic: -1.
  const shape = meta.shape.map((d) => (typeof d === "number" && d >= 0 ? d : -1));
  return { name: meta.name, datatype, shape };
}

function firstLine(message: string): string {
  return message.split("\n")[0].trim();
}
