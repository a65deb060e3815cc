import assert from "node:assert/strict";
import { DynamicBatcher } from "../../../serving/src/batching/batcher";
import { InferenceError, PayloadTooLargeError, TimeoutError } from "../../../serving/src/errors";
import type { HostTensor, TensorMap } from "../../../serving/src/runtime/runtime";
import { ManualClock, settle, track } from "./manualClock";

/** y = 10 * x, recording every run's rows; each run waits for the test to release it. */
class SteppedRuntime {
  readonly batches: number[][] = [];
  /** Index (from 0) of a run that throws "boom" once released. */
  failRun?: number;
  private waiting: Array<() => void> = [];

  async run(feeds: TensorMap): Promise<Record<string, HostTensor>> {
    const x = feeds.x;
    this.batches.push(Array.from(x.data as Float32Array));
    const index = this.batches.length - 1;
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    if (index === this.failRun) throw new Error("boom");
    return { y: { datatype: "FP32", shape: x.shape, data: (x.data as Float32Array).map((v) => v * 10) } };
  }

  /** Lets the running batch finish, then gives the batcher a turn to start the next. */
  async step(): Promise<void> {
    this.waiting.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const rows = (...values: number[]): TensorMap => ({
  x: { datatype: "FP32", shape: [values.length, 1], data: Float32Array.from(values) },
});
const ys = (out: Record<string, HostTensor>) => Array.from(out.y.data as Float32Array);

describe("dynamic batcher: large requests", () => {
  it("runs a request above maxBatchSize in chunks that interleave with requests queued meanwhile", async () => {
    const runtime = new SteppedRuntime();
    const b = new DynamicBatcher(runtime, { maxBatchSize: 2 });
    const big = b.submit(rows(1, 2, 3, 4, 5, 6, 7));
    await new Promise((resolve) => setImmediate(resolve));
    // chunk [1,2] is computing; two single-row requests arrive behind the big one's next chunk
    const small = [b.submit(rows(100)), b.submit(rows(200))];
    const finished: string[] = [];
    void big.then(() => finished.push("big"));
    small.forEach((p, i) => void p.then(() => finished.push(`small${i}`)));
    for (let i = 0; i < 6 && runtime.batches.length > 0; i++) await runtime.step();
    assert.deepEqual(runtime.batches, [[1, 2], [3, 4], [100, 200], [5, 6], [7]]);
    assert.deepEqual(ys(await big), [10, 20, 30, 40, 50, 60, 70]);
    assert.deepEqual((await big).y.shape, [7, 1]);
    assert.deepEqual((await Promise.all(small)).map(ys), [[1000], [2000]]);
    assert.deepEqual(finished, ["small0", "small1", "big"]);
  });

  it("a chunked request occupies one queue slot and has one deadline", async () => {
    const runtime = new SteppedRuntime();
    const b = new DynamicBatcher(runtime, { maxBatchSize: 1, maxQueueSize: 1, timeoutMs: 40 });
    const big = b.submit(rows(1, 2, 3));
    await assert.rejects(b.submit(rows(9)), /queue is full/); // chunk 2 waits while chunk 1 runs
    await runtime.step(); // chunk 1 done, chunk 2 runs, chunk 3 queued
    await assert.rejects(big, (err: Error) => err instanceof TimeoutError);
    assert.deepEqual(runtime.batches, [[1], [2]]);
  });

  it("refuses more rows than maxRowsPerRequest with a 413 naming the limit", async () => {
    const b = new DynamicBatcher(new SteppedRuntime(), { maxBatchSize: 2, maxRowsPerRequest: 3 });
    await assert.rejects(
      b.submit(rows(1, 2, 3, 4)),
      (err: Error) =>
        err instanceof PayloadTooLargeError &&
        err.status === 413 &&
        err.message ===
          "the request has 4 rows; at most 3 are accepted per request (MAX_ROWS_PER_REQUEST): split it",
    );
  });

  it("refuses nothing at exactly maxRowsPerRequest rows", async () => {
    const runtime = new SteppedRuntime();
    const batches: [number, number, boolean][] = [];
    const b = new DynamicBatcher(runtime, {
      maxBatchSize: 2,
      maxRowsPerRequest: 3,
      observer: { onBatch: (n, requests, _seconds, failed) => batches.push([n, requests, failed]) },
    });
    const big = track(b.submit(rows(1, 2, 3)));
    while (!big.done) await runtime.step();
    assert.deepEqual(ys(big.value as Record<string, HostTensor>), [10, 20, 30]);
    await runtime.step(); // nothing after the last chunk
    await settle();
    assert.deepEqual(runtime.batches, [[1, 2], [3]]);
    assert.deepEqual(batches, [
      [2, 1, false],
      [1, 1, false],
    ]);
    assert.equal(b.depth, 0);
  });

  it("times out a chunked request exactly at its one deadline, counted once, and runs no chunk after it", async () => {
    const clock = new ManualClock();
    const runtime = new SteppedRuntime();
    const rejected: string[] = [];
    const waits: number[] = [];
    const b = new DynamicBatcher(runtime, {
      maxBatchSize: 1,
      timeoutMs: 100,
      clock,
      observer: { onRejected: (reason) => rejected.push(reason), onQueueWait: (s) => waits.push(s) },
    });
    const big = track(b.submit(rows(1, 2, 3, 4)));
    await settle(); // chunk 1 computes from t=0; chunk 2 is queued
    await clock.advance(30);
    await runtime.step(); // t=30: chunk 2 computes, chunk 3 queued with the 70 ms left
    await clock.advance(30);
    await runtime.step(); // t=60: chunk 3 computes, chunk 4 queued with the 40 ms left
    await clock.advance(39);
    assert.equal(big.done, false, "t=99 is before the deadline");
    await clock.advance(1);
    assert.ok(big.error instanceof TimeoutError);
    assert.equal(
      big.error.message,
      "inference did not finish within 100 ms (timed out while the model computed)",
    );
    assert.deepEqual(rejected, ["timeout"]);
    await runtime.step(); // chunk 3's late result is dropped; chunk 4 never runs
    await clock.advance(1000);
    assert.deepEqual(runtime.batches, [[1], [2], [3]]);
    assert.deepEqual(waits, [0, 0.03, 0.03]);
    assert.equal(b.depth, 0);
    assert.equal(clock.pendingTimers, 0);
    await b.close();
  });

  it("fails a chunked request with its failed chunk's error and drops its queued next chunk", async () => {
    const runtime = new SteppedRuntime();
    runtime.failRun = 0;
    const depths: number[] = [];
    const b = new DynamicBatcher(runtime, {
      maxBatchSize: 2,
      observer: { onQueueDepth: (depth) => depths.push(depth) },
    });
    const big = track(b.submit(rows(1, 2, 3, 4, 5, 6)));
    await settle(); // chunk [1,2] computes; chunk [3,4] is queued
    const small = track(b.submit(rows(100)));
    await runtime.step(); // chunk [1,2] fails
    await settle();
    assert.ok(big.error instanceof InferenceError);
    assert.equal(big.error.message, "inference failed: boom");
    while (!small.done) await runtime.step();
    assert.deepEqual(ys(small.value as Record<string, HostTensor>), [1000]);
    assert.deepEqual(runtime.batches, [[1, 2], [100]]);
    // chunk 1 queued; taken, queueing chunk 2 (reported by both); small queued; chunk 2 dropped; small taken
    assert.deepEqual(depths, [1, 1, 1, 2, 1, 0]);
    assert.equal(b.depth, 0);
    await b.close();
  });
});
