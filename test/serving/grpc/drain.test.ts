/**
 * gRPC health (grpc.health.v1) and the drain on SIGTERM, over real sockets: health follows the
 * model and flips to NOT_SERVING at once; calls in flight and queued all finish; after the drain
 * delay new calls get UNAVAILABLE.
 */
import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import pino from "pino";
import { loadConfig } from "../../../serving/src/config";
import { startServer } from "../../../serving/src/server";
import { drainAndClose } from "../../../serving/src/shutdown";
import { assertClose, gatedRuntime, memoryLogger, softmax2, waitFor } from "../helpers";
import {
  churnFixture,
  expectStatus,
  fp32Bytes,
  healthClient,
  inferenceClient,
  startGrpcTestServer,
} from "./support";

interface InferResponse {
  outputs: Array<{ name: string; contents: { fp32_contents: number[]; int64_contents: string[] } }>;
  raw_output_contents: Buffer[];
}

describe("gRPC health and drain", () => {
  it("health: SERVING for the server and the inference service, NOT_FOUND for other services", async () => {
    const server = await startGrpcTestServer({ name: "clf" });
    try {
      assert.deepEqual(await server.health.call("Check", { service: "" }), { status: "SERVING" });
      assert.deepEqual(await server.health.call("Check", { service: "inference.GRPCInferenceService" }), {
        status: "SERVING",
      });
      await expectStatus(
        server.health.call("Check", { service: "other" }),
        status.NOT_FOUND,
        "Health status unknown for service other",
      );
    } finally {
      await server.close();
    }
  });

  it("answers every in-flight and queued call, then refuses new ones with UNAVAILABLE", async () => {
    const gate = gatedRuntime();
    const server = await startGrpcTestServer({
      name: "clf",
      batching: { maxBatchSize: 1 },
      wrapRuntime: gate.wrap,
    });
    const logger = memoryLogger();
    const infer = (client: typeof server.client, a: number, b: number) =>
      client.call<InferResponse>("ModelInfer", {
        model_name: "clf",
        inputs: [{ name: "input", datatype: "FP32", shape: [1, 2], contents: { fp32_contents: [a, b] } }],
      });
    try {
      const inputs = Array.from({ length: 10 }, (_, i) => [i, 10 - i]);
      const calls = inputs.map(([a, b]) => infer(server.client, a, b));
      await gate.entered; // one call computing (blocked) ...
      await waitFor(() => server.service.queueDepth === 9); // ... and nine queued behind it

      let closed = false;
      const draining = drainAndClose({
        ...server,
        listeners: [server.grpc],
        drainDelayMs: 300,
        logger,
        reason: "SIGTERM",
      }).then(() => (closed = true));
      // Health and readiness flip at once; calls are still taken during the drain delay.
      assert.deepEqual(await server.health.call("Check", { service: "" }), { status: "NOT_SERVING" });
      assert.deepEqual(await server.health.call("Check", { service: "inference.GRPCInferenceService" }), {
        status: "NOT_SERVING",
      });
      assert.deepEqual(await server.client.call("ServerReady"), { ready: false });
      const lateButInTime = infer(server.client, 7, 7);
      await waitFor(() => server.service.queueDepth === 10);

      // After the delay: closed to new calls (on a new connection and on the open one) ...
      await waitFor(() => logger.lines.some((l) => l.msg?.startsWith("closing listener")));
      const fresh = inferenceClient(server.address);
      try {
        await expectStatus(infer(fresh, 1, 1), status.UNAVAILABLE);
      } finally {
        fresh.close();
      }
      await expectStatus(infer(server.client, 1, 1), status.UNAVAILABLE);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(closed, false, "close must wait for the calls in flight and queued");

      // ... while every accepted call is answered, with its own result.
      gate.open();
      const responses = await Promise.all([...calls, lateButInTime]);
      [...inputs, [7, 7]].forEach(([a, b], i) =>
        assertClose(responses[i].outputs[1].contents.fp32_contents, softmax2(a, b)),
      );
      await draining;
      assert.equal(closed, true);
      assert.equal(server.service.state, "stopped");
    } finally {
      gate.open();
      await server.close();
    }
  });

  it("the composed server serves gRPC on GRPC_PORT, SERVING once loaded, and drains on shutdown", async () => {
    const config = loadConfig({
      PORT: "0",
      GRPC_PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "silent",
      DRAIN_DELAY_SECONDS: "0.1",
    });
    const server = await startServer(config, { logger: pino({ level: "silent" }) });
    const address = `127.0.0.1:${server.grpcPort}`;
    const client = inferenceClient(address);
    const health = healthClient(address);
    try {
      await server.loaded;
      assert.deepEqual(await health.call("Check", { service: "" }), { status: "SERVING" });
      const fixture = churnFixture();
      const res = await client.call<InferResponse>("ModelInfer", {
        model_name: "churn",
        inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }],
        raw_input_contents: [fp32Bytes(fixture.inputs[0])],
      });
      assert.equal(res.raw_output_contents[0].readBigInt64LE(0), BigInt(fixture.labels[0]));
      const shutdown = server.shutdown("SIGTERM");
      assert.deepEqual(await health.call("Check", { service: "" }), { status: "NOT_SERVING" });
      await shutdown;
      await expectStatus(client.call("ServerLive"), status.UNAVAILABLE);
    } finally {
      client.close();
      health.close();
      await server.shutdown("test end");
    }
  });
});
