/**
 * An `InferenceRuntime` whose onnxruntime session lives in a worker thread, so `session.run` —
 * synchronous inside onnxruntime-node — no longer blocks the event loop: HTTP parsing, health
 * probes and timers carry on while a batch computes. Selected with INFERENCE_THREAD=worker.
 *
 * The cost is a copy of the inputs and a message round trip per run, and it only pays off when
 * there is HTTP work to overlap with compute (the benchmark measures both ways). If the worker
 * dies, every pending and later run rejects (each batch's requests get a 500) and the error is
 * logged; the process keeps answering health checks so the orchestrator can replace it.
 */
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { TensorSpec } from "../model/manifest";
import { silentLogger, type Logger } from "../logger";
import { startWorkerThread, whenWorkerStarted } from "../workerThread";
import type { OnnxRuntimeOptions } from "./onnxRuntime";
import type { HostTensor, InferenceRuntime, TensorMap } from "./runtime";
import { compactFeeds, type FromWorker, type ToWorker, type WorkerInit } from "./workerProtocol";

/** Options of {@link createWorkerRuntime}: the session options, plus how the thread is started. */
export interface WorkerRuntimeOptions extends OnnxRuntimeOptions {
  /** Starts the worker thread for `init`. Default: the inference worker next to this file (tests start stand-ins). */
  readonly spawnWorker?: (init: WorkerInit) => Worker;
}

/** Starts a worker, loads the model there, and resolves once the session exists. */
export async function createWorkerRuntime(
  modelPath: string,
  options: WorkerRuntimeOptions = {},
): Promise<InferenceRuntime> {
  const logger = options.logger ?? silentLogger;
  const init: WorkerInit = {
    modelPath,
    ...(options.providers ? { providers: options.providers } : {}),
    ...(options.intraOpThreads ? { intraOpThreads: options.intraOpThreads } : {}),
    ...(options.interOpThreads ? { interOpThreads: options.interOpThreads } : {}),
  };
  const worker = (options.spawnWorker ?? startWorker)(init);
  return whenWorkerStarted(worker, "inference worker", "loading the model", (message: FromWorker) => {
    if (message.type === "log") {
      logger[message.level](message.obj, message.msg);
      return undefined;
    }
    if (message.type === "ready") return new WorkerRuntime(worker, message, logger);
    if (message.type === "failed") return new Error(message.message);
    return undefined;
  });
}

/** Starts the inference worker (the module next to this file) for a model. */
export function startWorker(init: WorkerInit): Worker {
  return startWorkerThread(join(__dirname, "inferenceWorker"), init);
}

interface PendingRun {
  resolve(outputs: Record<string, HostTensor>): void;
  reject(err: Error): void;
}

class WorkerRuntime implements InferenceRuntime {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly provider: string;
  private nextId = 1;
  private readonly pending = new Map<number, PendingRun>();
  /** Set once the worker is gone: every run rejects with it. */
  private failure?: Error;
  private exited = false;
  private disposing?: Promise<void>;

  constructor(
    private readonly worker: Worker,
    ready: Extract<FromWorker, { type: "ready" }>,
    private readonly logger: Logger,
  ) {
    this.inputs = ready.inputs;
    this.outputs = ready.outputs;
    this.provider = ready.provider;
    worker.on("message", (message: FromWorker) => this.onMessage(message));
    worker.on("error", (err) => this.fail(`inference worker crashed: ${err.message}`));
    worker.on("exit", (code) => {
      this.exited = true;
      if (!this.disposing) this.fail(`inference worker exited unexpectedly with code ${code}`);
    });
  }

  run(feeds: TensorMap, outputNames?: readonly string[]): Promise<Record<string, HostTensor>> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.disposing) return Promise.reject(new Error("the runtime has been disposed"));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const message: ToWorker = {
        type: "run",
        id,
        feeds: compactFeeds(feeds),
        ...(outputNames ? { outputs: [...outputNames] } : {}),
      };
      this.worker.postMessage(message);
    });
  }

  dispose(): Promise<void> {
    this.disposing ??= new Promise<void>((resolve) => {
      if (this.exited) return resolve();
      this.worker.once("exit", () => resolve());
      this.worker.postMessage({ type: "dispose" } satisfies ToWorker);
    }).then(() => this.rejectPending(new Error("the runtime was disposed before the run finished")));
    return this.disposing;
  }

  private onMessage(message: FromWorker): void {
    switch (message.type) {
      case "result":
      case "error": {
        const run = this.pending.get(message.id);
        if (!run) return;
        this.pending.delete(message.id);
        if (message.type === "result") run.resolve(message.outputs);
        else run.reject(new Error(message.message));
        return;
      }
      case "log":
        this.logger[message.level](message.obj, message.msg);
        return;
      default:
        return;
    }
  }

  private fail(reason: string): void {
    if (this.failure) return;
    this.failure = new Error(reason);
    this.logger.error(
      { err: reason },
      "inference worker lost; inferences fail until the process is replaced",
    );
    this.rejectPending(this.failure);
  }

  private rejectPending(err: Error): void {
    for (const run of this.pending.values()) run.reject(err);
    this.pending.clear();
  }
}
