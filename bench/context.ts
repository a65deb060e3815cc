/**
 * What every benchmark section shares: the run's options, a scratch directory, one way to apply
 * load, and small checks against a running server (one real prediction first, figures from its
 * /metrics afterwards).
 */
import { readFile } from "node:fs/promises";
import { runInterleaved, type LoadResult, type LoadTarget } from "./load";

/** Command-line options of `npm run bench`. */
export interface BenchOptions {
  /** Measured seconds per load row. Default: 5. */
  readonly duration: number;
  /** Unrecorded warm-up seconds before each row. Default: 1. */
  readonly warmup: number;
  /** Cold starts per launcher in the startup section. Default: 3. */
  readonly starts: number;
  /** Sections to run. Default: churn, mlp, startup. */
  readonly only: ReadonlySet<string>;
  /** Extra server environment for every served row (e.g. INTRA_OP_THREADS=1). Default: none. */
  readonly serverEnv: Readonly<Record<string, string>>;
  /** A row during which other processes used more cores than this is re-measured. Default: 0.25. */
  readonly maxOthersCores: number;
  /** Also write every figure to this JSON file. Default: none. */
  readonly json?: string;
  /** CPU list the servers are pinned to with taskset (e.g. "1"). Default: not pinned. */
  readonly serverCpus?: string;
}

/** A PASS/FAIL line of the summary. */
export interface Verdict {
  readonly target: string;
  readonly measured: string;
  readonly ok: boolean;
}

export class BenchContext {
  constructor(
    readonly options: BenchOptions,
    /** Scratch directory, removed at the end. */
    readonly work: string,
  ) {}

  /**
   * One load row per target at `connections`, the targets measured in alternating slices (see
   * load.ts): a quiet machine, a warm-up, then `duration` seconds per target.
   */
  compare(targets: readonly LoadTarget[], connections: number): Promise<LoadResult[]> {
    return runInterleaved(targets, {
      connections,
      durationSeconds: this.options.duration,
      warmupSeconds: this.options.warmup,
      maxOthersCores: this.options.maxOthersCores,
    });
  }
}

/** One real request, checked, before any load: a benchmark of error responses is worthless. */
export async function checkPrediction(url: string, body: string, classes: number): Promise<void> {
  const res = await fetch(`${url}/predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  const json = (await res.json()) as { probabilities?: unknown };
  if (res.status !== 200 || !Array.isArray(json.probabilities) || json.probabilities.length !== classes) {
    throw new Error(`POST /predict answered ${res.status} ${JSON.stringify(json)}; expected a prediction`);
  }
}

/** Counters from a server's /metrics that the benchmark reports. */
export interface ServerCounters {
  /** Requests answered on POST /predict. */
  readonly predictRequests: number;
  /** Sum of rows over all model runs, and the number of runs. */
  readonly batchRows: number;
  readonly batches: number;
}

export async function scrapeCounters(url: string): Promise<ServerCounters> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sum = (prefix: string): number =>
    text
      .split("\n")
      .filter((l) => l.startsWith(prefix))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
  return {
    predictRequests: sum('model_server_requests_total{route="/predict"'),
    batchRows: sum("model_server_batch_size_sum"),
    batches: sum("model_server_batch_size_count"),
  };
}

/** Mean rows per model run between two scrapes. */
export function meanBatch(before: ServerCounters, after: ServerCounters): number {
  const runs = after.batches - before.batches;
  return runs > 0 ? (after.batchRows - before.batchRows) / runs : 0;
}

/** Access-log lines for POST /predict in a server log file. */
export async function countPredictLogLines(file: string): Promise<number> {
  const text = await readFile(file, "utf8");
  let n = 0;
  for (const line of text.split("\n")) {
    if (line.includes('"msg":"request completed"') && line.includes('"url":"/predict"')) n++;
  }
  return n;
}

/** `KEY=VALUE ...` of a server environment (MODEL_URI left out: it is a scratch path). */
export function describeEnv(env: Readonly<Record<string, string>>): string {
  const keys = Object.keys(env).filter((k) => k !== "MODEL_URI");
  return keys.length === 0 ? "defaults" : keys.map((k) => `${k}=${env[k]}`).join(" ");
}
