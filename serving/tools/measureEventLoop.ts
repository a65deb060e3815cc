/**
 * Measures whether onnxruntime-node's `session.run` blocks the Node.js event loop, and for how
 * long: runs a compute-heavy MLP at several batch sizes while a 1 ms timer records how late it
 * fires. If the worst timer delay tracks the run time, inference runs on the event-loop thread
 * and a long run stalls HTTP parsing, health probes and timers for its whole duration.
 *
 *   npx tsx serving/tools/measureEventLoop.ts [--hidden 1024] [--layers 4] [--runs 10]
 */
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createOnnxRuntime } from "../src/runtime/onnxRuntime";
import { mlpModel } from "./models";

/** One row of the measurement. */
export interface EventLoopSample {
  readonly batch: number;
  /** Mean wall time of one run, ms. */
  readonly runMs: number;
  /** Worst lateness of a 1 ms timer during the runs, ms. */
  readonly maxTimerDelayMs: number;
}

export async function measureEventLoop(opts: {
  hidden: number;
  layers: number;
  runs: number;
  batches: number[];
}): Promise<EventLoopSample[]> {
  const features = 256;
  const path = join(tmpdir(), `event-loop-mlp-${process.pid}.onnx`);
  await writeFile(path, mlpModel({ features, hidden: opts.hidden, layers: opts.layers }).bytes);
  const runtime = await createOnnxRuntime(path);
  const samples: EventLoopSample[] = [];
  try {
    for (const batch of opts.batches) {
      const feeds = {
        input: {
          datatype: "FP32" as const,
          shape: [batch, features],
          data: new Float32Array(batch * features).fill(0.5),
        },
      };
      await runtime.run(feeds); // warm this shape
      let maxDelay = 0;
      let expected = performance.now() + 1;
      const timer = setInterval(() => {
        const now = performance.now();
        maxDelay = Math.max(maxDelay, now - expected);
        expected = now + 1;
      }, 1);
      const started = performance.now();
      for (let i = 0; i < opts.runs; i++) await runtime.run(feeds);
      const runMs = (performance.now() - started) / opts.runs;
      clearInterval(timer);
      samples.push({ batch, runMs: round(runMs), maxTimerDelayMs: round(maxDelay) });
    }
  } finally {
    await runtime.dispose();
  }
  return samples;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

if (require.main === module) {
  const { values } = parseArgs({
    options: {
      hidden: { type: "string", default: "1024" },
      layers: { type: "string", default: "4" },
      runs: { type: "string", default: "10" },
    },
  });
  measureEventLoop({
    hidden: Number(values.hidden),
    layers: Number(values.layers),
    runs: Number(values.runs),
    batches: [1, 8, 32, 128],
  }).then(
    (samples) => {
      console.log("batch  run(ms)  worst 1ms-timer delay(ms)");
      for (const s of samples)
        console.log(`${String(s.batch).padStart(5)}  ${String(s.runMs).padStart(7)}  ${s.maxTimerDelayMs}`);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
