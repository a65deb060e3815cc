import { strict as assert } from "node:assert";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";

import { sha256Bytes } from "../../../serving/src/model/checksum";
import { ModelInspectionError } from "../../../serving/src/model/inspect";
import { ManifestError, type ModelManifest, serializeManifest } from "../../../serving/src/model/manifest";
import {
  BucketNotFoundError,
  IncompleteVersionError,
  VersionExistsError,
} from "../../../serving/src/model/registry/errors";
import { ModelRegistry, parseVersionKey } from "../../../serving/src/model/registry/registry";
import { ModelNotFoundError } from "../../../serving/src/model/store";
import { startS3Server, type S3TestServer } from "../../support/s3Server";
import { twoByTwoModel } from "./tinyModels";

const CHURN = join(__dirname, "..", "..", "..", "serving", "models", "churn", "1.0.0", "model.onnx");
const BUCKET = "models-test";
const CREATED_AT = new Date("2025-06-01T12:00:00.000Z");

/** The manifest a push of the churn model must produce, field for field. */
function churnManifest(name: string, version: string, sha256: string): ModelManifest {
  return {
    name,
    version,
    sha256,
    framework: "onnx",
    inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
    outputs: [
      { name: "label", datatype: "INT64", shape: [-1] },
      { name: "probabilities", datatype: "FP32", shape: [-1, 2] },
    ],
    labels: ["stay", "churn"],
    metrics: { auc: 0.93, accuracy: 0.91 },
    createdAt: CREATED_AT.toISOString(),
  };
}

async function getBytes(client: S3Client, key: string): Promise<Buffer> {
  const out = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

async function exists(client: S3Client, key: string): Promise<boolean> {
  try {
    await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    return true;
  } catch {
    return false;
  }
}

describe("model registry on a loopback S3 server (s3rver, no conditional writes)", () => {
  let s3: S3TestServer;
  let client: S3Client;
  let registry: ModelRegistry;
  let churnBytes: Buffer;
  let work: string;

  before(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    client = s3.client();
    registry = new ModelRegistry({ client, bucket: BUCKET });
    churnBytes = await readFile(CHURN);
    work = await mkdtemp(join(tmpdir(), "registry-test-"));
  });

  after(async () => {
    await s3?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("push uploads model.onnx and an exact manifest under models/<name>/<version>/", async () => {
    const result = await registry.push({
      file: CHURN,
      name: "churn",
      version: "1.1.0",
      labels: ["stay", "churn"],
      metrics: { auc: 0.93, accuracy: 0.91 },
      createdAt: CREATED_AT,
    });
    const sha = sha256Bytes(churnBytes);
    const expected = churnManifest("churn", "1.1.0", sha);
    assert.equal(result.uri, `s3://${BUCKET}/models/churn/1.1.0/`);
    assert.equal(result.resumed, false);
    assert.deepEqual(result.manifest, expected);

    const stored = await getBytes(client, "models/churn/1.1.0/model.onnx");
    assert.ok(stored.equals(churnBytes), "model.onnx bytes differ from the pushed file");
    assert.equal(sha256Bytes(stored), sha);
    const manifestText = (await getBytes(client, "models/churn/1.1.0/manifest.json")).toString("utf8");
    assert.equal(manifestText, serializeManifest(expected));

    const head = await client.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: "models/churn/1.1.0/model.onnx" }),
    );
    assert.equal(head.Metadata?.sha256, sha);
    assert.equal(head.ContentLength, churnBytes.length);
  });

  it("refuses to overwrite an existing version and leaves it untouched", async () => {
    const other = join(work, "other.onnx");
    await writeFile(other, twoByTwoModel()); // a different model onnxruntime loads fine
    await assert.rejects(
      registry.push({ file: other, name: "churn", version: "1.1.0", createdAt: new Date() }),
      (err: Error) =>
        err instanceof VersionExistsError &&
        err.message ===
          `model churn version 1.1.0 already exists at s3://${BUCKET}/models/churn/1.1.0/; ` +
            "versions are immutable, publish a new version",
    );
    const manifestText = (await getBytes(client, "models/churn/1.1.0/manifest.json")).toString("utf8");
    assert.equal(manifestText, serializeManifest(churnManifest("churn", "1.1.0", sha256Bytes(churnBytes))));
    assert.ok((await getBytes(client, "models/churn/1.1.0/model.onnx")).equals(churnBytes));
  });

  it("refuses a file onnxruntime cannot load, before writing anything", async () => {
    const bogus = join(work, "bogus.onnx");
    await writeFile(bogus, "definitely not a protobuf model\n");
    await assert.rejects(
      registry.push({ file: bogus, name: "bogus", version: "1.0.0" }),
      (err: Error) =>
        err instanceof ModelInspectionError &&
        err.message.startsWith(`${bogus} is not a model onnxruntime can load:`),
    );
    assert.equal(await exists(client, "models/bogus/1.0.0/model.onnx"), false);
    assert.deepEqual(await registry.list("bogus"), []);
  });

  it("refuses a bad name or version before touching the file or the bucket", async () => {
    await assert.rejects(
      registry.push({ file: "/nonexistent.onnx", name: "Churn!", version: "1.0.0" }),
      (err: Error) => err instanceof ManifestError && /model name "Churn!" is invalid/.test(err.message),
    );
    await assert.rejects(
      registry.push({ file: "/nonexistent.onnx", name: "churn", version: "v1" }),
      (err: Error) =>
        err instanceof ManifestError &&
        err.message === 'model version "v1" is invalid: expected a semantic version such as 1.2.3',
    );
  });

  it("names a missing bucket", async () => {
    const missing = new ModelRegistry({ client, bucket: "no-such-bucket" });
    await assert.rejects(
      missing.push({ file: CHURN, name: "churn", version: "1.0.0" }),
      (err: Error) =>
        err instanceof BucketNotFoundError &&
        err.message.startsWith('bucket "no-such-bucket" does not exist'),
    );
    await assert.rejects(missing.list(), BucketNotFoundError);
  });

  it("resumes an interrupted push of the same file, and refuses one of a different file", async () => {
    const sha = sha256Bytes(churnBytes);
    // An earlier push stopped after model.onnx: same bytes, same sha256 metadata, no manifest.
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "models/churn/1.2.0/model.onnx",
        Body: churnBytes,
        Metadata: { sha256: sha },
      }),
    );
    const result = await registry.push({
      file: CHURN,
      name: "churn",
      version: "1.2.0",
      createdAt: CREATED_AT,
    });
    assert.equal(result.resumed, true);
    assert.equal((await registry.show("churn", "1.2.0")).sha256, sha);

    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "models/churn/1.3.0/model.onnx",
        Body: "someone else's bytes",
      }),
    );
    await assert.rejects(
      registry.push({ file: CHURN, name: "churn", version: "1.3.0" }),
      (err: Error) =>
        err instanceof IncompleteVersionError &&
        err.message.startsWith(`s3://${BUCKET}/models/churn/1.3.0/model.onnx exists without manifest.json`),
    );
    assert.equal(
      (await getBytes(client, "models/churn/1.3.0/model.onnx")).toString(),
      "someone else's bytes",
    );
  });

  it("lists models and versions in semantic-version order, flagging interrupted pushes", async () => {
    for (const version of ["1.10.0", "1.2.0-rc.1", "0.9.0"]) {
      await registry.push({ file: CHURN, name: "churn", version, createdAt: CREATED_AT });
    }
    await registry.push({ file: CHURN, name: "fraud", version: "2.0.0", createdAt: CREATED_AT });
    // Objects outside the layout are not versions.
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "models/README.txt", Body: "x" }));
    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "other/churn/1.0.0/manifest.json", Body: "x" }),
    );

    const all = await registry.list();
    assert.deepEqual(
      all.map((m) => ({ name: m.name, versions: m.versions.map((v) => [v.version, v.complete]) })),
      [
        {
          name: "churn",
          versions: [
            ["0.9.0", true],
            ["1.1.0", true],
            ["1.2.0-rc.1", true],
            ["1.2.0", true],
            ["1.3.0", false],
            ["1.10.0", true],
          ],
        },
        { name: "fraud", versions: [["2.0.0", true]] },
      ],
    );
    assert.ok(all[0].versions.every((v) => v.lastModified instanceof Date));
    const fraudOnly = await registry.list("fraud");
    assert.deepEqual(
      fraudOnly.map((m) => m.name),
      ["fraud"],
    );
  });

  it("show returns the stored manifest and names a missing version", async () => {
    assert.deepEqual(
      await registry.show("churn", "1.1.0"),
      churnManifest("churn", "1.1.0", sha256Bytes(churnBytes)),
    );
    await assert.rejects(
      registry.show("churn", "9.9.9"),
      (err: Error) =>
        err instanceof ModelNotFoundError &&
        err.message ===
          `model churn version 9.9.9 not found: s3://${BUCKET}/models/churn/9.9.9/manifest.json does not exist`,
    );
  });

  it("documents the store's limit: s3rver itself accepts If-None-Match: * over an existing key", async () => {
    // This is why push also HEADs first. If s3rver ever starts honouring the header, this fails
    // and the emulation in test/support/s3Server.ts can go.
    await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "scratch/x", Body: "one" }));
    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "scratch/x", Body: "two", IfNoneMatch: "*" }),
    );
    assert.equal((await getBytes(client, "scratch/x")).toString(), "two");
  });
});

describe("model registry on a loopback S3 server with conditional writes", () => {
  let s3: S3TestServer;
  let client: S3Client;

  before(async () => {
    s3 = await startS3Server({ buckets: [BUCKET], conditionalWrites: true });
    client = s3.client();
  });

  after(async () => {
    await s3?.stop();
  });

  it("the server answers 412 PreconditionFailed to If-None-Match: * on an existing key", async () => {
    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "scratch/y", Body: "one", IfNoneMatch: "*" }),
    );
    await assert.rejects(
      client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "scratch/y", Body: "two", IfNoneMatch: "*" })),
      (err: Error & { $metadata?: { httpStatusCode?: number } }) =>
        err.name === "PreconditionFailed" && err.$metadata?.httpStatusCode === 412,
    );
    assert.equal((await getBytes(client, "scratch/y")).toString(), "one");
  });

  it("a writer that wins the race between the existence check and the upload makes push fail", async () => {
    // Another publisher writes model.onnx after our HEADs and before our PUT: only the
    // conditional write can catch that, exactly as on AWS.
    const racer = s3.client();
    const racingClient = s3.client();
    let raced = false;
    racingClient.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { Key?: string };
        if (context.commandName === "PutObjectCommand" && input.Key?.endsWith("/model.onnx") && !raced) {
          raced = true;
          await racer.send(
            new PutObjectCommand({ Bucket: BUCKET, Key: input.Key, Body: "the other publisher" }),
          );
        }
        return next(args);
      },
      { step: "initialize", name: "raceAnotherPublisher" },
    );
    const registry = new ModelRegistry({ client: racingClient, bucket: BUCKET });
    await assert.rejects(
      registry.push({ file: CHURN, name: "churn", version: "3.0.0" }),
      (err: Error) =>
        err instanceof VersionExistsError &&
        err.message ===
          `model churn version 3.0.0 was published concurrently: s3://${BUCKET}/models/churn/3.0.0/model.onnx ` +
            "already exists (conditional write refused); versions are immutable, publish a new version",
    );
    assert.equal(raced, true);
    assert.equal((await getBytes(client, "models/churn/3.0.0/model.onnx")).toString(), "the other publisher");
    assert.equal(await exists(client, "models/churn/3.0.0/manifest.json"), false);
  });

  it("pushes normally when nothing is in the way", async () => {
    const registry = new ModelRegistry({ client, bucket: BUCKET });
    const result = await registry.push({
      file: CHURN,
      name: "churn",
      version: "3.1.0",
      createdAt: CREATED_AT,
    });
    assert.equal(result.manifest.sha256, sha256Bytes(await readFile(CHURN)));
    await assert.rejects(registry.push({ file: CHURN, name: "churn", version: "3.1.0" }), VersionExistsError);
  });
});

describe("parseVersionKey", () => {
  const cases: [string, ReturnType<typeof parseVersionKey>][] = [
    ["models/churn/1.0.0/model.onnx", { name: "churn", version: "1.0.0", file: "model.onnx" }],
    [
      "models/churn/1.0.0-rc.1/manifest.json",
      { name: "churn", version: "1.0.0-rc.1", file: "manifest.json" },
    ],
    ["models/churn/1.0.0/notes.txt", undefined],
    ["models/churn/latest/model.onnx", undefined],
    ["models/Churn/1.0.0/model.onnx", undefined],
    ["models/churn/1.0.0/extra/model.onnx", undefined],
    ["other/churn/1.0.0/model.onnx", undefined],
  ];
  for (const [key, expected] of cases) {
    it(`${key} -> ${JSON.stringify(expected)}`, () => assert.deepEqual(parseVersionKey(key), expected));
  }
});
