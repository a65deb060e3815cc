import assert from "node:assert/strict";
import { DynamicBatcher } from "../../../serving/src/batching/batcher";
import { PayloadTooLargeError, TimeoutError } from "../../../serving/src/errors";
import type { HostTensor, TensorMap } from "../../../serving/src/runtime/runtime";

/** y = 10 * x, recording every run's rows; each run waits for the test to release it. */
class SteppedRuntime {
  readonly batches: number[][] = [];
  private waiting: Array<() => void> = [];

  async run(feeds: TensorMap): Promise<Record<string, HostTensor>> {
    const x = feeds.x;
    this.batches.push(Array.from(x.data as Float32Array));
    await new Promise<void>((resolve) => this.waiting.push(resolve));
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
});
