/**
 * A loopback TCP server that accepts connections and never answers: the dependency that hangs.
 * Counts the connections it accepted, so tests can tell retries happened.
 */
import { createServer, type Socket } from "node:net";

export interface SilentServer {
  /** `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** Connections accepted so far. */
  readonly accepted: () => number;
  stop(): Promise<void>;
}

export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
    socket.resume(); // read and discard whatever arrives; never write
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    accepted: () => accepted,
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
