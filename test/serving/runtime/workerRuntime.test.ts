/**
 * The worker-thread runtime (INFERENCE_THREAD=worker): same results as the main-thread runtime,
 * the event loop stays free while a run computes, and a lost worker fails runs instead of
 * hanging them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { createOnnxRuntime } from "../../../serving/src/runtime/onnxRuntime";
import type { HostTensor, InferenceRuntime, TensorMap } from "../../../serving/src/runtime/runtime";
import { createWorkerRuntime } from "../../../serving/src/runtime/workerRuntime";
import { slowClassifier } from "../../../serving/tools/models";
import { writeModelVersion } from "../../../serving/tools/modelRepository";
import { IDENTITY_CLASSIFIER, memoryLogger, softmax2, assertClose, tempDir } from "../helpers";

const input = (rows: number[][]): TensorMap => ({
  input: { datatype: "FP32", shape: [rows.length, rows[0].length], data: Float32Array.from(rows.flat()) },
});
const values = (t: HostTensor) => Array.from(t.data as ArrayLike<number | bigint>);

describe("worker-thread runtime", function () {
  this.timeout(20_000);
  let dir: string;
  let cleanup: () => Promise<void>;
  let modelPath: string;
  const runtimes: InferenceRuntime[] = [];

  before(async () => {
    ({ dir, cleanup } = await tempDir("worker-runtime-"));
    const written = await writeModelVersion({ root: dir, name: "clf", model: IDENTITY_CLASSIFIER });
    modelPath = join(written.dir, "model.onnx");
  });
  afterEach(async () => {
    for (const r of runtimes.splice(0)) await r.dispose().catch(() => undefined);
  });
  after(() => cleanup());

  it("loads the model in a worker and computes exactly what the main-thread runtime computes", async () => {
    const worker = await createWorkerRuntime(modelPath);
    const main = await createOnnxRuntime(modelPath);
    runtimes.push(worker, main);
    assert.deepEqual(worker.inputs, main.inputs);
    assert.deepEqual(worker.outputs, main.outputs);
    assert.equal(worker.provider, "cpu");

    const feeds = input([
      [1, 2],
      [3, 1],
      [0.5, 0.5],
    ]);
    const [fromWorker, fromMain] = [await worker.run(feeds), await main.run(feeds)];
    assert.deepEqual(Object.keys(fromWorker).sort(), ["label", "probabilities"]);
    for (const name of ["label", "probabilities"]) {
      assert.equal(fromWorker[name].datatype, fromMain[name].datatype, name);
      assert.deepEqual(fromWorker[name].shape, fromMain[name].shape, name);
      assert.deepEqual(values(fromWorker[name]), values(fromMain[name]), name);
    }
    assert.deepEqual(values(fromWorker.label), [1n, 0n, 0n]);
    assertClose(values(fromWorker.probabilities) as number[], [
      ...softmax2(1, 2),
      ...softmax2(3, 1),
      0.5,
      0.5,
    ]);
  });

  it("returns only the requested outputs, and leaves the caller's input arrays intact", async () => {
    const runtime = await createWorkerRuntime(modelPath);
    runtimes.push(runtime);
    // The request's rows as a view into a larger buffer, as the seed API's per-row path makes.
    const backing = Float32Array.from([9, 9, 2, 1, 9, 9]);
    const feeds: TensorMap = { input: { datatype: "FP32", shape: [1, 2], data: backing.subarray(2, 4) } };
    const out = await runtime.run(feeds, ["probabilities"]);
    assert.deepEqual(Object.keys(out), ["probabilities"]);
    assertClose(values(out.probabilities) as number[], softmax2(2, 1));
    assert.deepEqual(Array.from(backing), [9, 9, 2, 1, 9, 9], "inputs are copied, never transferred away");
  });

  it("rejects a failing run with onnxruntime's reason and keeps serving", async () => {
    const runtime = await createWorkerRuntime(modelPath);
    runtimes.push(runtime);
    await assert.rejects(runtime.run(input([[1, 2, 3]])), /invalid dimensions for input: input/i);
    assert.deepEqual(values((await runtime.run(input([[0, 5]]))).label), [1n]);
  });

  it("rejects when the model cannot be loaded, with onnxruntime's reason naming the file", async () => {
    const missing = join(dir, "nope", "model.onnx");
    await assert.rejects(createWorkerRuntime(missing), (err: Error) => {
      assert.match(
        err.message,
        /^could not create an onnxruntime session with execution providers \[cpu\]: /,
      );
      assert.ok(err.message.includes(`${missing} failed`), err.message);
      assert.match(err.message, /File doesn't exist/);
      return true;
    });
  });

  it("keeps the event loop free while a long run computes (the main-thread runtime blocks it)", async () => {
    const slow = await writeModelVersion({
      root: dir,
      name: "slow",
      model: slowClassifier({ weights: [[1, 0], [0, 1]], bias: [0, 0], work: 256 }), // prettier-ignore
    });
    const slowPath = join(slow.dir, "model.onnx");
    const main = await createOnnxRuntime(slowPath);
    const worker = await createWorkerRuntime(slowPath);
    runtimes.push(main, worker);
    // Enough rows for a run of at least 50 ms on this machine, however many cores it has.
    let rows = input(Array.from({ length: 8 }, (_, i) => [i, 1]));
    const fastest = async (runtime: InferenceRuntime, runs: number) => {
      let best = Infinity;
      for (let i = 0; i < runs; i++) {
        const started = performance.now();
        await runtime.run(rows);
        best = Math.min(best, performance.now() - started);
      }
      return best;
    };
    while ((await fastest(main, 3)) < 50 && rows.input.shape[0] < 1024) {
      rows = input(Array.from({ length: rows.input.shape[0] * 2 }, (_, i) => [i, 1]));
    }
    /** Ticks of a 2 ms interval while one run is awaited, and how long the run took. */
    const ticksDuring = async (runtime: InferenceRuntime) => {
      await runtime.run(rows); // warm this shape
      let ticks = 0;
      const timer = setInterval(() => ticks++, 2);
      const started = performance.now();
      await runtime.run(rows);
      const ms = performance.now() - started;
      clearInterval(timer);
      return { ticks, ms };
    };
    const blocked = await ticksDuring(main);
    const free = await ticksDuring(worker);
    assert.ok(
      blocked.ms >= 30 && free.ms >= 30,
      `runs must be long enough to tell: ${blocked.ms} / ${free.ms} ms`,
    );
    assert.ok(
      blocked.ticks <= 1,
      `the main-thread run let a timer fire ${blocked.ticks} times in ${blocked.ms} ms`,
    );
    assert.ok(free.ticks >= 5, `only ${free.ticks} timer ticks during a ${free.ms} ms run in the worker`);
  });

  it("fails pending and later runs, and logs, when the worker thread dies", async () => {
    const logger = memoryLogger();
    // A stand-in worker: reports ready, then exits with code 3 on the first run.
    const spawnWorker = () =>
      new Worker(
        `const { parentPort } = require("node:worker_threads");
         parentPort.postMessage({ type: "ready", inputs: [], outputs: [], provider: "cpu" });
         parentPort.on("message", () => process.exit(3));`,
        { eval: true },
      );
    const runtime = await createWorkerRuntime(modelPath, { logger, spawnWorker });
    runtimes.push(runtime);
    await assert.rejects(runtime.run(input([[1, 2]])), /inference worker exited unexpectedly with code 3/);
    await assert.rejects(runtime.run(input([[1, 2]])), /inference worker exited unexpectedly with code 3/);
    const lost = logger.lines.find((l) => l.level === "error");
    assert.equal(lost?.msg, "inference worker lost; inferences fail until the process is replaced");
  });

  it("dispose() stops the thread; later runs reject", async () => {
    const runtime = await createWorkerRuntime(modelPath);
    await runtime.dispose();
    await assert.rejects(runtime.run(input([[1, 2]])), /disposed/);
  });
});
