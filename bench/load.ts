/**
 * Closed-loop HTTP load with autocannon, used programmatically: `connections` clients each keep
 * one request in flight (no pipelining) for a fixed time after an unrecorded warm-up.
 *
 * Latency percentiles are computed here from every response's own timing: autocannon's built-in
 * histogram records whole milliseconds, too coarse for a 5 ms target.
 */
import autocannon from "autocannon";
import { startCpuWindow, type CpuUsage } from "./cpuMonitor";

/** Options of {@link runLoad}. */
export interface LoadArgs {
  /** Full URL to POST to. */
  readonly url: string;
  /** The JSON request body, sent unchanged by every request. */
  readonly body: string;
  /** Concurrent connections, each with one request in flight. */
  readonly connections: number;
  /** Measured seconds. */
  readonly durationSeconds: number;
  /** Unrecorded seconds first (JIT, connection setup, batcher steady state). Default: 1. */
  readonly warmupSeconds?: number;
  /** Per-request timeout, seconds. Default: 10. */
  readonly timeoutSeconds?: number;
  /** The server's process ids, whose CPU use is reported. Default: none. */
  readonly serverPids?: readonly number[];
}

/** What one load run measured. */
export interface LoadResult {
  readonly connections: number;
  /** Responses per second over the measured window. */
  readonly requestsPerSecond: number;
  /** Latency percentiles of every response in the window, ms. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Responses in the window. */
  readonly responses: number;
  /** Connection errors and timeouts. */
  readonly errors: number;
  /** Responses with a status outside 2xx. */
  readonly non2xx: number;
  /** CPU used by the server, the load generator and everything else, in cores. */
  readonly cpu?: CpuUsage;
  /** Server CPU time per response, µs: the server's cost per request, whatever the contention. */
  readonly serverCpuUsPerRequest?: number;
}

export async function runLoad(args: LoadArgs): Promise<LoadResult> {
  if (args.warmupSeconds ?? 1) await cannon(args, args.warmupSeconds ?? 1, false);
  return cannon(args, args.durationSeconds, true);
}

async function cannon(args: LoadArgs, seconds: number, record: boolean): Promise<LoadResult> {
  const latencies: number[] = [];
  let endCpu: () => CpuUsage | undefined = () => undefined;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: args.url,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: args.body,
        connections: args.connections,
        pipelining: 1,
        duration: seconds,
        timeout: args.timeoutSeconds ?? 10,
      },
      (err: unknown, res: autocannon.Result) => (err ? reject(err as Error) : resolve(res)),
    );
    if (record) {
      instance.on("response", (_client: unknown, _status: number, _bytes: number, ms: number) => {
        latencies.push(ms);
      });
    }
    endCpu = startCpuWindow(args.serverPids ?? []);
  });
  const cpu = endCpu();
  latencies.sort((a, b) => a - b);
  const windowSeconds = result.duration > 0 ? result.duration : seconds;
  return {
    connections: args.connections,
    requestsPerSecond: latencies.length / windowSeconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.length > 0 ? latencies[latencies.length - 1] : 0,
    responses: latencies.length,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    ...(cpu
      ? { cpu, serverCpuUsPerRequest: (cpu.server * cpu.seconds * 1e6) / Math.max(1, latencies.length) }
      : {}),
  };
}

/** Nearest-rank percentile of ascending `sorted`; 0 when empty. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}
