import assert from "node:assert/strict";
import {
  assertClose,
  gatedRuntime,
  metricValue,
  postJson,
  softmax2,
  startTestServer,
  waitFor,
} from "../helpers";

describe("dynamic batching over HTTP", () => {
  it("merges concurrent requests into batches and routes each result to its own caller", async () => {
    // A 20 ms window so 48 requests over real sockets land in a few batches.
    const server = await startTestServer({ name: "clf", batching: { maxBatchSize: 16, maxDelayMs: 20 } });
    const url = await server.app.listen({ host: "127.0.0.1", port: 0 });
    try {
      const inputs = Array.from({ length: 48 }, (_, i) => [i / 8, (47 - i) / 8]);
      const responses = await Promise.all(
        inputs.map(async (features, i) => {
          // Alternate the two protocols: both go through the same batcher.
          const res =
            i % 2 === 0
              ? await fetch(`${url}/predict`, {
                  method: "POST",
                  headers: { "content-type": "application/json" },
                  body: JSON.stringify({ features }),
                })
              : await fetch(`${url}/v2/models/clf/infer`, {
                  method: "POST",
                  headers: { "content-type": "application/json" },
                  body: JSON.stringify({
                    inputs: [{ name: "input", shape: [1, 2], datatype: "FP32", data: features }],
                  }),
                });
          assert.equal(res.status, 200);
          return res.json() as Promise<Record<string, unknown>>;
        }),
      );
      responses.forEach((body, i) => {
        const expected = softmax2(inputs[i][0], inputs[i][1]);
        const label = inputs[i][1] > inputs[i][0] ? 1 : 0;
        if (i % 2 === 0) {
          assert.equal(body.prediction, label, `request ${i}`);
          assertClose(body.probabilities as number[], expected);
        } else {
          const [labelOut, probs] = body.outputs as Array<{ data: number[] }>;
          assert.deepEqual(labelOut.data, [label], `request ${i}`);
          assertClose(probs.data, expected);
        }
      });
      const text = await server.metrics.registry.metrics();
      const batches = metricValue(text, 'model_server_batch_size_count{model="clf"}') ?? 0;
      const singles = metricValue(text, 'model_server_batch_size_bucket{le="1",model="clf"}') ?? 0;
      assert.equal(
        metricValue(text, 'model_server_batch_size_sum{model="clf"}'),
        48,
        "every row ran exactly once",
      );
      assert.ok(batches < 48, `48 requests ran in ${batches} batches: nothing was merged`);
      assert.ok(batches - singles >= 1, "at least one batch had more than one row");
      assert.equal(
        metricValue(text, 'model_server_batch_size_bucket{le="16",model="clf"}'),
        batches,
        "no batch above 16",
      );
    } finally {
      await server.close();
    }
  });

  it("answers 503 with Retry-After when the queue is full, and serves the queued requests", async () => {
    const gate = gatedRuntime();
    const server = await startTestServer({
      name: "clf",
      batching: { maxBatchSize: 1, maxQueueSize: 2, maxDelayMs: 0 },
      wrapRuntime: gate.wrap,
    });
    try {
      const running = postJson(server.app, "/predict", { features: [0, 1] });
      await gate.entered; // the first request is now computing
      const queued = [
        postJson(server.app, "/predict", { features: [1, 0] }),
        postJson(server.app, "/predict", { features: [2, 2] }),
      ];
      await waitFor(() => server.service.queueDepth === 2);
      const refused = await postJson(server.app, "/predict", { features: [3, 3] });
      assert.equal(refused.status, 503);
      assert.equal(refused.headers["retry-after"], "1");
      assert.deepEqual(refused.body, {
        error: "the inference queue is full (2 requests waiting); retry later",
      });
      gate.open();
      const done = await Promise.all([running, ...queued]);
      assert.deepEqual(
        done.map((r) => [r.status, r.body.prediction]),
        [
          [200, 1],
          [200, 0],
          [200, 0],
        ],
      );
      const text = await server.metrics.registry.metrics();
      assert.equal(
        metricValue(text, 'model_server_inference_rejections_total{model="clf",reason="queue_full"}'),
        1,
      );
    } finally {
      gate.open();
      await server.close();
    }
  });

  it("answers 504 when a request misses its deadline", async () => {
    const gate = gatedRuntime();
    const server = await startTestServer({
      name: "clf",
      batching: { timeoutMs: 50 },
      wrapRuntime: gate.wrap,
    });
    try {
      const res = await postJson(server.app, "/v2/models/clf/infer", {
        inputs: [{ name: "input", shape: [1, 2], datatype: "FP32", data: [1, 2] }],
      });
      assert.equal(res.status, 504);
      assert.deepEqual(res.body, {
        error: "inference did not finish within 50 ms (timed out while the model computed)",
      });
    } finally {
      gate.open();
      await server.close();
    }
  });
});
