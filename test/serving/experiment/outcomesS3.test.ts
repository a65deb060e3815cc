/**
 * Experiment records through a real S3-compatible server on loopback (s3rver), with the AWS SDK:
 * the sink's objects read back, and a real server process that flushes its buffer during the
 * SIGTERM drain.
 */
import assert from "node:assert/strict";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { keyHash } from "../../../serving/src/experiment/assignment";
import { readRecords } from "../../../serving/src/experiment/readRecords";
import { S3RecordSink } from "../../../serving/src/experiment/s3RecordSink";
import { RecordBuffer } from "../../../serving/src/experiment/recordBuffer";
import { startS3Server, type S3TestServer } from "../../support/s3Server";
import { CONTROL_MODEL, startExperimentProcess, TREATMENT_MODEL } from "./support";

const BUCKET = "models-bucket";

describe("experiment records in S3 (s3rver on loopback)", function () {
  this.timeout(60_000);
  let s3: S3TestServer;
  before(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
  });
  after(async () => s3?.stop());

  it("writes one JSON Lines object per batch under the experiment's prefix and reads every record back", async () => {
    const sink = new S3RecordSink(`s3://${BUCKET}/experiments/sink-test/`, s3.client());
    const buffer = new RecordBuffer({ sink, batchSize: 4, flushIntervalMs: 60_000 });
    const records = Array.from({ length: 10 }, (_, i) => ({
      kind: "outcome" as const,
      experiment: "sink-test",
      prediction_id: `p-${i}`,
      label: i % 2,
      time: "2026-12-02T10:00:00.000Z",
    }));
    assert.ok(buffer.offer(records));
    await buffer.close();
    const listed = await s3
      .client()
      .send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "experiments/sink-test/" }));
    const keys = (listed.Contents ?? []).map((o) => o.Key!);
    assert.equal(keys.length, 3, `batches of 4, 4 and 2: ${keys.join(", ")}`);
    assert.ok(
      keys.every((k) => /^experiments\/sink-test\/records\/\d{4}-\d{2}-\d{2}\/\d{13}-.+\.jsonl$/.test(k)),
      keys.join(", "),
    );
    assert.deepEqual(await readRecords(`s3://${BUCKET}/experiments/sink-test/`, s3.client()), records);
  });

  it("a server process answers predictions and outcomes, and on SIGTERM writes every buffered record before exiting 0", async () => {
    const server = await startExperimentProcess({
      s3,
      bucket: BUCKET,
      name: "sigterm-test",
      control: CONTROL_MODEL,
      treatment: TREATMENT_MODEL,
      // Nothing is written before the drain: the flush at SIGTERM is what the test sees.
      env: {
        DRAIN_DELAY_SECONDS: "0.2",
        EXPERIMENT_FLUSH_INTERVAL_MS: "600000",
        EXPERIMENT_RECORD_BATCH: "100000",
      },
    });
    try {
      const { child, url } = server;
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`${url}/predict`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-user-id": `user-${i}` },
          body: JSON.stringify({ features: [2, 1] }),
        });
        assert.equal(res.status, 200);
        ids.push(((await res.json()) as { prediction_id: string }).prediction_id);
      }
      const res = await fetch(`${url}/outcomes`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ outcomes: ids.map((id, i) => ({ prediction_id: id, label: i % 2 })) }),
      });
      assert.equal(res.status, 202);
      const before = await s3
        .client()
        .send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "experiments/sigterm-test/" }));
      assert.equal(before.KeyCount ?? 0, 0, "nothing written before SIGTERM");

      child.process.kill("SIGTERM");
      assert.equal(await child.exited, 0);
      const records = await readRecords(`s3://${BUCKET}/experiments/sigterm-test/`, s3.client());
      const predictions = records.filter((r) => r.kind === "prediction");
      const outcomes = records.filter((r) => r.kind === "outcome");
      assert.deepEqual(
        predictions.map((r) => r.kind === "prediction" && r.id),
        ids,
      );
      assert.ok(
        predictions.every(
          (r, i) => r.kind === "prediction" && r.key_hash === keyHash("sigterm-test", `user-${i}`),
        ),
      );
      assert.deepEqual(
        outcomes.map((r) => r.kind === "outcome" && [r.prediction_id, r.label]),
        ids.map((id, i) => [id, i % 2]),
      );
      assert.ok(
        child.logs.some((l) => l.msg === "writing buffered experiment records" && l.records === 40),
        "the drain says how many records it writes",
      );
    } finally {
      await server.close();
    }
  });
});
