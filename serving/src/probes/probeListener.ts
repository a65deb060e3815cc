/**
 * The serving thread's side of the probe listener (PROBE_PORT): starts the probe thread
 * (probeWorker.ts), keeps its heartbeat beating and sends it the served models' state whenever it
 * changes. The serving port keeps answering the same probe paths (the ALB's health check uses it).
 */
import { join } from "node:path";
import type { Worker } from "node:worker_threads";
import type { Logger } from "../logger";
import { startWorkerThread, whenWorkerStarted } from "../workerThread";
import { snapshotOf, type ReadinessSnapshot, type ReadinessSource } from "./probeAnswers";
import type { FromProbeWorker, ProbeWorkerData, ToProbeWorker } from "./probeProtocol";

/** Options of {@link ProbeListener.start}. */
export interface ProbeListenerOptions {
  /** Interface to bind (HOST). */
  readonly host: string;
  /** TCP port (PROBE_PORT); 0 = an ephemeral one, see `port`. */
  readonly port: number;
  /** Where readiness comes from (ServedModels). */
  readonly service: ReadinessSource;
  readonly logger: Logger;
  /** How often the heartbeat beats and the state is compared with what was last sent, in ms. Default: 100. */
  readonly publishIntervalMs?: number;
  /**
   * How long the serving thread's event loop may go without a heartbeat before probes answer 503,
   * in ms. Far above any one batch or burst of requests, far below the liveness probe's budget
   * (3 failures 10 s apart). Default: 10000.
   */
  readonly stallLimitMs?: number;
  /** Starts the probe thread. Default: probeWorker.ts next to this file (tests start stand-ins). */
  readonly spawnWorker?: (data: ProbeWorkerData) => Worker;
}

export class ProbeListener {
  private readonly heartbeat: BigInt64Array;
  private sent: ReadinessSnapshot;
  private timer?: NodeJS.Timeout;
  private closed = false;

  private constructor(
    private readonly worker: Worker,
    data: ProbeWorkerData,
    private readonly service: ReadinessSource,
    /** The port actually bound (real even when PROBE_PORT=0). */
    readonly port: number,
  ) {
    this.heartbeat = new BigInt64Array(data.heartbeat);
    this.sent = data.snapshot;
  }

  /** Starts the thread and resolves once it listens; rejects if it cannot (e.g. the port is taken). */
  static async start(options: ProbeListenerOptions): Promise<ProbeListener> {
    const data: ProbeWorkerData = {
      host: options.host,
      port: options.port,
      heartbeat: new SharedArrayBuffer(BigInt64Array.BYTES_PER_ELEMENT),
      stallLimitMs: options.stallLimitMs ?? 10_000,
      snapshot: snapshotOf(options.service),
    };
    Atomics.store(new BigInt64Array(data.heartbeat), 0, BigInt(Date.now()));
    const spawn = options.spawnWorker ?? ((d) => startWorkerThread(join(__dirname, "probeWorker"), d));
    const worker = spawn(data);
    const port = await whenWorkerStarted(
      worker,
      "probe listener thread",
      "starting",
      (message: FromProbeWorker) =>
        message.type === "listening"
          ? message.port
          : new Error(`probe listener on ${options.host}:${options.port}: ${message.message}`),
    ).catch(async (err: Error) => {
      await worker.terminate();
      throw err;
    });
    const listener = new ProbeListener(worker, data, options.service, port);
    // Without the thread, probes on PROBE_PORT fail and the kubelet restarts the pod: say why.
    worker.on("error", (err) => options.logger.error({ err }, "probe listener thread failed"));
    worker.on("exit", (code) => {
      if (!listener.closed) {
        options.logger.error({ code }, "probe listener thread exited: probes on PROBE_PORT will fail");
      }
    });
    // Neither keeps the process alive: close() ends them, and a process that is done exits.
    worker.unref();
    listener.timer = setInterval(() => listener.publish(), options.publishIntervalMs ?? 100);
    listener.timer.unref();
    return listener;
  }

  /** Beats the heartbeat and sends the state if it changed; called on a timer, and at once on a drain. */
  publish(): void {
    Atomics.store(this.heartbeat, 0, BigInt(Date.now()));
    const now = snapshotOf(this.service);
    if (sameSnapshot(now, this.sent)) return;
    this.sent = now;
    this.worker.postMessage({ snapshot: now } satisfies ToProbeWorker);
  }

  /** Stops the thread (probes on PROBE_PORT are refused from then on). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.worker.terminate();
  }
}

function sameSnapshot(a: ReadinessSnapshot, b: ReadinessSnapshot): boolean {
  return (
    a.ready === b.ready &&
    a.state === b.state &&
    a.reason === b.reason &&
    a.model?.name === b.model?.name &&
    a.model?.version === b.model?.version
  );
}
