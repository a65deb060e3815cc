import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";

import { parseLabels, parseMetrics, runModelCli, type CliIo } from "../../../serving/cli/model";
import { sha256Bytes } from "../../../serving/src/model/checksum";
import { serializeManifest } from "../../../serving/src/model/manifest";
import { startS3Server, useS3rverCredentials, type S3TestServer } from "../../support/s3Server";
import { startSilentServer } from "../../support/silentServer";

const REPO = join(__dirname, "..", "..", "..");
const CHURN = join(REPO, "serving", "models", "churn", "1.0.0", "model.onnx");
const BUCKET = "cli-test";

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe("npm run model (registry CLI) against a loopback S3 server", () => {
  let s3: S3TestServer;
  let work: string;
  let sha: string;
  let restoreEnv: () => void = () => undefined;

  before(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    work = await mkdtemp(join(tmpdir(), "cli-test-"));
    sha = sha256Bytes(await readFile(CHURN));
    restoreEnv = useS3rverCredentials();
  });

  after(async () => {
    restoreEnv();
    await s3?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** Runs the CLI in-process with flags naming the loopback server and no pulumi on PATH. */
  async function cli(...argv: string[]): Promise<Run> {
    let stdout = "";
    let stderr = "";
    const io: CliIo = {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
      env: { PATH: work, AWS_REGION: "us-east-1" },
    };
    const code = await runModelCli(argv, io);
    return { code, stdout, stderr };
  }

  const target = () => ["--bucket", BUCKET, "--endpoint", s3.endpoint];

  it("push prints where the version went and its interface", async () => {
    const run = await cli(
      "push",
      CHURN,
      "--name",
      "churn",
      "--version",
      "1.0.0",
      "--metrics",
      "auc=0.93",
      "accuracy=0.985",
      "--labels",
      "stay,churn",
      ...target(),
    );
    assert.equal(run.stderr, "");
    assert.equal(run.code, 0);
    assert.equal(
      run.stdout,
      [
        `pushed churn 1.0.0 to s3://${BUCKET}/models/churn/1.0.0/`,
        `  bucket   ${BUCKET} (from --bucket)`,
        `  sha256   ${sha}`,
        "  inputs   input FP32 [-1,4]",
        "  outputs  label INT64 [-1], probabilities FP32 [-1,2]",
        "  labels   stay, churn",
        "  metrics  auc=0.93 accuracy=0.985",
        `serve it: MODEL_URI=s3://${BUCKET}/models/churn/1.0.0/, or \`pulumi config set <color>.modelVersion 1.0.0\``,
        "",
      ].join("\n"),
    );
  });

  it("show prints the stored manifest exactly", async () => {
    const run = await cli("show", "churn", "1.0.0", ...target());
    assert.equal(run.code, 0);
    const manifest = JSON.parse(run.stdout);
    assert.equal(run.stdout, serializeManifest(manifest));
    assert.deepEqual(
      { ...manifest, createdAt: "(checked below)" },
      {
        name: "churn",
        version: "1.0.0",
        sha256: sha,
        framework: "onnx",
        inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
        outputs: [
          { name: "label", datatype: "INT64", shape: [-1] },
          { name: "probabilities", datatype: "FP32", shape: [-1, 2] },
        ],
        createdAt: "(checked below)",
        labels: ["stay", "churn"],
        metrics: { auc: 0.93, accuracy: 0.985 },
      },
    );
    assert.ok(Math.abs(Date.parse(manifest.createdAt) - Date.now()) < 60_000);
  });

  it("push refuses to overwrite: exit 1 and the reason", async () => {
    const run = await cli("push", CHURN, "--name", "churn", "--version", "1.0.0", ...target());
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.equal(
      run.stderr,
      `error: model churn version 1.0.0 already exists at s3://${BUCKET}/models/churn/1.0.0/; ` +
        "versions are immutable, publish a new version\n",
    );
  });

  it("push refuses a file onnxruntime cannot load", async () => {
    const junk = join(work, "junk.onnx");
    await writeFile(junk, "not a model");
    const run = await cli("push", junk, "--name", "junk", "--version", "1.0.0", ...target());
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`^error: ${junk} is not a model onnxruntime can load: `));
  });

  it("list prints a table, and --json the same data", async () => {
    assert.equal((await cli("push", CHURN, "--name", "churn", "--version", "1.1.0", ...target())).code, 0);
    const run = await cli("list", ...target());
    assert.equal(run.code, 0);
    const lines = run.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 3);
    assert.match(lines[0], /^NAME\s+VERSION\s+STATUS\s+GOLDEN\s+LAST MODIFIED$/);
    assert.match(lines[1], /^churn\s+1\.0\.0\s+listed, not verified\s+-\s+\d{4}-\d\d-\d\dT/);
    assert.match(lines[2], /^churn\s+1\.1\.0\s+listed, not verified\s+-\s+\d{4}-\d\d-\d\dT/);
    assert.match(run.stderr, /^note: STATUS comes from the object listing only; `list --verify` downloads/);

    const json = await cli("list", "--name", "churn", "--json", ...target());
    const parsed = JSON.parse(json.stdout) as {
      name: string;
      versions: { version: string; complete: boolean }[];
    }[];
    assert.deepEqual(
      parsed.map((m) => [m.name, m.versions.map((v) => `${v.version}:${v.complete}`)]),
      [["churn", ["1.0.0:true", "1.1.0:true"]]],
    );
    const none = await cli("list", "--name", "fraud", ...target());
    assert.equal(none.stdout, `no models in s3://${BUCKET}/models/fraud/\n`);
  });

  it("show of a missing version exits 1 naming it", async () => {
    const run = await cli("show", "churn", "7.0.0", ...target());
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      `error: model churn version 7.0.0 not found: s3://${BUCKET}/models/churn/7.0.0/manifest.json does not exist\n`,
    );
  });

  it("bad flags are clear errors", async () => {
    const badVersion = await cli("push", CHURN, "--name", "churn", "--version", "one", ...target());
    assert.equal(badVersion.code, 1);
    assert.equal(
      badVersion.stderr,
      'error: model version "one" is invalid: expected a semantic version such as 1.2.3\n',
    );
    const badMetric = await cli(
      "push",
      CHURN,
      "--name",
      "churn",
      "--version",
      "2.0.0",
      "--metrics",
      "auc=high",
      ...target(),
    );
    assert.equal(
      badMetric.stderr,
      'error: --metrics "auc=high" is invalid: expected key=number, e.g. auc=0.93\n',
    );
    const missingName = await cli("push", CHURN, "--version", "2.0.0", ...target());
    assert.equal(missingName.code, 1);
    assert.match(missingName.stderr, /required option '--name <name>' not specified/);
  });

  it("without --bucket and without pulumi on PATH explains the stack-output path", async () => {
    const run = await cli("list", "--endpoint", s3.endpoint);
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      "error: --bucket was not given and reading the stack output modelBucketName failed: " +
        "the pulumi CLI is not installed or not on PATH; pass --bucket (and --region)\n",
    );
  });

  it("list --verify checks every version and names what is broken (exit 1)", async () => {
    const client = s3.client();
    const put = (key: string, body: string | Buffer) =>
      client.send(new PutObjectCommand({ Bucket: BUCKET, Key: `models/${key}`, Body: body }));
    const model = await readFile(CHURN);
    const manifest = (version: string, sha256 = sha) =>
      serializeManifest({
        name: "bad",
        version,
        sha256,
        framework: "onnx",
        inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
        outputs: [{ name: "label", datatype: "INT64", shape: [-1] }],
        createdAt: "2026-01-01T00:00:00.000Z",
      });
    await put("bad/1.0.0/model.onnx", model);
    await put("bad/1.0.0/manifest.json", manifest("1.0.0", "0".repeat(64)));
    await put("bad/2.0.0/model.onnx", Buffer.from("corrupt"));
    await put("bad/2.0.0/manifest.json", manifest("2.0.0", sha256Bytes(Buffer.from("corrupt"))));
    await put("bad/3.0.0/model.onnx", model);
    await put("bad/3.0.0/manifest.json", "{not json");
    await put("bad/4.0.0/manifest.json", manifest("4.0.0"));
    await put("bad/5.0.0/model.onnx", model);
    await put("bad/5.0.0/manifest.json", manifest("5.0.0"));

    const run = await cli("list", "--name", "bad", "--verify", ...target());
    assert.equal(run.code, 1);
    const status = Object.fromEntries(
      run.stdout
        .trimEnd()
        .split("\n")
        .slice(1)
        .map((line) => [line.split(/\s+/)[1], line.split(/\s{2,}/)[2]]),
    );
    assert.match(
      status["1.0.0"],
      /^BROKEN: sha256 mismatch: the manifest says 0{64}, s3:\/\/cli-test\/models\/bad\/1\.0\.0\/model\.onnx hashes to [0-9a-f]{64}$/,
    );
    assert.match(
      status["2.0.0"],
      /^BROKEN: s3:\/\/cli-test\/models\/bad\/2\.0\.0\/model\.onnx is not a model onnxruntime can load/,
    );
    assert.match(status["3.0.0"], /^BROKEN: .*not valid JSON|^BROKEN: .*JSON/);
    assert.equal(status["4.0.0"], "broken (no model.onnx)");
    assert.equal(status["5.0.0"], "verified");
  });

  it("show exits 1 when the manifest names another version", async () => {
    const copy = await s3
      .client()
      .send(new GetObjectCommand({ Bucket: BUCKET, Key: "models/churn/1.0.0/manifest.json" }));
    await s3.client().send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "models/churn/9.9.9/manifest.json",
        Body: await copy.Body!.transformToString(),
      }),
    );
    const run = await cli("show", "churn", "9.9.9", ...target());
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      `error: s3://${BUCKET}/models/churn/9.9.9/manifest.json describes churn 1.0.0, not churn 9.9.9; ` +
        "the version is broken: publish it again under a new version\n",
    );
  });

  it("push and show a version with semver build metadata", async () => {
    const push = await cli("push", CHURN, "--name", "churn", "--version", "1.2.0+build.5", ...target());
    assert.equal(push.code, 0, push.stderr);
    assert.match(
      push.stdout,
      /^pushed churn 1\.2\.0\+build\.5 to s3:\/\/cli-test\/models\/churn\/1\.2\.0\+build\.5\//,
    );
    const show = await cli("show", "churn", "1.2.0+build.5", ...target());
    assert.equal(show.code, 0, show.stderr);
    assert.equal(JSON.parse(show.stdout).version, "1.2.0+build.5");
  });

  it("a malformed --endpoint is a one-line error, not a stack trace", async () => {
    const run = await cli("list", "--bucket", BUCKET, "--endpoint", "localhost:9000");
    assert.equal(run.code, 1);
    assert.equal(run.stderr, 'error: S3 endpoint "localhost:9000" is invalid: expected an http(s):// URL\n');
  });

  it("an endpoint that accepts and never answers: a warning per attempt, then exit 1 with a clear message", async () => {
    const silent = await startSilentServer();
    try {
      let stderr = "";
      const started = Date.now();
      const code = await runModelCli(
        [
          "push",
          CHURN,
          "--name",
          "churn",
          "--version",
          "3.0.0",
          "--bucket",
          BUCKET,
          "--endpoint",
          silent.endpoint,
        ],
        {
          stdout: () => undefined,
          stderr: (t) => void (stderr += t),
          env: { PATH: work, AWS_REGION: "us-east-1", S3_SOCKET_TIMEOUT_MS: "300", AWS_MAX_ATTEMPTS: "2" },
        },
      );
      assert.equal(code, 1);
      assert.ok(Date.now() - started < 10_000);
      const lines = stderr.trimEnd().split("\n");
      assert.equal(lines.length, 3, stderr);
      assert.match(
        lines[0],
        new RegExp(
          `^warning: S3 HeadObject attempt 1 of 2 to ${silent.endpoint} failed; retrying with backoff: TimeoutError: `,
        ),
      );
      assert.match(
        lines[1],
        new RegExp(
          `^warning: S3 HeadObject attempt 2 of 2 to ${silent.endpoint} failed; giving up: TimeoutError: `,
        ),
      );
      assert.match(
        lines[2],
        new RegExp(`^error: cannot reach S3 at ${silent.endpoint}: .*timed out.*; nothing was changed`),
      );
      assert.equal(silent.accepted(), 2);
    } finally {
      await silent.stop();
    }
  });

  it("runs as `npm run model` in a child process, with the endpoint from AWS_ENDPOINT_URL_S3", async () => {
    const { stdout } = await promisify(execFile)(
      "npm",
      ["run", "--silent", "model", "--", "show", "churn", "1.1.0", "--bucket", BUCKET],
      {
        cwd: REPO,
        env: { ...process.env, ...s3.env() },
      },
    );
    assert.equal(JSON.parse(stdout).sha256, sha);
  });
});

describe("CLI flag parsing", () => {
  it("parses --metrics entries into numbers", () => {
    assert.deepEqual(parseMetrics(["auc=0.93", "f1=1e-1", "loss=-2"]), { auc: 0.93, f1: 0.1, loss: -2 });
  });
  for (const bad of ["auc", "auc=", "=1", "auc=NaN", "auc=Infinity", "a b=1"]) {
    it(`refuses --metrics ${JSON.stringify(bad)}`, () =>
      assert.throws(() => parseMetrics([bad]), {
        message: `--metrics ${JSON.stringify(bad)} is invalid: expected key=number, e.g. auc=0.93`,
      }));
  }
  it("refuses a metric named twice", () =>
    assert.throws(() => parseMetrics(["auc=1", "auc=2"]), { message: '--metrics names "auc" twice' }));
  it("parses --labels", () => assert.deepEqual(parseLabels("stay, churn"), ["stay", "churn"]));
  it("refuses empty or repeated labels", () => {
    assert.throws(() => parseLabels("a,,b"), {
      message: '--labels "a,,b" is invalid: expected comma-separated non-empty labels',
    });
    assert.throws(() => parseLabels("a,b,a"), { message: '--labels names "a" twice' });
  });
});
