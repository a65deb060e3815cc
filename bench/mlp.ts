/**
 * A compute-heavy model generated here — MLP 64->1024->1024->1024->2 with a dynamic batch
 * dimension, built with serving/tools — served one row per request with dynamic batching on and
 * off, with session.run on the event-loop thread and in a worker thread, against in-process
 * batch-64 session.run and against the HTTP floor for the same request body.
 */
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { mlpModel } from "../serving/tools/models";
import { writeModelVersion } from "../serving/tools/modelRepository";
import { measureSessionRun, type SessionRunResult } from "./ceiling";
import {
  checkPrediction,
  describeEnv,
  meanBatch,
  scrapeCounters,
  type BenchContext,
  type Verdict,
} from "./context";
import type { LoadResult } from "./load";
import { CPU_HEADER, cpuCells, fixed, int, loadCells, pct, table } from "./report";
import { startFloorServer, startModelServer, type ModelServer } from "./serverProcess";

export const MLP = { features: 64, hidden: 1024, layers: 3, classes: 2 } as const;
const MLP_BODY = JSON.stringify({
  features: Array.from({ length: MLP.features }, (_, i) => Math.round(Math.sin(i + 1) * 1000) / 1000),
});
/** The target: batched rows/s over in-process batch-64 rows/s. */
export const MLP_TARGET = 0.7;

/** One served configuration and the concurrencies it is measured at. */
interface Variant {
  readonly name: string;
  readonly env: Readonly<Record<string, string>>;
  readonly concurrency: readonly number[];
}

const BATCHING_ON = { MAX_BATCH_SIZE: "64" };
const VARIANTS: readonly Variant[] = [
  { name: "batching on, main thread", env: BATCHING_ON, concurrency: [64, 128] },
  { name: "batching off, main thread", env: { MAX_BATCH_SIZE: "1" }, concurrency: [64] },
  {
    name: "batching on, worker thread",
    env: { ...BATCHING_ON, INFERENCE_THREAD: "worker" },
    concurrency: [64, 128],
  },
];

export interface MlpRow extends LoadResult {
  readonly variant: string;
  readonly env: Readonly<Record<string, string>>;
  readonly meanBatch: number;
}

export interface MlpResult {
  readonly inProcess: readonly SessionRunResult[];
  readonly floor: LoadResult;
  readonly rows: readonly MlpRow[];
  readonly verdicts: readonly Verdict[];
}

export async function mlpSection(ctx: BenchContext): Promise<MlpResult> {
  const { dir } = await writeModelVersion({
    root: join(ctx.work, "models"),
    name: "mlp",
    model: mlpModel(MLP),
  });
  const sessionRun = (batch: number) =>
    measureSessionRun({
      modelPath: join(dir, "model.onnx"),
      input: "input",
      features: MLP.features,
      batch,
      seconds: 2,
      intraOpThreads: Number(ctx.options.serverEnv.INTRA_OP_THREADS ?? 0),
    });
  // batch 64 is measured before and after the served rows, and averaged: cores drift in speed
  const inProcess: SessionRunResult[] = [await sessionRun(1), await sessionRun(64)];

  const floorServer = await startFloorServer();
  const servers: Array<{ variant: Variant; env: Record<string, string>; server: ModelServer }> = [];
  const rows: MlpRow[] = [];
  let floorResult: LoadResult | undefined;
  try {
    for (const [i, variant] of VARIANTS.entries()) {
      const env = { LOG_LEVEL: "info", MODEL_URI: dir, ...variant.env, ...ctx.options.serverEnv };
      const server = await startModelServer({
        launcher: "node",
        env,
        logFile: join(ctx.work, `mlp-${i}.log`),
      });
      servers.push({ variant, env, server });
      await checkPrediction(server.url, MLP_BODY, MLP.classes);
    }
    for (const c of [64, 128]) {
      const measured = servers.filter((s) => s.variant.concurrency.includes(c));
      const targets = [
        ...(c === 64 ? [{ url: floorServer.url, body: MLP_BODY, pid: floorServer.pid }] : []),
        ...measured.map((s) => ({ url: `${s.server.url}/predict`, body: MLP_BODY, pid: s.server.pid })),
      ];
      const before = await Promise.all(measured.map((s) => scrapeCounters(s.server.url)));
      const results = await ctx.compare(targets, c);
      if (c === 64) floorResult = results.shift();
      for (const [i, s] of measured.entries()) {
        const batch = meanBatch(before[i], await scrapeCounters(s.server.url));
        rows.push({ ...results[i], variant: s.variant.name, env: s.env, meanBatch: batch });
      }
    }
  } finally {
    for (const s of servers) await s.server.stop();
    await floorServer.stop();
  }
  const floor = floorResult!;
  const after = await sessionRun(64);
  inProcess.push(after);
  const batch64 = (inProcess[1].rowsPerSecond + after.rowsPerSecond) / 2;

  const arch = [MLP.features, ...Array<number>(MLP.layers).fill(MLP.hidden), MLP.classes].join("->");
  console.log(`## Compute-heavy MLP ${arch} (dynamic batch), one row per POST /predict\n`);
  console.log(
    `in-process session.run (no HTTP, nothing else running): batch 1: ${int(inProcess[0].rowsPerSecond)} rows/s ` +
      `(${fixed(inProcess[0].runMs)} ms per run); batch 64: ${int(batch64)} rows/s (${fixed(64000 / batch64)} ms per run; ` +
      `mean of ${int(inProcess[1].rowsPerSecond)} before and ${int(after.rowsPerSecond)} after the served rows)`,
  );
  console.log(
    "Every server below runs at once (idle when not loaded); at each concurrency they are measured in alternating slices.\n",
  );
  console.log(
    table(
      [
        "server",
        "conc",
        "rows/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "non-2xx",
        "mean batch",
        "of in-process b64",
        "of HTTP floor",
        ...CPU_HEADER,
      ],
      [
        [
          "HTTP floor (bare node:http), same body",
          "64",
          ...loadCells(floor),
          "—",
          pct(floor.requestsPerSecond / batch64),
          "100%",
          ...cpuCells(floor),
        ],
        ...rows.map((r) => [
          `${r.variant} (${describeEnv({ ...VARIANTS.find((v) => v.name === r.variant)!.env, ...ctx.options.serverEnv })})`,
          String(r.connections),
          ...loadCells(r),
          fixed(r.meanBatch, 1),
          pct(r.requestsPerSecond / batch64),
          pct(r.requestsPerSecond / floor.requestsPerSecond),
          ...cpuCells(r),
        ]),
      ],
    ),
  );
  const row = (variant: string, c: number) => rows.find((r) => r.variant === variant && r.connections === c)!;
  const on = row(VARIANTS[0].name, 64);
  const off = row(VARIANTS[1].name, 64);
  const ratio = (a: LoadResult, b: LoadResult) => fixed(a.requestsPerSecond / b.requestsPerSecond);
  console.log(`\nbatching on vs off (c=64): ${ratio(on, off)}x rows/s`);
  console.log(
    `worker thread vs main thread, batching on: c=64 ${ratio(row(VARIANTS[2].name, 64), on)}x, ` +
      `c=128 ${ratio(row(VARIANTS[2].name, 128), row(VARIANTS[0].name, 128))}x rows/s`,
  );
  // The most any server could serve here: every row costs at least the in-process CPU of a
  // batch-64 run, and every one-row request at least what the bare HTTP floor and the load
  // generator spent per request on the same body — all on this machine's cores.
  const cores = availableParallelism();
  const cpuPerRow = (inProcess[1].cpuUsPerRow + after.cpuUsPerRow) / 2;
  const floorUs = floor.serverCpuUsPerRequest;
  const floorGenUs = floor.cpu ? (floor.cpu.generator * 1e6) / floor.requestsPerSecond : undefined;
  const bound = floorUs && floorGenUs ? (cores * 1e6) / (cpuPerRow + floorUs + floorGenUs) : undefined;
  if (bound && floorUs && floorGenUs) {
    console.log(
      `upper bound for any server here, one row per request: ${cores} cores / (${fixed(cpuPerRow, 0)} µs in-process CPU per row ` +
        `at batch 64 + ${fixed(floorUs, 0)} µs HTTP floor CPU per request + ${fixed(floorGenUs, 0)} µs load-generator CPU per request) ` +
        `= ${int(bound)} rows/s = ${pct(bound / batch64)} of in-process batch-64 rows/s (target ${pct(MLP_TARGET)}).`,
    );
  }
  if (on.serverCpuUsPerRequest && on.cpu) {
    console.log(
      `the server (batching on, c=64) used ${fixed(on.serverCpuUsPerRequest, 0)} µs of CPU per row, of it ~${fixed(cpuPerRow, 0)} µs ` +
        `session.run; it served ${bound ? pct(on.requestsPerSecond / bound) : "?"} of that bound.\n`,
    );
  } else {
    console.log("");
  }

  return {
    inProcess,
    floor,
    rows,
    verdicts: [
      {
        target: `MLP batched rows/s >= ${pct(MLP_TARGET)} of in-process batch-64 rows/s`,
        measured:
          `${int(on.requestsPerSecond)} / ${int(batch64)} = ${pct(on.requestsPerSecond / batch64)} ` +
          `(bound for any server here: ${bound ? pct(bound / batch64) : "?"})`,
        ok: on.requestsPerSecond / batch64 >= MLP_TARGET,
      },
    ],
  };
}
