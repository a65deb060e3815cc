import { strict as assert } from "node:assert";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, HeadObjectCommand, type S3Client } from "@aws-sdk/client-s3";

import { runModelCli, type CliIo } from "../../../serving/cli/model";
import { sha256Bytes } from "../../../serving/src/model/checksum";
import { formatGoldenSet, parseGoldenSet } from "../../../serving/src/model/golden";
import { ManifestError, parseManifest } from "../../../serving/src/model/manifest";
import { RegistryError } from "../../../serving/src/model/registry/errors";
import { ModelRegistry } from "../../../serving/src/model/registry/registry";
import { startS3Server, type S3TestServer } from "../../support/s3Server";
import expected from "../../fixtures/churn-expected.json";

const REPO = join(__dirname, "..", "..", "..");
const CHURN = join(REPO, "serving", "models", "churn", "1.0.0", "model.onnx");
const BUCKET = "golden-test";

/** Golden cases from the churn model's recorded sklearn outputs (test/fixtures/churn-expected.json). */
const CASES = expected.inputs.slice(0, 3).map((row, i) => ({
  request: { inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: row }] },
  expected: { label: [expected.labels[i]], probabilities: expected.probabilities[i] },
}));

describe("model registry: the golden set beside model.onnx (loopback S3)", () => {
  let s3: S3TestServer;
  let client: S3Client;
  let registry: ModelRegistry;
  let work: string;
  let goldenPath: string;
  const savedEnv = { ...process.env };

  before(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    client = s3.client();
    registry = new ModelRegistry({ client, bucket: BUCKET });
    work = await mkdtemp(join(tmpdir(), "golden-test-"));
    goldenPath = join(work, "golden.jsonl");
    await writeFile(goldenPath, formatGoldenSet(CASES));
    // The CLI's S3 client reads credentials from the process environment (as in cli.test.ts).
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" });
  });
  after(async () => {
    for (const key of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) {
      if (savedEnv[key] === undefined) delete process.env[key];
      else process.env[key] = savedEnv[key];
    }
    await s3?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const getText = async (key: string): Promise<string> =>
    (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString("utf-8");
  const exists = (key: string) =>
    client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key })).then(
      () => true,
      () => false,
    );

  it("push --golden stores golden.jsonl byte for byte and lists it in the manifest with sha256 and count", async () => {
    const bytes = await readFile(goldenPath);
    const result = await registry.push({ file: CHURN, name: "churn", version: "2.0.0", golden: goldenPath });
    const entry = { file: "golden.jsonl", sha256: sha256Bytes(bytes), cases: 3 };
    assert.deepEqual(result.manifest.golden, entry);
    assert.equal(await getText("models/churn/2.0.0/golden.jsonl"), bytes.toString("utf8"));
    assert.deepEqual(parseGoldenSet(await getText("models/churn/2.0.0/golden.jsonl")), CASES);
    const manifest = parseManifest(await getText("models/churn/2.0.0/manifest.json"));
    assert.deepEqual(manifest.golden, entry);
    assert.deepEqual(await registry.show("churn", "2.0.0"), result.manifest);
  });

  it("list marks versions that have a golden set", async () => {
    await registry.push({ file: CHURN, name: "churn", version: "2.1.0" });
    const [churn] = await registry.list("churn");
    assert.deepEqual(
      churn.versions.map((v) => [v.version, v.complete, v.golden]),
      [
        ["2.0.0", true, true],
        ["2.1.0", true, false],
      ],
    );
  });

  const refused: ReadonlyArray<[string, string, RegExp]> = [
    ["not JSON Lines", "{not json}\n", /bad\.jsonl: golden set line 1: not JSON/],
    [
      "an output the model does not have",
      formatGoldenSet([{ request: CASES[0].request, expected: { score: [1] } }]),
      /golden set line 1: expected\.score is not an output of the model \(outputs: label, probabilities\)$/,
    ],
    [
      "an input the model does not have",
      formatGoldenSet([
        {
          request: { inputs: [{ name: "features", datatype: "FP32", shape: [1, 4], data: [0, 0, 0, 0] }] },
          expected: CASES[0].expected,
        },
      ]),
      /golden set line 1: request\.inputs must name the model's inputs \(input\), got \["features"\]$/,
    ],
  ];
  for (const [name, text, message] of refused) {
    it(`refuses a golden set with ${name} before uploading anything`, async () => {
      const bad = join(work, "bad.jsonl");
      await writeFile(bad, text);
      await assert.rejects(
        registry.push({ file: CHURN, name: "churn", version: "3.0.0", golden: bad }),
        (e: Error) => e instanceof RegistryError && message.test(e.message),
      );
      assert.equal(await exists("models/churn/3.0.0/model.onnx"), false);
      assert.equal(await exists("models/churn/3.0.0/golden.jsonl"), false);
    });
  }

  it("a manifest's golden entry is validated; a manifest without one still parses", () => {
    const base = JSON.parse(JSON.stringify(parseManifest(serializedBase())));
    assert.equal(parseManifest(base).golden, undefined);
    const withGolden = (golden: unknown) => ({ ...base, golden });
    assert.throws(
      () => parseManifest(withGolden({ file: "golden.json", sha256: "a".repeat(64), cases: 1 })),
      (e: Error) =>
        e instanceof ManifestError &&
        e.message === 'manifest field "golden.file" must be "golden.jsonl", got "golden.json"',
    );
    assert.throws(
      () => parseManifest(withGolden({ file: "golden.jsonl", sha256: "A".repeat(64), cases: 1 })),
      /manifest field "golden\.sha256" must be 64 lowercase hex characters/,
    );
    assert.throws(
      () => parseManifest(withGolden({ file: "golden.jsonl", sha256: "a".repeat(64), cases: 0 })),
      /manifest field "golden\.cases" must be an integer from 1 to 1000, got 0/,
    );
  });

  it("npm run model -- push --golden, then show and list, through the CLI", async () => {
    let stdout = "";
    let stderr = "";
    const io: CliIo = {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
      env: { PATH: work, AWS_REGION: "us-east-1" },
    };
    const target = ["--bucket", BUCKET, "--endpoint", s3.endpoint];
    const sha = sha256Bytes(await readFile(goldenPath));
    assert.equal(
      await runModelCli(
        ["push", CHURN, "--name", "churn", "--version", "4.0.0", "--golden", goldenPath, ...target],
        io,
      ),
      0,
      stderr,
    );
    assert.ok(stdout.includes(`  golden   golden.jsonl, 3 cases, sha256 ${sha}\n`), stdout);
    stdout = "";
    assert.equal(await runModelCli(["show", "churn", "4.0.0", ...target], io), 0, stderr);
    assert.deepEqual(JSON.parse(stdout).golden, { file: "golden.jsonl", sha256: sha, cases: 3 });
    stdout = "";
    assert.equal(await runModelCli(["list", "--name", "churn", ...target], io), 0, stderr);
    assert.match(stdout, /^churn\s+4\.0\.0\s+listed, not verified\s+yes\s+\d{4}-/m);
    assert.match(stdout, /^churn\s+2\.1\.0\s+listed, not verified\s+-\s+\d{4}-/m);
  });
});

/** A valid manifest without a golden entry. */
function serializedBase(): string {
  return JSON.stringify({
    name: "churn",
    version: "1.0.0",
    sha256: "b".repeat(64),
    framework: "onnx",
    inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
    outputs: [{ name: "label", datatype: "INT64", shape: [-1] }],
    createdAt: "2026-01-01T00:00:00.000Z",
  });
}
