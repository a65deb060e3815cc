/**
 * Messages between {@link createWorkerRuntime} (main thread) and the inference worker. Tensors
 * cross as `HostTensor`s: inputs are copied (the caller keeps its arrays), outputs are
 * transferred (the worker never touches them again), so neither side pays for a second copy.
 */
import type { TensorSpec } from "../model/manifest";
import type { ExecutionProvider } from "./providers";
import type { HostTensor, TensorData, TensorMap } from "./runtime";

/** `workerData` of the worker: what to load and how. */
export interface WorkerInit {
  readonly modelPath: string;
  readonly providers?: readonly ExecutionProvider[];
  readonly intraOpThreads?: number;
  readonly interOpThreads?: number;
}

/** Main thread -> worker. */
export type ToWorker =
  | { readonly type: "run"; readonly id: number; readonly feeds: TensorMap; readonly outputs?: string[] }
  | { readonly type: "dispose" };

/** Worker -> main thread. */
export type FromWorker =
  | {
      readonly type: "ready";
      readonly inputs: readonly TensorSpec[];
      readonly outputs: readonly TensorSpec[];
      readonly provider: string;
    }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "result"; readonly id: number; readonly outputs: Record<string, HostTensor> }
  | { readonly type: "error"; readonly id: number; readonly message: string }
  | {
      readonly type: "log";
      readonly level: "debug" | "info" | "warn" | "error";
      readonly obj: object;
      readonly msg?: string;
    };

/** Distinct ArrayBuffers behind typed-array tensors (string tensors have none), for a transfer list. */
export function transferables(tensors: Readonly<Record<string, HostTensor>>): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const t of Object.values(tensors)) {
    if (!Array.isArray(t.data) && t.data.buffer instanceof ArrayBuffer) buffers.add(t.data.buffer);
  }
  return [...buffers];
}

/**
 * Tensors whose typed arrays span exactly their buffers: structured cloning a view copies its
 * whole underlying buffer, so a small slice of a large buffer is cut out first.
 */
export function compactFeeds(feeds: TensorMap): TensorMap {
  const out: Record<string, HostTensor> = Object.create(null);
  for (const [name, t] of Object.entries(feeds)) {
    const data = t.data;
    const spans =
      Array.isArray(data) || (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength);
    out[name] = spans ? t : { ...t, data: (data as Exclude<TensorData, string[]>).slice() };
  }
  return out;
}
