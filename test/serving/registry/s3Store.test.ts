import { strict as assert } from "node:assert";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import * as ort from "onnxruntime-node";

import { sha256Bytes } from "../../../serving/src/model/checksum";
import { ModelRegistry } from "../../../serving/src/model/registry/registry";
import { parseS3ModelUri, S3ModelStore } from "../../../serving/src/model/s3Store";
import { ModelNotFoundError, ModelVerificationError } from "../../../serving/src/model/store";
import { startS3Server, type S3TestServer } from "../../support/s3Server";

const REPO = join(__dirname, "..", "..", "..");
const CHURN = join(REPO, "serving", "models", "churn", "1.0.0", "model.onnx");
const BUCKET = "store-test";

interface ChurnFixture {
  inputs: number[][];
  probabilities: number[][];
  labels: number[];
}

/** Counts GetObject calls per key, to tell a cache hit from a download. */
function countGets(client: S3Client): Map<string, number> {
  const gets = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === "GetObjectCommand") {
        const key = (args.input as { Key: string }).Key;
        gets.set(key, (gets.get(key) ?? 0) + 1);
      }
      return next(args);
    },
    { step: "initialize", name: "countGets" },
  );
  return gets;
}

describe("S3ModelStore against a loopback S3 server", () => {
  let s3: S3TestServer;
  let client: S3Client;
  let churnBytes: Buffer;
  let cache: string;

  before(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    client = s3.client();
    churnBytes = await readFile(CHURN);
    const registry = new ModelRegistry({ client, bucket: BUCKET });
    for (const version of ["1.0.0", "1.1.0", "2.0.0"]) {
      await registry.push({ file: CHURN, name: "churn", version, labels: ["0", "1"] });
    }
  });

  beforeEach(async () => {
    cache = await mkdtemp(join(tmpdir(), "model-cache-"));
  });

  afterEach(async () => {
    await rm(cache, { recursive: true, force: true });
  });

  after(async () => {
    await s3?.stop();
  });

  it("loads a version into <cache>/<name>/<version>/ and the file serves sklearn's answers", async () => {
    const store = new S3ModelStore(`s3://${BUCKET}/models/churn/1.1.0/`, cache, { client });
    assert.equal(store.location, `s3://${BUCKET}/models/churn/1.1.0/`);
    const model = await store.load();
    assert.equal(model.modelPath, join(cache, "churn", "1.1.0", "model.onnx"));
    assert.equal(model.manifest.version, "1.1.0");
    assert.equal(model.manifest.sha256, sha256Bytes(churnBytes));
    assert.deepEqual(model.manifest.labels, ["0", "1"]);
    assert.ok((await readFile(model.modelPath)).equals(churnBytes));
    assert.deepEqual((await readdir(join(cache, "churn", "1.1.0"))).sort(), ["manifest.json", "model.onnx"]);

    const fixture = JSON.parse(
      await readFile(join(REPO, "test", "fixtures", "churn-expected.json"), "utf8"),
    ) as ChurnFixture;
    const session = await ort.InferenceSession.create(model.modelPath);
    try {
      const n = fixture.inputs.length;
      const out = await session.run({
        input: new ort.Tensor("float32", Float32Array.from(fixture.inputs.flat()), [n, 4]),
      });
      assert.deepEqual(Array.from(out.label.data as BigInt64Array, Number), fixture.labels);
      const p = out.probabilities.data as Float32Array;
      fixture.probabilities.forEach((row, i) =>
        row.forEach((v, j) => assert.ok(Math.abs(p[i * 2 + j] - v) < 1e-6)),
      );
    } finally {
      await session.release();
    }
  });

  it("reuses a cached copy whose sha256 matches and re-downloads one that does not", async () => {
    const gets = countGets(client);
    try {
      const uri = `s3://${BUCKET}/models/churn/1.0.0`;
      await new S3ModelStore(uri, cache, { client }).load();
      await new S3ModelStore(uri, cache, { client }).load();
      assert.equal(gets.get("models/churn/1.0.0/model.onnx"), 1, "second load should use the cache");
      assert.equal(gets.get("models/churn/1.0.0/manifest.json"), 2, "the manifest is always read fresh");

      const cached = join(cache, "churn", "1.0.0", "model.onnx");
      await writeFile(cached, "corrupted cache entry");
      const model = await new S3ModelStore(uri, cache, { client }).load();
      assert.equal(gets.get("models/churn/1.0.0/model.onnx"), 2);
      assert.ok((await readFile(model.modelPath)).equals(churnBytes));
    } finally {
      client.middlewareStack.remove("countGets");
    }
  });

  it("detects a tampered model.onnx in the bucket and leaves nothing loadable behind", async () => {
    const tampered = Buffer.from(churnBytes);
    tampered[tampered.length - 10] ^= 0xff;
    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "models/churn/2.0.0/model.onnx", Body: tampered }),
    );
    const store = new S3ModelStore(`s3://${BUCKET}/models/churn/2.0.0/`, cache, { client });
    await assert.rejects(
      store.load(),
      (err: Error) =>
        err instanceof ModelVerificationError &&
        err.message ===
          `sha256 mismatch for s3://${BUCKET}/models/churn/2.0.0/model.onnx: the manifest says ${sha256Bytes(churnBytes)}, ` +
            `the downloaded bytes hash to ${sha256Bytes(tampered)}; refusing to load it`,
    );
    // Neither the file nor a temp file is left where a later start could pick it up.
    assert.deepEqual(await readdir(join(cache, "churn", "2.0.0")), []);
  });

  it("a missing version is ModelNotFoundError naming the manifest", async () => {
    const store = new S3ModelStore(`s3://${BUCKET}/models/churn/9.9.9/`, cache, { client });
    await assert.rejects(store.load(), {
      name: "ModelNotFoundError",
      message:
        `model churn version 9.9.9 not found: s3://${BUCKET}/models/churn/9.9.9/manifest.json does not exist ` +
        "(publish it with `npm run model -- push`)",
    });
  });

  it("a missing bucket is ModelNotFoundError naming the bucket", async () => {
    const store = new S3ModelStore("s3://no-such-bucket/models/churn/1.0.0/", cache, { client });
    await assert.rejects(store.load(), {
      name: "ModelNotFoundError",
      message: "model churn version 1.0.0 not found: bucket no-such-bucket does not exist",
    });
  });

  it("a manifest without its model.onnx is ModelNotFoundError (incomplete version)", async () => {
    const manifest = await readFile(
      join(REPO, "serving", "models", "churn", "1.0.0", "manifest.json"),
      "utf8",
    );
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "models/churn/4.0.0/manifest.json",
        Body: manifest.replace('"version": "1.0.0"', '"version": "4.0.0"'),
      }),
    );
    const store = new S3ModelStore(`s3://${BUCKET}/models/churn/4.0.0/`, cache, { client });
    await assert.rejects(
      store.load(),
      (err: Error) =>
        err instanceof ModelNotFoundError &&
        err.message ===
          `model churn version 4.0.0 is incomplete: s3://${BUCKET}/models/churn/4.0.0/model.onnx does not exist although its manifest does`,
    );
    await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "models/churn/4.0.0/manifest.json" }));
  });

  it("a manifest copied under another version's path is refused", async () => {
    const manifest = await readFile(join(REPO, "serving", "models", "churn", "1.0.0", "manifest.json"));
    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "models/churn/5.0.0/manifest.json", Body: manifest }),
    );
    await client.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: "models/churn/5.0.0/model.onnx", Body: churnBytes }),
    );
    const store = new S3ModelStore(`s3://${BUCKET}/models/churn/5.0.0/`, cache, { client });
    await assert.rejects(store.load(), {
      name: "ModelVerificationError",
      message: `s3://${BUCKET}/models/churn/5.0.0/manifest.json describes churn 1.0.0, but the URI names churn 5.0.0`,
    });
  });

  it("an invalid manifest is ModelVerificationError naming the field", async () => {
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "models/churn/6.0.0/manifest.json",
        Body: '{"name":"churn"}',
      }),
    );
    const store = new S3ModelStore(`s3://${BUCKET}/models/churn/6.0.0/`, cache, { client });
    await assert.rejects(store.load(), {
      name: "ModelVerificationError",
      message: `s3://${BUCKET}/models/churn/6.0.0/manifest.json is invalid: manifest field "version" must be a string, got undefined`,
    });
  });

  it("with no client given, uses the SDK default chain and AWS_ENDPOINT_URL_S3 from the environment", async () => {
    const saved = { ...process.env };
    Object.assign(process.env, s3.env());
    try {
      const model = await new S3ModelStore(`s3://${BUCKET}/models/churn/1.0.0/`, cache).load();
      assert.equal(model.manifest.sha256, sha256Bytes(churnBytes));
    } finally {
      for (const key of Object.keys(s3.env())) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  });
});

describe("parseS3ModelUri", () => {
  const good: [string, ReturnType<typeof parseS3ModelUri>][] = [
    [
      "s3://bucket/models/churn/1.0.0/",
      { bucket: "bucket", prefix: "models/churn/1.0.0/", name: "churn", version: "1.0.0" },
    ],
    [
      "s3://bucket/models/churn/1.0.0",
      { bucket: "bucket", prefix: "models/churn/1.0.0/", name: "churn", version: "1.0.0" },
    ],
    [
      "s3://b/team/models/fraud-v2/2.1.0-rc.1/",
      { bucket: "b", prefix: "team/models/fraud-v2/2.1.0-rc.1/", name: "fraud-v2", version: "2.1.0-rc.1" },
    ],
  ];
  for (const [uri, expected] of good) {
    it(`parses ${uri}`, () => assert.deepEqual(parseS3ModelUri(uri), expected));
  }
  const bad = [
    "s3://bucket/",
    "s3://bucket/1.0.0/",
    "https://bucket/models/churn/1.0.0/",
    "s3://b/models//1.0.0/",
  ];
  for (const uri of bad) {
    it(`refuses ${uri}`, () =>
      assert.throws(() => parseS3ModelUri(uri), {
        message: `MODEL_URI ${JSON.stringify(uri)} is invalid: expected s3://<bucket>/models/<name>/<version>/`,
      }));
  }
  it("refuses a non-semver version segment, naming it", () =>
    assert.throws(
      () => parseS3ModelUri("s3://b/models/churn/latest/"),
      /MODEL_URI "s3:\/\/b\/models\/churn\/latest\/" is invalid \(model version "latest" is invalid/,
    ));
});
