import assert from "node:assert/strict";
import {
  parseManifest,
  serializeManifest,
  versionPrefix,
  ManifestError,
} from "../../../serving/src/model/manifest";

const valid = {
  name: "churn",
  version: "1.0.0",
  sha256: "a".repeat(64),
  framework: "onnx",
  inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
  outputs: [{ name: "probabilities", datatype: "FP32", shape: [-1, 2] }],
  labels: ["0", "1"],
  createdAt: "2026-11-25T00:00:00.000Z",
};

describe("model manifest", () => {
  it("round-trips a valid manifest through serialize and parse", () => {
    const text = serializeManifest(parseManifest(valid));
    assert.deepEqual(JSON.parse(text), valid);
    assert.ok(text.endsWith("\n"));
  });

  it("builds the registry key prefix from name and version", () => {
    assert.equal(versionPrefix("churn", "1.2.3"), "models/churn/1.2.3/");
  });

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ["a bad sha256", { sha256: "xyz" }, /"sha256" must be 64 lowercase hex/],
    ["a non-semver version", { version: "v1" }, /model version "v1" is invalid/],
    [
      "an unknown datatype",
      { inputs: [{ name: "x", datatype: "FLOAT", shape: [1] }] },
      /inputs\[0\]\.datatype/,
    ],
    ["a bad shape", { outputs: [{ name: "y", datatype: "FP32", shape: [-2] }] }, /outputs\[0\]\.shape/],
    ["a non-numeric metric", { metrics: { auc: "high" } }, /metrics\.auc/],
  ];
  for (const [what, patch, message] of bad) {
    it(`rejects ${what} with a message naming the field`, () => {
      assert.throws(
        () => parseManifest({ ...valid, ...patch }),
        (err: unknown) => {
          assert.ok(err instanceof ManifestError);
          assert.match(err.message, message);
          return true;
        },
      );
    });
  }

  it("rejects text that is not JSON", () => {
    assert.throws(() => parseManifest("{"), /manifest is not valid JSON/);
  });
});
