/**
 * The onnxruntime-node implementation of `InferenceRuntime`: session creation with the configured
 * execution providers (falling back along the list with a warning), thread options, and
 * HostTensor <-> ort.Tensor conversion. Note `session.run` computes synchronously on the calling
 * (main) thread inside a setImmediate, so a long run blocks the event loop for its duration.
 */
import * as ort from "onnxruntime-node";
import type { TensorDatatype, TensorSpec } from "../model/manifest";
import { silentLogger, type Logger } from "../logger";
import { datatypeFromOrt, ORT_TYPE } from "./datatypes";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fallbackChain, missingProviderLibraries, type ExecutionProvider } from "./providers";

/** Where onnxruntime-node keeps its native binding and the provider libraries it loads. */
function bindingDir(): string {
  const pkg = dirname(require.resolve("onnxruntime-node/package.json"));
  return join(pkg, "bin", "napi-v6", process.platform, process.arch);
}
import type { HostTensor, InferenceRuntime, TensorData, TensorMap } from "./runtime";

/** Options of {@link createOnnxRuntime}. */
export interface OnnxRuntimeOptions {
  /** Execution providers in preference order. Default: ["cpu"]. */
  readonly providers?: readonly ExecutionProvider[];
  /** Intra-op thread pool size; 0 = onnxruntime's default (one per core). Default: 0. */
  readonly intraOpThreads?: number;
  /** Inter-op thread pool size; 0 = onnxruntime's default. Default: 0. */
  readonly interOpThreads?: number;
  /** Where fallback warnings go. Default: silent. */
  readonly logger?: Logger;
}

/** Loads a model file into an onnxruntime session. Rejects if no provider in the list works. */
export async function createOnnxRuntime(
  modelPath: string,
  options: OnnxRuntimeOptions = {},
): Promise<InferenceRuntime> {
  const logger = options.logger ?? silentLogger;
  const chain = fallbackChain(options.providers ?? ["cpu"]);
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: "all",
    ...(options.intraOpThreads ? { intraOpNumThreads: options.intraOpThreads } : {}),
    ...(options.interOpThreads ? { interOpNumThreads: options.interOpThreads } : {}),
  };
  for (let i = 0; i < chain.length; i++) {
    const providers = chain[i];
    try {
      const missing = missingProviderLibraries(providers[0], bindingDir(), existsSync);
      if (missing) throw new Error(missing);
      const session = await ort.InferenceSession.create(modelPath, {
        ...base,
        executionProviders: providers,
      });
      return new OnnxRuntime(session, providers[0]);
    } catch (err) {
      const next = chain[i + 1];
      if (!next) {
        throw new Error(
          `could not create an onnxruntime session with execution providers [${providers.join(", ")}]: ` +
            (err as Error).message,
        );
      }
      logger.warn(
        { provider: providers[0], fallback: next[0], err: (err as Error).message },
        `execution provider "${providers[0]}" is unavailable; falling back to "${next[0]}"`,
      );
    }
  }
  throw new Error("no execution provider configured"); // unreachable: the chain is never empty
}

class OnnxRuntime implements InferenceRuntime {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];

  constructor(
    private readonly session: ort.InferenceSession,
    readonly provider: string,
  ) {
    this.inputs = session.inputMetadata.map((m) => specOf("input", m));
    this.outputs = session.outputMetadata.map((m) => specOf("output", m));
  }

  async run(feeds: TensorMap, outputNames?: readonly string[]): Promise<Record<string, HostTensor>> {
    const ortFeeds: Record<string, ort.Tensor> = Object.create(null);
    for (const [name, t] of Object.entries(feeds)) {
      ortFeeds[name] = new ort.Tensor(ORT_TYPE[t.datatype] as "float32", t.data as Float32Array, [
        ...t.shape,
      ]);
    }
    const results = outputNames
      ? await this.session.run(ortFeeds, [...outputNames])
      : await this.session.run(ortFeeds);
    const out: Record<string, HostTensor> = Object.create(null);
    for (const [name, value] of Object.entries(results)) {
      const tensor = value as ort.Tensor;
      const datatype = datatypeFromOrt(tensor.type);
      if (!datatype)
        throw new Error(`output "${name}" has type ${tensor.type}, which has no protocol datatype`);
      out[name] = { datatype, shape: tensor.dims.map(Number), data: tensor.data as TensorData };
    }
    return out;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

function specOf(kind: "input" | "output", m: ort.InferenceSession.ValueMetadata): TensorSpec {
  if (!m.isTensor)
    throw new Error(`model ${kind} "${m.name}" is not a tensor (sequences and maps are not served)`);
  const datatype: TensorDatatype | undefined = datatypeFromOrt(m.type);
  if (!datatype)
    throw new Error(`model ${kind} "${m.name}" has type ${m.type}, which the protocol cannot carry`);
  return { name: m.name, datatype, shape: m.shape.map((d) => (typeof d === "number" ? d : -1)) };
}
