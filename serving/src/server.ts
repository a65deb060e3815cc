/**
 * Composition root: wires config -> logger, metrics, model store, runtime, model service and the
 * HTTP app; listens; loads the model in the background (liveness answers meanwhile, readiness
 * is 503); and implements the drain sequence used on SIGTERM.
 */
import type { FastifyInstance } from "fastify";
import pino, { type Logger as PinoLogger } from "pino";
import { DEFAULT_INFERENCE_THREAD, type ServerConfig } from "./config";
import { GrpcInferenceServer } from "./grpc/server";
import { buildApp } from "./http/app";
import { ServerMetrics } from "./metrics";
import { ProbeListener } from "./probes/probeListener";
import { createOnnxRuntime } from "./runtime/onnxRuntime";
import { createWorkerRuntime } from "./runtime/workerRuntime";
import { createServedModels } from "./service/createServedModels";
import { ModelService } from "./service/modelService";
import type { ServedModels } from "./service/servedModels";
import { drainAndClose } from "./shutdown";

export interface ServerHandle {
  readonly app: FastifyInstance;
  /** The model (an experiment's control). */
  readonly service: ModelService;
  /** Every version served and the experiment, if any. */
  readonly models: ServedModels;
  readonly metrics: ServerMetrics;
  readonly logger: PinoLogger;
  /** `http://host:port` actually bound (the port is real even when PORT=0). */
  readonly url: string;
  /** The gRPC server, unless GRPC_PORT is "off". */
  readonly grpc?: GrpcInferenceServer;
  /** The gRPC port actually bound (real even when GRPC_PORT=0), unless gRPC is off. */
  readonly grpcPort?: number;
  /** The port the probe listener actually bound (real even when PROBE_PORT=0), unless PROBE_PORT is "off". */
  readonly probePort?: number;
  /** Settles when the first model load attempt sequence ends (ready or failed for good). */
  readonly loaded: Promise<void>;
  /**
   * Drains and stops: readiness 503 at once, wait `drainDelaySeconds`, stop accepting
   * connections, finish every in-flight and queued request, release the model.
   */
  shutdown(reason: string): Promise<void>;
}

/** Options of {@link startServer}. */
export interface StartServerOptions {
  /** Logger to use. Default: a JSON pino logger on stdout at `config.logLevel`. */
  readonly logger?: PinoLogger;
}

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** File descriptor to write to. Default: 1 (stdout). */
  readonly fd?: number;
  /** Longest a log line waits in the buffer before it is written, in ms. Default: 100. */
  readonly flushIntervalMs?: number;
}

/**
 * JSON logs with ISO timestamps and level names, as log pipelines (CloudWatch, Loki) expect.
 *
 * Lines are buffered and written 4 KiB at a time (and at least every `flushIntervalMs`): one
 * write(2) per line cost ~4 µs of CPU per request more (syscalls are dear on VMs with PTI; see
 * bench/README.md). Everything buffered is written synchronously when the process exits
 * (`process.exit` included, so fatal lines are never lost); only a SIGKILL can lose the last
 * `flushIntervalMs` of lines. The ISO timestamp is formatted once per millisecond, not per line.
 */
export function createLogger(level: string, options: CreateLoggerOptions = {}): PinoLogger {
  const destination = pino.destination({
    dest: options.fd ?? 1,
    sync: true,
    minLength: 4096,
    periodicFlush: options.flushIntervalMs ?? 100,
  });
  process.once("exit", () => {
    try {
      destination.flushSync();
    } catch {
      // stdout already closed: nothing left to write to
    }
  });
  return pino(
    {
      level,
      base: { service: "model-server", pid: process.pid },
      timestamp: isoTimeCached(),
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/**
 * pino's `isoTime` (`,"time":"<ISO 8601>"`), formatted at most once per millisecond: under load
 * many lines share a millisecond, and Date#toISOString was a third of a log line's cost.
 */
export function isoTimeCached(now: () => number = Date.now): () => string {
  let lastMs = Number.NaN;
  let last = "";
  return () => {
    const ms = now();
    if (ms !== lastMs) {
      lastMs = ms;
      last = `,"time":"${new Date(ms).toISOString()}"`;
    }
    return last;
  };
}

export async function startServer(
  config: ServerConfig,
  options: StartServerOptions = {},
): Promise<ServerHandle> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const metrics = new ServerMetrics({ defaultMetrics: true });
  const batching = {
    maxBatchSize: config.maxBatchSize,
    maxDelayMs: config.maxBatchDelayMs,
    maxQueueSize: config.maxQueueSize,
  };
  // Each model version (an experiment has two) gets its own store, runtime and batcher.
  const { control: service, served } = await createServedModels(
    config,
    (store, extra) =>
      new ModelService({
        store,
        createRuntime: (modelPath) =>
          (config.inferenceThread === "worker" ? createWorkerRuntime : createOnnxRuntime)(modelPath, {
            providers: config.executionProviders,
            intraOpThreads: config.intraOpThreads,
            interOpThreads: config.interOpThreads,
            logger,
          }),
        batching: {
          ...batching,
          timeoutMs: config.requestTimeoutMs,
          maxRowsPerRequest: config.maxRowsPerRequest,
        },
        metrics,
        logger,
        ...extra,
      }),
    metrics,
    logger,
  );
  const app = buildApp({
    service: served,
    metrics,
    logger,
    accessLog: config.accessLog,
    bodyLimitBytes: config.bodyLimitBytes,
    headersTimeoutMs: config.headersTimeoutMs,
    bodyTimeoutMs: config.bodyTimeoutMs,
    shedPauseMs: config.shedPauseMs,
    batching,
  });
  const url = await app.listen({ port: config.port, host: config.host });
  const grpc =
    config.grpcPort === "off"
      ? undefined
      : new GrpcInferenceServer({
          service: served,
          metrics,
          logger,
          accessLog: config.accessLog,
          maxMessageBytes: config.bodyLimitBytes,
        });
  const grpcPort = grpc ? await grpc.listen(config.host, config.grpcPort as number) : undefined;
  const probes =
    config.probePort === "off"
      ? undefined
      : await ProbeListener.start({ host: config.host, port: config.probePort, service: served, logger });
  logger.info(
    {
      url,
      grpcPort: grpcPort ?? "off",
      probePort: probes?.port ?? "off",
      model: config.model.uri ?? `${config.model.name}@${config.model.version}`,
      providers: config.executionProviders,
      inferenceThread: config.inferenceThread ?? DEFAULT_INFERENCE_THREAD,
      accessLog: config.accessLog,
    },
    "listening; loading model",
  );
  // Health follows the models: SERVING once loaded and warm.
  const loaded = served.start().finally(() => grpc?.syncHealth());

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    shuttingDown ??= drainAndClose({
      app,
      listeners: grpc ? [grpc] : [],
      service: served,
      drainDelayMs: config.drainDelaySeconds * 1000,
      logger,
      reason,
    })
      // Probes on PROBE_PORT answer until the end: readiness 503 through the drain, then refused.
      .finally(() => probes?.close())
      .then(() => loaded);
    // drainAndClose has marked the models draining: tell the probe thread now, not on its next beat.
    probes?.publish();
    return shuttingDown;
  };
  return {
    app,
    service,
    models: served,
    metrics,
    logger,
    url,
    grpc,
    grpcPort,
    ...(probes ? { probePort: probes.port } : {}),
    loaded,
    shutdown,
  };
}
