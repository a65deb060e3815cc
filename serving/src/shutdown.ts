/**
 * The drain sequence run on SIGTERM: readiness 503 at once (load balancers stop sending) and
 * `Connection: close` on every response (clients leave kept-alive connections), wait the drain
 * delay (they deregister; requests still arriving are served), stop accepting connections,
 * answer every in-flight and queued request, then release the model.
 */
import type { FastifyInstance } from "fastify";
import { startConnectionDrain } from "./http/connectionDrain";
import type { Logger } from "./logger";
import type { ModelService } from "./service/modelService";

/** Arguments of {@link drainAndClose}. */
export interface DrainArgs {
  readonly app: FastifyInstance;
  /**
   * Other listeners drained alongside the HTTP app (the gRPC server): told at once, closed with
   * it after the delay. Default: none.
   */
  readonly listeners?: readonly DrainableListener[];
  /** The served models (a ModelService, or ServedModels with an experiment's records). */
  readonly service: Pick<ModelService, "startDraining" | "stop" | "queueDepth" | "inferencesRunning">;
  /** Time between readiness turning 503 and the listener closing, in ms. */
  readonly drainDelayMs: number;
  readonly logger: Logger;
  /** Why we are shutting down (the signal), for the log. */
  readonly reason: string;
}

/** A listener besides the HTTP app: health off at once, then close after the drain delay. */
export interface DrainableListener {
  /** Report not-serving at once; keep serving calls. */
  startDraining(): void;
  /** Stop accepting; resolve once every call in flight is answered. */
  close(): Promise<void>;
}

export async function drainAndClose({
  app,
  listeners = [],
  service,
  drainDelayMs,
  logger,
  reason,
}: DrainArgs): Promise<void> {
  service.startDraining();
  for (const listener of listeners) listener.startDraining();
  // Clients move off kept-alive connections during the delay (see connectionDrain).
  startConnectionDrain(app);
  logger.info(
    {
      reason,
      drainDelaySeconds: drainDelayMs / 1000,
      queued: service.queueDepth,
      running: service.inferencesRunning,
    },
    "draining: readiness is now 503; listener closes after the drain delay",
  );
  await new Promise((resolve) => setTimeout(resolve, drainDelayMs));
  logger.info(
    { queued: service.queueDepth, running: service.inferencesRunning },
    "closing listener; finishing in-flight and queued requests",
  );
  // close() stops accepting connections and resolves once every in-flight request is answered
  // (connectionDrain closes keep-alive sockets as they turn idle).
  await Promise.all([app.close(), ...listeners.map((l) => l.close())]);
  // Nothing can reach the batcher any more; this only waits for work not tied to a request.
  await service.stop();
  logger.info({}, "shutdown complete");
}
