/**
 * A bounded, steady load for the local pair: `rate` requests per second to one path, never
 * more than `maxInFlight` at once (requests beyond it are counted as skipped, not queued, so a
 * slow color cannot make the load pile up). Counts what clients saw.
 */
import * as http from "node:http";

export interface LoadOptions {
  /** Base URL (the router's traffic URL). */
  readonly url: string;
  /** Requests per second. */
  readonly rate: number;
  /** Request path. Default: "/predict". */
  readonly path?: string;
  /** JSON body. Default: one churn row for the seed /predict route. */
  readonly body?: unknown;
  /** Most requests in flight at once. Default: 64. */
  readonly maxInFlight?: number;
}

export interface LoadStats {
  /** Requests sent. */
  sent: number;
  /** Answers by status code (0 = no answer: connection error). */
  byStatus: Record<number, number>;
  /** Answers with status >= 500 or no answer. */
  errors: number;
  /** Ticks when `maxInFlight` requests were already out. */
  skipped: number;
}

export interface RunningLoad {
  readonly stats: LoadStats;
  /** Stops sending and resolves once every request in flight has been answered. */
  stop(): Promise<LoadStats>;
}

export const DEFAULT_LOAD_BODY = { features: [0.5, 0.3, 0.8, 0.2] };

export function startLoad(options: LoadOptions): RunningLoad {
  const stats: LoadStats = { sent: 0, byStatus: {}, errors: 0, skipped: 0 };
  const body = JSON.stringify(options.body ?? DEFAULT_LOAD_BODY);
  const target = new URL(options.path ?? "/predict", options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.maxInFlight ?? 64 });
  const maxInFlight = options.maxInFlight ?? 64;
  let inFlight = 0;
  let idle: (() => void) | undefined;
  const settle = (status: number): void => {
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    if (status === 0 || status >= 500) stats.errors++;
    if (--inFlight === 0) idle?.();
  };
  const send = (): void => {
    if (inFlight >= maxInFlight) {
      stats.skipped++;
      return;
    }
    inFlight++;
    stats.sent++;
    const req = http.request(target, {
      method: "POST",
      agent,
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
    });
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => settle(res.statusCode ?? 0));
      res.on("error", () => settle(0));
    });
    req.on("error", () => settle(0));
    req.end(body);
  };
  // Ticks of 10 ms carry the fractional requests over, so any rate is met on average.
  const started = performance.now();
  const timer = setInterval(() => {
    const due =
      Math.floor(((performance.now() - started) / 1000) * options.rate) - stats.sent - stats.skipped;
    for (let i = 0; i < due; i++) send();
  }, 10);
  return {
    stats,
    async stop() {
      clearInterval(timer);
      if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve));
      agent.destroy();
      return stats;
    },
  };
}
