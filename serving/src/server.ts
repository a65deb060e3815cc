/**
 * Composition root: wires config -> logger, metrics, model store, runtime, model service and the
 * HTTP app; listens; loads the model in the background (liveness answers meanwhile, readiness
 * is 503); and implements the drain sequence used on SIGTERM.
 */
import type { FastifyInstance } from "fastify";
import pino, { type Logger as PinoLogger } from "pino";
import type { ServerConfig } from "./config";
import { buildApp } from "./http/app";
import { ServerMetrics } from "./metrics";
import { createModelStore } from "./model/createModelStore";
import { createOnnxRuntime } from "./runtime/onnxRuntime";
import { ModelService } from "./service/modelService";
import { drainAndClose } from "./shutdown";

export interface ServerHandle {
  readonly app: FastifyInstance;
  readonly service: ModelService;
  readonly metrics: ServerMetrics;
  readonly logger: PinoLogger;
  /** `http://host:port` actually bound (the port is real even when PORT=0). */
  readonly url: string;
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

/** JSON logs with ISO timestamps and level names, as log pipelines (CloudWatch, Loki) expect. */
export function createLogger(level: string): PinoLogger {
  return pino({
    level,
    base: { service: "model-server", pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

export async function startServer(
  config: ServerConfig,
  options: StartServerOptions = {},
): Promise<ServerHandle> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const metrics = new ServerMetrics({ defaultMetrics: true });
  const store = await createModelStore(config.model, logger);
  const batching = {
    maxBatchSize: config.maxBatchSize,
    maxDelayMs: config.maxBatchDelayMs,
    maxQueueSize: config.maxQueueSize,
  };
  const service = new ModelService({
    store,
    createRuntime: (modelPath) =>
      createOnnxRuntime(modelPath, {
        providers: config.executionProviders,
        intraOpThreads: config.intraOpThreads,
        interOpThreads: config.interOpThreads,
        logger,
      }),
    batching: { ...batching, timeoutMs: config.requestTimeoutMs },
    metrics,
    logger,
  });
  const app = buildApp({ service, metrics, logger, bodyLimitBytes: config.bodyLimitBytes, batching });
  const url = await app.listen({ port: config.port, host: config.host });
  logger.info(
    {
      url,
      model: config.model.uri ?? `${config.model.name}@${config.model.version}`,
      providers: config.executionProviders,
    },
    "listening; loading model",
  );
  const loaded = service.start();

  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason: string): Promise<void> => {
    shuttingDown ??= drainAndClose({
      app,
      service,
      drainDelayMs: config.drainDelaySeconds * 1000,
      logger,
      reason,
    }).then(() => loaded);
    return shuttingDown;
  };
  return { app, service, metrics, logger, url, loaded, shutdown };
}
