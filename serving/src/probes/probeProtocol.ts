/**
 * Messages between the serving thread and the probe listener's thread (probeWorker.ts).
 */
import type { ReadinessSnapshot } from "./probeAnswers";

/** The probe thread's `workerData`. */
export interface ProbeWorkerData {
  readonly host: string;
  /** 0 = an ephemeral port (reported back in the "listening" message). */
  readonly port: number;
  /**
   * One BigInt64 slot: `Date.now()` of the serving thread's last heartbeat, written with
   * Atomics.store and read with Atomics.load.
   */
  readonly heartbeat: SharedArrayBuffer;
  /** A heartbeat older than this, in ms, makes probes answer 503 (the serving thread is stuck). */
  readonly stallLimitMs: number;
  readonly snapshot: ReadinessSnapshot;
}

/** The served models' state changed. */
export interface ToProbeWorker {
  readonly snapshot: ReadinessSnapshot;
}

export type FromProbeWorker =
  | { readonly type: "listening"; readonly port: number }
  | { readonly type: "failed"; readonly message: string };
