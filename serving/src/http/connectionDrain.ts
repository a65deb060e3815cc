/**
 * Moves clients off kept-alive connections before the listener closes, so no request is lost
 * to the race HTTP/1.1 keep-alive has: a client may write its next request on an idle socket at
 * the moment the server closes it; the server never sees that request, and the client cannot
 * safely retry a POST.
 *
 * From {@link startConnectionDrain} (SIGTERM) on, every response carries `Connection: close` (the
 * app's one onSend hook asks {@link isDraining}; load shedding's direct 503s do the same), so
 * during the drain delay each busy connection ends after its current answer and its client
 * reconnects (to this pod while it still listens, or to another). Idle sockets are left alone
 * until the listener closes after the delay: then Node closes those still idle, and from then
 * on connections are closed as they turn idle, so `app.close()` finishes with the last answer
 * instead of waiting out the keep-alive timeout.
 */
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";

export interface ConnectionDrainOptions {
  /** How often idle connections are closed once the listener is closing, in ms. Default: 50. */
  readonly intervalMs?: number;
}

/** Apps whose responses now carry `Connection: close`. */
const draining = new WeakSet<FastifyInstance>();

/** From now on every response of `app` carries `Connection: close` (call it at SIGTERM). */
export function startConnectionDrain(app: FastifyInstance): void {
  draining.add(app);
}

/** Whether responses of `app` now carry `Connection: close`. */
export function isDraining(app: FastifyInstance): boolean {
  return draining.has(app);
}

const plugin: FastifyPluginAsync<ConnectionDrainOptions> = async (app, options) => {
  let reaper: NodeJS.Timeout | undefined;

  app.addHook("preClose", async () => {
    draining.add(app);
    reaper = setInterval(() => app.server.closeIdleConnections(), options.intervalMs ?? 50);
    reaper.unref();
  });

  app.addHook("onClose", async () => {
    clearInterval(reaper);
  });
};

/** Connection draining for the whole app (fastify-plugin: its hooks must see every route). */
export const connectionDrain = fp(plugin, { name: "connection-drain" });
