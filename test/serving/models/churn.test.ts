import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";

import { sha256File } from "../../../serving/src/model/checksum";
import { parseManifest, serializeManifest } from "../../../serving/src/model/manifest";

/** The bundled churn model (serving/models/churn/1.0.0) against sklearn's recorded outputs. */
const REPO = join(__dirname, "..", "..", "..");
const VERSION_DIR = join(REPO, "serving", "models", "churn", "1.0.0");
const MODEL = join(VERSION_DIR, "model.onnx");

interface ChurnFixture {
  model: { name: string; version: string; sha256: string };
  tolerance: number;
  inputs: number[][];
  probabilities: number[][];
  labels: number[];
}

const fixture = JSON.parse(
  readFileSync(join(REPO, "test", "fixtures", "churn-expected.json"), "utf8"),
) as ChurnFixture;
const manifestText = readFileSync(join(VERSION_DIR, "manifest.json"), "utf8");

describe("bundled churn model", () => {
  let session: ort.InferenceSession;

  before(async () => {
    session = await ort.InferenceSession.create(MODEL);
  });

  after(async () => {
    await session?.release();
  });

  it("has a manifest in the contract's exact serialized form", () => {
    assert.equal(serializeManifest(parseManifest(manifestText)), manifestText);
  });

  it("matches the manifest's sha256 and the fixture's", async () => {
    const sha = await sha256File(MODEL);
    assert.equal(parseManifest(manifestText).sha256, sha);
    assert.equal(fixture.model.sha256, sha);
  });

  it("reproduces sklearn predict_proba and predict for the fixture rows in one batch", async () => {
    const n = fixture.inputs.length;
    assert.equal(n, 8);
    const input = new ort.Tensor("float32", Float32Array.from(fixture.inputs.flat()), [n, 4]);
    const out = await session.run({ input });
    assert.deepEqual(out.probabilities.dims, [n, 2]);
    assert.deepEqual(out.label.dims, [n]);
    const probabilities = out.probabilities.data as Float32Array;
    fixture.probabilities.forEach((row, i) =>
      row.forEach((p, j) => {
        const got = probabilities[i * 2 + j];
        assert.ok(Math.abs(got - p) < fixture.tolerance, `row ${i} class ${j}: got ${got}, expected ${p}`);
      }),
    );
    // Labels are exact, including the 0.5/0.5 ties that sklearn resolves to class 0.
    assert.deepEqual(Array.from(out.label.data as BigInt64Array, Number), fixture.labels);
  });

  it("gives the same answer for a row alone as inside a batch", async () => {
    const row = fixture.inputs[7];
    const out = await session.run({ input: new ort.Tensor("float32", Float32Array.from(row), [1, 4]) });
    assert.equal(Number((out.label.data as BigInt64Array)[0]), fixture.labels[7]);
    assert.ok(Math.abs((out.probabilities.data as Float32Array)[1] - fixture.probabilities[7][1]) < 1e-6);
  });
});
