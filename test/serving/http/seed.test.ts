import assert from "node:assert/strict";
import { datatypeModel, softmaxClassifier } from "../../../serving/tools/models";
import { assertClose, postJson, softmax2, startTestServer, type TestServer } from "../helpers";

/** softmax over any number of logits, float64. */
function softmax(logits: number[]): number[] {
  const m = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

describe("seed API", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ name: "clf", version: "2.1.0", bodyLimitBytes: 1024 });
  });
  after(() => server.close());

  it("POST /predict returns prediction, confidence, probabilities, model_version and latency_ms", async () => {
    const res = await postJson(server.app, "/predict", { features: [1, 3] });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body), [
      "prediction",
      "confidence",
      "probabilities",
      "model_version",
      "latency_ms",
    ]);
    const expected = softmax2(1, 3);
    assert.equal(res.body.prediction, 1, "the model's label output (argmax = class 1)");
    assertClose([res.body.confidence as number], [expected[1]]);
    assertClose(res.body.probabilities as number[], expected);
    assert.equal(res.body.model_version, "2.1.0");
    assert.equal(typeof res.body.latency_ms, "number");
    assert.ok((res.body.latency_ms as number) > 0);
  });

  it("gives exactly 0.5/0.5 for equal features", async () => {
    const res = await postJson(server.app, "/predict", { features: [7.25, 7.25] });
    assert.deepEqual(
      {
        prediction: res.body.prediction,
        confidence: res.body.confidence,
        probabilities: res.body.probabilities,
      },
      { prediction: 0, confidence: 0.5, probabilities: [0.5, 0.5] },
    );
  });

  it("POST /predict/batch answers each instance in order", async () => {
    const instances = [
      [1, 3],
      [2, -2],
      [0, 0],
    ];
    const res = await postJson(server.app, "/predict/batch", { instances });
    assert.equal(res.status, 200);
    assert.equal(res.body.batch_size, 3);
    assert.equal(res.body.model_version, "2.1.0");
    assert.equal(typeof res.body.total_latency_ms, "number");
    const predictions = res.body.predictions as Array<{
      prediction: number;
      confidence: number;
      probabilities: number[];
    }>;
    assert.deepEqual(
      predictions.map((p) => p.prediction),
      [1, 0, 0],
    );
    predictions.forEach((p, i) => {
      const expected = softmax2(instances[i][0], instances[i][1]);
      assertClose(p.probabilities, expected);
      assertClose([p.confidence], [Math.max(...expected)]);
    });
  });

  it("GET /model/info describes the model, provider and batching", async () => {
    const res = await server.app.inject({ method: "GET", url: "/model/info" });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.name, "clf");
    assert.equal(body.version, "2.1.0");
    assert.match(body.sha256, /^[0-9a-f]{64}$/);
    assert.equal(body.framework, "onnx");
    assert.equal(body.platform, "onnxruntime_onnx");
    assert.deepEqual(body.inputs, [{ name: "input", datatype: "FP32", shape: [-1, 2] }]);
    assert.deepEqual(body.labels, ["stay", "churn"]);
    assert.equal(body.execution_provider, "cpu");
    assert.deepEqual(body.batching, {
      dynamic: true,
      max_batch_size: 32,
      max_delay_ms: 2,
      max_queue_size: 1024,
    });
    assert.deepEqual(body.seed_api, { compatible: true, features: 2 });
  });

  describe("rejects bad input with a 4xx naming the field", () => {
    const FP32 = "a finite number within FP32 range (|x| <= 3.4028234663852886e38)";
    const table: Array<[string, string, string | undefined, string, number, string]> = [
      // [what, url, content-type, raw body, status, exact error]
      [
        "too few features",
        "/predict",
        "application/json",
        '{"features":[1]}',
        400,
        'features must have 2 values (model input "input" is [-1,2]), got 1',
      ],
      [
        "too many features",
        "/predict",
        "application/json",
        '{"features":[1,2,3]}',
        400,
        'features must have 2 values (model input "input" is [-1,2]), got 3',
      ],
      [
        "a numeric string",
        "/predict",
        "application/json",
        '{"features":[1,"2"]}',
        400,
        `features[1] must be ${FP32}, got "2"`,
      ],
      [
        "NaN as a string",
        "/predict",
        "application/json",
        '{"features":["NaN",1]}',
        400,
        `features[0] must be ${FP32}, got "NaN"`,
      ],
      [
        "Infinity as a string",
        "/predict",
        "application/json",
        '{"features":[1,"Infinity"]}',
        400,
        `features[1] must be ${FP32}, got "Infinity"`,
      ],
      [
        "a number overflowing a double",
        "/predict",
        "application/json",
        '{"features":[1,1e400]}',
        400,
        `features[1] must be ${FP32}, got Infinity (out of range)`,
      ],
      [
        "a number overflowing FP32",
        "/predict",
        "application/json",
        '{"features":[1e39,1]}',
        400,
        `features[0] must be ${FP32}, got 1e+39`,
      ],
      [
        "null",
        "/predict",
        "application/json",
        '{"features":[null,1]}',
        400,
        `features[0] must be ${FP32}, got null`,
      ],
      [
        "a boolean",
        "/predict",
        "application/json",
        '{"features":[1,true]}',
        400,
        `features[1] must be ${FP32}, got true`,
      ],
      [
        "features that are not an array",
        "/predict",
        "application/json",
        '{"features":"1,2"}',
        400,
        'features must be an array of 2 numbers, got "1,2"',
      ],
      [
        "no features",
        "/predict",
        "application/json",
        '{"feature":[1,2]}',
        400,
        'request body must be {"features": [2 numbers]}, got {"feature":[1,2]}',
      ],
      [
        "a bare array",
        "/predict",
        "application/json",
        "[1,2]",
        400,
        'request body must be {"features": [2 numbers]}, got [1,2]',
      ],
      [
        "malformed JSON",
        "/predict",
        "application/json",
        '{"features":[1,',
        400,
        "request body is not valid JSON: Unexpected end of JSON input",
      ],
      [
        "an empty body",
        "/predict",
        "application/json",
        "",
        400,
        "request body is empty: expected a JSON object",
      ],
      [
        "text/plain",
        "/predict",
        "text/plain",
        '{"features":[1,2]}',
        415,
        'unsupported Content-Type "text/plain": expected application/json',
      ],
      [
        "a form body",
        "/predict",
        "application/x-www-form-urlencoded",
        "features=1",
        415,
        'unsupported Content-Type "application/x-www-form-urlencoded": expected application/json',
      ],
      [
        "no content type",
        "/predict",
        undefined,
        '{"features":[1,2]}',
        415,
        'unsupported Content-Type "(none)": expected application/json',
      ],
      [
        "a body over the limit",
        "/predict",
        "application/json",
        JSON.stringify({ features: new Array(600).fill(1) }),
        413,
        "request body is larger than the limit of 1024 bytes",
      ],
      [
        "an empty batch",
        "/predict/batch",
        "application/json",
        '{"instances":[]}',
        400,
        "instances must be a non-empty array of rows of 2 numbers, got []",
      ],
      [
        "a batch without instances",
        "/predict/batch",
        "application/json",
        '{"rows":[[1,2]]}',
        400,
        "instances must be a non-empty array of rows of 2 numbers, got nothing",
      ],
      [
        "a short batch row",
        "/predict/batch",
        "application/json",
        '{"instances":[[1,2],[1]]}',
        400,
        'instances[1] must have 2 values (model input "input" is [-1,2]), got 1',
      ],
      [
        "a bad batch element",
        "/predict/batch",
        "application/json",
        '{"instances":[[1,2],[1,"x"]]}',
        400,
        `instances[1][1] must be ${FP32}, got "x"`,
      ],
      [
        "a batch row that is not an array",
        "/predict/batch",
        "application/json",
        '{"instances":[[1,2],5]}',
        400,
        "instances[1] must be an array of 2 numbers, got 5",
      ],
    ];
    for (const [what, url, contentType, payload, status, error] of table) {
      it(`${what} -> ${status}`, async () => {
        const res = await server.app.inject({
          method: "POST",
          url,
          headers: contentType ? { "content-type": contentType } : {},
          payload,
        });
        assert.equal(res.statusCode, status);
        assert.match(String(res.headers["content-type"]), /^application\/json/);
        assert.deepEqual(res.json(), { error });
      });
    }

    it("and keeps serving afterwards", async () => {
      const res = await postJson(server.app, "/predict", { features: [0, 0] });
      assert.equal(res.status, 200);
    });
  });

  it("answers unknown routes with a 404 JSON error", async () => {
    const res = await server.app.inject({ method: "GET", url: "/predict?x=1" });
    assert.equal(res.statusCode, 404);
    assert.deepEqual(res.json(), { error: "no route GET /predict" });
  });
});

describe("seed API on other model shapes", () => {
  it("maps the argmax to the manifest labels when the model has no label output", async () => {
    // logits = [x0, x1, x1 - x0] (W = [[1, 0, -1], [0, 1, 1]]): [2, 1] -> [2, 1, -1] "low"; [-1, 2] -> [-1, 2, 3] "high"
    const server = await startTestServer({
      model: softmaxClassifier({
        weights: [
          [1, 0, -1],
          [0, 1, 1],
        ],
        bias: [0, 0, 0],
        labels: ["low", "mid", "high"],
        withLabel: false,
      }),
    });
    try {
      const res = await postJson(server.app, "/predict/batch", {
        instances: [
          [2, 1],
          [-1, 2],
        ],
      });
      const predictions = res.body.predictions as Array<{ prediction: string; probabilities: number[] }>;
      assert.deepEqual(
        predictions.map((p) => p.prediction),
        ["low", "high"],
      );
      assertClose(predictions[0].probabilities, softmax([2, 1, -1]));
      assertClose(predictions[1].probabilities, softmax([-1, 2, 3]));
    } finally {
      await server.close();
    }
  });

  it("serves a model with a fixed batch of 1 one row at a time", async () => {
    const server = await startTestServer({
      model: softmaxClassifier({
        weights: [
          [1, 0],
          [0, 1],
        ],
        bias: [0, 0],
        fixedBatch: 1,
      }),
    });
    try {
      assert.equal(server.service.model?.batchable, false);
      const res = await postJson(server.app, "/predict/batch", {
        instances: [
          [0, 2],
          [5, 1],
          [3, 3],
        ],
      });
      assert.equal(res.status, 200);
      const predictions = res.body.predictions as Array<{ prediction: number; probabilities: number[] }>;
      assert.deepEqual(
        predictions.map((p) => p.prediction),
        [1, 0, 0],
      );
      assertClose(predictions[1].probabilities, softmax2(5, 1));
    } finally {
      await server.close();
    }
  });

  it("answers 409 when the model does not fit the seed API", async () => {
    const server = await startTestServer({ name: "dt", model: datatypeModel() });
    try {
      const res = await postJson(server.app, "/predict", { features: [1, 2] });
      assert.equal(res.status, 409);
      assert.deepEqual(res.body, {
        error:
          'model "dt" does not fit the seed API (/predict): it has 13 inputs, the seed API needs exactly one; ' +
          "use /v2/models/dt/infer",
      });
      const info = (await server.app.inject({ method: "GET", url: "/model/info" })).json();
      assert.equal(info.seed_api.compatible, false);
    } finally {
      await server.close();
    }
  });
});
