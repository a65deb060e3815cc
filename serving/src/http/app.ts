/**
 * The HTTP application, built apart from `listen` so tests can `inject` or bind an ephemeral
 * port. One plugin per concern: error mapping, metrics, health, seed API, Open Inference Protocol.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { AccessLogPolicy } from "../config";
import type { ServerMetrics } from "../metrics";
import type { ModelService } from "../service/modelService";
import { ServedModels } from "../service/servedModels";
import { connectionDrain } from "./connectionDrain";
import { errorHandling } from "./errorHandling";
import { healthRoutes } from "./health";
import { metricsRoutes } from "./metricsRoutes";
import { HEADER_LENGTH_HEADER, splitBinaryBody } from "./oip/binary";
import { oipRoutes } from "./oip/routes";
import { outcomeRoutes } from "./outcomes";
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
  /** Batching limits, reported by `/model/info`. Default: not reported. */
  readonly batching?: {
    readonly maxBatchSize: number;
    readonly maxDelayMs: number;
    readonly maxQueueSize: number;
  };
}

/** Incoming `x-request-id` values are honoured when they look like an id (no log injection). */
const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

export function buildApp(deps: AppDeps): FastifyInstance {
  const bodyLimit = deps.bodyLimitBytes ?? 1_048_576;
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: { level: deps.logLevel ?? "info" } }),
    bodyLimit,
    // The access log is written by the metrics plugin's onResponse hook instead, as configured.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: "requestId" }),
    requestIdHeader: false,
    genReqId: (req: IncomingMessage) => {
      const incoming = req.headers["x-request-id"];
      return typeof incoming === "string" && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
    },
    // Requests that arrive on kept-alive connections after close() get 503 + Connection: close.
    return503OnClosing: true,
    // Longer than the ALB's 60 s idle timeout, so the load balancer, not the server, closes idle
    // connections (the other way round races and surfaces as 502s).
    keepAliveTimeout: 72_000,
  });

  // JSON, or binary tensor data (with Inference-Header-Content-Length); anything else is a 415.
  // JSON.parse's message says where the body broke.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("application/json", { parseAs: "string" }, (req, body, done) => {
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
  app.addHook("onSend", (request, reply, payload, done) => {
    reply.header("x-request-id", request.id);
    done(null, payload);
  });

  app.register(errorHandling, { bodyLimit });
  app.register(connectionDrain);
  app.register(metricsRoutes, { metrics: deps.metrics, accessLog: deps.accessLog });
  const service = deps.service instanceof ServedModels ? deps.service : new ServedModels(deps.service);
  app.register(healthRoutes, { service });
  app.register(seedRoutes, { service, batching: deps.batching });
  app.register(oipRoutes, { service });
  app.register(outcomeRoutes, { service });
  return app;
}
