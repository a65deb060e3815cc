/**
 * A bounded buffer of experiment records (predictions and outcomes) written in batches, one
 * JSON Lines object per batch. Bounded: a caller that must not lose its record (an outcome) is
 * refused while the buffer is full, so it can retry; nothing accepted is dropped. A failed write
 * keeps its batch and retries it under the same object name (a retry of a write that did land
 * overwrites it with the same bytes). `close()` writes everything before it resolves.
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { silentLogger, type Logger } from "../logger";

/** Where batches go: an S3 prefix or a local directory. */
export interface RecordSink {
  /** For logs: `s3://bucket/experiments/x/`, a directory path. */
  readonly location: string;
  /** Writes one object `name` (relative to the sink) holding `body`. */
  write(name: string, body: string): Promise<void>;
}

/** What the buffer reports, for metrics. */
export interface RecordBufferObserver {
  onDepth?(records: number): void;
  onWrite?(ok: boolean, records: number): void;
}

export interface RecordBufferOptions {
  readonly sink: RecordSink;
  /** Most records held (pending plus being written); more are refused. Default: 100000. */
  readonly bufferSize?: number;
  /** Most records per written object. Default: 5000. */
  readonly batchSize?: number;
  /** Longest a record waits before its batch is written, in ms. Default: 5000. */
  readonly flushIntervalMs?: number;
  /** First delay before retrying a failed write, in ms; doubles up to 30 s. Default: 500. */
  readonly retryDelayMs?: number;
  /** Default: silent. */
  readonly logger?: Logger;
  readonly observer?: RecordBufferObserver;
  /** Clock for object names. Default: Date.now. */
  readonly now?: () => number;
}

/** Longest wait between write attempts once close() has started. */
const CLOSING_RETRY_MS = 1000;

interface Batch {
  readonly name: string;
  readonly lines: string[];
}

export class RecordBuffer {
  private pending: string[] = [];
  private writing?: Batch;
  private seq = 0;
  private timer?: NodeJS.Timeout;
  private retryTimer?: { timer: NodeJS.Timeout; wake: () => void };
  private loop?: Promise<void>;
  /** Whether the running write loop also writes a partial last batch. */
  private drainAll = false;
  private closing = false;
  private readonly writer = `${hostname().replace(/[^A-Za-z0-9.-]/g, "-")}-${process.pid}-${randomBytes(3).toString("hex")}`;
  private readonly bufferSize: number;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private readonly logger: Logger;
  private readonly now: () => number;

  constructor(private readonly options: RecordBufferOptions) {
    this.bufferSize = options.bufferSize ?? 100_000;
    this.batchSize = options.batchSize ?? 5_000;
    this.flushIntervalMs = options.flushIntervalMs ?? 5_000;
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
  }

  /** Where batches are written, for messages. */
  get location(): string {
    return this.options.sink.location;
  }

  /** Records held: waiting plus being written. */
  get depth(): number {
    return this.pending.length + (this.writing?.lines.length ?? 0);
  }

  /** Room for this many more records. */
  get free(): number {
    return this.bufferSize - this.depth;
  }

  /**
   * Adds the records if all fit (true), or none of them (false). After close() nothing is
   * accepted: the records could no longer be written.
   */
  offer(records: readonly object[]): boolean {
    if (this.closing || records.length > this.free) return false;
    for (const r of records) this.pending.push(JSON.stringify(r));
    this.options.observer?.onDepth?.(this.depth);
    if (this.pending.length >= this.batchSize) this.kick();
    else this.timer ??= setTimeout(() => this.kick(true), this.flushIntervalMs).unref();
    return true;
  }

  /** Writes everything buffered now (also what is below a full batch), retrying failures until done. */
  async flush(): Promise<void> {
    while (this.depth > 0) {
      this.kick(true);
      this.wakeRetry();
      await this.loop;
    }
  }

  /** Refuses new records, then writes every buffered one. Resolves once all are written. */
  async close(): Promise<void> {
    this.closing = true;
    const held = this.depth;
    this.wakeRetry();
    if (held > 0)
      this.logger.info(
        { records: held, sink: this.options.sink.location },
        "writing buffered experiment records",
      );
    await this.flush();
    clearTimeout(this.timer);
  }

  /** Starts the write loop if it is idle; `all` also writes a partial last batch. */
  private kick(all = false): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.loop) {
      if (all) this.drainAll = true;
      return;
    }
    this.drainAll = all;
    this.loop = this.run().finally(() => {
      this.loop = undefined;
      // Records that arrived during the last write and are not a full batch wait for the timer.
      if (this.pending.length > 0) {
        if (this.pending.length >= this.batchSize || this.closing) this.kick(true);
        else this.timer ??= setTimeout(() => this.kick(true), this.flushIntervalMs).unref();
      }
    });
  }

  private async run(): Promise<void> {
    let delay = this.options.retryDelayMs ?? 500;
    for (;;) {
      if (!this.writing) {
        const full = this.pending.length >= this.batchSize;
        if (!full && !(this.drainAll && this.pending.length > 0)) return;
        this.writing = { name: this.nextName(), lines: this.pending.splice(0, this.batchSize) };
      }
      const batch = this.writing;
      try {
        await this.options.sink.write(batch.name, `${batch.lines.join("\n")}\n`);
        this.writing = undefined;
        delay = this.options.retryDelayMs ?? 500;
        this.options.observer?.onWrite?.(true, batch.lines.length);
        this.options.observer?.onDepth?.(this.depth);
      } catch (err) {
        if (this.closing) delay = Math.min(delay, CLOSING_RETRY_MS);
        this.options.observer?.onWrite?.(false, batch.lines.length);
        this.logger.warn(
          { err: (err as Error).message, object: batch.name, records: batch.lines.length, retryInMs: delay },
          `writing experiment records to ${this.options.sink.location} failed; retrying`,
        );
        await new Promise<void>((resolve) => {
          this.retryTimer = { timer: setTimeout(resolve, delay), wake: resolve };
        });
        this.retryTimer = undefined;
        // While closing, the shutdown deadline is near: retry at least every second.
        delay = Math.min(delay * 2, this.closing ? CLOSING_RETRY_MS : 30_000);
      }
    }
  }

  /** A waiting retry goes at once (flush and close do not sit out a long backoff). */
  private wakeRetry(): void {
    if (this.retryTimer) {
      clearTimeout(this.retryTimer.timer);
      this.retryTimer.wake();
    }
  }

  /** `<yyyy-mm-dd>/<epoch ms, 13 digits>-<writer>-<seq>.jsonl`: sortable by time, unique per writer. */
  private nextName(): string {
    const ms = this.now();
    const day = new Date(ms).toISOString().slice(0, 10);
    return `records/${day}/${String(ms).padStart(13, "0")}-${this.writer}-${String(this.seq++).padStart(6, "0")}.jsonl`;
  }
}
