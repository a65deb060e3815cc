/**
 * The inference ceiling: `session.run` called back to back in this process, with nothing else
 * running — no HTTP, no batcher, no load generator. Session options match the server's
 * (`graphOptimizationLevel: "all"`, the same intra-op thread setting).
 */
import * as ort from "onnxruntime-node";

/** Options of {@link measureSessionRun}. */
export interface SessionRunArgs {
  readonly modelPath: string;
  /** Input tensor name. */
  readonly input: string;
  /** Features per row. */
  readonly features: number;
  /** Rows per run. */
  readonly batch: number;
  /** Measured seconds (after a warm-up of a quarter of that). */
  readonly seconds: number;
  /** onnxruntime intra-op threads; 0 = onnxruntime's default, as the server's INTRA_OP_THREADS. Default: 0. */
  readonly intraOpThreads?: number;
}

/** What the back-to-back runs measured. */
export interface SessionRunResult {
  readonly batch: number;
  readonly runsPerSecond: number;
  readonly rowsPerSecond: number;
  /** Mean wall time of one run, ms. */
  readonly runMs: number;
  /** CPU time this process spent per row (every onnxruntime thread included), µs. */
  readonly cpuUsPerRow: number;
}

export async function measureSessionRun(args: SessionRunArgs): Promise<SessionRunResult> {
  const session = await ort.InferenceSession.create(args.modelPath, {
    graphOptimizationLevel: "all",
    ...(args.intraOpThreads ? { intraOpNumThreads: args.intraOpThreads } : {}),
  });
  try {
    const data = new Float32Array(args.batch * args.features);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 1000) / 250 - 2; // varied, in [-2, 2)
    const feeds = { [args.input]: new ort.Tensor("float32", data, [args.batch, args.features]) };
    const loop = async (ms: number): Promise<{ runs: number; ms: number; cpuUs: number }> => {
      const cpu = process.cpuUsage();
      const started = performance.now();
      let runs = 0;
      while (performance.now() - started < ms) {
        await session.run(feeds);
        runs++;
      }
      const used = process.cpuUsage(cpu);
      return { runs, ms: performance.now() - started, cpuUs: used.user + used.system };
    };
    await loop(args.seconds * 250);
    const { runs, ms, cpuUs } = await loop(args.seconds * 1000);
    const runsPerSecond = (runs / ms) * 1000;
    return {
      batch: args.batch,
      runsPerSecond,
      rowsPerSecond: runsPerSecond * args.batch,
      runMs: ms / runs,
      cpuUsPerRow: cpuUs / (runs * args.batch),
    };
  } finally {
    await session.release();
  }
}
