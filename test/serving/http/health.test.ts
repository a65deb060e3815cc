import assert from "node:assert/strict";
import { Writable } from "node:stream";
import pino from "pino";
import { buildApp } from "../../../serving/src/http/app";
import { ServerMetrics } from "../../../serving/src/metrics";
import { LocalModelStore } from "../../../serving/src/model/localStore";
import type { ModelStore, VerifiedModel } from "../../../serving/src/model/store";
import { createOnnxRuntime } from "../../../serving/src/runtime/onnxRuntime";
import { ModelService } from "../../../serving/src/service/modelService";
import { writeModelVersion } from "../../../serving/tools/modelRepository";
import { IDENTITY_CLASSIFIER, metricValue, postJson, startTestServer, tempDir } from "../helpers";

describe("health, readiness, request ids and metrics", () => {
  it("is live but not ready while the model loads, and ready once it is warm", async () => {
    const { dir: root, cleanup } = await tempDir();
    await writeModelVersion({ root, name: "m", model: IDENTITY_CLASSIFIER });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const local = LocalModelStore.forVersion(root, "m", "1.0.0");
    const slowStore: ModelStore = {
      location: local.location,
      load: async (): Promise<VerifiedModel> => {
        await gate;
        return local.load();
      },
    };
    const metrics = new ServerMetrics();
    const service = new ModelService({
      store: slowStore,
      createRuntime: (p) => createOnnxRuntime(p),
      metrics,
    });
    const app = buildApp({ service, metrics, logLevel: "silent" });
    const loading = service.start();
    try {
      assert.deepEqual((await app.inject({ url: "/health" })).json(), { status: "ok" });
      const notReady = await app.inject({ url: "/ready" });
      assert.equal(notReady.statusCode, 503);
      assert.deepEqual(notReady.json(), { status: "loading", error: "model is loading" });
      assert.equal((await app.inject({ url: "/v2/health/ready" })).statusCode, 503);
      assert.equal((await app.inject({ url: "/v2/health/live" })).statusCode, 200);
      const modelReady = await app.inject({ url: "/v2/models/m/ready" });
      assert.equal(modelReady.statusCode, 503);
      assert.deepEqual(modelReady.json(), { name: "m", ready: false, error: "model is loading" });
      const infer = await postJson(app, "/predict", { features: [1, 2] });
      assert.equal(infer.status, 503);
      assert.equal(infer.headers["retry-after"], "5");
      assert.deepEqual(infer.body, { error: "model is not ready: model is loading" });
      assert.equal(metricValue(await metrics.registry.metrics(), "model_server_ready"), 0);

      release();
      await loading;
      const ready = await app.inject({ url: "/ready" });
      assert.equal(ready.statusCode, 200);
      assert.deepEqual(ready.json(), { status: "ready", model: "m", version: "1.0.0" });
      assert.deepEqual((await app.inject({ url: "/v2/health/ready" })).json(), { ready: true });
      assert.equal(metricValue(await metrics.registry.metrics(), "model_server_ready"), 1);
    } finally {
      await app.close();
      await service.stop();
      await cleanup();
    }
  });

  it("stays unready with the reason when the model's sha256 does not match", async () => {
    const server = await startTestServer({ name: "m", sha256: "a".repeat(64) });
    try {
      const res = await server.app.inject({ url: "/ready" });
      assert.equal(res.statusCode, 503);
      const body = res.json();
      assert.equal(body.status, "failed");
      assert.match(
        body.error,
        /^model failed to load and will not become ready: sha256 mismatch for .*\/m\/1\.0\.0\/model\.onnx: manifest declares a{64}, file has [0-9a-f]{64}; refusing to serve it$/,
      );
      assert.equal((await server.app.inject({ url: "/v2/health/ready" })).statusCode, 503);
      const infer = await postJson(server.app, "/v2/models/m/infer", { inputs: [] });
      assert.equal(infer.status, 503);
      assert.match(String(infer.body.error), /^model "m" is not ready: model failed to load/);
      assert.equal(
        (await server.app.inject({ url: "/health" })).statusCode,
        200,
        "still live: no crash loop",
      );
    } finally {
      await server.close();
    }
  });

  it("turns readiness to 503 the moment draining starts while inference still works", async () => {
    const server = await startTestServer({ name: "m" });
    try {
      server.service.startDraining();
      const ready = await server.app.inject({ url: "/ready" });
      assert.equal(ready.statusCode, 503);
      assert.deepEqual(ready.json(), { status: "draining", error: "server is draining before shutdown" });
      assert.deepEqual((await server.app.inject({ url: "/v2/health/ready" })).json(), {
        ready: false,
        error: "server is draining before shutdown",
      });
      assert.equal((await server.app.inject({ url: "/v2/models/m/ready" })).statusCode, 503);
      const infer = await postJson(server.app, "/predict", { features: [2, 2] });
      assert.equal(infer.status, 200);
      assert.equal(infer.body.confidence, 0.5);
    } finally {
      await server.close();
    }
  });

  it("honours a well-formed incoming x-request-id, echoes it and logs it as requestId", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const server = await startTestServer({ name: "m" });
    const app = buildApp({
      service: server.service,
      metrics: new ServerMetrics(),
      logger: pino({ level: "info" }, sink),
      accessLog: "all",
    });
    try {
      const given = await app.inject({
        method: "POST",
        url: "/predict",
        headers: { "content-type": "application/json", "x-request-id": "trace-abc.123:7" },
        payload: '{"features":[1,2]}',
      });
      assert.equal(given.headers["x-request-id"], "trace-abc.123:7");
      const access = lines.find((l) => l.msg === "request completed" && l.requestId === "trace-abc.123:7");
      assert.ok(access, "the access log line carries the request id");
      assert.equal(access.status, 200);
      assert.equal(access.url, "/predict");

      for (const bad of ["has spaces", "x".repeat(129), 'evil"}']) {
        const res = await app.inject({ url: "/health", headers: { "x-request-id": bad } });
        assert.match(
          String(res.headers["x-request-id"]),
          /^[0-9a-f-]{36}$/,
          `"${bad}" must be replaced by a fresh id`,
        );
      }
      const generated = await app.inject({ url: "/health" });
      assert.match(String(generated.headers["x-request-id"]), /^[0-9a-f]{8}-[0-9a-f]{4}-4/);
    } finally {
      await app.close();
      await server.close();
    }
  });

  it("writes access-log lines as ACCESS_LOG says, and counts every request in the metrics whatever it says", async () => {
    const server = await startTestServer({ name: "m" });
    try {
      const expected: Record<string, Array<[string, number]>> = {
        all: [
          ["/predict", 200],
          ["/predict", 400],
        ],
        errors: [["/predict", 400]],
        none: [],
      };
      for (const policy of ["all", "errors", "none"] as const) {
        const lines: Array<Record<string, unknown>> = [];
        const sink = new Writable({
          write(chunk, _encoding, done) {
            lines.push(JSON.parse(String(chunk)));
            done();
          },
        });
        const metrics = new ServerMetrics();
        const app = buildApp({
          service: server.service,
          metrics,
          logger: pino({ level: "info" }, sink),
          ...(policy === "errors" ? {} : { accessLog: policy }), // "errors" is the default
        });
        try {
          assert.equal((await postJson(app, "/predict", { features: [1, 2] })).status, 200);
          assert.equal((await postJson(app, "/predict", { features: [1] })).status, 400);
          const logged = lines
            .filter((l) => l.msg === "request completed")
            .map((l) => [l.url, l.status] as [string, number]);
          assert.deepEqual(logged, expected[policy], `ACCESS_LOG=${policy}`);
          const text = await metrics.registry.metrics();
          for (const status of ["200", "400"]) {
            assert.match(
              text,
              new RegExp(
                `model_server_requests_total\\{route="/predict",method="POST",status="${status}",protocol="http"\\} 1\\n`,
              ),
              `ACCESS_LOG=${policy}: the ${status} is counted`,
            );
          }
        } finally {
          await app.close();
        }
      }
    } finally {
      await server.close();
    }
  });

  it("exports Prometheus metrics with the app prefix and bounded labels", async () => {
    const server = await startTestServer({ name: "m" });
    try {
      for (let i = 0; i < 3; i++) await postJson(server.app, "/predict", { features: [i, 1] });
      await postJson(server.app, "/predict", { features: [1] });
      await server.app.inject({ url: "/no/such/path/12345" });
      const res = await server.app.inject({ url: "/metrics" });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
      const text = res.payload;
      const sha = server.service.model?.manifest.sha256;
      const expectations: Array<[string, number]> = [
        ['model_server_requests_total{route="/predict",method="POST",status="200",protocol="http"}', 3],
        ['model_server_requests_total{route="/predict",method="POST",status="400",protocol="http"}', 1],
        ['model_server_requests_total{route="unmatched",method="GET",status="404",protocol="http"}', 1],
        ['model_server_request_duration_seconds_count{route="/predict",method="POST",protocol="http"}', 4],
        ['model_server_inference_duration_seconds_count{model="m"}', 3],
        ['model_server_batch_size_sum{model="m"}', 3],
        ['model_server_queue_wait_seconds_count{model="m"}', 3],
        ['model_server_queue_depth{model="m"}', 0],
        [`model_server_model_info{name="m",version="1.0.0",sha256="${sha}",provider="cpu"}`, 1],
        ["model_server_ready", 1],
      ];
      for (const [sample, value] of expectations) assert.equal(metricValue(text, sample), value, sample);
      assert.ok(!text.includes("/no/such/path"), "raw URLs never become label values");
    } finally {
      await server.close();
    }
  });
});
