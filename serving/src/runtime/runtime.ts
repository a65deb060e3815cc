/**
 * The runtime boundary. Everything above it (batching, HTTP) sees `HostTensor`s and an
 * `InferenceRuntime`, never onnxruntime types, so sessions can move to worker threads (typed
 * arrays are transferable) without touching callers.
 */
import type { TensorDatatype, TensorSpec } from "../model/manifest";

/** Element storage per datatype: BigInt arrays for 64-bit ints, UTF-8 strings for BYTES, FP16 as raw bits. */
export type TensorData =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | BigUint64Array
  | BigInt64Array
  | Float32Array
  | Float64Array
  | string[];

/** A dense, row-major tensor in host memory. */
export interface HostTensor {
  readonly datatype: TensorDatatype;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

export type TensorMap = Readonly<Record<string, HostTensor>>;

/** One loaded model, ready to compute. */
export interface InferenceRuntime {
  /** Inputs as the model declares them (dynamic dimensions are -1). */
  readonly inputs: readonly TensorSpec[];
  /** Outputs as the model declares them. */
  readonly outputs: readonly TensorSpec[];
  /** The execution provider the session was created with (first of the list that worked). */
  readonly provider: string;
  /**
   * Runs the model. `outputNames` limits what is computed and returned (default: all outputs).
   * Rejects on invalid feeds or a failing kernel.
   */
  run(feeds: TensorMap, outputNames?: readonly string[]): Promise<Record<string, HostTensor>>;
  /** Releases the native session. */
  dispose(): Promise<void>;
}

/** Number of elements of a shape. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
