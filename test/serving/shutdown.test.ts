/**
 * The drain sequence over real sockets, made deterministic by gating the model: requests are
 * provably in flight and queued when the listener closes, and every one of them is answered.
 */
import assert from "node:assert/strict";
import { drainAndClose } from "../../serving/src/shutdown";
import { gatedRuntime, memoryLogger, softmax2, assertClose, startTestServer, waitFor } from "./helpers";

describe("drain and close", () => {
  it("answers every in-flight and queued request before closing, refusing new connections after the delay", async () => {
    const gate = gatedRuntime();
    const server = await startTestServer({
      name: "clf",
      batching: { maxBatchSize: 1 },
      wrapRuntime: gate.wrap,
    });
    const url = await server.app.listen({ host: "127.0.0.1", port: 0 });
    const logger = memoryLogger();
    try {
      const inputs = Array.from({ length: 10 }, (_, i) => [i, 10 - i]);
      const requests = inputs.map((features) =>
        fetch(`${url}/predict`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ features }),
        }),
      );
      await gate.entered; // one request computing (blocked) ...
      await waitFor(() => server.service.queueDepth === 9); // ... and nine queued behind it

      let closed = false;
      const draining = drainAndClose({ ...server, drainDelayMs: 100, logger, reason: "SIGTERM" }).then(
        () => (closed = true),
      );
      // Readiness is 503 at once; the listener still accepts during the drain delay.
      const ready = await fetch(`${url}/ready`);
      assert.equal(ready.status, 503);
      assert.deepEqual(await ready.json(), {
        status: "draining",
        error: "server is draining before shutdown",
      });

      // After the delay the listener is closed, but close() waits for the blocked requests.
      await waitFor(() => logger.lines.some((l) => l.msg?.startsWith("closing listener")));
      await assert.rejects(fetch(`${url}/health`), "no new connections after the drain delay");
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(closed, false, "close must wait for in-flight and queued requests");

      gate.open();
      const responses = await Promise.all(requests);
      const bodies = await Promise.all(
        responses.map((r) => r.json() as Promise<{ probabilities: number[] }>),
      );
      assert.deepEqual(
        responses.map((r) => r.status),
        new Array(10).fill(200),
      );
      bodies.forEach((b, i) => assertClose(b.probabilities, softmax2(inputs[i][0], inputs[i][1])));
      await draining;
      assert.equal(closed, true);

      const closing = logger.lines.find(
        (l) => l.msg === "closing listener; finishing in-flight and queued requests",
      );
      assert.deepEqual(closing?.obj, { queued: 9, running: 1 });
      assert.equal(logger.lines.at(-1)?.msg, "shutdown complete");
      assert.equal(server.service.state, "stopped");
    } finally {
      gate.open();
      await server.close();
    }
  });

  it("closes kept-alive connections promptly instead of waiting for their keep-alive timeout", async () => {
    const server = await startTestServer({ name: "clf" });
    const url = await server.app.listen({ host: "127.0.0.1", port: 0 });
    try {
      // fetch keeps the connection alive after this response.
      assert.equal((await fetch(`${url}/health`)).status, 200);
      const started = performance.now();
      await drainAndClose({ ...server, drainDelayMs: 0, logger: memoryLogger(), reason: "test" });
      assert.ok(performance.now() - started < 2000, "close() must not wait for idle keep-alive sockets");
    } finally {
      await server.close();
    }
  });
});
