/**
 * Dynamic batching for one model. Concurrent requests wait in a bounded queue and run as one
 * `run()` when the queued rows reach `maxBatchSize` or the oldest request has waited
 * `maxDelayMs`; each caller gets exactly its own rows of the outputs back. One batch computes at
 * a time, so requests arriving during a run accumulate into the next batch.
 *
 * Semantics follow Triton's dynamic batcher: a full queue refuses at once (never grows without
 * bound), every request has a deadline (queueing included), a failed batch fails every request in
 * it, and models without a batch dimension run one request at a time. Knows nothing of HTTP.
 *
 * A request of more than `maxBatchSize` rows runs as consecutive chunks of at most that many rows,
 * one chunk queued at a time: each next chunk joins the back of the queue when the previous one
 * starts computing, so requests that arrived meanwhile run between the chunks (round robin)
 * instead of waiting behind one huge `run()`.
 */
import {
  BadRequestError,
  InferenceError,
  PayloadTooLargeError,
  QueueFullError,
  TimeoutError,
  UnavailableError,
} from "../errors";
import { concatBatch, sliceRows, splitBatch } from "../runtime/batchTensors";
import type { HostTensor, InferenceRuntime, TensorMap } from "../runtime/runtime";

/** Options of {@link DynamicBatcher}. */
export interface BatcherOptions {
  /** Most rows (dim 0 summed over requests) in one run; a larger request runs in chunks of it. Default: 32. */
  readonly maxBatchSize?: number;
  /** Most rows one request may have; more is refused with PayloadTooLargeError. Default: 4096. */
  readonly maxRowsPerRequest?: number;
  /** Longest the oldest queued request waits for the batch to fill, in ms; 0 = no wait. Default: 0. */
  readonly maxDelayMs?: number;
  /** Requests allowed to wait; beyond it `submit` rejects with QueueFullError. Default: 1024. */
  readonly maxQueueSize?: number;
  /** Deadline per request from `submit`, queueing included, in ms; then TimeoutError. Default: 10000. */
  readonly timeoutMs?: number;
  /** Whether inputs and outputs have a dynamic batch dimension 0 to merge along. Default: true. */
  readonly batchable?: boolean;
  /** Receives queue and batch measurements (metrics). Default: none. */
  readonly observer?: BatchObserver;
  /** Time source and timers for delays and deadlines (tests inject a fake). Default: the process's. */
  readonly clock?: BatcherClock;
}

/** What the batcher needs of time: a monotonic ms clock and one-shot timers. */
export interface BatcherClock {
  /** Milliseconds since an arbitrary origin, monotonic (like `performance.now()`). */
  now(): number;
  /** Calls `callback` once after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const PROCESS_CLOCK: BatcherClock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Hooks for measurements; the batcher itself has no metrics dependency. */
export interface BatchObserver {
  /** A batch of `rows` rows from `requests` requests ran for `seconds`; `failed` if it rejected. */
  onBatch?(rows: number, requests: number, seconds: number, failed: boolean): void;
  /** Number of requests waiting changed. */
  onQueueDepth?(depth: number): void;
  /** A request left the queue for a batch after waiting `seconds`. */
  onQueueWait?(seconds: number): void;
  /** A request was refused because the queue was full, or timed out. */
  onRejected?(reason: "queue_full" | "timeout" | "closed"): void;
}

interface Pending {
  readonly feeds: TensorMap;
  readonly outputs: readonly string[] | undefined;
  readonly rows: number;
  /** Requests with the same key can share a batch (same datatypes, inner dims, outputs). */
  readonly key: string;
  readonly enqueuedAt: number;
  /** Called when this entry leaves the queue for a batch (queues a chunked request's next chunk). */
  readonly onTaken?: () => void;
  state: "queued" | "running" | "done";
  timer?: unknown;
  resolve(outputs: Record<string, HostTensor>): void;
  reject(err: Error): void;
}

export class DynamicBatcher {
  private readonly maxBatchSize: number;
  private readonly maxRowsPerRequest: number;
  private readonly maxDelayMs: number;
  private readonly maxQueueSize: number;
  private readonly timeoutMs: number;
  private readonly batchable: boolean;
  private readonly observer: BatchObserver;
  private readonly clock: BatcherClock;
  private queue: Pending[] = [];
  private queuedRows = 0;
  private running = false;
  private runningRequests = 0;
  private delayTimer?: unknown;
  private closing = false;
  private queueFull?: QueueFullError;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly runtime: Pick<InferenceRuntime, "run">,
    options: BatcherOptions = {},
  ) {
    this.maxBatchSize = options.maxBatchSize ?? 32;
    this.maxRowsPerRequest = options.maxRowsPerRequest ?? 4096;
    this.maxDelayMs = options.maxDelayMs ?? 0;
    this.maxQueueSize = options.maxQueueSize ?? 1024;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.batchable = options.batchable ?? true;
    this.observer = options.observer ?? {};
    this.clock = options.clock ?? PROCESS_CLOCK;
  }

  /** Requests waiting for a batch (not counting the one running). */
  get depth(): number {
    return this.queue.length;
  }

  /** Requests in the batch computing now. */
  get inFlight(): number {
    return this.runningRequests;
  }

  /** Whether the queue is full: a request submitted now would be refused. */
  get full(): boolean {
    return this.queue.length >= this.maxQueueSize;
  }

  /**
   * When the queue is full: counts a refusal and returns the error to answer with; else
   * undefined. Protocol layers call it before reading a request's body, so refusing under
   * overload costs as little as possible. The error is one shared instance: under overload
   * thousands are refused a second, and capturing a stack for each was a visible share of CPU.
   */
  refuseIfFull(): QueueFullError | undefined {
    if (this.queue.length < this.maxQueueSize) return undefined;
    this.observer.onRejected?.("queue_full");
    this.queueFull ??= new QueueFullError(
      `the inference queue is full (${this.maxQueueSize} requests waiting); retry later`,
    );
    return this.queueFull;
  }

  /**
   * Queues one request; resolves with exactly its rows of every (or every requested) output.
   * All feeds must share dim 0 (the request's rows) when the model is batchable.
   */
  submit(feeds: TensorMap, outputs?: readonly string[]): Promise<Record<string, HostTensor>> {
    if (this.closing) {
      this.observer.onRejected?.("closed");
      return Promise.reject(
        new UnavailableError("the server is shutting down and accepts no new inferences"),
      );
    }
    const full = this.refuseIfFull();
    if (full) return Promise.reject(full);
    let rows: number;
    try {
      rows = this.batchable ? rowsOf(feeds) : 1;
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (rows > this.maxRowsPerRequest) {
      return Promise.reject(
        new PayloadTooLargeError(
          `the request has ${rows} rows; at most ${this.maxRowsPerRequest} are accepted per request (MAX_ROWS_PER_REQUEST): split it`,
        ),
      );
    }
    if (rows > this.maxBatchSize) return this.submitChunked(feeds, outputs, rows);
    return new Promise((resolve, reject) => {
      this.enqueue({
        feeds,
        outputs,
        rows,
        key: batchKey(feeds, outputs),
        enqueuedAt: this.clock.now(),
        state: "queued",
        resolve,
        reject,
      });
    });
  }

  private enqueue(entry: Pending, timeoutMs = this.timeoutMs): void {
    entry.timer = this.clock.setTimeout(() => this.expire(entry), timeoutMs);
    this.queue.push(entry);
    this.queuedRows += entry.rows;
    this.observer.onQueueDepth?.(this.queue.length);
    this.schedule();
  }

  /**
   * Runs a request larger than maxBatchSize as chunks of maxBatchSize rows, one queued at a time
   * (see the file comment), under the request's one deadline; the outputs are concatenated back.
   */
  private submitChunked(
    feeds: TensorMap,
    outputs: readonly string[] | undefined,
    rows: number,
  ): Promise<Record<string, HostTensor>> {
    const deadline = this.clock.now() + this.timeoutMs;
    const key = batchKey(feeds, outputs);
    const chunks = Math.ceil(rows / this.maxBatchSize);
    const parts: TensorMap[] = new Array(chunks);
    const entries: Pending[] = [];
    let done = 0;
    return new Promise((resolve, reject) => {
      const queueChunk = (c: number): void => {
        const start = c * this.maxBatchSize;
        const end = Math.min(rows, start + this.maxBatchSize);
        const entry: Pending = {
          feeds: sliceRows(feeds, start, end),
          outputs,
          rows: end - start,
          key,
          enqueuedAt: this.clock.now(),
          state: "queued",
          ...(c + 1 < chunks ? { onTaken: () => queueChunk(c + 1) } : {}),
          resolve: (out) => {
            parts[c] = out;
            if (++done === chunks) resolve(concatBatch(parts));
          },
          reject: (err) => {
            // The first failure answers the request; its other chunks (the next one queued, or one
            // still computing) are dropped, so they neither run for nothing nor count a second
            // timeout.
            for (const e of entries) this.withdraw(e);
            reject(err);
          },
        };
        entries.push(entry);
        this.enqueue(entry, Math.max(0, deadline - this.clock.now()));
      };
      queueChunk(0);
    });
  }

  /**
   * Stops accepting requests and runs everything already queued without waiting for batches to
   * fill; resolves once the queue is empty and nothing is computing.
   */
  close(): Promise<void> {
    this.closing = true;
    this.schedule();
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && !this.running;
  }

  private schedule(): void {
    if (this.running) return;
    if (this.queue.length === 0) {
      this.clearDelayTimer();
      if (this.isIdle()) this.idleWaiters.splice(0).forEach((wake) => wake());
      return;
    }
    const waited = this.clock.now() - this.queue[0].enqueuedAt;
    const due =
      this.closing || !this.batchable || this.queuedRows >= this.maxBatchSize || waited >= this.maxDelayMs;
    if (due) {
      this.clearDelayTimer();
      this.running = true;
      if (this.closing || this.queuedRows >= this.maxBatchSize) {
        // A full batch gains nothing by waiting. Under overload this matters: a turn of the event
        // loop can hold thousands of refusals, and a batch that waits a turn to start (the runtime
        // already takes one to run it) halves what gets served.
        void this.dispatch();
      } else {
        // setImmediate, not a synchronous call: requests parsed in the same I/O turn join this batch.
        setImmediate(() => void this.dispatch());
      }
    } else if (this.delayTimer === undefined) {
      this.delayTimer = this.clock.setTimeout(() => {
        this.delayTimer = undefined;
        this.schedule();
      }, this.maxDelayMs - waited);
    }
  }

  private clearDelayTimer(): void {
    if (this.delayTimer !== undefined) {
      this.clock.clearTimeout(this.delayTimer);
      this.delayTimer = undefined;
    }
  }

  /** Takes the oldest request and every compatible one behind it, up to maxBatchSize rows. */
  private takeBatch(): Pending[] {
    const head = this.queue[0];
    const batch: Pending[] = [head];
    let rows = head.rows;
    if (this.batchable) {
      for (let i = 1; i < this.queue.length && rows < this.maxBatchSize; i++) {
        const p = this.queue[i];
        if (p.key === head.key && rows + p.rows <= this.maxBatchSize) {
          batch.push(p);
          rows += p.rows;
        }
      }
    }
    const taken = new Set(batch);
    this.queue = this.queue.filter((p) => !taken.has(p));
    this.queuedRows -= rows;
    return batch;
  }

  private async dispatch(): Promise<void> {
    if (this.queue.length === 0) {
      // everything queued timed out between scheduling and now
      this.running = false;
      this.schedule();
      return;
    }
    const batch = this.takeBatch();
    const now = this.clock.now();
    for (const p of batch) {
      p.state = "running";
      this.observer.onQueueWait?.((now - p.enqueuedAt) / 1000);
      p.onTaken?.();
    }
    this.observer.onQueueDepth?.(this.queue.length);
    const rows = batch.reduce((n, p) => n + p.rows, 0);
    this.runningRequests = batch.length;
    const started = this.clock.now();
    try {
      const feeds = concatBatch(batch.map((p) => p.feeds));
      const outputs = await this.runtime.run(feeds, batch[0].outputs);
      const parts = this.batchable
        ? splitBatch(
            outputs,
            batch.map((p) => p.rows),
          )
        : [outputs];
      this.observer.onBatch?.(rows, batch.length, (this.clock.now() - started) / 1000, false);
      batch.forEach((p, i) => this.settle(p, () => p.resolve(parts[i])));
    } catch (err) {
      this.observer.onBatch?.(rows, batch.length, (this.clock.now() - started) / 1000, true);
      const failure = new InferenceError(`inference failed: ${(err as Error).message}`);
      for (const p of batch) this.settle(p, () => p.reject(failure));
    } finally {
      this.running = false;
      this.runningRequests = 0;
      this.schedule();
    }
  }

  private settle(p: Pending, action: () => void): void {
    if (p.state === "done") return; // timed out meanwhile: its caller already has a 504
    p.state = "done";
    this.clock.clearTimeout(p.timer);
    action();
  }

  private expire(p: Pending): void {
    if (p.state === "done") return;
    const where = p.state === "queued" ? "waiting in the queue" : "while the model computed";
    if (p.state === "queued") this.unqueue(p);
    p.state = "done";
    this.observer.onRejected?.("timeout");
    p.reject(new TimeoutError(`inference did not finish within ${this.timeoutMs} ms (timed out ${where})`));
    this.schedule();
  }

  /** Drops a request without answering it (its caller already has an answer); no-op once settled. */
  private withdraw(p: Pending): void {
    if (p.state === "done") return;
    if (p.state === "queued") this.unqueue(p);
    p.state = "done";
    this.clock.clearTimeout(p.timer);
  }

  private unqueue(p: Pending): void {
    this.queue = this.queue.filter((q) => q !== p);
    this.queuedRows -= p.rows;
    this.observer.onQueueDepth?.(this.queue.length);
  }
}

function rowsOf(feeds: TensorMap): number {
  const tensors = Object.values(feeds);
  if (tensors.length === 0) throw new BadRequestError("a request needs at least one input tensor");
  const rows = tensors[0].shape[0];
  for (const [name, t] of Object.entries(feeds)) {
    if (t.shape.length === 0) {
      throw new BadRequestError(`input "${name}" is a scalar, but the model batches along dimension 0`);
    }
    if (t.shape[0] !== rows) {
      throw new BadRequestError(
        `input "${name}" has ${t.shape[0]} rows in dimension 0 where the other inputs have ${rows}`,
      );
    }
  }
  return rows;
}

/** Computed for every request, so built with plain loops rather than map/slice/join chains. */
function batchKey(feeds: TensorMap, outputs: readonly string[] | undefined): string {
  const names = Object.keys(feeds);
  if (names.length > 1) names.sort();
  let key = "";
  for (const name of names) {
    const { datatype, shape } = feeds[name];
    key += `${name}:${datatype}:`;
    for (let d = 1; d < shape.length; d++) key += d > 1 ? `x${shape[d]}` : String(shape[d]);
    key += ",";
  }
  if (!outputs) return `${key}|*`;
  return `${key}|${outputs.length < 2 ? (outputs[0] ?? "") : [...outputs].sort().join(",")}`;
}
