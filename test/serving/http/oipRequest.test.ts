import assert from "node:assert/strict";
import { BadRequestError } from "../../../serving/src/errors";
import { parseInferRequest } from "../../../serving/src/http/oip/request";
import type { ModelManifest, TensorSpec } from "../../../serving/src/model/manifest";

/** The request parser on its own: a pure function of the body, the manifest and batchability. */
function manifest(
  inputs: TensorSpec[],
  outputs: TensorSpec[] = [{ name: "y", datatype: "FP32", shape: [-1] }],
) {
  const m: ModelManifest = {
    name: "m",
    version: "1.0.0",
    sha256: "0".repeat(64),
    framework: "onnx",
    inputs,
    outputs,
    createdAt: "2026-11-25T00:00:00.000Z",
  };
  return m;
}

/** A batchable model with two inputs, a: [-1, 2] and b: [-1]. */
const TWO = manifest(
  [
    { name: "a", datatype: "FP32", shape: [-1, 2] },
    { name: "b", datatype: "INT32", shape: [-1] },
  ],
  [
    { name: "y", datatype: "FP32", shape: [-1] },
    { name: "z", datatype: "FP32", shape: [-1] },
  ],
);

const a = (rows: number) => ({
  name: "a",
  datatype: "FP32",
  shape: [rows, 2],
  data: Array.from({ length: rows * 2 }, (_, i) => i),
});
const b = (rows: number) => ({ name: "b", datatype: "INT32", shape: [rows], data: new Array(rows).fill(7) });

function rejects(body: unknown, m: ModelManifest, batchable: boolean, message: string): void {
  assert.throws(
    () => parseInferRequest(body, m, batchable),
    (err: unknown) => {
      assert.ok(err instanceof BadRequestError, `expected a BadRequestError, got ${String(err)}`);
      assert.equal(err.status, 400);
      assert.equal(err.message, message);
      return true;
    },
  );
}

describe("OIP inference request parsing", () => {
  it("returns typed feeds keyed by input name, without id or outputs when none were sent, all JSON", () => {
    const req = parseInferRequest({ inputs: [b(2), a(2)] }, TWO, true);
    assert.deepEqual(Object.keys(req), ["feeds", "binaryOutputs"]);
    assert.deepEqual(req.binaryOutputs, new Set());
    assert.deepEqual(Object.keys(req.feeds).sort(), ["a", "b"]);
    assert.deepEqual(req.feeds.a, { datatype: "FP32", shape: [2, 2], data: Float32Array.from([0, 1, 2, 3]) });
    assert.deepEqual(req.feeds.b, { datatype: "INT32", shape: [2], data: Int32Array.from([7, 7]) });
  });

  it("echoes the id and keeps the requested outputs in request order", () => {
    const req = parseInferRequest(
      {
        id: "r-1",
        inputs: [a(1), b(1)],
        outputs: [{ name: "z" }, { name: "y", parameters: { binary_data: false } }],
      },
      TWO,
      true,
    );
    assert.equal(req.id, "r-1");
    assert.deepEqual(req.outputs, ["z", "y"]);
  });

  it("an empty id is still an id", () => {
    assert.equal(parseInferRequest({ id: "", inputs: [a(1), b(1)] }, TWO, true).id, "");
  });

  it("a batchable model needs the same batch size in every input, named by index", () => {
    rejects(
      { inputs: [a(1), b(3)] },
      TWO,
      true,
      "inputs[1].shape[0] is 3 but inputs[0].shape[0] is 1: every input needs the same batch size",
    );
    rejects(
      { inputs: [b(2), a(1)] },
      TWO,
      true,
      "inputs[1].shape[0] is 1 but inputs[0].shape[0] is 2: every input needs the same batch size",
    );
  });

  it("a model without a batch dimension takes inputs whose dimension 0 differs", () => {
    const fixed = manifest([
      { name: "a", datatype: "FP32", shape: [2, 2] },
      { name: "b", datatype: "INT32", shape: [3] },
    ]);
    const req = parseInferRequest({ inputs: [a(2), b(3)] }, fixed, false);
    assert.deepEqual(req.feeds.a.shape, [2, 2]);
    assert.deepEqual(req.feeds.b, { datatype: "INT32", shape: [3], data: Int32Array.from([7, 7, 7]) });
  });

  it("input names are data: 'constructor' and '__proto__' are ordinary inputs", () => {
    const odd = manifest([
      { name: "constructor", datatype: "FP32", shape: [-1] },
      { name: "__proto__", datatype: "FP32", shape: [-1] },
    ]);
    const req = parseInferRequest(
      {
        inputs: [
          { name: "constructor", datatype: "FP32", shape: [1], data: [1] },
          { name: "__proto__", datatype: "FP32", shape: [1], data: [2] },
        ],
      },
      odd,
      true,
    );
    assert.deepEqual(Object.keys(req.feeds), ["constructor", "__proto__"]);
    assert.deepEqual(Array.from(req.feeds.__proto__.data as Float32Array), [2]);
    rejects(
      { inputs: [{ name: "constructor", datatype: "FP32", shape: [1], data: [1] }] },
      odd,
      true,
      'inputs is missing "__proto__" (model "m" needs "constructor", "__proto__")',
    );
  });

  it("names every missing input and every input the model needs", () => {
    const three = manifest([
      { name: "p", datatype: "FP32", shape: [-1] },
      { name: "q", datatype: "FP32", shape: [-1] },
      { name: "r", datatype: "FP32", shape: [-1] },
    ]);
    rejects(
      { inputs: [{ name: "q", datatype: "FP32", shape: [1], data: [1] }] },
      three,
      true,
      'inputs is missing "p", "r" (model "m" needs "p", "q", "r")',
    );
  });

  it("a scalar input takes one element, flat", () => {
    const scalar = manifest([{ name: "s", datatype: "FP64", shape: [] }]);
    const req = parseInferRequest(
      { inputs: [{ name: "s", datatype: "FP64", shape: [], data: [2.5] }] },
      scalar,
      false,
    );
    assert.deepEqual(req.feeds.s, { datatype: "FP64", shape: [], data: Float64Array.from([2.5]) });
    rejects(
      { inputs: [{ name: "s", datatype: "FP64", shape: [], data: [1, 2] }] },
      scalar,
      false,
      "inputs[0].data has 2 elements but shape [] needs 1",
    );
  });

  it("a fixed dimension 0 of size 0 is what the model declares, not an empty batch", () => {
    const empty = manifest([{ name: "e", datatype: "FP32", shape: [0, 2] }]);
    const req = parseInferRequest(
      { inputs: [{ name: "e", datatype: "FP32", shape: [0, 2], data: [] }] },
      empty,
      false,
    );
    assert.deepEqual(req.feeds.e, { datatype: "FP32", shape: [0, 2], data: new Float32Array(0) });
  });

  it("accepts nested row-major data as deep as the tensor's rank", () => {
    const req = parseInferRequest(
      {
        inputs: [
          {
            ...a(2),
            data: [
              [0, 1],
              [2, 3],
            ],
          },
          b(2),
        ],
      },
      TWO,
      true,
    );
    assert.deepEqual(Array.from(req.feeds.a.data as Float32Array), [0, 1, 2, 3]);
  });

  const bad: [string, unknown, string][] = [
    ["a null body", null, 'request body must be a JSON object with an "inputs" array, got null'],
    ["inputs as an object", { inputs: { a: 1 } }, 'inputs must be a non-empty array of tensors, got {"a":1}'],
    ["a non-string input name", { inputs: [{ ...a(1), name: 5 }] }, "inputs[0].name must be a string, got 5"],
    [
      "a null input",
      { inputs: [a(1), null] },
      "inputs[1] must be an object with name, shape, datatype and data, got null",
    ],
    [
      "an unknown input of a two-input model",
      { inputs: [{ ...a(1), name: "c" }] },
      'inputs[0].name "c" is not an input of model "m"; expected "a", "b"',
    ],
    [
      "a shape that is not an array",
      { inputs: [{ ...a(1), shape: "1,2" }] },
      'inputs[0].shape must be an array of non-negative integers, got "1,2"',
    ],
    [
      "an unsafe integer dimension",
      { inputs: [{ ...a(1), shape: [2 ** 53, 2] }] },
      "inputs[0].shape must be an array of non-negative integers, got [9007199254740992,2]",
    ],
    [
      "a shape with too many elements",
      { inputs: [{ ...a(1), shape: [2 ** 30, 2] }] },
      "inputs[0].shape [1073741824,2] has too many elements",
    ],
    [
      "bad input parameters",
      { inputs: [{ ...a(1), parameters: "x" }] },
      'inputs[0].parameters must be an object of string, number or boolean values, got "x"',
    ],
    [
      "outputs that are not an array",
      { inputs: [a(1), b(1)], outputs: { name: "y" } },
      'outputs must be a non-empty array of {name} objects (omit it for all outputs), got {"name":"y"}',
    ],
    [
      "an output that is not an object",
      { inputs: [a(1), b(1)], outputs: ["y"] },
      'outputs[0] must be an object with a name, got "y"',
    ],
    [
      "bad output parameters",
      { inputs: [a(1), b(1)], outputs: [{ name: "y", parameters: [] }] },
      "outputs[0].parameters must be an object of string, number or boolean values, got []",
    ],
  ];
  for (const [what, body, message] of bad) {
    it(`refuses ${what}`, () => rejects(body, TWO, true, message));
  }

  it("refuses an element count above 2^31 - 1 before reading the data", () => {
    const big = manifest([{ name: "x", datatype: "UINT8", shape: [-1] }]);
    rejects(
      { inputs: [{ name: "x", datatype: "UINT8", shape: [2 ** 31], data: [] }] },
      big,
      true,
      "inputs[0].shape [2147483648] has too many elements",
    );
    rejects(
      { inputs: [{ name: "x", datatype: "UINT8", shape: [2 ** 31 - 1], data: [] }] },
      big,
      true,
      "inputs[0].data has 0 elements but shape [2147483647] needs 2147483647",
    );
  });
});
