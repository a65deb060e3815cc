import assert from "node:assert/strict";
import { RecordBuffer, type RecordSink } from "../../../serving/src/experiment/recordBuffer";
import { waitFor } from "../helpers";

/** A sink that keeps objects in memory and can be made to fail or stall. */
function memorySink() {
  const objects = new Map<string, string>();
  const attempts: string[] = [];
  let failing = 0;
  let gate: Promise<void> | undefined;
  const sink: RecordSink & {
    objects: Map<string, string>;
    attempts: string[];
    failNext(n: number): void;
    stall(): () => void;
  } = {
    location: "memory://records/",
    objects,
    attempts,
    failNext: (n) => (failing = n),
    stall: () => {
      let open!: () => void;
      gate = new Promise((resolve) => (open = resolve));
      return () => {
        gate = undefined;
        open();
      };
    },
    async write(name, body) {
      attempts.push(name);
      if (gate) await gate;
      if (failing > 0) {
        failing--;
        throw new Error("503 SlowDown");
      }
      objects.set(name, body);
    },
  };
  return sink;
}

const rec = (i: number) => ({ kind: "outcome", i });
const linesOf = (sink: { objects: Map<string, string> }) =>
  [...sink.objects.keys()].sort().flatMap((k) =>
    sink.objects
      .get(k)!
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l).i as number),
  );

describe("experiment record buffer", () => {
  it("writes full batches at once, one JSON Lines object each, named by day, time, writer and sequence", async () => {
    const sink = memorySink();
    const buffer = new RecordBuffer({
      sink,
      batchSize: 3,
      flushIntervalMs: 60_000,
      now: () => Date.UTC(2026, 11, 2, 10),
    });
    assert.ok(buffer.offer([rec(0), rec(1), rec(2), rec(3), rec(4), rec(5), rec(6)]));
    await waitFor(() => sink.objects.size === 2);
    const names = [...sink.objects.keys()].sort();
    for (const [i, name] of names.entries()) {
      assert.match(
        name,
        new RegExp(
          `^records/2026-12-02/${Date.UTC(2026, 11, 2, 10)}-[A-Za-z0-9.-]+-\\d+-[0-9a-f]{6}-00000${i}\\.jsonl$`,
        ),
      );
    }
    assert.equal(
      sink.objects.get(names[0]),
      '{"kind":"outcome","i":0}\n{"kind":"outcome","i":1}\n{"kind":"outcome","i":2}\n',
    );
    assert.equal(buffer.depth, 1, "the partial batch waits for its interval");
    await buffer.close();
    assert.deepEqual(linesOf(sink), [0, 1, 2, 3, 4, 5, 6]);
  });

  it("writes a partial batch once the flush interval passes", async () => {
    const sink = memorySink();
    const buffer = new RecordBuffer({ sink, batchSize: 100, flushIntervalMs: 20 });
    buffer.offer([rec(1)]);
    await waitFor(() => sink.objects.size === 1);
    assert.deepEqual(linesOf(sink), [1]);
    await buffer.close();
  });

  it("is bounded: refuses an offer that does not fit, all or nothing, and counts records being written", async () => {
    const sink = memorySink();
    const open = sink.stall();
    const buffer = new RecordBuffer({ sink, bufferSize: 4, batchSize: 2, flushIntervalMs: 60_000 });
    assert.ok(buffer.offer([rec(0), rec(1)])); // a full batch: being written (stalled)
    assert.ok(buffer.offer([rec(2)]));
    assert.equal(buffer.depth, 3);
    assert.equal(buffer.offer([rec(3), rec(4)]), false);
    assert.equal(buffer.depth, 3, "a refused offer adds nothing");
    assert.ok(buffer.offer([rec(3)]));
    assert.equal(buffer.offer([rec(4)]), false);
    open();
    await buffer.close();
    assert.deepEqual(linesOf(sink), [0, 1, 2, 3]);
  });

  it("keeps a batch whose write failed and retries it under the same name: nothing lost, nothing doubled", async () => {
    const sink = memorySink();
    sink.failNext(2);
    const buffer = new RecordBuffer({ sink, batchSize: 2, flushIntervalMs: 60_000, retryDelayMs: 5 });
    buffer.offer([rec(0), rec(1)]);
    await waitFor(() => sink.objects.size === 1);
    assert.equal(sink.attempts.length, 3);
    assert.equal(new Set(sink.attempts).size, 1, "every attempt uses the batch's name");
    await buffer.close();
    assert.deepEqual(linesOf(sink), [0, 1]);
  });

  it("close() writes everything buffered (even while a write is failing) and then refuses new records", async () => {
    const sink = memorySink();
    sink.failNext(1);
    const buffer = new RecordBuffer({ sink, batchSize: 1000, flushIntervalMs: 60_000, retryDelayMs: 60_000 });
    buffer.offer([rec(0), rec(1), rec(2)]);
    await buffer.close();
    assert.deepEqual(linesOf(sink), [0, 1, 2]);
    assert.equal(buffer.depth, 0);
    assert.equal(buffer.offer([rec(3)]), false);
  });
});
