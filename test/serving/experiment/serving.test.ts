import assert from "node:assert/strict";
import { assignVariant } from "../../../serving/src/experiment/assignment";
import { readRecords } from "../../../serving/src/experiment/readRecords";
import { metricValue, postJson } from "../helpers";
import { startExperimentServer, type ExperimentServer } from "./support";

/** Users whose variant is known from the documented hash, so expectations are computed, not guessed. */
const USERS = Array.from({ length: 40 }, (_, i) => `user-${i}`);
const variantOf = (user: string) => assignVariant("swap-test", user, 50);

async function predict(s: ExperimentServer, user: string | undefined, features = [2, 1]) {
  const res = await s.server.app.inject({
    method: "POST",
    url: "/predict",
    headers: { "content-type": "application/json", ...(user ? { "x-user-id": user } : {}) },
    payload: JSON.stringify({ features }),
  });
  return { status: res.statusCode, body: res.json(), requestId: String(res.headers["x-request-id"]) };
}

describe("experiment serving (control 1.0.0 + treatment 2.0.0 in one server)", () => {
  let s: ExperimentServer;
  before(async () => {
    s = await startExperimentServer();
  });
  after(async () => s?.close());

  it("is ready only with both versions loaded and says so", async () => {
    const res = await s.server.app.inject({ method: "GET", url: "/ready" });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(s.server.models.versions, ["1.0.0", "2.0.0"]);
  });

  it("answers each user from their hashed variant, with variant, version and prediction id in REST", async () => {
    assert.ok(new Set(USERS.map(variantOf)).size === 2, "the sample covers both variants");
    for (const user of USERS) {
      const res = await predict(s, user);
      assert.equal(res.status, 200);
      const treatment = variantOf(user) === "treatment";
      // features [2, 1]: control (identity) predicts class 0, the swapped treatment class 1.
      assert.equal(res.body.prediction, treatment ? 1 : 0, user);
      assert.equal(res.body.variant, variantOf(user));
      assert.equal(res.body.model_version, treatment ? "2.0.0" : "1.0.0");
      assert.equal(res.body.experiment, "swap-test");
      assert.equal(res.body.prediction_id, res.requestId);
    }
  });

  it("reports the experiment in /model/info", async () => {
    const res = await s.server.app.inject({ method: "GET", url: "/model/info" });
    assert.deepEqual(res.json().experiment, {
      name: "swap-test",
      treatment_version: "2.0.0",
      treatment_percent: 50,
      assignment_key: "header:x-user-id",
    });
  });

  it("answers a batch from one variant and records each row's prediction under one id", async () => {
    const user = USERS.find((u) => variantOf(u) === "treatment")!;
    const res = await s.server.app.inject({
      method: "POST",
      url: "/predict/batch",
      headers: { "content-type": "application/json", "x-user-id": user },
      payload: JSON.stringify({
        instances: [
          [2, 1],
          [1, 2],
          [3, 0],
        ],
      }),
    });
    const body = res.json();
    assert.equal(body.variant, "treatment");
    assert.equal(body.model_version, "2.0.0");
    // The swapped treatment: class 1 where x0 > x1.
    assert.deepEqual(
      body.predictions.map((p: { prediction: number }) => p.prediction),
      [1, 0, 1],
    );
    assert.equal(body.prediction_id, res.headers["x-request-id"]);
  });

  it("keeps a user on one variant across requests", async () => {
    const answers = await Promise.all(Array.from({ length: 5 }, () => predict(s, "user-7")));
    assert.equal(new Set(answers.map((a) => a.body.variant)).size, 1);
  });

  it("sends a request without the key to control and counts it apart", async () => {
    const before = await s.server.metrics.registry.metrics();
    const sample =
      'model_server_experiment_requests_total{experiment="swap-test",variant="control",assignment="no_key"}';
    const n0 = metricValue(before, sample) ?? 0;
    const res = await predict(s, undefined);
    assert.equal(res.body.variant, "control");
    assert.equal(res.body.model_version, "1.0.0");
    const after = await s.server.metrics.registry.metrics();
    assert.equal(metricValue(after, sample), n0 + 1);
  });

  it("labels experiment metrics by variant, and each version's batcher by its own model label", async () => {
    const text = await s.server.metrics.registry.metrics();
    const key = (v: string) =>
      `model_server_experiment_requests_total{experiment="swap-test",variant="${v}",assignment="key"}`;
    const treated = USERS.filter((u) => variantOf(u) === "treatment").length;
    assert.ok((metricValue(text, key("treatment")) ?? 0) >= treated);
    assert.ok((metricValue(text, key("control")) ?? 0) >= USERS.length - treated);
    assert.match(
      text,
      /model_server_experiment_inference_duration_seconds_count\{experiment="swap-test",variant="treatment"\} \d+/,
    );
    assert.match(text, /model_server_batch_size_count\{model="test-model@2.0.0"\} \d+/);
    assert.match(text, /model_server_batch_size_count\{model="test-model"\} \d+/);
  });

  it("puts the variant and prediction id in OIP parameters, and a URL version pins it outside the experiment", async () => {
    const infer = (url: string, user: string) =>
      s.server.app.inject({
        method: "POST",
        url,
        headers: { "content-type": "application/json", "x-user-id": user },
        payload: JSON.stringify({
          inputs: [{ name: "input", shape: [1, 2], datatype: "FP32", data: [2, 1] }],
        }),
      });
    const treatedUser = USERS.find((u) => variantOf(u) === "treatment")!;
    const res = await infer("/v2/models/test-model/infer", treatedUser);
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.model_version, "2.0.0");
    assert.deepEqual(body.parameters, {
      experiment: "swap-test",
      variant: "treatment",
      prediction_id: res.headers["x-request-id"],
    });
    const pinned = await infer("/v2/models/test-model/versions/1.0.0/infer", treatedUser);
    assert.equal(pinned.json().model_version, "1.0.0");
    assert.equal(pinned.json().parameters, undefined);
    const unknown = await infer("/v2/models/test-model/versions/3.0.0/infer", treatedUser);
    assert.equal(unknown.statusCode, 404);
    assert.deepEqual(unknown.json(), {
      error: 'unknown version "3.0.0" of model "test-model": this server serves versions "1.0.0" and "2.0.0"',
    });
  });

  it("refuses a key that is not a string or an integer with a 400 naming it", async () => {
    const body = await startBodyKey();
    try {
      const res = await postJson(body.server.app, "/predict", { features: [1, 2], user_id: { id: 1 } });
      assert.equal(res.status, 400);
      assert.match(
        String(res.body.error),
        /^user_id is the experiment's assignment key and must be a string or an integer/,
      );
      const ok = await postJson(body.server.app, "/predict", { features: [2, 1], user_id: 12345 });
      assert.equal(ok.body.variant, assignVariant("swap-test", "12345", 50));
      // OIP carries extra fields in parameters: the key is read there too.
      const users = ["a-1", "a-2", "a-3", "a-4", "a-5", "a-6"];
      for (const user of users) {
        const oip = await postJson(body.server.app, "/v2/models/test-model/infer", {
          parameters: { user_id: user },
          inputs: [{ name: "input", shape: [1, 2], datatype: "FP32", data: [2, 1] }],
        });
        assert.equal(
          (oip.body.parameters as Record<string, unknown>).variant,
          assignVariant("swap-test", user, 50),
        );
      }
    } finally {
      await body.close();
    }
  });

  it("records each prediction with its variant, version, key hash and label, written by the drain", async () => {
    const other = await startExperimentServer();
    try {
      const treated = USERS.find((u) => variantOf(u) === "treatment")!;
      const a = await predict(other, treated, [2, 1]);
      const b = await predict(other, undefined, [1, 2]);
      await other.server.shutdown("test");
      const records = await readRecords(other.recordsDir);
      const byId = new Map(
        records.map((r) => [r.kind === "prediction" ? r.id : "", r as unknown as Record<string, unknown>]),
      );
      const ra = byId.get(a.requestId)!;
      assert.deepEqual(
        { ...ra, time: "", key_hash: "" },
        {
          kind: "prediction",
          experiment: "swap-test",
          id: a.requestId,
          variant: "treatment",
          model_version: "2.0.0",
          assigned: true,
          key_hash: "",
          time: "",
          predictions: [1],
        },
      );
      assert.match(String(ra.key_hash), /^[0-9a-f]{32}$/);
      const rb = byId.get(b.requestId)!;
      assert.equal(rb.assigned, false);
      assert.equal(rb.variant, "control");
      assert.equal(rb.key_hash, undefined);
      assert.deepEqual(rb.predictions, [1]);
    } finally {
      await other.close();
    }
  });
});

async function startBodyKey(): Promise<ExperimentServer> {
  return startExperimentServer({ env: { EXPERIMENT_ASSIGNMENT_KEY: "body:user_id" } });
}

describe("experiment readiness", () => {
  it("stays unready when the treatment fails its sha256 check, naming the treatment", async () => {
    const s = await startExperimentServer({ treatmentSha256: "0".repeat(64) });
    try {
      const res = await s.server.app.inject({ method: "GET", url: "/ready" });
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().status, "failed");
      assert.match(res.json().error, /^treatment: model failed to load and will not become ready: .*sha256/);
      const metrics = await s.server.metrics.registry.metrics();
      assert.equal(metricValue(metrics, "model_server_ready"), 0);
    } finally {
      await s.close();
    }
  });

  it("gives the same users the same variants after a restart", async () => {
    const first = await startExperimentServer();
    const root = first.root;
    const a = await Promise.all(USERS.slice(0, 10).map((u) => predict(first, u)));
    await first.server.shutdown("restart");
    const second = await startExperimentServer({ root });
    try {
      const b = await Promise.all(USERS.slice(0, 10).map((u) => predict(second, u)));
      assert.deepEqual(
        b.map((r) => r.body.variant),
        a.map((r) => r.body.variant),
      );
    } finally {
      await second.close();
    }
  });
});
