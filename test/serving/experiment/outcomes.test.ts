import assert from "node:assert/strict";
import { assignVariant, keyHash } from "../../../serving/src/experiment/assignment";
import { readRecords } from "../../../serving/src/experiment/readRecords";
import { postJson, startTestServer } from "../helpers";
import { startExperimentServer, type ExperimentServer } from "./support";

describe("POST /outcomes", () => {
  let s: ExperimentServer;
  before(async () => {
    s = await startExperimentServer();
  });
  after(async () => s?.close());

  it("accepts an outcome by prediction id with 202", async () => {
    const res = await postJson(s.server.app, "/outcomes", { prediction_id: "req-1", label: 1 });
    assert.equal(res.status, 202);
    assert.deepEqual(res.body, { accepted: 1, experiment: "swap-test" });
  });

  it("accepts an outcome by key and timestamp, answering the key's variant", async () => {
    const res = await postJson(s.server.app, "/outcomes", {
      key: "user-5",
      timestamp: "2026-12-02T10:00:00+01:00",
      value: 12.5,
    });
    assert.equal(res.status, 202);
    assert.deepEqual(res.body, {
      accepted: 1,
      experiment: "swap-test",
      variant: assignVariant("swap-test", "user-5", 50),
    });
  });

  it("accepts a batch of outcomes", async () => {
    const res = await postJson(s.server.app, "/outcomes", {
      outcomes: [
        { prediction_id: "req-2", row: 3, label: "churn", experiment: "swap-test" },
        { key: 42, timestamp: 1_764_669_600_000, label: true },
      ],
    });
    assert.equal(res.status, 202);
    assert.deepEqual(res.body, {
      accepted: 2,
      experiment: "swap-test",
      outcomes: [{}, { variant: assignVariant("swap-test", "42", 50) }],
    });
  });

  const invalid: Array<[string, unknown, string]> = [
    [
      "neither id nor key",
      { label: 1 },
      'request body must name its prediction by exactly one of "prediction_id" or "key" (with "timestamp"), got neither',
    ],
    [
      "both id and key",
      { prediction_id: "a", key: "u", timestamp: 0, label: 1 },
      'request body must name its prediction by exactly one of "prediction_id" or "key" (with "timestamp"), got both',
    ],
    [
      "a key without a timestamp",
      { key: "u", label: 1 },
      'timestamp is required with "key": when the prediction was made',
    ],
    [
      "a timestamp without a zone",
      { key: "u", timestamp: "2026-12-02T10:00:00", label: 1 },
      'timestamp must be an ISO 8601 time with a zone (e.g. "2026-12-02T10:00:00Z") or epoch milliseconds, got "2026-12-02T10:00:00"',
    ],
    [
      "both label and value",
      { prediction_id: "a", label: 1, value: 2 },
      'request body must carry exactly one of "label" (the actual class) or "value" (the actual number), got both',
    ],
    [
      "neither label nor value",
      { prediction_id: "a" },
      'request body must carry exactly one of "label" (the actual class) or "value" (the actual number), got neither',
    ],
    [
      "a value that is not a number",
      { prediction_id: "a", value: "3" },
      'value must be a finite number, got "3"',
    ],
    [
      "a misspelled field",
      { prediction_id: "a", lable: 1 },
      'request body has unknown field(s) "lable"; allowed: experiment, prediction_id, row, key, timestamp, label, value',
    ],
    [
      "another experiment's outcome",
      { experiment: "other", prediction_id: "a", label: 1 },
      'experiment must be this server\'s experiment "swap-test" (or absent), got "other"',
    ],
    [
      "a row with a key",
      { key: "u", row: 1, timestamp: 0, label: 1 },
      'row goes with "prediction_id", not "key"',
    ],
    [
      "an id with a space",
      { prediction_id: "a b", label: 1 },
      'prediction_id must be a prediction id as returned (1-128 of [A-Za-z0-9._:-]), got "a b"',
    ],
    ["an empty batch", { outcomes: [] }, "outcomes must be an array of 1 to 1000 outcome objects, got []"],
    [
      "a bad outcome in a batch, by index",
      {
        outcomes: [
          { prediction_id: "a", label: 1 },
          { prediction_id: "b", value: null },
        ],
      },
      "outcomes[1].value must be a finite number, got null",
    ],
  ];
  for (const [what, body, error] of invalid) {
    it(`refuses ${what} with a 400 naming the field`, async () => {
      const res = await postJson(s.server.app, "/outcomes", body);
      assert.equal(res.status, 400);
      assert.deepEqual(res.body, { error });
    });
  }

  it("writes outcomes as records joinable to their predictions, by the drain at shutdown", async () => {
    const other = await startExperimentServer();
    try {
      const pred = await other.server.app.inject({
        method: "POST",
        url: "/predict",
        headers: { "content-type": "application/json", "x-user-id": "user-9" },
        payload: JSON.stringify({ features: [2, 1] }),
      });
      const id = pred.json().prediction_id as string;
      await postJson(other.server.app, "/outcomes", { prediction_id: id, label: 0 });
      await postJson(other.server.app, "/outcomes", {
        key: "user-9",
        timestamp: "2026-12-02T10:00:00Z",
        label: 0,
      });
      await other.server.shutdown("test");
      const records = await readRecords(other.recordsDir);
      const outcomes = records.filter((r) => r.kind === "outcome").map((r) => ({ ...r, time: "" }));
      assert.deepEqual(outcomes, [
        { kind: "outcome", experiment: "swap-test", prediction_id: id, label: 0, time: "" },
        {
          kind: "outcome",
          experiment: "swap-test",
          key_hash: keyHash("swap-test", "user-9"),
          timestamp: "2026-12-02T10:00:00.000Z",
          variant: assignVariant("swap-test", "user-9", 50),
          label: 0,
          time: "",
        },
      ]);
      const prediction = records.find((r) => r.kind === "prediction");
      assert.equal(prediction?.kind === "prediction" && prediction.key_hash, keyHash("swap-test", "user-9"));
    } finally {
      await other.close();
    }
  });
});

describe("POST /outcomes limits", () => {
  it("answers 503 with Retry-After while the record buffer is full, accepting nothing of that request", async () => {
    const s = await startExperimentServer({
      env: {
        EXPERIMENT_RECORD_BUFFER: "3",
        EXPERIMENT_RECORD_BATCH: "1000",
        EXPERIMENT_FLUSH_INTERVAL_MS: "600000",
      },
    });
    try {
      const ok = await postJson(s.server.app, "/outcomes", {
        outcomes: [
          { prediction_id: "a", label: 1 },
          { prediction_id: "b", label: 1 },
        ],
      });
      assert.equal(ok.status, 202);
      const full = await postJson(s.server.app, "/outcomes", {
        outcomes: [
          { prediction_id: "c", label: 1 },
          { prediction_id: "d", label: 1 },
        ],
      });
      assert.equal(full.status, 503);
      assert.equal(full.headers["retry-after"], "5");
      assert.match(
        String(full.body.error),
        /^outcome buffer is full \(2 records waiting to be written to .*records\); retry later$/,
      );
      const metrics = await s.server.metrics.registry.metrics();
      assert.match(
        metrics,
        /model_server_experiment_records_total\{experiment="swap-test",kind="outcome",result="refused"\} 2/,
      );
      assert.match(metrics, /model_server_experiment_record_buffer\{experiment="swap-test"\} 2/);
      await s.server.shutdown("test");
      const ids = (await readRecords(s.recordsDir)).map((r) => (r.kind === "outcome" ? r.prediction_id : ""));
      assert.deepEqual(ids, ["a", "b"]);
    } finally {
      await s.close();
    }
  });

  it("answers 404 on a server that runs no experiment", async () => {
    const s = await startTestServer();
    try {
      const res = await postJson(s.app, "/outcomes", { prediction_id: "a", label: 1 });
      assert.equal(res.status, 404);
      assert.deepEqual(res.body, {
        error: "this server runs no experiment (EXPERIMENT_NAME is unset): no outcomes to record",
      });
    } finally {
      await s.close();
    }
  });
});
