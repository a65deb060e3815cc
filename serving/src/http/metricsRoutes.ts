/**
 * `GET /metrics` and the per-request instrumentation: a count by route template, method and
 * status and a latency histogram for every request, and an access-log line per request as the
 * policy says (probes and scrapes at debug, so they do not drown the log).
 */
import type { FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";
import { DEFAULT_ACCESS_LOG, type AccessLogPolicy } from "../config";
import type { ServerMetrics } from "../metrics";
import { wasShed } from "./loadShedding";

export interface MetricsRoutesOptions {
  readonly metrics: ServerMetrics;
  /** Which requests get a "request completed" line: all, errors (status >= 400) or none. Default: "errors". */
  readonly accessLog?: AccessLogPolicy;
}

const QUIET_ROUTES = new Set(["/health", "/ready", "/metrics", "/v2/health/live", "/v2/health/ready"]);

const plugin: FastifyPluginAsync<MetricsRoutesOptions> = async (
  app,
  { metrics, accessLog = DEFAULT_ACCESS_LOG },
) => {
  // Debug only: with it, a log shows which requests the server had read (e.g. during a drain).
  // Registered only then: even an empty hook costs every request. Callback-style hooks: an async
  // hook costs a promise and a microtask turn per request.
  if (app.log.level === "debug" || app.log.level === "trace") {
    app.addHook("onRequest", (request, _reply, done) => {
      request.log.debug({ method: request.method, url: request.url }, "request received");
      done();
    });
  }

  app.addHook("onResponse", (request, reply, done) => {
    // The route template, never the raw URL: bounded label cardinality.
    const route = request.routeOptions.url ?? "unmatched";
    const status = String(reply.statusCode);
    metrics.requests.inc({ route, method: request.method, status, protocol: "http" });
    metrics.requestDuration.observe(
      { route, method: request.method, protocol: "http" },
      reply.elapsedTime / 1000,
    );
    if (
      accessLog === "none" ||
      (accessLog === "errors" && (reply.statusCode < 400 || wasShed(request.raw)))
    ) {
      done();
      return;
    }
    const line = {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
    };
    if (QUIET_ROUTES.has(route) && reply.statusCode < 500) request.log.debug(line, "request completed");
    else request.log.info(line, "request completed");
    done();
  });

  app.get("/metrics", async (_request, reply) => {
    const body = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(body);
  });
};

/** Metrics for the whole app (fastify-plugin: the hook must see every route). */
export const metricsRoutes = fp(plugin, { name: "metrics" });
