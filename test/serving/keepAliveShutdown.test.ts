/**
 * SIGTERM's drain under keep-alive load, over real sockets: clients that reuse connections as
 * fast as they can (as a load balancer does) must lose no request. A lost request is one written
 * on a socket that the server then closed without answering ("socket hang up", ECONNRESET).
 * Each client behaves as a load balancer's connection pool to a deregistering pod: it keeps
 * sending until an answer says `Connection: close`, then moves off (to other pods).
 */
import assert from "node:assert/strict";
import { Agent, request } from "node:http";
import { drainAndClose } from "../../serving/src/shutdown";
import { memoryLogger, startTestServer, waitFor } from "./helpers";

interface Outcome {
  ok: number;
  other: number;
  lost: string[];
  refused: number;
  closeHeaders: number;
}

/** One client: POSTs back to back on a keep-alive agent until told Connection: close after SIGTERM. */
async function client(
  port: number,
  agent: Agent,
  outcome: Outcome,
  drainStarted: () => boolean,
): Promise<void> {
  const body = JSON.stringify({ features: [1, 2] });
  for (;;) {
    const afterSigterm = drainStarted();
    let moveOff = false;
    const result = await new Promise<"ok" | "refused" | "lost" | "other">((resolve) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path: "/predict",
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          if (afterSigterm && res.headers.connection === "close") {
            outcome.closeHeaders++;
            moveOff = true;
          }
          res.resume();
          res.on("end", () => resolve(res.statusCode === 200 ? "ok" : "other"));
        },
      );
      req.on("error", (err: NodeJS.ErrnoException) => {
        // A refused connection was never sent: not lost, and the client moves off.
        if (err.code === "ECONNREFUSED") resolve("refused");
        else {
          outcome.lost.push(`${err.code ?? ""} ${err.message}`);
          resolve("lost");
        }
      });
      req.end(body);
    });
    if (result === "refused") {
      outcome.refused++;
      return;
    }
    if (result === "ok") outcome.ok++;
    else if (result === "other") outcome.other++;
    if (result === "lost" || (afterSigterm && moveOff)) return;
  }
}

describe("shutdown under keep-alive load", () => {
  it("loses no request: Connection: close from SIGTERM, idle sockets closed only after the delay", async () => {
    const server = await startTestServer({ name: "clf" });
    const url = await server.app.listen({ host: "127.0.0.1", port: 0 });
    const port = Number(new URL(url).port);
    const agent = new Agent({ keepAlive: true, maxSockets: 32 });
    const outcome: Outcome = { ok: 0, other: 0, lost: [], refused: 0, closeHeaders: 0 };
    let sigterm = false;
    try {
      const clients = Array.from({ length: 32 }, () => client(port, agent, outcome, () => sigterm));
      await waitFor(() => outcome.ok >= 100, 20_000); // steady keep-alive load
      sigterm = true;
      await drainAndClose({ ...server, drainDelayMs: 400, logger: memoryLogger(), reason: "SIGTERM" });
      await Promise.all(clients);
      // The server's own outcome: every request it read was answered, none with an error.
      assert.deepEqual(outcome.lost, [], "requests written on a socket the server closed unanswered");
      assert.equal(outcome.other, 0);
      assert.equal(outcome.refused, 0, "every client moved off during the drain delay");
      assert.equal(
        outcome.closeHeaders,
        32,
        "each client's first answer after SIGTERM said Connection: close",
      );
    } finally {
      agent.destroy();
      await server.close().catch(() => undefined);
    }
  });
});
