/**
 * INFERENCE_THREAD: parsed strictly, absent from the config unless set, and `worker` serves the
 * same answers through the real server wiring (startServer) with session.run off the event loop.
 */
import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../serving/src/config";
import { softmax2, assertClose, startRealServer } from "./helpers";

describe("INFERENCE_THREAD", function () {
  this.timeout(20_000);

  it("is absent by default (session.run stays on the main thread)", () => {
    assert.equal("inferenceThread" in loadConfig({}), false);
  });

  it("accepts main and worker", () => {
    assert.equal(loadConfig({ INFERENCE_THREAD: "main" }).inferenceThread, "main");
    assert.equal(loadConfig({ INFERENCE_THREAD: "worker" }).inferenceThread, "worker");
  });

  it("rejects anything else, naming the variable and the choices", () => {
    assert.throws(
      () => loadConfig({ INFERENCE_THREAD: "threads" }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message.includes('INFERENCE_THREAD: expected one of main, worker, got "threads"'),
    );
  });

  it("worker: the server loads the model in a worker thread and answers /predict exactly as before", async () => {
    const { server, lines, close } = await startRealServer({ GRPC_PORT: "0", INFERENCE_THREAD: "worker" });
    try {
      await server.loaded;
      assert.equal(server.service.ready, true);
      const res = await fetch(`${server.url}/predict`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ features: [0.25, 1.5] }),
      });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { prediction: unknown; probabilities: number[] };
      assert.equal(body.prediction, 1); // the model's own label output (argmax)
      assertClose(body.probabilities, softmax2(0.25, 1.5));
      const listening = lines.find((l) => l.msg === "listening; loading model");
      assert.equal(listening?.inferenceThread, "worker");
    } finally {
      await close();
    }
  });
});
