import assert from "node:assert/strict";
import { S3ModelStore } from "../../../serving/src/model/s3Store";
import { memoryLogger, tempDir } from "../helpers";
import { startSilentServer, type SilentServer } from "../../support/silentServer";

describe("S3 model store against an endpoint that accepts and never answers", () => {
  let silent: SilentServer;
  const saved = { ...process.env };
  before(async () => {
    silent = await startSilentServer();
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: "x",
      AWS_SECRET_ACCESS_KEY: "y",
      AWS_REGION: "us-east-1",
      AWS_ENDPOINT_URL_S3: silent.endpoint,
    });
  });
  after(async () => {
    for (const key of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ENDPOINT_URL_S3"]) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
    await silent.stop();
  });

  it("fails the load after bounded attempts, logging each one with the endpoint", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const logger = memoryLogger();
      const store = new S3ModelStore("s3://models-bucket/models/churn/1.0.0/", dir, {
        logger,
        limits: { connectTimeoutMs: 1000, socketTimeoutMs: 200, maxAttempts: 3 },
      });
      const started = Date.now();
      await assert.rejects(
        store.load(),
        /reading s3:\/\/models-bucket\/models\/churn\/1\.0\.0\/manifest\.json failed: .*timed out after 200 ms/,
      );
      assert.ok(Date.now() - started < 10_000);
      const warnings = logger.lines.filter((l) => l.level === "warn");
      assert.deepEqual(
        warnings.map((w) => w.msg),
        [1, 2, 3].map(
          (n) =>
            `S3 GetObject attempt ${n} of 3 to ${silent.endpoint} failed; ${n < 3 ? "retrying with backoff" : "giving up"}`,
        ),
      );
      assert.equal(
        (warnings[0].obj as { path: string }).path,
        "/models-bucket/models/churn/1.0.0/manifest.json",
      );
      assert.ok(silent.accepted() >= 3);
    } finally {
      await cleanup();
    }
  });
});
