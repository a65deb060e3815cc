import assert from "node:assert/strict";
import { cp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createModelStore } from "../../../serving/src/model/createModelStore";
import { LocalModelStore } from "../../../serving/src/model/localStore";
import { sha256Bytes } from "../../../serving/src/model/checksum";
import { ModelNotFoundError, ModelVerificationError } from "../../../serving/src/model/store";
import { writeModelVersion } from "../../../serving/tools/modelRepository";
import { IDENTITY_CLASSIFIER, tempDir } from "../helpers";

describe("local model store", () => {
  let root: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir: root, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("refuses a local MODEL_URI whose manifest names another model or version", async () => {
    const { dir } = await writeModelVersion({
      root,
      name: "churn",
      version: "1.2.3",
      model: IDENTITY_CLASSIFIER,
    });
    const copy = join(root, "fraud", "1.2.3");
    await cp(dir, copy, { recursive: true });
    const store = await createModelStore({ uri: copy, root, name: "x", version: "0.0.1", cacheDir: root });
    await assert.rejects(
      store.load(),
      (err: Error) =>
        err instanceof ModelVerificationError &&
        err.message === `manifest ${join(copy, "manifest.json")} declares churn@1.2.3, expected fraud@1.2.3`,
    );
    const same = await createModelStore({ uri: dir, root, name: "x", version: "0.0.1", cacheDir: root });
    assert.equal((await same.load()).manifest.name, "churn");
  });

  it("returns the verified model of <root>/<name>/<version>/", async () => {
    const { dir } = await writeModelVersion({
      root,
      name: "churn",
      version: "1.2.3",
      model: IDENTITY_CLASSIFIER,
    });
    const store = LocalModelStore.forVersion(root, "churn", "1.2.3");
    assert.equal(store.location, `file://${dir}/`);
    const model = await store.load();
    assert.equal(model.modelPath, join(dir, "model.onnx"));
    assert.equal(model.manifest.sha256, sha256Bytes(IDENTITY_CLASSIFIER.bytes));
    assert.deepEqual(model.manifest.labels, ["stay", "churn"]);
  });

  it("refuses a model whose sha256 does not match the manifest", async () => {
    await writeModelVersion({ root, name: "churn", model: IDENTITY_CLASSIFIER, sha256: "0".repeat(64) });
    await assert.rejects(LocalModelStore.forVersion(root, "churn", "1.0.0").load(), (err: unknown) => {
      assert.ok(err instanceof ModelVerificationError);
      assert.match(
        err.message,
        new RegExp(
          `sha256 mismatch for .*model\\.onnx: manifest declares 0{64}, file has ${sha256Bytes(IDENTITY_CLASSIFIER.bytes)}`,
        ),
      );
      return true;
    });
  });

  it("refuses a model file changed after its manifest was written", async () => {
    const { dir } = await writeModelVersion({ root, name: "churn", model: IDENTITY_CLASSIFIER });
    await writeFile(
      join(dir, "model.onnx"),
      Buffer.concat([Buffer.from(IDENTITY_CLASSIFIER.bytes), Buffer.from([0])]),
    );
    await assert.rejects(LocalModelStore.forVersion(root, "churn", "1.0.0").load(), ModelVerificationError);
  });

  it("refuses a manifest that names another model or version", async () => {
    const { dir } = await writeModelVersion({
      root,
      name: "churn",
      version: "1.0.0",
      model: IDENTITY_CLASSIFIER,
    });
    await writeModelVersion({ root, name: "other", version: "1.0.0", model: IDENTITY_CLASSIFIER });
    await rm(join(dir, "manifest.json"));
    await writeFile(
      join(dir, "manifest.json"),
      JSON.stringify({
        name: "churn",
        version: "9.9.9",
        sha256: sha256Bytes(IDENTITY_CLASSIFIER.bytes),
        framework: "onnx",
        inputs: IDENTITY_CLASSIFIER.inputs,
        outputs: IDENTITY_CLASSIFIER.outputs,
        createdAt: "2026-01-01T00:00:00Z",
      }),
    );
    await assert.rejects(
      LocalModelStore.forVersion(root, "churn", "1.0.0").load(),
      /declares churn@9\.9\.9, expected churn@1\.0\.0/,
    );
  });

  it("reports an invalid manifest as a verification failure naming the field", async () => {
    const { dir } = await writeModelVersion({ root, name: "churn", model: IDENTITY_CLASSIFIER });
    await writeFile(join(dir, "manifest.json"), '{"name": "churn"}');
    await assert.rejects(LocalModelStore.forVersion(root, "churn", "1.0.0").load(), (err: unknown) => {
      assert.ok(err instanceof ModelVerificationError);
      assert.match(
        err.message,
        /invalid manifest .*manifest\.json: manifest field "version" must be a string/,
      );
      return true;
    });
  });

  it("reports a missing version as not found", async () => {
    await assert.rejects(LocalModelStore.forVersion(root, "churn", "3.0.0").load(), (err: unknown) => {
      assert.ok(err instanceof ModelNotFoundError);
      assert.match(
        err.message,
        /model version not found at file:\/\/.*\/churn\/3\.0\.0\/: .*manifest\.json does not exist/,
      );
      return true;
    });
  });

  describe("createModelStore", () => {
    const location = (extra: object) => ({
      root: "/models",
      name: "churn",
      version: "1.0.0",
      cacheDir: "/cache",
      ...extra,
    });

    it("uses <MODEL_ROOT>/<MODEL_NAME>/<MODEL_VERSION>/ by default", async () => {
      const store = await createModelStore(location({}));
      assert.ok(store instanceof LocalModelStore);
      assert.equal(store.location, "file:///models/churn/1.0.0/");
    });

    it("uses a local MODEL_URI directory as given", async () => {
      const store = await createModelStore(location({ uri: "/srv/m/x/2.0.0" }));
      assert.equal(store.location, "file:///srv/m/x/2.0.0/");
    });

    it("uses the S3 store for an s3:// MODEL_URI", async () => {
      const store = await createModelStore(location({ uri: "s3://bucket/models/churn/1.0.0/" }));
      assert.equal(store.constructor.name, "S3ModelStore");
      assert.equal(store.location, "s3://bucket/models/churn/1.0.0/");
    });
  });
});
