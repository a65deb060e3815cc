/**
 * The HTTP application, built apart from `listen` so tests can `inject` or bind an ephemeral
 * port. One plugin per concern: error mapping, metrics, health, seed API, Open Inference Protocol.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
} from "fastify";
import type { AccessLogPolicy } from "../config";
import type { ServerMetrics } from "../metrics";
import type { ModelService } from "../service/modelService";
import { clientErrorHandler } from "./clientErrors";
import { ServedModels } from "../service/servedModels";
import { connectionDrain, isDraining } from "./connectionDrain";
import { errorHandling } from "./errorHandling";
import { healthRoutes } from "./health";
import { loadShedding } from "./loadShedding";
import { metricsRoutes } from "./metricsRoutes";
import { HEADER_LENGTH_HEADER, splitBinaryBody } from "./oip/binary";
import { oipRoutes } from "./oip/routes";
import { outcomeRoutes } from "./outcomes";
import { lazyChildLoggerFactory } from "./requestLogger";
import { seedRoutes } from "./seed/routes";

/** What the HTTP layer needs; everything else stays below the service. */
export interface AppDeps {
  /** The served model, or the versions of an experiment (a bare ModelService is served alone). */
  readonly service: ModelService | ServedModels;
  /** Metrics registry and instruments. */
  readonly metrics: ServerMetrics;
  /** A pino logger to use (main passes its own so model loading and HTTP share one stream). Default: none. */
  readonly logger?: FastifyBaseLogger;
  /** Log level when no `logger` is given; "silent" disables logging. Default: "info". */
  readonly logLevel?: string;
  /** Which requests get an access-log line: all, errors (status >= 400) or none. Default: "errors". */
  readonly accessLog?: AccessLogPolicy;
  /** Largest accepted body in bytes (413 beyond). Default: 1048576. */
  readonly bodyLimitBytes?: number;
  /** Longest a client may take to send a request's headers, in ms (408 beyond). Default: 10000. */
  readonly headersTimeoutMs?: number;
  /** Longest a client may take to send a whole request, in ms (408 beyond). Default: 30000. */
  readonly bodyTimeoutMs?: number;
  /** Longest a connection refused for a full queue is left unread, in ms; 0 = off. Default: 1000. */
  readonly shedPauseMs?: number;
  /** Batching limits, reported by `/model/info`. Default: not reported. */
  readonly batching?: {
    readonly maxBatchSize: number;
    readonly maxDelayMs: number;
    readonly maxQueueSize: number;
  };
}

/** Idle keep-alive connections are closed after this: above the ALB's 60 s idle timeout. */
export const KEEP_ALIVE_TIMEOUT_MS = 72_000;

/** Incoming `x-request-id` values are honoured when they look like an id (no log injection). */
const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

export function buildApp(deps: AppDeps): FastifyInstance {
  const bodyLimit = deps.bodyLimitBytes ?? 1_048_576;
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: { level: deps.logLevel ?? "info" } }),
    bodyLimit,
    // The access log is written by the metrics plugin's onResponse hook instead, as configured.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: "requestId" }),
    // Each request's logger is made on its first log line, not for every request (requestLogger.ts).
    childLoggerFactory: lazyChildLoggerFactory,
    requestIdHeader: false,
    genReqId: (req: IncomingMessage) => {
      const incoming = req.headers["x-request-id"];
      return typeof incoming === "string" && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
    },
    // A request that still arrives on a kept-alive connection after close() is answered, not
    // refused: the server can still serve it, and it carries Connection: close (connectionDrain).
    return503OnClosing: false,
    // Longer than the ALB's 60 s idle timeout, so the load balancer, not the server, closes idle
    // connections (the other way round races and surfaces as 502s).
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    // Slow senders are cut off (408) while receiving a request; Node counts both from a request's
    // first byte, so a kept-alive connection idling between requests is never timed out by them
    // (only by keepAliveTimeout above), and the time spent answering is not counted.
    requestTimeout: deps.bodyTimeoutMs ?? 30_000,
    http: {
      headersTimeout: deps.headersTimeoutMs ?? 10_000,
      // How often those two are checked (Node's default is 30 s, which would stretch them).
      connectionsCheckingInterval: 1_000,
    },
    clientErrorHandler,
    frameworkErrors: (err, _request, reply: FastifyReply) => {
      // e.g. FST_ERR_BAD_URL for a malformed %-escape: the documented shape, not fastify's.
      void reply.status(err.statusCode ?? 400).send({ error: err.message });
    },
  });

  // JSON, or binary tensor data (with Inference-Header-Content-Length); anything else is a 415.
  // JSON.parse's message says where the body broke.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
    const encoding = req.headers["content-encoding"];
    if (encoding !== undefined && encoding.toLowerCase() !== "identity") {
      done(
        Object.assign(
          new Error(
            `Content-Encoding ${JSON.stringify(encoding)} is not supported: send the body uncompressed`,
          ),
          { statusCode: 415 },
        ),
      );
      return;
    }
    const text = body as string;
    const headerLength = req.headers[HEADER_LENGTH_HEADER];
    if (typeof headerLength === "string" && headerLength !== String(Buffer.byteLength(text))) {
      done(
        Object.assign(
          new Error(
            "a body with binary tensor data (Inference-Header-Content-Length shorter than the body) " +
              "must be sent as application/octet-stream",
          ),
          { statusCode: 400 },
        ),
      );
      return;
    }
    if (text.trim() === "") {
      done(Object.assign(new Error("request body is empty: expected a JSON object"), { statusCode: 400 }));
      return;
    }
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(
        Object.assign(new Error(`request body is not valid JSON: ${(err as Error).message}`), {
          statusCode: 400,
        }),
      );
    }
  });

  // Binary tensor data: octet-stream, or no/any other type (Triton's client sends none) as long
  // as Inference-Header-Content-Length says where the JSON ends.
  const binaryParser = (
    req: { headers: Record<string, string | string[] | undefined> },
    body: Buffer,
    done: (err: Error | null, body?: unknown) => void,
  ): void => {
    const headerLength = req.headers[HEADER_LENGTH_HEADER];
    if (typeof headerLength !== "string") {
      done(
        Object.assign(new Error("unsupported media type"), {
          statusCode: 415,
          code: "FST_ERR_CTP_INVALID_MEDIA_TYPE",
        }),
      );
      return;
    }
    try {
      done(null, splitBinaryBody(body, headerLength));
    } catch (err) {
      done(Object.assign(err as Error, { statusCode: 400 }));
    }
  };
  app.addContentTypeParser("application/octet-stream", { parseAs: "buffer" }, binaryParser);
  app.addContentTypeParser("*", { parseAs: "buffer" }, binaryParser);

  // Callback-style hooks here and in the per-request plugins: an async hook costs a promise and a
  // microtask turn per request for nothing.
  // Every response names its request and, from SIGTERM on, moves its client off the connection
  // (connectionDrain). One hook for both: each onSend hook is a measurable cost on every response.
  app.addHook("onSend", (request, reply, payload, done) => {
    reply.header("x-request-id", request.id);
    if (isDraining(app)) reply.header("connection", "close");
    done(null, payload);
  });

  app.register(errorHandling, { bodyLimit });
  app.register(connectionDrain);
  app.register(metricsRoutes, { metrics: deps.metrics, accessLog: deps.accessLog });
  const service = deps.service instanceof ServedModels ? deps.service : new ServedModels(deps.service);
  app.register(loadShedding, {
    service,
    ...(deps.shedPauseMs !== undefined ? { pauseMs: deps.shedPauseMs } : {}),
  });
  app.register(healthRoutes, { service });
  app.register(seedRoutes, { service, batching: deps.batching });
  app.register(oipRoutes, { service });
  app.register(outcomeRoutes, { service });
  return app;
}
