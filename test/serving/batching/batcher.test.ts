import assert from "node:assert/strict";
import { DynamicBatcher, type BatcherOptions } from "../../../serving/src/batching/batcher";
import { InferenceError, QueueFullError, TimeoutError, UnavailableError } from "../../../serving/src/errors";
import type { HostTensor, TensorMap } from "../../../serving/src/runtime/runtime";

/** A runtime computing y = 10 * x that records every batch and can be slowed or broken. */
class FakeRuntime {
  readonly batches: number[][] = [];
  delayMs = 0;
  failWith?: Error;
  gate?: Promise<void>;

  async run(feeds: TensorMap): Promise<Record<string, HostTensor>> {
    const x = feeds.x;
    this.batches.push(Array.from(x.data as Float32Array));
    if (this.gate) await this.gate;
    if (this.delayMs) await sleep(this.delayMs);
    if (this.failWith) throw this.failWith;
    return { y: { datatype: "FP32", shape: x.shape, data: (x.data as Float32Array).map((v) => v * 10) } };
  }
}

const row = (...values: number[]): TensorMap => ({
  x: { datatype: "FP32", shape: [1, values.length], data: Float32Array.from(values) },
});
const ys = (out: Record<string, HostTensor>) => Array.from(out.y.data as Float32Array);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function batcher(options: BatcherOptions = {}): {
  runtime: FakeRuntime;
  batcher: DynamicBatcher;
  sizes: number[];
} {
  const runtime = new FakeRuntime();
  const sizes: number[] = [];
  const b = new DynamicBatcher(runtime, {
    maxDelayMs: 5,
    ...options,
    observer: { onBatch: (rows) => sizes.push(rows), ...options.observer },
  });
  return { runtime, batcher: b, sizes };
}

describe("dynamic batcher", () => {
  it("merges concurrent requests into one run and gives each caller its own rows", async () => {
    const { runtime, batcher: b, sizes } = batcher({ maxBatchSize: 8 });
    const results = await Promise.all([1, 2, 3].map((v) => b.submit(row(v, -v))));
    assert.deepEqual(runtime.batches, [[1, -1, 2, -2, 3, -3]]);
    assert.deepEqual(results.map(ys), [
      [10, -10],
      [20, -20],
      [30, -30],
    ]);
    assert.deepEqual(sizes, [3]);
  });

  it("never puts more than maxBatchSize rows in one run", async () => {
    const { runtime, batcher: b } = batcher({ maxBatchSize: 2 });
    const results = await Promise.all([1, 2, 3, 4, 5].map((v) => b.submit(row(v))));
    assert.deepEqual(runtime.batches, [[1, 2], [3, 4], [5]]);
    assert.deepEqual(results.map(ys), [[10], [20], [30], [40], [50]]);
  });

  it("runs a full batch at once instead of waiting for the delay", async () => {
    const { batcher: b } = batcher({ maxBatchSize: 2, maxDelayMs: 10_000 });
    const started = performance.now();
    await Promise.all([b.submit(row(1)), b.submit(row(2))]);
    assert.ok(performance.now() - started < 1000, "a full batch must not wait for maxDelayMs");
  });

  it("runs a partial batch once the oldest request has waited maxDelayMs", async () => {
    const { runtime, batcher: b } = batcher({ maxBatchSize: 100, maxDelayMs: 30 });
    const started = performance.now();
    const first = b.submit(row(1));
    await sleep(10);
    const second = b.submit(row(2));
    await Promise.all([first, second]);
    const waited = performance.now() - started;
    assert.ok(waited >= 29, `the batch ran after ${waited} ms, before the 30 ms delay`);
    assert.deepEqual(runtime.batches, [[1, 2]]);
  });

  it("only merges requests whose inner dimensions match", async () => {
    const { runtime, batcher: b } = batcher({ maxBatchSize: 8 });
    const [a, wide, c] = await Promise.all([b.submit(row(1)), b.submit(row(2, 3)), b.submit(row(4))]);
    assert.deepEqual(runtime.batches, [
      [1, 4],
      [2, 3],
    ]);
    assert.deepEqual([ys(a), ys(wide), ys(c)], [[10], [20, 30], [40]]);
  });

  it("runs models without a batch dimension one request at a time", async () => {
    const { runtime, batcher: b } = batcher({ batchable: false });
    await Promise.all([b.submit(row(1, 2)), b.submit(row(3, 4))]);
    assert.deepEqual(runtime.batches, [
      [1, 2],
      [3, 4],
    ]);
  });

  it("refuses at once with QueueFullError (503, Retry-After) beyond maxQueueSize", async () => {
    const { runtime, batcher: b } = batcher({ maxBatchSize: 1, maxQueueSize: 2 });
    let open!: () => void;
    runtime.gate = new Promise((resolve) => (open = resolve));
    const running = b.submit(row(1));
    await sleep(5); // row 1 is now computing; the queue is empty
    const queued = [b.submit(row(2)), b.submit(row(3))];
    await assert.rejects(b.submit(row(4)), (err: unknown) => {
      assert.ok(err instanceof QueueFullError);
      assert.equal(err.status, 503);
      assert.equal(err.retryAfterSeconds, 1);
      assert.match(err.message, /queue is full \(2 requests waiting\)/);
      return true;
    });
    open();
    assert.deepEqual((await Promise.all([running, ...queued])).map(ys), [[10], [20], [30]]);
  });

  it("times out a queued request with TimeoutError (504) and never runs it", async () => {
    const { runtime, batcher: b } = batcher({ maxBatchSize: 1, timeoutMs: 40 });
    runtime.delayMs = 80;
    const first = b.submit(row(1));
    const second = b.submit(row(2));
    await Promise.all([
      assert.rejects(second, (err: unknown) => {
        assert.ok(err instanceof TimeoutError);
        assert.equal(err.status, 504);
        assert.match(err.message, /within 40 ms \(timed out waiting in the queue\)/);
        return true;
      }),
      assert.rejects(first, /timed out while the model computed/),
    ]);
    await b.close();
    assert.deepEqual(runtime.batches, [[1]], "the expired request must not be computed");
  });

  it("fails every request of a failed batch, and keeps serving afterwards", async () => {
    const { runtime, batcher: b } = batcher({ maxBatchSize: 8 });
    runtime.failWith = new Error("kernel exploded");
    const results = await Promise.allSettled([b.submit(row(1)), b.submit(row(2))]);
    for (const r of results) {
      assert.equal(r.status, "rejected");
      assert.ok(r.reason instanceof InferenceError);
      assert.equal(r.reason.message, "inference failed: kernel exploded");
    }
    runtime.failWith = undefined;
    assert.deepEqual(ys(await b.submit(row(3))), [30]);
  });

  it("close() runs everything queued without waiting for the delay, then refuses new work", async () => {
    const { runtime, batcher: b } = batcher({ maxBatchSize: 100, maxDelayMs: 60_000 });
    const pending = [b.submit(row(1)), b.submit(row(2))];
    const started = performance.now();
    await b.close();
    assert.ok(performance.now() - started < 1000);
    assert.deepEqual((await Promise.all(pending)).map(ys), [[10], [20]]);
    assert.deepEqual(runtime.batches, [[1, 2]]);
    await assert.rejects(b.submit(row(3)), (err: unknown) => err instanceof UnavailableError);
  });

  it("reports queue depth and waits to its observer", async () => {
    const depths: number[] = [];
    const waits: number[] = [];
    const { batcher: b } = batcher({
      maxBatchSize: 8,
      observer: { onQueueDepth: (d) => depths.push(d), onQueueWait: (s) => waits.push(s) },
    });
    await Promise.all([b.submit(row(1)), b.submit(row(2))]);
    assert.deepEqual(depths, [1, 2, 0]);
    assert.equal(waits.length, 2);
    assert.ok(waits.every((s) => s >= 0 && s < 1));
  });
});
