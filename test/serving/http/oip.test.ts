import assert from "node:assert/strict";
import { ALL_DATATYPES, datatypeModel, fixedShapeModel } from "../../../serving/tools/models";
import { assertClose, postJson, softmax2, startTestServer, type TestServer } from "../helpers";

describe("Open Inference Protocol v2", () => {
  let clf: TestServer;
  let dt: TestServer;
  before(async () => {
    [clf, dt] = await Promise.all([
      startTestServer({ name: "clf", version: "1.2.0" }),
      startTestServer({ name: "dt", version: "0.1.0", model: datatypeModel(2) }),
    ]);
  });
  after(() => Promise.all([clf.close(), dt.close()]));

  it("GET /v2 describes the server", async () => {
    const res = await clf.app.inject({ method: "GET", url: "/v2" });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), {
      name: "onnx-eks-serving",
      version: "0.1.0",
      extensions: ["binary_tensor_data"],
    });
  });

  it("health endpoints answer live and ready", async () => {
    assert.deepEqual((await clf.app.inject({ url: "/v2/health/live" })).json(), { live: true });
    const ready = await clf.app.inject({ url: "/v2/health/ready" });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json(), { ready: true });
  });

  for (const url of ["/v2/models/clf", "/v2/models/clf/versions/1.2.0"]) {
    it(`GET ${url} returns model metadata`, async () => {
      const res = await clf.app.inject({ url });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), {
        name: "clf",
        versions: ["1.2.0"],
        platform: "onnxruntime_onnx",
        inputs: [{ name: "input", datatype: "FP32", shape: [-1, 2] }],
        outputs: [
          { name: "label", datatype: "INT64", shape: [-1] },
          { name: "probabilities", datatype: "FP32", shape: [-1, 2] },
        ],
      });
    });
  }

  for (const url of ["/v2/models/clf/ready", "/v2/models/clf/versions/1.2.0/ready"]) {
    it(`GET ${url} says ready`, async () => {
      const res = await clf.app.inject({ url });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { name: "clf", ready: true });
    });
  }

  const notFound: Array<[string, string, string]> = [
    ["GET", "/v2/models/other", 'unknown model "other": this server serves "clf"'],
    [
      "GET",
      "/v2/models/clf/versions/9.9.9",
      'unknown version "9.9.9" of model "clf": this server serves version "1.2.0"',
    ],
    ["GET", "/v2/models/other/ready", 'unknown model "other": this server serves "clf"'],
    [
      "GET",
      "/v2/models/clf/versions/1.0.0/ready",
      'unknown version "1.0.0" of model "clf": this server serves version "1.2.0"',
    ],
    ["POST", "/v2/models/other/infer", 'unknown model "other": this server serves "clf"'],
    [
      "POST",
      "/v2/models/clf/versions/2.0.0/infer",
      'unknown version "2.0.0" of model "clf": this server serves version "1.2.0"',
    ],
  ];
  for (const [method, url, error] of notFound) {
    it(`${method} ${url} -> 404`, async () => {
      const res = await clf.app.inject({
        method: method as "GET" | "POST",
        url,
        ...(method === "POST" ? { headers: { "content-type": "application/json" }, payload: "{}" } : {}),
      });
      assert.equal(res.statusCode, 404);
      assert.deepEqual(res.json(), { error });
    });
  }

  it("infers with nested data, echoes the id, returns flattened outputs", async () => {
    const res = await postJson(clf.app, "/v2/models/clf/versions/1.2.0/infer", {
      id: "req-42",
      parameters: { priority: 1, note: "x", trace: true },
      inputs: [
        {
          name: "input",
          shape: [2, 2],
          datatype: "FP32",
          data: [
            [1, 3],
            [2, -2],
          ],
        },
      ],
    });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body), ["model_name", "model_version", "id", "outputs"]);
    assert.equal(res.body.model_name, "clf");
    assert.equal(res.body.model_version, "1.2.0");
    assert.equal(res.body.id, "req-42");
    const [label, probabilities] = res.body.outputs as Array<{
      name: string;
      datatype: string;
      shape: number[];
      data: number[];
    }>;
    assert.deepEqual(label, { name: "label", datatype: "INT64", shape: [2], data: [1, 0] });
    assert.deepEqual(
      { name: probabilities.name, datatype: probabilities.datatype, shape: probabilities.shape },
      { name: "probabilities", datatype: "FP32", shape: [2, 2] },
    );
    assertClose(probabilities.data, [...softmax2(1, 3), ...softmax2(2, -2)]);
  });

  it("returns only the requested outputs, in the requested order", async () => {
    const res = await postJson(clf.app, "/v2/models/clf/infer", {
      inputs: [{ name: "input", shape: [1, 2], datatype: "FP32", data: [4, 4] }],
      outputs: [{ name: "probabilities" }],
    });
    assert.equal(res.status, 200);
    assert.equal("id" in res.body, false, "no id in the response when the request had none");
    assert.deepEqual(res.body.outputs, [
      { name: "probabilities", datatype: "FP32", shape: [1, 2], data: [0.5, 0.5] },
    ]);
  });

  it("round-trips every datatype exactly (Identity, Add, Cast)", async () => {
    const inputs = [
      { name: "x_bool", datatype: "BOOL", data: [true, false, false, true] },
      { name: "x_uint8", datatype: "UINT8", data: [0, 255, 7, 8] },
      { name: "x_uint16", datatype: "UINT16", data: [0, 65535, 1, 2] },
      { name: "x_uint32", datatype: "UINT32", data: [0, 4294967295, 1, 2] },
      { name: "x_uint64", datatype: "UINT64", data: [0, "18446744073709551615", 9007199254740991, 2] },
      { name: "x_int8", datatype: "INT8", data: [-128, 127, 0, -1] },
      { name: "x_int16", datatype: "INT16", data: [-32768, 32767, 0, -1] },
      { name: "x_int32", datatype: "INT32", data: [-5, 2147483646, 0, 7] },
      {
        name: "x_int64",
        datatype: "INT64",
        data: ["-9223372036854775808", "9223372036854775806", -9007199254740991, 3],
      },
      { name: "x_fp16", datatype: "FP16", data: [0.1, -2, 65504, 0.5] },
      { name: "x_fp32", datatype: "FP32", data: [0.1, -2.5, 3.4028234663852886e38, 0] },
      { name: "x_fp64", datatype: "FP64", data: [0.1, -1e300, 5e-324, 0] },
      { name: "x_bytes", datatype: "BYTES", data: ["héllo", "", 'a"b', "😀"] },
    ].map((t) => ({ ...t, shape: [2, 2] }));
    const res = await dt.app.inject({
      method: "POST",
      url: "/v2/models/dt/infer",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({ inputs }),
    });
    assert.equal(res.statusCode, 200);
    // 64-bit integers beyond 2^53 keep every digit in the JSON text.
    assert.ok(res.payload.includes('"data":[0,18446744073709551615,9007199254740991,2]'), res.payload);
    assert.ok(res.payload.includes('"data":[-9223372036854775808,9223372036854775806,-9007199254740991,3]'));
    assert.ok(res.payload.includes('"data":[-9223372036854775807,9223372036854775807,-9007199254740990,4]'));
    const outputs = Object.fromEntries(
      (res.json().outputs as Array<{ name: string; datatype: string; shape: number[]; data: unknown[] }>).map(
        (o) => [o.name, o],
      ),
    );
    const expectOut = (name: string, datatype: string, data: unknown[]) =>
      assert.deepEqual(outputs[name], { name, datatype, shape: [2, 2], data }, name);
    expectOut("y_bool", "BOOL", [true, false, false, true]);
    expectOut("y_uint8", "UINT8", [0, 255, 7, 8]);
    expectOut("y_uint16", "UINT16", [0, 65535, 1, 2]);
    expectOut("y_uint32", "UINT32", [0, 4294967295, 1, 2]);
    expectOut("y_int8", "INT8", [-128, 127, 0, -1]);
    expectOut("y_int16", "INT16", [-32768, 32767, 0, -1]);
    expectOut("y_int32", "INT32", [-5, 2147483646, 0, 7]);
    expectOut("y_fp16", "FP16", [0.0999755859375, -2, 65504, 0.5]); // 0.1 rounds to the nearest half
    expectOut("y_fp32", "FP32", [Math.fround(0.1), -2.5, 3.4028234663852886e38, 0]);
    expectOut("y_fp64", "FP64", [0.1, -1e300, 5e-324, 0]);
    expectOut("y_bytes", "BYTES", ["héllo", "", 'a"b', "😀"]);
    expectOut("plus_one_fp32", "FP32", [Math.fround(Math.fround(0.1) + 1), -1.5, 3.4028234663852886e38, 1]);
    expectOut("plus_one_fp64", "FP64", [1.1, -1e300, 1, 1]);
    expectOut("plus_one_int32", "INT32", [-4, 2147483647, 1, 8]);
    expectOut("uint8_as_fp64", "FP64", [0, 255, 7, 8]);
  });

  it("serves a model without a batch dimension with its fixed shape", async () => {
    const fixed = await startTestServer({ name: "fixed", model: fixedShapeModel(2, 3) });
    try {
      assert.equal(fixed.service.model?.batchable, false);
      const res = await postJson(fixed.app, "/v2/models/fixed/infer", {
        inputs: [{ name: "x", shape: [2, 3], datatype: "FP32", data: [1, 2, 3, 4, 5, 6.5] }],
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.body.outputs, [
        { name: "y", datatype: "FP32", shape: [2, 3], data: [2, 4, 6, 8, 10, 13] },
      ]);
      const bad = await postJson(fixed.app, "/v2/models/fixed/infer", {
        inputs: [{ name: "x", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }],
      });
      assert.equal(bad.status, 400);
      assert.deepEqual(bad.body, { error: 'inputs[0].shape[0] must be 2 for input "x" ([2,3]), got 1' });
    } finally {
      await fixed.close();
    }
  });

  describe("rejects bad requests with a 400 naming the field", () => {
    const x = (extra: object = {}) => ({
      name: "input",
      shape: [1, 2],
      datatype: "FP32",
      data: [1, 2],
      ...extra,
    });
    const table: Array<[string, unknown, string]> = [
      ["a non-object body", [1], 'request body must be a JSON object with an "inputs" array, got [1]'],
      ["missing inputs", {}, "inputs must be a non-empty array of tensors, got nothing"],
      ["empty inputs", { inputs: [] }, "inputs must be a non-empty array of tensors, got []"],
      ["a non-string id", { id: 5, inputs: [x()] }, "id must be a string, got 5"],
      [
        "bad parameters",
        { parameters: { a: [1] }, inputs: [x()] },
        "parameters.a must be a string, number or boolean, got [1]",
      ],
      [
        "an input that is not an object",
        { inputs: ["input"] },
        'inputs[0] must be an object with name, shape, datatype and data, got "input"',
      ],
      [
        "an unknown input",
        { inputs: [x({ name: "features" })] },
        'inputs[0].name "features" is not an input of model "clf"; expected "input"',
      ],
      ["a duplicated input", { inputs: [x(), x()] }, 'inputs[1].name "input" is given more than once'],
      [
        "a wrong datatype",
        { inputs: [x({ datatype: "FP64" })] },
        'inputs[0].datatype must be "FP32" for input "input", got "FP64"',
      ],
      [
        "an unknown datatype",
        { inputs: [x({ datatype: "FLOAT" })] },
        'inputs[0].datatype must be "FP32" for input "input", got "FLOAT"',
      ],
      [
        "a negative dimension",
        { inputs: [x({ shape: [-1, 2] })] },
        "inputs[0].shape must be an array of non-negative integers, got [-1,2]",
      ],
      [
        "a fractional dimension",
        { inputs: [x({ shape: [1.5, 2] })] },
        "inputs[0].shape must be an array of non-negative integers, got [1.5,2]",
      ],
      [
        "a wrong rank",
        { inputs: [x({ shape: [2] })] },
        'inputs[0].shape [2] has 1 dimensions; input "input" has 2 ([-1,2], -1 = any size)',
      ],
      [
        "a wrong fixed dimension",
        { inputs: [x({ shape: [1, 3], data: [1, 2, 3] })] },
        'inputs[0].shape[1] must be 2 for input "input" ([-1,2]), got 3',
      ],
      [
        "an empty batch",
        { inputs: [x({ shape: [0, 2], data: [] })] },
        "inputs[0].shape[0] must be at least 1 (an empty batch has nothing to infer)",
      ],
      [
        "too few elements",
        { inputs: [x({ shape: [2, 2] })] },
        "inputs[0].data has 2 elements but shape [2,2] needs 4",
      ],
      [
        "missing data",
        { inputs: [x({ data: undefined })] },
        "inputs[0].data must be an array of 2 elements, got nothing",
      ],
      [
        "data that is not an array",
        { inputs: [x({ data: "1,2" })] },
        'inputs[0].data must be an array (flat or nested row-major), got "1,2"',
      ],
      [
        "data nested too deep",
        { inputs: [x({ data: [[[1, 2]]] })] },
        "inputs[0].data is nested deeper than the tensor's 2 dimensions",
      ],
      [
        "ragged rows whose total matches the shape",
        { inputs: [x({ shape: [2, 2], data: [[0.5], [0.2, 1, 2]] })] },
        "inputs[0].data[0] has 1 elements but shape [2,2] needs 2",
      ],
      [
        "mixed nesting whose total matches the shape",
        { inputs: [x({ data: [0.5, [0.3]] })] },
        "inputs[0].data[1] is an array where inputs[0].data[0] is not: nested data must follow shape [1,2] evenly",
      ],
      [
        "empty rows around a full one",
        { inputs: [x({ data: [[], [1, 2], []] })] },
        "inputs[0].data has 3 elements but shape [1,2] needs 1",
      ],
      [
        "a row that is not an array among rows",
        { inputs: [x({ shape: [2, 2], data: [[1, 2], 3, 4] })] },
        "inputs[0].data[1] must be an array of 2 elements like inputs[0].data[0] (shape [2,2]), got 3",
      ],
      [
        "a bad element",
        { inputs: [x({ data: [1, "NaN"] })] },
        'inputs[0].data[1] must be a finite number within FP32 range (|x| <= 3.4028234663852886e38), got "NaN"',
      ],
      [
        "binary_data_size in a JSON-only body",
        { inputs: [x({ parameters: { binary_data_size: 8 } })] },
        'inputs[0].parameters.binary_data_size is set for input "input" but the request carries no binary ' +
          "data: send the JSON header then the tensor bytes, with an Inference-Header-Content-Length header",
      ],
      [
        "an unknown output",
        { inputs: [x()], outputs: [{ name: "logits" }] },
        'outputs[0].name "logits" is not an output of model "clf"; expected "label", "probabilities"',
      ],
      [
        "a duplicated output",
        { inputs: [x()], outputs: [{ name: "label" }, { name: "label" }] },
        'outputs[1].name "label" is requested more than once',
      ],
      [
        "empty outputs",
        { inputs: [x()], outputs: [] },
        "outputs must be a non-empty array of {name} objects (omit it for all outputs), got []",
      ],
      [
        "an output without a name",
        { inputs: [x()], outputs: [{}] },
        "outputs[0].name must be a string, got nothing",
      ],
      [
        "binary_data that is not a boolean",
        { inputs: [x()], outputs: [{ name: "label", parameters: { binary_data: 1 } }] },
        "outputs[0].parameters.binary_data must be true or false, got 1",
      ],
      [
        "binary_data_output that is not a boolean",
        { inputs: [x()], parameters: { binary_data_output: "yes" } },
        'parameters.binary_data_output must be true or false, got "yes"',
      ],
    ];
    for (const [what, body, error] of table) {
      it(what, async () => {
        const res = await postJson(clf.app, "/v2/models/clf/infer", body);
        assert.equal(res.status, 400);
        assert.deepEqual(res.body, { error });
      });
    }

    it("hostile nesting (too deep for JSON.stringify) is a 400, not a 500", async () => {
      const deep = "[".repeat(200_000) + "]".repeat(200_000);
      for (const [payload, error] of [
        [deep, 'request body must be a JSON object with an "inputs" array, got a deeply nested array'],
        [
          `{"inputs":${deep}}`,
          "inputs[0] must be an object with name, shape, datatype and data, got a deeply nested array",
        ],
        [
          `{"inputs":[{"name":"input","datatype":"FP32","shape":[1,2],"data":${deep}}]}`,
          "inputs[0].data is nested deeper than the tensor's 2 dimensions",
        ],
      ]) {
        const res = await postJson(clf.app, "/v2/models/clf/infer", payload);
        assert.equal(res.status, 400);
        assert.deepEqual(res.body, { error });
      }
    });

    it("a missing input of a multi-input model", async () => {
      const res = await postJson(dt.app, "/v2/models/dt/infer", {
        inputs: [{ name: "x_fp32", shape: [1, 2], datatype: "FP32", data: [1, 2] }],
      });
      assert.equal(res.status, 400);
      assert.match(
        String(res.body.error),
        /^inputs is missing "x_bool", "x_uint8", .*"x_bytes" \(model "dt" needs "x_bool", /,
      );
    });

    it("inputs with different batch sizes", async () => {
      const inputs = ALL_DATATYPES.map((datatype, i) => ({
        name: `x_${datatype.toLowerCase()}`,
        datatype,
        shape: [i === 3 ? 2 : 1, 2],
        data: new Array(i === 3 ? 4 : 2).fill(datatype === "BOOL" ? true : datatype === "BYTES" ? "s" : 1),
      }));
      const res = await postJson(dt.app, "/v2/models/dt/infer", { inputs });
      assert.equal(res.status, 400);
      assert.deepEqual(res.body, {
        error: "inputs[3].shape[0] is 2 but inputs[0].shape[0] is 1: every input needs the same batch size",
      });
    });

    const elementErrors: Array<[string, unknown, string]> = [
      ["INT8", 300, "an integer from -128 to 127, got 300"],
      ["UINT8", -1, "an integer from 0 to 255, got -1"],
      ["BOOL", 1, "true or false, got 1"],
      ["BYTES", 5, "a string, got 5"],
      [
        "INT64",
        2 ** 53, // a JSON client sending 2^53 + 1 sends this: precision is already lost
        "an integer from -9007199254740991 to 9007199254740991 (or a decimal string for the full INT64 range), got 9007199254740992",
      ],
      ["FP16", 70000, "a finite number within FP16 range (|x| <= 65504), got 70000"],
    ];
    for (const [datatype, value, expected] of elementErrors) {
      it(`a bad ${datatype} element`, async () => {
        const name = `x_${datatype.toLowerCase()}`;
        const res = await postJson(dt.app, "/v2/models/dt/infer", {
          inputs: [{ name, shape: [1, 2], datatype, data: [value, value] }],
        });
        assert.equal(res.status, 400);
        assert.deepEqual(res.body, { error: `inputs[0].data[0] must be ${expected}` });
      });
    }
  });
});
