import assert from "node:assert/strict";
import {
  parseManifest,
  serializeManifest,
  validateModelName,
  validateModelVersion,
  versionPrefix,
  ManifestError,
  MANIFEST_FILE,
  MODEL_FILE,
  TENSOR_DATATYPES,
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

/** Asserts that `fn` throws a ManifestError with exactly `message`. */
function throwsManifestError(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ManifestError, `expected a ManifestError, got ${String(err)}`);
    assert.equal(err.name, "ManifestError");
    assert.equal(err.message, message);
    return true;
  });
}

const NAME_RULE = "expected 1-63 of [a-z0-9._-], starting with a letter or digit";
const VERSION_RULE = "expected a semantic version such as 1.2.3";
const DATATYPES = TENSOR_DATATYPES.join(", ");

describe("model manifest", () => {
  it("round-trips a valid manifest through serialize and parse", () => {
    const text = serializeManifest(parseManifest(valid));
    assert.deepEqual(JSON.parse(text), valid);
    assert.ok(text.endsWith("\n"));
  });

  it("serializes with two-space indentation, in a fixed key order, and omits absent labels and metrics", () => {
    const { labels: _labels, ...unlabelled } = valid;
    const text = serializeManifest(parseManifest(unlabelled));
    assert.equal(
      text,
      [
        "{",
        '  "name": "churn",',
        '  "version": "1.0.0",',
        `  "sha256": "${"a".repeat(64)}",`,
        '  "framework": "onnx",',
        '  "inputs": [',
        "    {",
        '      "name": "input",',
        '      "datatype": "FP32",',
        '      "shape": [',
        "        -1,",
        "        4",
        "      ]",
        "    }",
        "  ],",
        '  "outputs": [',
        "    {",
        '      "name": "probabilities",',
        '      "datatype": "FP32",',
        '      "shape": [',
        "        -1,",
        "        2",
        "      ]",
        "    }",
        "  ],",
        '  "createdAt": "2026-11-25T00:00:00.000Z"',
        "}",
        "",
      ].join("\n"),
    );
    const parsed = parseManifest(text);
    assert.equal(Object.hasOwn(parsed, "labels"), false);
    assert.equal(Object.hasOwn(parsed, "metrics"), false);
  });

  it("keeps labels and finite metrics, and parses JSON text the same as a value", () => {
    const withMetrics = { ...valid, metrics: { auc: 0.93, loss: -1.5e-3, rows: 0 } };
    const parsed = parseManifest(JSON.stringify(withMetrics));
    assert.deepEqual(parsed, withMetrics);
    assert.deepEqual(parseManifest(withMetrics), withMetrics);
  });

  it("accepts 0-sized and dynamic dimensions, and every OIP datatype", () => {
    for (const datatype of TENSOR_DATATYPES) {
      const inputs = [{ name: "x", datatype, shape: [-1, 0, 3] }];
      assert.deepEqual(parseManifest({ ...valid, inputs }).inputs, inputs);
    }
    assert.deepEqual(
      parseManifest({ ...valid, outputs: [{ name: "s", datatype: "FP32", shape: [] }] }).outputs,
      [{ name: "s", datatype: "FP32", shape: [] }],
    );
  });

  it("keeps the accelerator a model pays off on, and refuses any other value", () => {
    for (const accelerator of ["gpu", "cpu"]) {
      assert.deepEqual(parseManifest({ ...valid, accelerator }), { ...valid, accelerator });
    }
    assert.equal(Object.hasOwn(parseManifest(valid), "accelerator"), false);
    for (const [accelerator, shown] of [
      ["GPU", '"GPU"'],
      ["", '""'],
      [null, "null"],
      [1, "1"],
    ] as const) {
      throwsManifestError(
        () => parseManifest({ ...valid, accelerator }),
        `manifest field "accelerator" must be one of "gpu", "cpu", got ${shown}`,
      );
    }
  });

  it("keeps a golden set entry, and parses the same without one", () => {
    const golden = { file: "golden.jsonl", sha256: "b".repeat(64), cases: 1000 };
    assert.deepEqual(parseManifest({ ...valid, golden }), { ...valid, golden });
    assert.deepEqual(parseManifest({ ...valid, golden: { ...golden, cases: 1 } }).golden, {
      ...golden,
      cases: 1,
    });
    assert.equal(Object.hasOwn(parseManifest(valid), "golden"), false);
  });

  const goldenBad: Array<[string, unknown, string]> = [
    ["a list", [], 'manifest field "golden" must be an object, got []'],
    ["null", null, 'manifest field "golden" must be an object, got null'],
    ["a string", "golden.jsonl", 'manifest field "golden" must be an object, got "golden.jsonl"'],
    [
      "another file name",
      { file: "golden.json", sha256: "b".repeat(64), cases: 3 },
      'manifest field "golden.file" must be "golden.jsonl", got "golden.json"',
    ],
    [
      "a bad sha256",
      { file: "golden.jsonl", sha256: "B".repeat(64), cases: 3 },
      `manifest field "golden.sha256" must be 64 lowercase hex characters, got "${"B".repeat(64)}"`,
    ],
    [
      "a sha256 in an array",
      { file: "golden.jsonl", sha256: ["b".repeat(64)], cases: 3 },
      `manifest field "golden.sha256" must be 64 lowercase hex characters, got ["${"b".repeat(64)}"]`,
    ],
    ...[0, 1001, 2.5, "3", undefined].map((cases): [string, unknown, string] => [
      `cases ${String(cases)}`,
      { file: "golden.jsonl", sha256: "b".repeat(64), cases },
      `manifest field "golden.cases" must be an integer from 1 to 1000, got ${cases === undefined ? "undefined" : JSON.stringify(cases)}`,
    ]),
  ];
  for (const [what, golden, message] of goldenBad) {
    it(`rejects a golden entry with ${what}`, () =>
      throwsManifestError(() => parseManifest({ ...valid, golden }), message));
  }

  it("builds the registry key prefix from name and version", () => {
    assert.equal(versionPrefix("churn", "1.2.3"), "models/churn/1.2.3/");
    assert.equal(versionPrefix("a", "0.0.0-rc.1"), "models/a/0.0.0-rc.1/");
  });

  it("names the two files of a version as the bucket layout documents them", () => {
    const prefix = versionPrefix("churn", "1.2.3");
    assert.equal(`${prefix}${MODEL_FILE}`, "models/churn/1.2.3/model.onnx");
    assert.equal(`${prefix}${MANIFEST_FILE}`, "models/churn/1.2.3/manifest.json");
  });

  it("refuses a bad name or version in the key prefix", () => {
    throwsManifestError(() => versionPrefix("../x", "1.0.0"), `model name "../x" is invalid: ${NAME_RULE}`);
    throwsManifestError(
      () => versionPrefix("x", "latest"),
      `model version "latest" is invalid: ${VERSION_RULE}`,
    );
  });

  describe("model names", () => {
    for (const name of ["churn", "0", "a.b_c-d", "x".repeat(63)]) {
      it(`accepts ${JSON.stringify(name.length > 10 ? `${name.length} characters` : name)}`, () => {
        assert.equal(validateModelName(name), name);
      });
    }
    for (const name of [
      "",
      "Churn",
      "-churn",
      ".churn",
      "_churn",
      "churn/1",
      "ch urn",
      "x".repeat(64),
      "churn\n",
    ]) {
      it(`refuses ${JSON.stringify(name.length > 10 ? `${name.length} characters` : name)}`, () => {
        throwsManifestError(
          () => validateModelName(name),
          `model name ${JSON.stringify(name)} is invalid: ${NAME_RULE}`,
        );
      });
    }
  });

  describe("model versions", () => {
    for (const version of [
      "0.0.0",
      "1.2.3",
      "10.20.30",
      "1.0.0-rc.1",
      "1.0.0-alpha-2.x",
      "1.0.0+build",
      "1.0.0-rc.1+build.5",
    ]) {
      it(`accepts ${version}`, () => assert.equal(validateModelVersion(version), version));
    }
    for (const version of [
      "",
      "1",
      "1.0",
      "v1.0.0",
      "1.0.0.0",
      "01.0.0",
      "1.00.0",
      "1.0.00",
      "1.0.0-",
      "1.0.0+",
      "1.0.0+build/5",
      "1.0.0-rc/1",
      "x1.0.0",
      "1.0.0\n",
      "1.0.0 ",
    ]) {
      it(`refuses ${JSON.stringify(version)}`, () => {
        throwsManifestError(
          () => validateModelVersion(version),
          `model version ${JSON.stringify(version)} is invalid: ${VERSION_RULE}`,
        );
      });
    }
  });

  const bad: Array<[string, Record<string, unknown>, string]> = [
    ["a missing name", { name: undefined }, 'manifest field "name" must be a string, got undefined'],
    ["a numeric name", { name: 7 }, 'manifest field "name" must be a string, got 7'],
    ["an invalid name", { name: "Churn" }, `model name "Churn" is invalid: ${NAME_RULE}`],
    ["a numeric version", { version: 1 }, 'manifest field "version" must be a string, got 1'],
    ["a non-semver version", { version: "v1" }, `model version "v1" is invalid: ${VERSION_RULE}`],
    [
      "a missing sha256",
      { sha256: undefined },
      'manifest field "sha256" must be 64 lowercase hex characters, got undefined',
    ],
    [
      "a short sha256",
      { sha256: "xyz" },
      'manifest field "sha256" must be 64 lowercase hex characters, got "xyz"',
    ],
    [
      "a 65-character sha256",
      { sha256: "a".repeat(65) },
      `manifest field "sha256" must be 64 lowercase hex characters, got "${"a".repeat(65)}"`,
    ],
    [
      "a sha256 with a prefix",
      { sha256: `sha256:${"a".repeat(64)}` },
      `manifest field "sha256" must be 64 lowercase hex characters, got "sha256:${"a".repeat(64)}"`,
    ],
    [
      "an uppercase sha256",
      { sha256: "A".repeat(64) },
      `manifest field "sha256" must be 64 lowercase hex characters, got "${"A".repeat(64)}"`,
    ],
    [
      "another framework",
      { framework: "pytorch" },
      'manifest field "framework" must be "onnx", got "pytorch"',
    ],
    [
      "a missing framework",
      { framework: undefined },
      'manifest field "framework" must be "onnx", got undefined',
    ],
    [
      "an invalid createdAt",
      { createdAt: "yesterday" },
      'manifest field "createdAt" must be an ISO-8601 time, got "yesterday"',
    ],
    [
      "a numeric createdAt",
      { createdAt: 1764028800000 },
      'manifest field "createdAt" must be an ISO-8601 time, got 1764028800000',
    ],
    // Date.parse would read the number 2026 as the year 2026: only strings are times here.
    [
      "a numeric createdAt that looks like a year",
      { createdAt: 2026 },
      'manifest field "createdAt" must be an ISO-8601 time, got 2026',
    ],
    [
      "a sha256 wrapped in an array",
      { sha256: ["a".repeat(64)] },
      `manifest field "sha256" must be 64 lowercase hex characters, got ["${"a".repeat(64)}"]`,
    ],
    [
      "a missing createdAt",
      { createdAt: undefined },
      'manifest field "createdAt" must be an ISO-8601 time, got undefined',
    ],
    [
      "missing inputs",
      { inputs: undefined },
      'manifest field "inputs" must be a non-empty array of tensors, got undefined',
    ],
    [
      "an empty inputs array",
      { inputs: [] },
      'manifest field "inputs" must be a non-empty array of tensors, got []',
    ],
    [
      "an empty outputs array",
      { outputs: [] },
      'manifest field "outputs" must be a non-empty array of tensors, got []',
    ],
    [
      "an inputs object",
      { inputs: { x: {} } },
      'manifest field "inputs" must be a non-empty array of tensors, got {"x":{}}',
    ],
    ["a null tensor", { inputs: [null] }, 'manifest field "inputs[0]" must be an object, got null'],
    [
      "a string tensor",
      { outputs: [{ name: "y", datatype: "FP32", shape: [1] }, "z"] },
      'manifest field "outputs[1]" must be an object, got "z"',
    ],
    [
      "an empty tensor name",
      { inputs: [{ name: "", datatype: "FP32", shape: [1] }] },
      'manifest field "inputs[0].name" must be a non-empty string, got ""',
    ],
    [
      "a numeric tensor name",
      { outputs: [{ name: 0, datatype: "FP32", shape: [1] }] },
      'manifest field "outputs[0].name" must be a non-empty string, got 0',
    ],
    [
      "an unknown datatype",
      { inputs: [{ name: "x", datatype: "FLOAT", shape: [1] }] },
      `manifest field "inputs[0].datatype" must be one of ${DATATYPES}, got "FLOAT"`,
    ],
    [
      "a lowercase datatype",
      { inputs: [{ name: "x", datatype: "fp32", shape: [1] }] },
      `manifest field "inputs[0].datatype" must be one of ${DATATYPES}, got "fp32"`,
    ],
    [
      "a missing datatype",
      { inputs: [{ name: "x", shape: [1] }] },
      `manifest field "inputs[0].datatype" must be one of ${DATATYPES}, got undefined`,
    ],
    [
      "a dimension below -1",
      { outputs: [{ name: "y", datatype: "FP32", shape: [-2] }] },
      'manifest field "outputs[0].shape" must be an array of non-negative integers or -1, got [-2]',
    ],
    [
      "a fractional dimension",
      { outputs: [{ name: "y", datatype: "FP32", shape: [-1, 1.5] }] },
      'manifest field "outputs[0].shape" must be an array of non-negative integers or -1, got [-1,1.5]',
    ],
    [
      "a string dimension",
      { inputs: [{ name: "x", datatype: "FP32", shape: ["batch", 4] }] },
      'manifest field "inputs[0].shape" must be an array of non-negative integers or -1, got ["batch",4]',
    ],
    [
      "a missing shape",
      { inputs: [{ name: "x", datatype: "FP32" }] },
      'manifest field "inputs[0].shape" must be an array of non-negative integers or -1, got undefined',
    ],
    [
      "labels that are not an array",
      { labels: "0,1" },
      'manifest field "labels" must be an array of strings, got "0,1"',
    ],
    [
      "non-string labels",
      { labels: ["0", 1] },
      'manifest field "labels" must be an array of strings, got ["0",1]',
    ],
    ["null labels", { labels: null }, 'manifest field "labels" must be an array of strings, got null'],
    [
      "a non-numeric metric",
      { metrics: { auc: "high" } },
      'manifest field "metrics.auc" must be a finite number, got "high"',
    ],
    [
      "a NaN metric",
      { metrics: { auc: 0.9, loss: Number.NaN } },
      'manifest field "metrics.loss" must be a finite number, got NaN',
    ],
    [
      "an infinite metric",
      { metrics: { auc: Infinity } },
      'manifest field "metrics.auc" must be a finite number, got Infinity',
    ],
    ["metrics as an array", { metrics: [0.9] }, 'manifest field "metrics" must be an object, got [0.9]'],
    ["null metrics", { metrics: null }, 'manifest field "metrics" must be an object, got null'],
    ["a numeric metrics", { metrics: 0.9 }, 'manifest field "metrics" must be an object, got 0.9'],
  ];
  for (const [what, patch, message] of bad) {
    it(`rejects ${what} with a message naming the field`, () => {
      throwsManifestError(() => parseManifest({ ...valid, ...patch }), message);
    });
  }

  for (const [root, shown] of [
    ["[]", "[]"],
    ["null", "null"],
    ['"churn"', '"churn"'],
    ["42", "42"],
  ]) {
    it(`rejects a root ${shown} that is not an object`, () => {
      throwsManifestError(
        () => parseManifest(root),
        `manifest field "(root)" must be an object, got ${shown}`,
      );
    });
  }

  it("rejects a root value that is not an object", () => {
    throwsManifestError(
      () => parseManifest([valid]),
      `manifest field "(root)" must be an object, got ${JSON.stringify([valid])}`,
    );
    throwsManifestError(
      () => parseManifest(undefined),
      'manifest field "(root)" must be an object, got undefined',
    );
  });

  it("rejects text that is not JSON, with the parser's reason", () => {
    let reason = "";
    try {
      JSON.parse("{");
    } catch (err) {
      reason = (err as Error).message;
    }
    throwsManifestError(() => parseManifest("{"), `manifest is not valid JSON: ${reason}`);
  });
});
