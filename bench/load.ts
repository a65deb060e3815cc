/**
 * Closed-loop HTTP load with autocannon, used programmatically: `connections` clients each keep
 * one request in flight (no pipelining) for a fixed time after an unrecorded warm-up.
 *
 * Servers that are compared (the HTTP floor and the model server) are measured in alternating
 * slices — A, B, A, B — rather than one after the other: on a shared or virtualised machine the
 * speed of a core drifts over minutes, and interleaving makes a drift hit both sides alike. A
 * slice during which other processes used more than `maxOthersCores` is measured again.
 *
 * Latency percentiles are computed here from every response's own timing: autocannon's built-in
 * histogram records whole milliseconds, too coarse for a 5 ms target.
 *
 * Every slice opens fresh connections, and its first few hundred ms are not steady state (64
 * connects, both sides re-warming): measured on this machine, that start held most of a slice's
 * slowest 1% of responses. So each slice runs `settleSeconds` unrecorded before its measured
 * window, and the CPU window covers only the measured part. (A load balancer keeps its
 * connections to a pod alive: steady state is what serving sees.)
 */
import autocannon from "autocannon";
import { startCpuWindow, waitForQuiet, type CpuUsage } from "./cpuMonitor";

/** A server to load. */
export interface LoadTarget {
  /** Full URL to POST to. */
  readonly url: string;
  /** The JSON request body, sent unchanged by every request. */
  readonly body: string;
  /** The server's process id, whose CPU use is reported. */
  readonly pid: number;
}

/** Options of {@link runInterleaved}. */
export interface LoadArgs {
  /** Concurrent connections, each with one request in flight. */
  readonly connections: number;
  /** Measured seconds per target, split into `slices`. */
  readonly durationSeconds: number;
  /** Unrecorded seconds per target first (JIT, connections, batcher steady state). Default: 1. */
  readonly warmupSeconds?: number;
  /** Alternating slices per target. Default: 2. */
  readonly slices?: number;
  /** A slice during which other processes used more cores than this is re-measured. Default: 0.25. */
  readonly maxOthersCores?: number;
  /** Most tries per slice before keeping the least disturbed. Default: 3. */
  readonly attempts?: number;
  /** Per-request timeout, seconds. Default: 10. */
  readonly timeoutSeconds?: number;
  /** Unrecorded seconds at the start of every measured slice (new connections settle). Default: 0.5. */
  readonly settleSeconds?: number;
}

/** What the load on one target measured. */
export interface LoadResult {
  readonly connections: number;
  /** Responses per second over the measured window. */
  readonly requestsPerSecond: number;
  /** Latency percentiles over every response in the window, ms. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Responses in the window. */
  readonly responses: number;
  /** Connection errors and timeouts. */
  readonly errors: number;
  /** Responses with a status outside 2xx. */
  readonly non2xx: number;
  /** Mean cores used by the server, the load generator and everything else over the window. */
  readonly cpu?: CpuUsage;
  /** Server CPU time per response, µs: its cost per request, steadier than req/s when cores are contended. */
  readonly serverCpuUsPerRequest?: number;
}

/** One measured slice. */
interface Slice {
  readonly latencies: number[];
  readonly seconds: number;
  readonly errors: number;
  readonly non2xx: number;
  readonly cpu?: CpuUsage;
}

/** Loads each target in turn, slice by slice, and returns one result per target. */
export async function runInterleaved(targets: readonly LoadTarget[], args: LoadArgs): Promise<LoadResult[]> {
  const slices = args.slices ?? 2;
  const maxOthers = args.maxOthersCores ?? 0.25;
  const warmup = args.warmupSeconds ?? 1;
  if (warmup > 0) for (const target of targets) await cannon(target, args, warmup, false);
  const measured: Slice[][] = targets.map(() => []);
  for (let s = 0; s < slices; s++) {
    for (const [i, target] of targets.entries()) {
      let best: Slice | undefined;
      for (let attempt = 0; attempt < (args.attempts ?? 3); attempt++) {
        await waitForQuiet({ maxOthersCores: maxOthers, serverPids: [target.pid] });
        const slice = await cannon(target, args, args.durationSeconds / slices, true);
        if (!best || (slice.cpu?.others ?? 0) < (best.cpu?.others ?? 0)) best = slice;
        if ((slice.cpu?.others ?? 0) <= maxOthers) break;
      }
      measured[i].push(best!);
    }
  }
  return measured.map((parts) => summarize(args.connections, parts));
}

/** {@link runInterleaved} with a single target. */
export async function runLoad(target: LoadTarget, args: LoadArgs): Promise<LoadResult> {
  const [result] = await runInterleaved([target], args);
  return result;
}

async function cannon(target: LoadTarget, args: LoadArgs, seconds: number, record: boolean): Promise<Slice> {
  const settle = record ? (args.settleSeconds ?? 0.5) : 0;
  const latencies: number[] = [];
  let recording = false;
  let endCpu: () => CpuUsage | undefined = () => undefined;
  let startedAt = 0;
  let settleTimer: NodeJS.Timeout | undefined;
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: target.url,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: target.body,
        connections: args.connections,
        pipelining: 1,
        duration: settle + seconds,
        timeout: args.timeoutSeconds ?? 10,
      },
      (err: unknown, res: autocannon.Result) => (err ? reject(err as Error) : resolve(res)),
    );
    if (!record) return;
    instance.on("response", (_client: unknown, _status: number, _bytes: number, ms: number) => {
      if (recording) latencies.push(ms);
    });
    const startRecording = () => {
      recording = true;
      startedAt = performance.now();
      endCpu = startCpuWindow([target.pid]);
    };
    if (settle > 0) settleTimer = setTimeout(startRecording, settle * 1000);
    else startRecording();
  });
  clearTimeout(settleTimer);
  recording = false;
  const cpu = endCpu();
  return {
    latencies,
    seconds: cpu?.seconds ?? (startedAt > 0 ? (performance.now() - startedAt) / 1000 : seconds),
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    ...(cpu ? { cpu } : {}),
  };
}

function summarize(connections: number, slices: readonly Slice[]): LoadResult {
  const latencies = slices.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const seconds = slices.reduce((n, s) => n + s.seconds, 0);
  const withCpu = slices.filter((s) => s.cpu);
  const cpuSeconds = withCpu.reduce((n, s) => n + s.seconds, 0);
  const mean = (pick: (c: CpuUsage) => number) =>
    withCpu.reduce((n, s) => n + pick(s.cpu!) * s.seconds, 0) / cpuSeconds;
  const cpu: CpuUsage | undefined =
    withCpu.length === slices.length && cpuSeconds > 0
      ? {
          server: mean((c) => c.server),
          generator: mean((c) => c.generator),
          others: mean((c) => c.others),
          seconds,
        }
      : undefined;
  return {
    connections,
    requestsPerSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.length > 0 ? latencies[latencies.length - 1] : 0,
    responses: latencies.length,
    errors: slices.reduce((n, s) => n + s.errors, 0),
    non2xx: slices.reduce((n, s) => n + s.non2xx, 0),
    ...(cpu
      ? { cpu, serverCpuUsPerRequest: (cpu.server * seconds * 1e6) / Math.max(1, latencies.length) }
      : {}),
  };
}

/** Nearest-rank percentile of ascending `sorted`; 0 when empty. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank];
}
