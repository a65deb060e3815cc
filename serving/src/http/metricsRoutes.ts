/**
 * `GET /metrics` and the per-request instrumentation: a count by route template, method and
 * status and a latency histogram for every request, and an access-log line per request as the
 * policy says (probes and scrapes at debug, so they do not drown the log).
 */
import type { FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";
import { DEFAULT_ACCESS_LOG, type AccessLogPolicy } from "../config";
import type { ServerMetrics } from "../metrics";
import type { CounterSeries, HistogramSeries } from "../metricSeries";
import { wasShed } from "./loadShedding";

export interface MetricsRoutesOptions {
  readonly metrics: ServerMetrics;
  /** Which requests get a "request completed" line: all, errors (status >= 400) or none. Default: "errors". */
  readonly accessLog?: AccessLogPolicy;
}

/** The series one route template and method records into. */
interface RouteSeries {
  readonly duration: HistogramSeries;
  requests(status: number): CounterSeries;
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

  // Series handles per route template and method (and status), resolved at first use: a handful
  // of each, since labels are bounded.
  const routes = new Map<string, RouteSeries>();
  const seriesOf = (route: string, method: string): RouteSeries => {
    const key = `${method} ${route}`;
    let series = routes.get(key);
    if (!series) {
      const byStatus = new Map<number, CounterSeries>();
      series = {
        duration: metrics.requestDuration.labels({ route, method, protocol: "http" }),
        requests: (status) => {
          let counter = byStatus.get(status);
          if (!counter) {
            counter = metrics.requests.labels({ route, method, status, protocol: "http" });
            byStatus.set(status, counter);
          }
          return counter;
        },
      };
      routes.set(key, series);
    }
    return series;
  };

  app.addHook("onResponse", (request, reply, done) => {
    // The route template, never the raw URL: bounded label cardinality.
    const route = request.routeOptions.url ?? "unmatched";
    const series = seriesOf(route, request.method);
    series.requests(reply.statusCode).inc();
    series.duration.observe(reply.elapsedTime / 1000);
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
