/**
 * The served model's lifecycle: fetch and verify it from the store, create the runtime, check the
 * manifest against the model, warm it up, then accept inferences through the batcher. Readiness
 * lives here: ready only once warm, and not ready again from the moment draining starts.
 */
import { DynamicBatcher, type BatcherOptions } from "../batching/batcher";
import { UnavailableError } from "../errors";
import { silentLogger, type Logger } from "../logger";
import type { ModelManifest } from "../model/manifest";
import {
  ModelNotFoundError,
  ModelVerificationError,
  type ModelStore,
  type VerifiedModel,
} from "../model/store";
import type { ServerMetrics } from "../metrics";
import type { HostTensor, InferenceRuntime, TensorMap } from "../runtime/runtime";
import { isBatchable, signatureMismatches, warmupFeeds } from "./signature";

export type ModelState = "loading" | "ready" | "failed" | "draining" | "stopped";

/** Creates the runtime for a verified model file (onnxruntime in production, fakes in tests). */
export type RuntimeFactory = (modelPath: string) => Promise<InferenceRuntime>;

/** Options of {@link ModelService}. */
export interface ModelServiceOptions {
  readonly store: ModelStore;
  readonly createRuntime: RuntimeFactory;
  /** Batching limits (batchability itself comes from the manifest). Default: the batcher's defaults. */
  readonly batching?: Omit<BatcherOptions, "batchable" | "observer">;
  /** Default: none. */
  readonly metrics?: ServerMetrics;
  /** Default: silent. */
  readonly logger?: Logger;
  /** First delay before retrying a transient store failure, in ms; doubles up to 30 s. Default: 1000. */
  readonly retryDelayMs?: number;
  /**
   * How this model is labelled in the per-model metrics (several versions of one model each
   * need their own series). Default: the manifest's name.
   */
  readonly metricsLabel?: string;
  /**
   * Whether this service drives the `ready` gauge; false when it is one of several models behind
   * one readiness (ServedModels drives it then). Default: true.
   */
  readonly reportsReadiness?: boolean;
}

/** The loaded model as the protocol layers see it. */
export interface LoadedModel {
  readonly manifest: ModelManifest;
  /** Execution provider in use. */
  readonly provider: string;
  /** Whether requests are merged along dimension 0. */
  readonly batchable: boolean;
}

/** A load failure that retrying cannot fix (bad checksum, missing version, model/manifest mismatch). */
class PermanentLoadError extends Error {}

export class ModelService {
  private stateValue: ModelState = "loading";
  private reason = "model is loading";
  private loaded?: LoadedModel;
  private runtime?: InferenceRuntime;
  private batcher?: DynamicBatcher;
  private stopping = false;
  private retryTimer?: NodeJS.Timeout;
  private readonly logger: Logger;

  constructor(private readonly options: ModelServiceOptions) {
    this.logger = options.logger ?? silentLogger;
  }

  get state(): ModelState {
    return this.stateValue;
  }

  /** Why the service is not ready (or "ready"). */
  get stateReason(): string {
    return this.reason;
  }

  /** Ready for traffic: loaded, verified, warm and not draining. */
  get ready(): boolean {
    return this.stateValue === "ready";
  }

  /** The model once loaded (also while draining); undefined before. */
  get model(): LoadedModel | undefined {
    return this.loaded;
  }

  /** Requests waiting in the batcher. */
  get queueDepth(): number {
    return this.batcher?.depth ?? 0;
  }

  /** Requests in the batch computing now. */
  get inferencesRunning(): number {
    return this.batcher?.inFlight ?? 0;
  }

  /**
   * Loads the model. Resolves when ready, or when loading failed for good (state "failed"; the
   * server stays up, live and unready, with the reason logged). Transient store errors retry.
   */
  async start(): Promise<void> {
    let delay = this.options.retryDelayMs ?? 1000;
    for (;;) {
      try {
        await this.loadOnce();
        return;
      } catch (err) {
        if (this.stopping) return;
        const message = (err as Error).message;
        if (
          err instanceof PermanentLoadError ||
          err instanceof ModelVerificationError ||
          err instanceof ModelNotFoundError
        ) {
          this.fail(message);
          return;
        }
        this.reason = `model load failed, retrying in ${delay} ms: ${message}`;
        this.logger.warn(
          { err: message, location: this.options.store.location, retryInMs: delay },
          "model load failed; retrying",
        );
        await new Promise<void>((resolve) => (this.retryTimer = setTimeout(resolve, delay)));
        if (this.stopping) return;
        delay = Math.min(delay * 2, 30_000);
      }
    }
  }

  private fail(message: string): void {
    this.stateValue = "failed";
    this.reason = `model failed to load and will not become ready: ${message}`;
    this.logger.error({ location: this.options.store.location, err: message }, this.reason);
  }

  private async loadOnce(): Promise<void> {
    const started = performance.now();
    this.logger.info({ location: this.options.store.location }, "loading model");
    const verified: VerifiedModel = await this.options.store.load();
    const { manifest } = verified;
    this.logger.info(
      { model: manifest.name, version: manifest.version, sha256: manifest.sha256 },
      "model sha256 verified against its manifest",
    );
    let runtime: InferenceRuntime;
    try {
      runtime = await this.options.createRuntime(verified.modelPath);
    } catch (err) {
      throw new PermanentLoadError(`cannot load ${verified.modelPath}: ${(err as Error).message}`);
    }
    try {
      const mismatches = signatureMismatches(manifest, runtime);
      if (mismatches.length > 0) {
        throw new PermanentLoadError(`manifest does not match the model: ${mismatches.join("; ")}`);
      }
      const warmStarted = performance.now();
      try {
        await runtime.run(
          warmupFeeds(manifest),
          manifest.outputs.map((o) => o.name),
        );
      } catch (err) {
        throw new PermanentLoadError(`warm-up inference failed: ${(err as Error).message}`);
      }
      const warmupMs = performance.now() - warmStarted;
      if (this.stopping) throw new PermanentLoadError("shutting down");
      const batchable = isBatchable(manifest);
      this.runtime = runtime;
      this.batcher = new DynamicBatcher(runtime, {
        ...this.options.batching,
        batchable,
        observer: this.options.metrics?.batchObserver(this.options.metricsLabel ?? manifest.name),
      });
      this.loaded = { manifest, provider: runtime.provider, batchable };
      this.stateValue = "ready";
      this.reason = "ready";
      this.options.metrics?.modelInfo.set(
        {
          name: manifest.name,
          version: manifest.version,
          sha256: manifest.sha256,
          provider: runtime.provider,
        },
        1,
      );
      if (this.options.reportsReadiness ?? true) this.options.metrics?.ready.set(1);
      this.logger.info(
        {
          model: manifest.name,
          version: manifest.version,
          provider: runtime.provider,
          batchable,
          warmupMs: round(warmupMs),
          loadMs: round(performance.now() - started),
        },
        "model loaded and warmed up; ready",
      );
    } catch (err) {
      await runtime.dispose().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Runs one request through the batcher. `outputs` selects outputs (default: the manifest's).
   * Rejects with UnavailableError before the model is loaded; still serves while draining.
   */
  infer(feeds: TensorMap, outputs?: readonly string[]): Promise<Record<string, HostTensor>> {
    if (!this.batcher || !this.loaded || this.stateValue === "stopped") {
      return Promise.reject(new UnavailableError(`model is not ready: ${this.reason}`, 5));
    }
    return this.batcher.submit(feeds, outputs ?? this.loaded.manifest.outputs.map((o) => o.name));
  }

  /**
   * The error to refuse an inference with at once because the queue is full (counted as a
   * refusal), or undefined. Cheap: for protocol layers to call before parsing a request.
   */
  shedIfSaturated(): UnavailableError | undefined {
    return this.batcher?.refuseIfFull();
  }

  /** Whether the queue is full (a request now would be refused); counts nothing. */
  get saturated(): boolean {
    return this.batcher?.full ?? false;
  }

  /** Turns readiness off at once (load balancers stop sending) while inference keeps working. */
  startDraining(): void {
    this.stopping = true;
    clearTimeout(this.retryTimer);
    if (this.stateValue === "ready" || this.stateValue === "loading") {
      this.stateValue = "draining";
      this.reason = "server is draining before shutdown";
    }
    if (this.options.reportsReadiness ?? true) this.options.metrics?.ready.set(0);
  }

  /** Finishes every queued and running inference, then releases the model. */
  async stop(): Promise<void> {
    this.startDraining();
    await this.batcher?.close();
    this.stateValue = "stopped";
    await this.runtime?.dispose();
    this.runtime = undefined;
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
