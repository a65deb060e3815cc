/**
 * Lets `app.close()` finish as soon as the last in-flight response is sent. Node's
 * `server.close()` only closes connections that are idle at that moment; a keep-alive connection
 * whose request is still computing would otherwise stay open after its response (up to the
 * keep-alive timeout), holding shutdown hostage. From `close()` on, responses carry
 * `Connection: close` (the client will not reuse the socket), and connections that turn idle are
 * closed promptly.
 */
import type { FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";

export interface ConnectionDrainOptions {
  /** How often idle connections are closed while closing, in ms. Default: 50. */
  readonly intervalMs?: number;
}

const plugin: FastifyPluginAsync<ConnectionDrainOptions> = async (app, options) => {
  let closing = false;
  let reaper: NodeJS.Timeout | undefined;

  app.addHook("preClose", async () => {
    closing = true;
    reaper = setInterval(() => app.server.closeIdleConnections(), options.intervalMs ?? 50);
    reaper.unref();
  });

  app.addHook("onSend", (_request, reply, payload, done) => {
    if (closing) reply.header("connection", "close");
    done(null, payload);
  });

  app.addHook("onClose", async () => {
    clearInterval(reaper);
  });
};

/** Connection draining for the whole app (fastify-plugin: its hooks must see every route). */
export const connectionDrain = fp(plugin, { name: "connection-drain" });
