/**
 * The bundled churn model over POST /predict at concurrency 1, 16 and 64, next to its two
 * ceilings: the HTTP floor (a bare node:http server parsing the same JSON) and the inference
 * ceiling (in-process session.run, batch 1). At 64, a second server with ACCESS_LOG=all shows
 * what a log line per request costs, and that it writes exactly one per request.
 */
import { join } from "node:path";
import { measureSessionRun, type SessionRunResult } from "./ceiling";
import {
  checkPrediction,
  countPredictLogLines,
  describeEnv,
  meanBatch,
  scrapeCounters,
  type BenchContext,
  type Verdict,
} from "./context";
import type { LoadResult } from "./load";
import { CPU_HEADER, cpuCells, fixed, int, loadCells, pct, table } from "./report";
import { REPO, startFloorServer, startModelServer } from "./serverProcess";

export const CHURN_CONCURRENCY = [1, 16, 64] as const;
const CHURN_MODEL = join(REPO, "serving", "models", "churn", "1.0.0", "model.onnx");
/** One row of the churn model's 4 features. */
export const CHURN_BODY = JSON.stringify({ features: [0.42, -1.37, 0.88, 1.05] });

/** The issue's targets for this section. */
export const CHURN_TARGETS = { servedOverFloor: 0.5, p99Ms: 5 } as const;

export interface ChurnResult {
  readonly env: Readonly<Record<string, string>>;
  readonly floor: readonly LoadResult[];
  readonly served: ReadonlyArray<LoadResult & { meanBatch: number }>;
  /** The same server with ACCESS_LOG=all, at c=64. */
  readonly servedAllLogged: LoadResult;
  readonly ceiling: SessionRunResult;
  /** /predict requests the ACCESS_LOG=all server answered, and access-log lines it wrote for them. */
  readonly answered: number;
  readonly logged: number;
  readonly verdicts: readonly Verdict[];
}

export async function churnSection(ctx: BenchContext): Promise<ChurnResult> {
  const env: Record<string, string> = { LOG_LEVEL: "info", ...ctx.options.serverEnv };
  const allLoggedEnv = { ...env, ACCESS_LOG: "all" };
  const logFile = join(ctx.work, "churn-access-log-all.log");
  const floorServer = await startFloorServer();
  const floor: LoadResult[] = [];
  const served: Array<LoadResult & { meanBatch: number }> = [];
  let servedAllLogged: LoadResult | undefined;
  let answered = 0;
  try {
    const server = await startModelServer({ launcher: "node", env, logFile: join(ctx.work, "churn.log") });
    const allLogged = await startModelServer({ launcher: "node", env: allLoggedEnv, logFile });
    try {
      for (const s of [server, allLogged]) await checkPrediction(s.url, CHURN_BODY, 2);
      const targets = [
        { url: floorServer.url, body: CHURN_BODY, pid: floorServer.pid },
        { url: `${server.url}/predict`, body: CHURN_BODY, pid: server.pid },
      ];
      for (const c of CHURN_CONCURRENCY) {
        const before = await scrapeCounters(server.url);
        const withAll =
          c === 64 ? [{ url: `${allLogged.url}/predict`, body: CHURN_BODY, pid: allLogged.pid }] : [];
        const [f, s, all] = await ctx.compare([...targets, ...withAll], c);
        floor.push(f);
        served.push({ ...s, meanBatch: meanBatch(before, await scrapeCounters(server.url)) });
        if (all) servedAllLogged = all;
      }
      answered = (await scrapeCounters(allLogged.url)).predictRequests;
    } finally {
      await server.stop();
      await allLogged.stop();
    }
  } finally {
    await floorServer.stop();
  }
  const logged = await countPredictLogLines(logFile);

  const ceiling = await measureSessionRun({
    modelPath: CHURN_MODEL,
    input: "input",
    features: 4,
    batch: 1,
    seconds: 2,
    intraOpThreads: Number(env.INTRA_OP_THREADS ?? 0),
  });

  console.log("## Churn model (bundled 1.0.0) over POST /predict\n");
  console.log(
    `Server: \`node dist/serving/src/main.js\`, ${describeEnv(env)}, other settings at their defaults. ` +
      "At each concurrency the floor and the server are measured in alternating slices.\n",
  );
  console.log(
    table(
      ["server", "conc", "req/s", "p50 ms", "p99 ms", "errors", "non-2xx", "mean batch", ...CPU_HEADER],
      [
        ...floor.map((r) => [
          "HTTP floor (bare node:http)",
          String(r.connections),
          ...loadCells(r),
          "—",
          ...cpuCells(r),
        ]),
        ...served.map((r) => [
          "served POST /predict",
          String(r.connections),
          ...loadCells(r),
          fixed(r.meanBatch, 1),
          ...cpuCells(r),
        ]),
        ["served, ACCESS_LOG=all", "64", ...loadCells(servedAllLogged!), "—", ...cpuCells(servedAllLogged!)],
      ],
    ),
  );
  const ratio = (i: number) => served[i].requestsPerSecond / floor[i].requestsPerSecond;
  console.log(
    `\nserved req/s as a fraction of the HTTP floor: ${CHURN_CONCURRENCY.map((c, i) => `c=${c} ${pct(ratio(i))}`).join(", ")}`,
  );
  const at64 = served.length - 1;
  console.log(
    `inference ceiling (in-process session.run, batch 1): ${int(ceiling.runsPerSecond)} runs/s ` +
      `(${fixed(ceiling.runMs * 1000, 1)} µs/run); served req/s at c=64 is ${pct(served[at64].requestsPerSecond / ceiling.runsPerSecond)} of it ` +
      `(the server batches: ${fixed(served[at64].meanBatch, 1)} rows per run at c=64)`,
  );
  console.log(
    `ACCESS_LOG=all: ${int(logged)} "request completed" lines for ${int(answered)} /predict requests answered; ` +
      `at c=64 it served ${pct(servedAllLogged!.requestsPerSecond / served[at64].requestsPerSecond)} of ` +
      `the default (ACCESS_LOG=errors) server's req/s`,
  );
  const floor64 = floor[at64];
  console.log(
    `closed loop: at c=64 every connection waits for its previous answer, so mean latency = 64 / throughput; ` +
      `p99 <= ${CHURN_TARGETS.p99Ms} ms needs well over ${int(64 / (CHURN_TARGETS.p99Ms / 1000))} req/s. ` +
      `The HTTP floor itself did ${int(floor64.requestsPerSecond)} req/s with p99 ${fixed(floor64.p99Ms)} ms here.`,
  );
  // p99 / mean latency (closed loop: mean = connections / throughput): how long a tail this
  // machine gives even the floor at c=64.
  const meanMs = (r: LoadResult) => (r.connections * 1000) / r.requestsPerSecond;
  const tail = (r: LoadResult) => r.p99Ms / meanMs(r);
  const needed = (floor64.connections * 1000 * tail(floor64)) / CHURN_TARGETS.p99Ms;
  console.log(
    `tail: the floor's p99 is ${fixed(tail(floor64))}x its mean latency and the server's ${fixed(tail(served[at64]))}x; ` +
      `at the floor's tail, p99 <= ${CHURN_TARGETS.p99Ms} ms needs ${int(needed)} req/s = ${pct(needed / floor64.requestsPerSecond)} of the floor.`,
  );
  const s64cpu = served[at64].serverCpuUsPerRequest;
  const f64cpu = floor64.serverCpuUsPerRequest;
  if (s64cpu && f64cpu && served[at64].cpu && floor64.cpu) {
    console.log(
      `per-request cost: each server answers on one event-loop thread; at c=64 they used ` +
        `${fixed(floor64.cpu.server)} (floor) and ${fixed(served[at64].cpu.server)} (served) cores, so served/floor ` +
        `~ floor CPU per request / server CPU per request = ${fixed(f64cpu, 0)} / ${fixed(s64cpu, 0)} µs = ` +
        `${pct(f64cpu / s64cpu)}; ${pct(CHURN_TARGETS.servedOverFloor)} needs <= ${fixed(f64cpu / CHURN_TARGETS.servedOverFloor, 0)} µs per request.`,
    );
  }
  console.log("");

  const s64 = served[at64];
  return {
    env,
    floor,
    served,
    servedAllLogged: servedAllLogged!,
    ceiling,
    answered,
    logged,
    verdicts: [
      {
        target: `churn c=64: served req/s >= ${pct(CHURN_TARGETS.servedOverFloor)} of the HTTP floor`,
        measured: `${int(s64.requestsPerSecond)} / ${int(floor64.requestsPerSecond)} = ${pct(ratio(at64))}`,
        ok: ratio(at64) >= CHURN_TARGETS.servedOverFloor,
      },
      {
        target: `churn c=64: p99 <= ${CHURN_TARGETS.p99Ms} ms`,
        measured: `${fixed(s64.p99Ms)} ms (HTTP floor: ${fixed(floor64.p99Ms)} ms)`,
        ok: s64.p99Ms <= CHURN_TARGETS.p99Ms,
      },
      {
        target: "churn, ACCESS_LOG=all: one access-log line per /predict request",
        measured: `${int(logged)} lines / ${int(answered)} requests`,
        ok: logged === answered && answered > 0,
      },
    ],
  };
}
