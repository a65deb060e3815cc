import { strict as assert } from "node:assert";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { PutObjectCommand } from "@aws-sdk/client-s3";

import { sha256Bytes } from "../../../serving/src/model/checksum";
import { ModelRegistry } from "../../../serving/src/model/registry/registry";
import { startS3Server, type S3TestServer } from "../../support/s3Server";

const REPO = join(__dirname, "..", "..", "..");
const CHURN = join(REPO, "serving", "models", "churn", "1.0.0", "model.onnx");
const BUCKET = "serving-e2e";

interface ChurnFixture {
  inputs: number[][];
  probabilities: number[][];
  labels: number[];
}

interface LogLine {
  level: string;
  msg: string;
  url?: string;
  err?: string;
}

async function readdirSafe(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

/** The real server (`serving/src/main.ts`) in a child process, as the container runs it. */
class ServerProcess {
  readonly logs: LogLine[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private waiters: (() => void)[] = [];

  constructor(env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, ["--import", "tsx", "serving/src/main.ts"], {
      cwd: REPO,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    createInterface({ input: this.child.stdout! }).on("line", (line) => {
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        return; // not a JSON log line
      }
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.child.stderr!.resume();
    this.exited = new Promise((resolve) => this.child.on("exit", (code) => resolve(code)));
  }

  /** Resolves with the first log line matching `match`, or rejects after `ms`. */
  async waitForLog(match: (line: LogLine) => boolean, ms = 20_000): Promise<LogLine> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.logs.find(match);
      if (found) return found;
      if (Date.now() > deadline) {
        throw new Error(
          `no matching log line within ${ms} ms; got:\n${this.logs.map((l) => l.msg).join("\n")}`,
        );
      }
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  async stop(): Promise<number | null> {
    this.child.kill("SIGTERM");
    return this.exited;
  }
}

describe("server started with MODEL_URI=s3://... against a loopback S3 server", function () {
  this.timeout(60_000);
  let s3: S3TestServer;
  let cache: string;
  let fixture: ChurnFixture;
  const servers: ServerProcess[] = [];

  before(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    cache = await mkdtemp(join(tmpdir(), "e2e-cache-"));
    fixture = JSON.parse(await readFile(join(REPO, "test", "fixtures", "churn-expected.json"), "utf8"));
    const client = s3.client();
    const registry = new ModelRegistry({ client, bucket: BUCKET });
    await registry.push({ file: CHURN, name: "churn", version: "1.0.0", labels: ["0", "1"] });
    await registry.push({ file: CHURN, name: "churn", version: "1.1.0", labels: ["0", "1"] });
    // Someone replaces 1.1.0's bytes behind the registry's back.
    const tampered = Buffer.from(await readFile(CHURN));
    tampered[tampered.length - 10] ^= 0xff;
    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "models/churn/1.1.0/model.onnx", Body: tampered }),
    );
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await s3?.stop();
    if (cache) await rm(cache, { recursive: true, force: true });
  });

  function start(modelUri: string): ServerProcess {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...s3.env(),
      MODEL_URI: modelUri,
      MODEL_CACHE_DIR: cache,
      PORT: "0",
      GRPC_PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      DRAIN_DELAY_SECONDS: "0",
      SHUTDOWN_TIMEOUT_SECONDS: "15",
    };
    const server = new ServerProcess(env);
    servers.push(server);
    return server;
  }

  /** Polls GET /ready until `done` holds for its answer (or 20 s pass). */
  async function pollReady(
    url: string,
    done: (status: number, body: { status: string; error?: string }) => boolean,
  ): Promise<{ status: number; body: { status: string; error?: string } }> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await fetch(`${url}/ready`);
      const answer = { status: res.status, body: (await res.json()) as { status: string; error?: string } };
      if (done(answer.status, answer.body)) return answer;
      if (Date.now() > deadline) throw new Error(`/ready never settled: last ${JSON.stringify(answer)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it("downloads the version, verifies it, turns ready and predicts what sklearn predicts; a tampered or missing version stays unready", async () => {
    // Both servers start together to keep the test short.
    const good = start(`s3://${BUCKET}/models/churn/1.0.0/`);
    const bad = start(`s3://${BUCKET}/models/churn/1.1.0/`);
    const missing = start(`s3://${BUCKET}/models/churn/9.9.9/`);

    const goodUrl = (await good.waitForLog((l) => l.url !== undefined)).url!;
    const ready = await pollReady(goodUrl, (status) => status !== 503);
    assert.deepEqual(ready, { status: 200, body: { status: "ready", model: "churn", version: "1.0.0" } });

    const row = 7;
    const res = await fetch(`${goodUrl}/predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ features: fixture.inputs[row] }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { prediction: number; probabilities: number[]; model_version: string };
    assert.equal(body.prediction, fixture.labels[row]);
    assert.equal(body.model_version, "1.0.0");
    body.probabilities.forEach((p, j) => assert.ok(Math.abs(p - fixture.probabilities[row][j]) < 1e-6));
    const info = (await (await fetch(`${goodUrl}/model/info`)).json()) as { sha256: string };
    assert.equal(info.sha256, sha256Bytes(await readFile(CHURN)));

    const badUrl = (await bad.waitForLog((l) => l.url !== undefined)).url!;
    const unready = await pollReady(badUrl, (_status, body) => body.status === "failed");
    assert.equal(unready.status, 503);
    const mismatch = `sha256 mismatch for s3://${BUCKET}/models/churn/1.1.0/model.onnx`;
    assert.ok(unready.body.error?.includes(mismatch), `/ready error: ${unready.body.error}`);
    // The clear log line the issue asks for.
    const failure = await bad.waitForLog((l) => l.level === "error");
    assert.ok(failure.msg.includes(mismatch), `log line: ${failure.msg}`);
    assert.deepEqual(
      await readdirSafe(join(cache, "churn", "1.1.0")),
      [],
      "tampered bytes must not be cached",
    );
    assert.equal(
      (await fetch(`${badUrl}/health`)).status,
      200,
      "still live, so it is not restarted in a loop",
    );

    const missingUrl = (await missing.waitForLog((l) => l.url !== undefined)).url!;
    const notFound = await pollReady(missingUrl, (_status, body) => body.status === "failed");
    assert.equal(notFound.status, 503);
    const absent = `model churn version 9.9.9 not found: s3://${BUCKET}/models/churn/9.9.9/manifest.json does not exist`;
    assert.ok(notFound.body.error?.includes(absent), `/ready error: ${notFound.body.error}`);
    assert.ok((await missing.waitForLog((l) => l.level === "error")).msg.includes(absent));

    assert.equal(await good.stop(), 0);
    assert.equal(await bad.stop(), 0);
    assert.equal(await missing.stop(), 0);
  });
});
