/**
 * The Open Inference Protocol over gRPC, through a client generated from the published .proto:
 * every RPC, typed and raw contents with exact outputs, the status codes Triton uses, and the
 * shared batcher and metrics.
 */
import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import type { TensorDatatype, TensorSpec } from "../../../serving/src/model/manifest";
import { datatypeModel } from "../../../serving/tools/models";
import { OnnxGraphBuilder } from "../../../serving/tools/onnxBuilder";
import { assertClose, gatedRuntime, metricValue, postJson, softmax2, waitFor } from "../helpers";
import {
  churnFixture,
  churnModel,
  expectStatus,
  fp32Bytes,
  startGrpcTestServer,
  type GrpcTestServer,
} from "./support";

interface OutputTensor {
  name: string;
  datatype: string;
  shape: string[];
  contents: Record<string, unknown[]> | null;
}
interface InferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: OutputTensor[];
  raw_output_contents: Buffer[];
}

const EMPTY_CONTENTS = {
  bool_contents: [],
  int_contents: [],
  int64_contents: [],
  uint_contents: [],
  uint64_contents: [],
  fp32_contents: [],
  fp64_contents: [],
  bytes_contents: [],
};

describe("Open Inference Protocol over gRPC", () => {
  let churn: GrpcTestServer;
  let clf: GrpcTestServer;
  const fixture = churnFixture();
  before(async () => {
    [churn, clf] = await Promise.all([
      startGrpcTestServer({ name: "churn", version: "1.0.0", model: churnModel() }),
      startGrpcTestServer({ name: "clf", version: "1.2.0" }),
    ]);
  });
  after(() => Promise.all([churn.close(), clf.close()]));

  it("ServerLive and ServerReady", async () => {
    assert.deepEqual(await clf.client.call("ServerLive"), { live: true });
    assert.deepEqual(await clf.client.call("ServerReady"), { ready: true });
  });

  it("ModelReady: ready for the served model and version, NOT_FOUND for another", async () => {
    assert.deepEqual(await clf.client.call("ModelReady", { name: "clf" }), { ready: true });
    assert.deepEqual(await clf.client.call("ModelReady", { name: "clf", version: "1.2.0" }), { ready: true });
    await expectStatus(
      clf.client.call("ModelReady", { name: "fraud" }),
      status.NOT_FOUND,
      'unknown model "fraud": this server serves "clf"',
    );
    await expectStatus(
      clf.client.call("ModelReady", { name: "clf", version: "9.9.9" }),
      status.NOT_FOUND,
      'unknown version "9.9.9" of model "clf": this server serves version "1.2.0"',
    );
  });

  it("ServerMetadata names the server and its extensions", async () => {
    assert.deepEqual(await clf.client.call("ServerMetadata"), {
      name: "onnx-eks-serving",
      version: "0.1.0",
      extensions: ["binary_tensor_data"],
    });
  });

  it("ModelMetadata describes the model (variable dimensions are -1)", async () => {
    assert.deepEqual(await churn.client.call("ModelMetadata", { name: "churn", version: "1.0.0" }), {
      name: "churn",
      versions: ["1.0.0"],
      platform: "onnxruntime_onnx",
      inputs: [{ name: "input", datatype: "FP32", shape: ["-1", "4"] }],
      outputs: [
        { name: "label", datatype: "INT64", shape: ["-1"] },
        { name: "probabilities", datatype: "FP32", shape: ["-1", "2"] },
      ],
      properties: {},
    });
    await expectStatus(churn.client.call("ModelMetadata", { name: "clf" }), status.NOT_FOUND);
  });

  it("ModelInfer with typed contents answers typed contents: sklearn's churn outputs", async () => {
    const n = fixture.inputs.length;
    const res = await churn.client.call<InferResponse>("ModelInfer", {
      model_name: "churn",
      id: "req-7",
      inputs: [
        {
          name: "input",
          datatype: "FP32",
          shape: [n, 4],
          contents: { fp32_contents: fixture.inputs.flat() },
        },
      ],
    });
    assert.equal(res.model_name, "churn");
    assert.equal(res.model_version, "1.0.0");
    assert.equal(res.id, "req-7");
    assert.deepEqual(res.raw_output_contents, []);
    const [label, probabilities] = res.outputs;
    assert.deepEqual(label, {
      name: "label",
      datatype: "INT64",
      shape: [String(n)],
      parameters: {},
      contents: { ...EMPTY_CONTENTS, int64_contents: fixture.labels.map(String) },
    });
    assert.deepEqual(
      { ...probabilities, contents: null },
      { name: "probabilities", datatype: "FP32", shape: [String(n), "2"], parameters: {}, contents: null },
    );
    assertClose(
      probabilities.contents!.fp32_contents as number[],
      fixture.probabilities.flat(),
      fixture.tolerance,
    );
  });

  it("ModelInfer with raw_input_contents answers raw_output_contents: exact bytes", async () => {
    // softmax(x, x) is exactly [0.5, 0.5]; argmax of a tie is class 0.
    const res = await clf.client.call<InferResponse>("ModelInfer", {
      model_name: "clf",
      model_version: "1.2.0",
      inputs: [{ name: "input", datatype: "FP32", shape: [2, 2] }],
      raw_input_contents: [fp32Bytes([3, 3, -1, -1])],
    });
    assert.deepEqual(
      res.outputs.map((o) => [o.name, o.datatype, o.shape, o.contents]),
      [
        ["label", "INT64", ["2"], null],
        ["probabilities", "FP32", ["2", "2"], null],
      ],
    );
    assert.deepEqual(res.raw_output_contents, [
      Buffer.from("00000000000000000000000000000000", "hex"), // INT64 0, 0 little-endian
      Buffer.from("0000003f0000003f0000003f0000003f", "hex"), // FP32 0.5 x 4 little-endian
    ]);
  });

  it("ModelInfer with raw contents reproduces sklearn's churn outputs", async () => {
    const n = fixture.inputs.length;
    const res = await churn.client.call<InferResponse>("ModelInfer", {
      model_name: "churn",
      inputs: [{ name: "input", datatype: "FP32", shape: [n, 4] }],
      outputs: [{ name: "probabilities" }, { name: "label" }],
      raw_input_contents: [fp32Bytes(fixture.inputs.flat())],
    });
    assert.deepEqual(
      res.outputs.map((o) => o.name),
      ["probabilities", "label"],
    );
    const [probs, labels] = res.raw_output_contents;
    const probValues = Array.from({ length: n * 2 }, (_, i) => probs.readFloatLE(i * 4));
    assertClose(probValues, fixture.probabilities.flat(), fixture.tolerance);
    assert.deepEqual(
      Array.from({ length: n }, (_, i) => labels.readBigInt64LE(i * 8)),
      fixture.labels.map(BigInt),
    );
  });

  describe("every datatype round-trips exactly (Identity models)", () => {
    // [suffix, datatype, contents field, typed values, the same values as little-endian bytes]
    const cases: Array<[string, string, string, unknown[], Buffer]> = [
      ["bool", "BOOL", "bool_contents", [true, false], Buffer.from([1, 0])],
      ["uint8", "UINT8", "uint_contents", [0, 255], Buffer.from([0, 255])],
      ["uint16", "UINT16", "uint_contents", [1, 65535], Buffer.from("0100ffff", "hex")],
      ["uint32", "UINT32", "uint_contents", [1, 4294967295], Buffer.from("01000000ffffffff", "hex")],
      [
        "uint64",
        "UINT64",
        "uint64_contents",
        ["1", "18446744073709551615"],
        Buffer.from("0100000000000000ffffffffffffffff", "hex"),
      ],
      ["int8", "INT8", "int_contents", [-128, 127], Buffer.from([0x80, 0x7f])],
      ["int16", "INT16", "int_contents", [-32768, 32767], Buffer.from("0080ff7f", "hex")],
      ["int32", "INT32", "int_contents", [-2147483648, 2147483647], Buffer.from("00000080ffffff7f", "hex")],
      [
        "int64",
        "INT64",
        "int64_contents",
        ["-9223372036854775808", "9223372036854775807"],
        Buffer.from("0000000000000080ffffffffffffff7f", "hex"),
      ],
      ["fp32", "FP32", "fp32_contents", [0.5, -2.25], Buffer.from("0000003f000010c0", "hex")],
      ["fp64", "FP64", "fp64_contents", [0.1, -1e300], Buffer.from(new Float64Array([0.1, -1e300]).buffer)],
      [
        "bytes",
        "BYTES",
        "bytes_contents",
        [Buffer.from("héllo"), Buffer.from("😀")],
        Buffer.concat([
          Buffer.from([6, 0, 0, 0]),
          Buffer.from("héllo"),
          Buffer.from([4, 0, 0, 0]),
          Buffer.from("😀"),
        ]),
      ],
    ];
    const fp16: [string, string, Buffer] = ["fp16", "FP16", Buffer.from("003c00c0", "hex")]; // 1.0, -2.0
    let typed: GrpcTestServer;
    let raw: GrpcTestServer;
    before(async () => {
      // Every datatype but FP16 (which has no contents field) for the typed model.
      const g = new OnnxGraphBuilder("typed");
      const inputs: TensorSpec[] = [];
      const outputs: TensorSpec[] = [];
      for (const [n, datatype] of cases) {
        const x = { name: `x_${n}`, datatype: datatype as TensorDatatype, shape: [-1, 2] };
        const y = { ...x, name: `y_${n}` };
        g.input(x).output(y).node("Identity", [x.name], [y.name]);
        inputs.push(x);
        outputs.push(y);
      }
      [typed, raw] = await Promise.all([
        startGrpcTestServer({ name: "typed", model: { bytes: g.toBytes(), inputs, outputs } }),
        startGrpcTestServer({ name: "dt", model: datatypeModel(2) }),
      ]);
    });
    after(() => Promise.all([typed.close(), raw.close()]));

    it("typed contents in, the same typed contents out", async () => {
      const res = await typed.client.call<InferResponse>("ModelInfer", {
        model_name: "typed",
        inputs: cases.map(([n, datatype, field, values]) => ({
          name: `x_${n}`,
          datatype,
          shape: [1, 2],
          contents: { [field]: values },
        })),
      });
      assert.deepEqual(res.raw_output_contents, []);
      assert.deepEqual(
        res.outputs,
        cases.map(([n, datatype, field, values]) => ({
          name: `y_${n}`,
          datatype,
          shape: ["1", "2"],
          parameters: {},
          contents: { ...EMPTY_CONTENTS, [field]: values },
        })),
      );
    });

    it("raw contents in (FP16 included), the same bytes out", async () => {
      const all = [...cases.map(([n, datatype, , , bytes]) => [n, datatype, bytes] as const), fp16];
      const res = await raw.client.call<InferResponse>("ModelInfer", {
        model_name: "dt",
        inputs: all.map(([n, datatype]) => ({ name: `x_${n}`, datatype, shape: [1, 2] })),
        outputs: all.map(([n]) => ({ name: `y_${n}` })),
        raw_input_contents: all.map(([, , bytes]) => bytes),
      });
      assert.deepEqual(
        res.outputs.map((o) => [o.name, o.datatype, o.shape, o.contents]),
        all.map(([n, datatype]) => [`y_${n}`, datatype, ["1", "2"], null]),
      );
      assert.deepEqual(
        res.raw_output_contents,
        all.map(([, , bytes]) => bytes),
      );
    });

    it("an FP16 input cannot travel as typed contents", async () => {
      await expectStatus(
        raw.client.call("ModelInfer", {
          model_name: "dt",
          inputs: [{ name: "x_fp16", datatype: "FP16", shape: [1, 2], contents: { fp32_contents: [1, 2] } }],
        }),
        status.INVALID_ARGUMENT,
        'inputs[0].contents.fp32_contents is set, but datatype "FP16" has no contents field; send it in raw_input_contents',
      );
    });
  });

  describe("errors map to Triton's status codes", () => {
    const x = (over: Record<string, unknown> = {}) => ({
      name: "input",
      datatype: "FP32",
      shape: [1, 2],
      contents: { fp32_contents: [1, 2] },
      ...over,
    });
    const invalid: Array<[string, Record<string, unknown>, string]> = [
      [
        "a shape that does not fit the model",
        { inputs: [x({ shape: [1, 3] })] },
        'inputs[0].shape[1] must be 2 for input "input" ([-1,2]), got 3',
      ],
      [
        "a negative dimension",
        { inputs: [x({ shape: [-1, 2] })] },
        "inputs[0].shape must be an array of non-negative integers, got [-1,2]",
      ],
      [
        "the wrong datatype",
        { inputs: [x({ datatype: "FP64", contents: { fp64_contents: [1, 2] } })] },
        'inputs[0].datatype must be "FP32" for input "input", got "FP64"',
      ],
      [
        "contents in a field of another datatype",
        { inputs: [x({ contents: { int_contents: [1, 2] } })] },
        "inputs[0].contents.int_contents is set, but datatype FP32 travels in contents.fp32_contents",
      ],
      [
        "too few typed elements",
        { inputs: [x({ contents: { fp32_contents: [1] } })] },
        "inputs[0].contents.fp32_contents has 1 elements but shape [1,2] needs 2",
      ],
      [
        "no contents at all",
        { inputs: [x({ contents: undefined })] },
        "inputs[0].contents.fp32_contents has 0 elements but shape [1,2] needs 2",
      ],
      [
        "raw contents of the wrong size",
        { inputs: [x({ contents: undefined })], raw_input_contents: [fp32Bytes([1])] },
        'inputs[0].raw_input_contents[0] (input "input", shape [1,2]): the binary data holds 4 bytes but 2 FP32 elements take 8 (4 each)',
      ],
      [
        "raw contents for fewer inputs than given",
        {
          inputs: [x({ contents: undefined }), x({ contents: undefined })],
          raw_input_contents: [fp32Bytes([1, 2])],
        },
        "raw_input_contents has 1 entries but inputs has 2: give one per input, in input order",
      ],
      [
        "raw and typed contents together",
        { inputs: [x()], raw_input_contents: [fp32Bytes([1, 2])] },
        "inputs[0].contents.fp32_contents is set, but contents must be empty when raw_input_contents is used",
      ],
      [
        "an unknown input",
        { inputs: [x({ name: "features" })] },
        'inputs[0].name "features" is not an input of model "clf"; expected "input"',
      ],
      [
        "an unknown output",
        { inputs: [x()], outputs: [{ name: "logits" }] },
        'outputs[0].name "logits" is not an output of model "clf"; expected "label", "probabilities"',
      ],
      ["no inputs", { inputs: [] }, "inputs must be a non-empty array of tensors, got []"],
    ];
    for (const [what, request, details] of invalid) {
      it(`INVALID_ARGUMENT for ${what}`, async () => {
        await expectStatus(
          clf.client.call("ModelInfer", { model_name: "clf", ...request }),
          status.INVALID_ARGUMENT,
          details,
        );
      });
    }

    it("NOT_FOUND for an unknown model or version", async () => {
      await expectStatus(
        clf.client.call("ModelInfer", { model_name: "fraud", inputs: [x()] }),
        status.NOT_FOUND,
        'unknown model "fraud": this server serves "clf"',
      );
      await expectStatus(
        clf.client.call("ModelInfer", { model_name: "clf", model_version: "2", inputs: [x()] }),
        status.NOT_FOUND,
        'unknown version "2" of model "clf": this server serves version "1.2.0"',
      );
    });

    it("UNAVAILABLE (with retry-after) when the queue is full; the queued calls are served", async () => {
      const gate = gatedRuntime();
      const server = await startGrpcTestServer({
        name: "clf",
        batching: { maxBatchSize: 1, maxQueueSize: 2, maxDelayMs: 0 },
        wrapRuntime: gate.wrap,
      });
      try {
        const infer = (a: number, b: number) =>
          server.client.call<InferResponse>("ModelInfer", {
            model_name: "clf",
            inputs: [x({ shape: [1, 2], contents: { fp32_contents: [a, b] } })],
          });
        const running = infer(0, 1);
        await gate.entered;
        const queued = [infer(1, 0), infer(2, 2)];
        await waitFor(() => server.service.queueDepth === 2);
        const err = await expectStatus(
          infer(3, 3),
          status.UNAVAILABLE,
          "the inference queue is full (2 requests waiting); retry later",
        );
        assert.deepEqual(err.metadata.get("retry-after"), ["1"]);
        gate.open();
        const done = await Promise.all([running, ...queued]);
        assert.deepEqual(
          done.map((r) => r.outputs[0].contents?.int64_contents),
          [["1"], ["0"], ["0"]],
        );
      } finally {
        gate.open();
        await server.close();
      }
    });

    it("DEADLINE_EXCEEDED when the server's deadline passes, and when the client's does", async () => {
      const gate = gatedRuntime();
      const server = await startGrpcTestServer({
        name: "clf",
        batching: { timeoutMs: 50 },
        wrapRuntime: gate.wrap,
      });
      try {
        await expectStatus(
          server.client.call("ModelInfer", { model_name: "clf", inputs: [x()] }),
          status.DEADLINE_EXCEEDED,
          "inference did not finish within 50 ms (timed out while the model computed)",
        );
        await expectStatus(
          server.client.call("ModelInfer", { model_name: "clf", inputs: [x()] }, 20),
          status.DEADLINE_EXCEEDED,
          /^Deadline exceeded/,
        );
      } finally {
        gate.open();
        await server.close();
      }
    });
  });

  it("counts calls in the shared metrics with protocol, method path and status code name", async () => {
    const server = await startGrpcTestServer({ name: "m" });
    try {
      const body = {
        inputs: [{ name: "input", datatype: "FP32", shape: [1, 2], contents: { fp32_contents: [1, 1] } }],
      };
      await server.client.call("ModelInfer", { model_name: "m", ...body });
      await server.client.call("ModelInfer", { model_name: "m", ...body });
      await expectStatus(server.client.call("ModelInfer", { model_name: "x", ...body }), status.NOT_FOUND);
      await server.client.call("ServerLive");
      const rest = await postJson(server.app, "/v2/models/m/infer", {
        inputs: [{ name: "input", datatype: "FP32", shape: [1, 2], data: [1, 1] }],
      });
      assert.equal(rest.status, 200);
      const text = await server.metrics.registry.metrics();
      const infer = 'route="/inference.GRPCInferenceService/ModelInfer",method="POST"';
      const expectations: Array<[string, number]> = [
        [`model_server_requests_total{${infer},status="OK",protocol="grpc"}`, 2],
        [`model_server_requests_total{${infer},status="NOT_FOUND",protocol="grpc"}`, 1],
        [
          'model_server_requests_total{route="/inference.GRPCInferenceService/ServerLive",method="POST",status="OK",protocol="grpc"}',
          1,
        ],
        [`model_server_request_duration_seconds_count{${infer},protocol="grpc"}`, 3],
        [
          'model_server_requests_total{route="/v2/models/:name/infer",method="POST",status="200",protocol="http"}',
          1,
        ],
        // One batcher: the three inferences of both protocols ran through it.
        ['model_server_batch_size_sum{model="m"}', 3],
      ];
      for (const [sample, value] of expectations) assert.equal(metricValue(text, sample), value, sample);
    } finally {
      await server.close();
    }
  });

  it("batches REST and gRPC requests together", async () => {
    const gate = gatedRuntime();
    const server = await startGrpcTestServer({
      name: "clf",
      batching: { maxDelayMs: 0 },
      wrapRuntime: gate.wrap,
    });
    try {
      const blocker = postJson(server.app, "/v2/models/clf/infer", {
        inputs: [{ name: "input", datatype: "FP32", shape: [1, 2], data: [0, 0] }],
      });
      await gate.entered; // one batch computing; the next two requests queue behind it
      const rest = postJson(server.app, "/v2/models/clf/infer", {
        inputs: [{ name: "input", datatype: "FP32", shape: [2, 2], data: [1, 2, 3, 1] }],
      });
      const grpc = server.client.call<InferResponse>("ModelInfer", {
        model_name: "clf",
        inputs: [{ name: "input", datatype: "FP32", shape: [1, 2], contents: { fp32_contents: [5, -5] } }],
      });
      await waitFor(() => server.service.queueDepth === 2);
      gate.open();
      const [, restRes, grpcRes] = await Promise.all([blocker, rest, grpc]);
      const restProbs = (restRes.body.outputs as Array<{ data: number[] }>)[1].data;
      assertClose(restProbs, [...softmax2(1, 2), ...softmax2(3, 1)]);
      assertClose(grpcRes.outputs[1].contents!.fp32_contents as number[], softmax2(5, -5));
      const text = await server.metrics.registry.metrics();
      // Two runs: the blocker alone, then the REST request's 2 rows and the gRPC request's 1 row as one batch.
      assert.equal(metricValue(text, 'model_server_batch_size_count{model="clf"}'), 2);
      assert.equal(metricValue(text, 'model_server_batch_size_bucket{le="2",model="clf"}'), 1);
      assert.equal(metricValue(text, 'model_server_batch_size_sum{model="clf"}'), 4);
    } finally {
      gate.open();
      await server.close();
    }
  });
});
