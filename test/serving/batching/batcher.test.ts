import assert from "node:assert/strict";
import { DynamicBatcher, type BatcherOptions } from "../../../serving/src/batching/batcher";
import {
  BadRequestError,
  InferenceError,
  QueueFullError,
  TimeoutError,
  UnavailableError,
} from "../../../serving/src/errors";
import type { HostTensor, TensorMap } from "../../../serving/src/runtime/runtime";
import { ManualClock, settle, track } from "./manualClock";

/**
 * A runtime computing y = 10 * x, z = -x and w = x + 1 (only the requested outputs, like onnxruntime) that
 * records every batch, and can be held mid-run or made to fail.
 */
class FakeRuntime {
  /** Values of input x, one entry per run. */
  readonly batches: number[][] = [];
  /** Shape of input x and the requested outputs, one entry per run. */
  readonly runs: { shape: readonly number[]; outputs?: readonly string[] }[] = [];
  failWith?: Error;
  private gate?: Promise<void>;

  /** Makes the next runs wait until the returned function is called. */
  hold(): () => void {
    let open!: () => void;
    this.gate = new Promise((resolve) => (open = resolve));
    return () => {
      this.gate = undefined;
      open();
    };
  }

  async run(feeds: TensorMap, outputs?: readonly string[]): Promise<Record<string, HostTensor>> {
    const x = feeds.x;
    this.batches.push(Array.from(x.data as Float32Array));
    this.runs.push({ shape: x.shape, ...(outputs ? { outputs } : {}) });
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    const data = x.data as Float32Array;
    const all: Record<string, HostTensor> = {
      y: { datatype: x.datatype, shape: x.shape, data: data.map((v) => v * 10) },
      z: { datatype: x.datatype, shape: x.shape, data: data.map((v) => -v) },
      w: { datatype: x.datatype, shape: x.shape, data: data.map((v) => v + 1) },
    };
    // Any other output name n: 100 * x + the length of n.
    const other = (name: string): HostTensor => ({ ...all.y, data: data.map((v) => 100 * v + name.length) });
    return Object.fromEntries((outputs ?? ["y", "z", "w"]).map((name) => [name, all[name] ?? other(name)]));
  }
}

/** One request of one row. */
const row = (...values: number[]): TensorMap => ({
  x: { datatype: "FP32", shape: [1, values.length], data: Float32Array.from(values) },
});
/** One request of several one-column rows. */
const rows = (...values: number[]): TensorMap => ({
  x: { datatype: "FP32", shape: [values.length, 1], data: Float32Array.from(values) },
});
const ys = (out: Record<string, HostTensor> | undefined) => Array.from(out!.y.data as Float32Array);
const plain = (out: Record<string, HostTensor> | undefined) =>
  Object.fromEntries(Object.entries(out!).map(([name, t]) => [name, Array.from(t.data as Float32Array)]));

function batcher(options: BatcherOptions = {}): {
  runtime: FakeRuntime;
  batcher: DynamicBatcher;
  sizes: number[];
  clock: ManualClock;
} {
  const runtime = new FakeRuntime();
  const clock = new ManualClock();
  const sizes: number[] = [];
  const b = new DynamicBatcher(runtime, {
    maxDelayMs: 0,
    clock,
    ...options,
    observer: { onBatch: (n) => sizes.push(n), ...options.observer },
  });
  return { runtime, batcher: b, sizes, clock };
}

function assertTimeout(t: { done: boolean; error?: unknown }, message: string): void {
  assert.ok(t.done, "the request should have settled");
  assert.ok(t.error instanceof TimeoutError, `expected a TimeoutError, got ${String(t.error)}`);
  assert.equal(t.error.status, 504);
  assert.equal(t.error.message, message);
}

describe("dynamic batcher", () => {
  it("merges concurrent requests into one run and gives each caller its own rows", async () => {
    const { runtime, batcher: b, sizes } = batcher({ maxBatchSize: 8, clock: undefined });
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

  it("fills a batch with the oldest request and the later ones that fit, counting every row", async () => {
    const { runtime, batcher: b, sizes, clock } = batcher({ maxBatchSize: 4, maxDelayMs: 10 });
    const three = track(b.submit(rows(1, 2, 3)));
    const two = track(b.submit(rows(4, 5))); // 5 rows queued: the batch starts now
    const one = track(b.submit(rows(6))); // arrives while it computes
    await settle();
    // 3 + 2 rows would exceed 4, so the 3-row request runs without the 2-row one.
    assert.deepEqual(runtime.batches, [[1, 2, 3]]);
    assert.deepEqual(ys(three.value), [10, 20, 30]);
    assert.equal(two.done || one.done, false);
    // The 3 rows left do not fill a batch: they wait for maxDelayMs from the oldest's arrival.
    await clock.advance(9);
    assert.equal(runtime.batches.length, 1);
    await clock.advance(1);
    assert.deepEqual(runtime.batches, [
      [1, 2, 3],
      [4, 5, 6],
    ]);
    assert.deepEqual([ys(two.value), ys(one.value)], [[40, 50], [60]]);
    assert.deepEqual(sizes, [3, 3]);
  });

  it("runs a full batch at once instead of waiting for the delay", async () => {
    const { runtime, batcher: b, clock } = batcher({ maxBatchSize: 2, maxDelayMs: 10_000 });
    const both = [track(b.submit(row(1))), track(b.submit(row(2)))];
    // In the same turn: under overload a full batch that waited a turn would halve what is served.
    assert.deepEqual(runtime.batches, [[1, 2]]);
    await settle();
    assert.deepEqual(
      both.map((t) => ys(t.value)),
      [[10], [20]],
    );
    assert.equal(clock.pendingTimers, 0, "the delay timer of the first request must be cancelled");
  });

  it("keeps one delay timer however many requests wait, and leaves none behind", async () => {
    const { batcher: b, clock } = batcher({ maxBatchSize: 100, maxDelayMs: 30, timeoutMs: 1000 });
    const results = [track(b.submit(row(1)))];
    assert.equal(clock.pendingTimers, 2, "one deadline and one delay timer");
    await clock.advance(10);
    results.push(track(b.submit(row(2))), track(b.submit(row(3))));
    assert.equal(clock.pendingTimers, 4, "three deadlines and still one delay timer");
    await clock.advance(20);
    assert.deepEqual(
      results.map((t) => ys(t.value)),
      [[10], [20], [30]],
    );
    assert.equal(clock.pendingTimers, 0);
  });

  it("a request queued during a run waits maxDelayMs from its own arrival, not from the run's end", async () => {
    const { runtime, batcher: b, clock } = batcher({ maxBatchSize: 2, maxDelayMs: 10 });
    const open = runtime.hold();
    void b.submit(row(1));
    void b.submit(row(2)); // full: runs at once, and is held
    await clock.advance(3);
    const late = track(b.submit(row(3)));
    await clock.advance(2);
    open();
    await settle();
    assert.deepEqual(runtime.batches, [[1, 2]]);
    await clock.advance(7); // t = 12: 9 ms after it arrived
    assert.equal(late.done, false);
    await clock.advance(1); // t = 13
    assert.deepEqual(runtime.batches, [[1, 2], [3]]);
    assert.deepEqual(ys(late.value), [30]);
  });

  it("keeps serving when everything queued timed out before its batch could start", async () => {
    const { runtime, batcher: b, clock } = batcher({ maxBatchSize: 8, timeoutMs: 5 });
    const gone = track(b.submit(row(1))); // its batch is due on the next turn of the event loop...
    void clock.advance(5); // ...but its deadline fires first (timers fire synchronously here)
    await settle();
    assertTimeout(gone, "inference did not finish within 5 ms (timed out waiting in the queue)");
    assert.deepEqual(runtime.batches, []);
    const next = track(b.submit(row(2)));
    await settle();
    assert.deepEqual(ys(next.value), [20], "the batcher must still dispatch");
    assert.deepEqual(runtime.batches, [[2]]);
  });

  it("runs a partial batch exactly when the oldest request has waited maxDelayMs", async () => {
    const { runtime, batcher: b, clock } = batcher({ maxBatchSize: 100, maxDelayMs: 30 });
    const first = track(b.submit(row(1)));
    await clock.advance(10);
    const second = track(b.submit(row(2)));
    await clock.advance(19);
    assert.deepEqual(runtime.batches, []);
    assert.equal(b.depth, 2);
    await clock.advance(1);
    assert.deepEqual(runtime.batches, [[1, 2]]);
    assert.deepEqual([ys(first.value), ys(second.value)], [[10], [20]]);
    assert.equal(clock.pendingTimers, 0, "no delay timer or deadline is left behind");
  });

  it("makes every batch after the first wait for its own delay too", async () => {
    const { runtime, batcher: b, clock } = batcher({ maxBatchSize: 100, maxDelayMs: 20 });
    b.submit(row(1));
    await clock.advance(20);
    assert.deepEqual(runtime.batches, [[1]]);
    const second = track(b.submit(row(2)));
    await clock.advance(19);
    assert.deepEqual(runtime.batches, [[1]]);
    await clock.advance(1);
    assert.deepEqual(runtime.batches, [[1], [2]]);
    assert.deepEqual(ys(second.value), [20]);
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

  it("tells inner dimensions apart beyond the first (2x3 is not 2x4)", async () => {
    const { runtime, batcher: b } = batcher({ maxBatchSize: 8, maxDelayMs: 0 });
    const tensor = (shape: number[]): TensorMap => ({
      x: { datatype: "FP32", shape, data: new Float32Array(shape.reduce((n, d) => n * d, 1)) },
    });
    await Promise.all([b.submit(tensor([1, 2, 3])), b.submit(tensor([1, 2, 4]))]);
    assert.deepEqual(
      runtime.runs.map((r) => r.shape),
      [
        [1, 2, 3],
        [1, 2, 4],
      ],
    );
  });

  it("tells inner dimensions apart however their digits split (2x34 is not 23x4)", async () => {
    const { runtime, batcher: b } = batcher({ maxBatchSize: 8, maxDelayMs: 0 });
    const tensor = (shape: number[]): TensorMap => ({
      x: { datatype: "FP32", shape, data: new Float32Array(shape.reduce((n, d) => n * d, 1)) },
    });
    const results = await Promise.all([b.submit(tensor([1, 2, 34])), b.submit(tensor([1, 23, 4]))]);
    assert.deepEqual(
      runtime.runs.map((r) => r.shape),
      [
        [1, 2, 34],
        [1, 23, 4],
      ],
    );
    assert.deepEqual(
      results.map((r) => r.y.shape),
      [
        [1, 2, 34],
        [1, 23, 4],
      ],
    );
  });

  it("only merges requests whose datatypes match", async () => {
    const { runtime, batcher: b } = batcher({ maxBatchSize: 8, maxDelayMs: 0 });
    const fp64: TensorMap = { x: { datatype: "FP64", shape: [1, 1], data: Float64Array.from([2]) } };
    const [a, c] = await Promise.all([b.submit(row(1)), b.submit(fp64), b.submit(row(3))]).then(
      ([x, y, z]) => {
        assert.equal(y.y.datatype, "FP64");
        assert.deepEqual(ys(y), [20]);
        return [x, z];
      },
    );
    assert.deepEqual(runtime.batches, [[1, 3], [2]]);
    assert.deepEqual([ys(a), ys(c)], [[10], [30]]);
  });

  it("merges requests whose inputs arrive in a different order", async () => {
    const { runtime, batcher: b } = batcher({ maxBatchSize: 8, maxDelayMs: 0 });
    const w = (v: number): HostTensor => ({
      datatype: "FP32",
      shape: [1, 2],
      data: Float32Array.from([v, v]),
    });
    const results = await Promise.all([
      b.submit({ x: row(1).x, w: w(7) }),
      b.submit({ w: w(8), x: row(2).x }),
    ]);
    assert.deepEqual(runtime.batches, [[1, 2]]);
    assert.deepEqual(results.map(ys), [[10], [20]]);
  });

  it("merges only requests asking for the same set of outputs, and each gets exactly those", async () => {
    const { runtime, batcher: b } = batcher({ maxBatchSize: 8, maxDelayMs: 0 });
    const results = await Promise.all([
      b.submit(row(1), ["y", "z"]),
      b.submit(row(2), ["y"]),
      b.submit(row(3), ["z", "y"]),
      b.submit(row(4)),
      b.submit(row(5), ["z"]),
    ]);
    assert.deepEqual(runtime.runs, [
      { shape: [2, 1], outputs: ["y", "z"] },
      { shape: [1, 1], outputs: ["y"] },
      { shape: [1, 1] },
      { shape: [1, 1], outputs: ["z"] },
    ]);
    assert.deepEqual(runtime.batches, [[1, 3], [2], [4], [5]]);
    assert.deepEqual(results.map(plain), [
      { y: [10], z: [-1] },
      { y: [20] },
      { y: [30], z: [-3] },
      { y: [40], z: [-4], w: [5] },
      { z: [-5] },
    ]);
  });

  it("tells output sets apart by every name, not only by their count", async () => {
    const { runtime, batcher: b } = batcher({ maxBatchSize: 8, maxDelayMs: 0 });
    const results = await Promise.all([b.submit(row(1), ["y", "z"]), b.submit(row(2), ["w", "y"])]);
    assert.deepEqual(runtime.batches, [[1], [2]]);
    assert.deepEqual(results.map(plain), [
      { y: [10], z: [-1] },
      { w: [3], y: [20] },
    ]);
  });

  it("tells output sets apart however their names split (ab+c is not a+bc)", async () => {
    const { runtime, batcher: b } = batcher({ maxBatchSize: 8, maxDelayMs: 0 });
    const results = await Promise.all([b.submit(row(1), ["ab", "c"]), b.submit(row(2), ["a", "bc"])]);
    assert.deepEqual(runtime.batches, [[1], [2]]);
    assert.deepEqual(results.map(plain), [
      { ab: [102], c: [101] },
      { a: [201], bc: [202] },
    ]);
  });

  it("runs models without a batch dimension one request at a time, without waiting", async () => {
    const { runtime, batcher: b, sizes } = batcher({ batchable: false, maxDelayMs: 10_000 });
    const results = [track(b.submit(row(1, 2))), track(b.submit(row(3, 4)))];
    await settle();
    assert.deepEqual(runtime.batches, [
      [1, 2],
      [3, 4],
    ]);
    assert.deepEqual(
      results.map((t) => ys(t.value)),
      [
        [10, 20],
        [30, 40],
      ],
    );
    assert.deepEqual(sizes, [1, 1]);
  });

  it("does not require inputs of a model without a batch dimension to agree in dimension 0", async () => {
    const { runtime, batcher: b } = batcher({ batchable: false });
    const w: HostTensor = { datatype: "FP32", shape: [3], data: new Float32Array(3) };
    assert.deepEqual(ys(await b.submit({ x: row(1, 2).x, w })), [10, 20]);
    assert.deepEqual(runtime.batches, [[1, 2]]);
  });

  it("refuses requests whose inputs disagree in dimension 0, naming the input", async () => {
    const { batcher: b, runtime } = batcher();
    const cases: [TensorMap, string][] = [
      [{}, "a request needs at least one input tensor"],
      [
        { x: row(1).x, w: { datatype: "FP32", shape: [2, 1], data: new Float32Array(2) } },
        'input "w" has 2 rows in dimension 0 where the other inputs have 1',
      ],
      [
        { x: { datatype: "FP32", shape: [], data: Float32Array.from([1]) } },
        'input "x" is a scalar, but the model batches along dimension 0',
      ],
      [
        { x: row(1).x, w: { datatype: "FP32", shape: [], data: Float32Array.from([1]) } },
        'input "w" is a scalar, but the model batches along dimension 0',
      ],
    ];
    for (const [feeds, message] of cases) {
      await assert.rejects(b.submit(feeds), (err: unknown) => {
        assert.ok(err instanceof BadRequestError);
        assert.equal(err.status, 400);
        assert.equal(err.message, message);
        return true;
      });
    }
    assert.equal(b.depth, 0);
    assert.deepEqual(runtime.batches, []);
  });

  it("refuses at once with QueueFullError (503, Retry-After) beyond maxQueueSize", async () => {
    const { runtime, batcher: b } = batcher({ maxBatchSize: 1, maxQueueSize: 2 });
    const open = runtime.hold();
    const running = b.submit(row(1));
    await settle(); // row 1 is now computing; the queue is empty
    const queued = [b.submit(row(2))];
    assert.deepEqual([b.full, b.refuseIfFull()], [false, undefined]); // one slot left
    queued.push(b.submit(row(3)));
    assert.equal(b.full, true);
    const refusal = b.refuseIfFull(); // what the protocol layers ask before reading a body
    assert.ok(refusal instanceof QueueFullError);
    await assert.rejects(b.submit(row(4)), (err: unknown) => {
      assert.equal(err, refusal, "every refusal shares one error");
      assert.ok(err instanceof QueueFullError);
      assert.equal(err.status, 503);
      assert.equal(err.retryAfterSeconds, 1);
      assert.equal(err.message, "the inference queue is full (2 requests waiting); retry later");
      return true;
    });
    open();
    assert.deepEqual((await Promise.all([running, ...queued])).map(ys), [[10], [20], [30]]);
    assert.deepEqual([b.full, b.refuseIfFull()], [false, undefined]);
  });

  it("times out a queued request with TimeoutError (504) exactly at its deadline and never runs it", async () => {
    const { runtime, batcher: b, clock } = batcher({ maxBatchSize: 1, timeoutMs: 40 });
    const open = runtime.hold();
    const first = track(b.submit(row(1)));
    const second = track(b.submit(row(2)));
    await clock.advance(39);
    assert.equal(first.done || second.done, false);
    await clock.advance(1);
    assertTimeout(first, "inference did not finish within 40 ms (timed out while the model computed)");
    assertTimeout(second, "inference did not finish within 40 ms (timed out waiting in the queue)");
    assert.equal(b.depth, 0);
    open();
    await b.close();
    assert.deepEqual(runtime.batches, [[1]], "the expired request must not be computed");
  });

  it("times out each request exactly at its own deadline, computing or queued", async () => {
    const { runtime, batcher: b, clock } = batcher({ maxBatchSize: 1, timeoutMs: 40 });
    const open = runtime.hold();
    const computing = track(b.submit(row(1)));
    await clock.advance(15);
    const second = track(b.submit(row(2)));
    await clock.advance(15);
    const third = track(b.submit(row(3)));
    await clock.advance(9); // t = 39
    assert.equal(computing.done, false);
    await clock.advance(1); // t = 40
    assertTimeout(computing, "inference did not finish within 40 ms (timed out while the model computed)");
    await clock.advance(14); // t = 54
    assert.equal(second.done, false);
    await clock.advance(1); // t = 55
    assertTimeout(second, "inference did not finish within 40 ms (timed out waiting in the queue)");
    await clock.advance(14); // t = 69
    assert.equal(third.done, false);
    await clock.advance(1); // t = 70
    assertTimeout(third, "inference did not finish within 40 ms (timed out waiting in the queue)");
    assert.equal(clock.pendingTimers, 0, "no deadline timer once nothing waits");
    open();
    await b.close();
    assert.deepEqual(runtime.batches, [[1]]);
  });

  it("a request timing out in the queue leaves the others queued, and its rows uncounted", async () => {
    const { runtime, batcher: b, clock } = batcher({ maxBatchSize: 4, maxDelayMs: 20, timeoutMs: 100 });
    const open = runtime.hold();
    const full = track(b.submit(rows(1, 2, 3, 4))); // a full batch: runs at once, and is held
    const three = track(b.submit(rows(5, 6, 7)));
    await clock.advance(50);
    const later = track(b.submit(rows(8)));
    await clock.advance(50); // t = 100: the first two requests reach their deadline
    assertTimeout(full, "inference did not finish within 100 ms (timed out while the model computed)");
    assertTimeout(three, "inference did not finish within 100 ms (timed out waiting in the queue)");
    assert.equal(later.done, false);
    assert.equal(b.depth, 1);
    open();
    await settle();
    // It has waited 50 ms >= maxDelayMs, so it runs as soon as the model is free.
    assert.deepEqual(runtime.batches, [[1, 2, 3, 4], [8]]);
    assert.deepEqual(ys(later.value), [80]);
    // Nothing of the expired request is still counted: one new row waits the full delay again.
    const next = track(b.submit(rows(9)));
    await clock.advance(19);
    assert.equal(next.done, false);
    assert.equal(runtime.batches.length, 2);
    await clock.advance(1);
    assert.deepEqual(runtime.batches, [[1, 2, 3, 4], [8], [9]]);
    assert.deepEqual(ys(next.value), [90]);
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
    const closed = b.close();
    assert.deepEqual(runtime.batches, [[1, 2]], "draining starts in the same turn");
    await closed;
    assert.deepEqual((await Promise.all(pending)).map(ys), [[10], [20]]);
    assert.deepEqual(runtime.batches, [[1, 2]]);
    await assert.rejects(b.submit(row(3)), (err: unknown) => {
      assert.ok(err instanceof UnavailableError);
      assert.equal(err.message, "the server is shutting down and accepts no new inferences");
      return true;
    });
  });

  it("close() waits for the batch in flight and the requests behind it", async () => {
    const { runtime, batcher: b } = batcher({ maxBatchSize: 1, maxDelayMs: 60_000 });
    const open = runtime.hold();
    const first = track(b.submit(row(1)));
    await settle();
    const second = track(b.submit(row(2)));
    assert.deepEqual([b.inFlight, b.depth], [1, 1]);
    const closed = track(b.close());
    await settle();
    assert.equal(closed.done, false, "close() resolved while a batch was computing");
    open();
    await settle();
    assert.ok(closed.done);
    assert.deepEqual([ys(first.value), ys(second.value)], [[10], [20]]);
    assert.deepEqual(runtime.batches, [[1], [2]]);
    assert.deepEqual([b.inFlight, b.depth], [0, 0]);
  });

  it("close() of an idle batcher resolves at once", async () => {
    const { batcher: b } = batcher();
    const closed = track(b.close());
    await settle();
    assert.ok(closed.done);
  });

  it("works with its defaults: the process's clock and timers, and no observer", async () => {
    const runtime = new FakeRuntime();
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    await settle(); // mocha arms this test's own timeout timer once the test has started
    const before = timers();
    const b = new DynamicBatcher(runtime);
    const results = await Promise.all([1, 2, 3].map((v) => b.submit(row(v))));
    assert.deepEqual(results.map(ys), [[10], [20], [30]]);
    assert.deepEqual(runtime.batches, [[1, 2, 3]]);
    // At most as many as before: a timer of an earlier test may expire meanwhile, none may be added.
    assert.ok(timers() <= before, "a finished request must not leave its deadline timer running");
    runtime.failWith = new Error("kernel exploded");
    await assert.rejects(b.submit(row(4)), InferenceError);
    runtime.failWith = undefined;
    const short = new DynamicBatcher(runtime, { timeoutMs: 20 });
    const open = runtime.hold();
    await assert.rejects(short.submit(row(5)), TimeoutError);
    open();
    await Promise.all([b.close(), short.close()]);
  });

  it("reports every measurement to its observer, with exact times", async () => {
    const events: string[] = [];
    const {
      runtime,
      batcher: b,
      clock,
    } = batcher({
      maxBatchSize: 8,
      maxDelayMs: 10,
      maxQueueSize: 2,
      timeoutMs: 1000,
      observer: {
        onBatch: (n, requests, seconds, failed) =>
          events.push(`batch rows=${n} requests=${requests} seconds=${seconds} failed=${failed}`),
        onQueueDepth: (depth) => events.push(`depth ${depth}`),
        onQueueWait: (seconds) => events.push(`wait ${seconds}`),
        onRejected: (reason) => events.push(`rejected ${reason}`),
      },
    });
    // A batch of 3 rows from 2 requests that computes for 7 ms.
    let open = runtime.hold();
    const ok = [track(b.submit(rows(1, 2)))];
    await clock.advance(4);
    ok.push(track(b.submit(rows(3))));
    await assert.rejects(b.submit(rows(4)), QueueFullError);
    await clock.advance(6);
    await clock.advance(7);
    open();
    await settle();
    assert.deepEqual(
      ok.map((t) => ys(t.value)),
      [[10, 20], [30]],
    );
    // A failed batch of 1 row that computes for 3 ms.
    runtime.failWith = new Error("kernel exploded");
    open = runtime.hold();
    const failed = track(b.submit(rows(5)));
    await clock.advance(13);
    open();
    await settle();
    assert.ok(failed.error instanceof InferenceError);
    // One request timing out while computing, one in the queue; then one refused after close.
    runtime.failWith = undefined;
    open = runtime.hold();
    b.submit(rows(6)).catch(() => undefined);
    await clock.advance(10);
    b.submit(rows(7)).catch(() => undefined);
    await clock.advance(1000);
    const closed = b.close();
    await assert.rejects(b.submit(rows(8)), UnavailableError);
    open();
    await closed;
    assert.deepEqual(events, [
      "depth 1",
      "depth 2",
      "rejected queue_full",
      "wait 0.01",
      "wait 0.006",
      "depth 0",
      "batch rows=3 requests=2 seconds=0.007 failed=false",
      "depth 1",
      "wait 0.01",
      "depth 0",
      "batch rows=1 requests=1 seconds=0.003 failed=true",
      "depth 1",
      "wait 0.01",
      "depth 0",
      "depth 1",
      "rejected timeout",
      "depth 0",
      "rejected timeout",
      "rejected closed",
      "batch rows=1 requests=1 seconds=1 failed=false",
    ]);
  });
});
