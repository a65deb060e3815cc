/**
 * The binary tensor data extension over HTTP, with requests built byte by byte from
 * triton_extension_binary_data.md: a JSON header of Inference-Header-Content-Length bytes, then
 * each binary input's bytes in input order; binary outputs on request, the same way back.
 */
import assert from "node:assert/strict";
import type { InjectOptions } from "fastify";
import { datatypeModel } from "../../../serving/tools/models";
import { startTestServer, type TestServer } from "../helpers";

/** Little-endian float32 bytes. */
function fp32(values: readonly number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b;
}

/** A binary request: the JSON header, then the given bytes; headers as the spec's example. */
function binaryRequest(
  url: string,
  header: unknown,
  binary: readonly Buffer[],
  contentType: string | undefined = "application/octet-stream",
): InjectOptions {
  const json = Buffer.from(JSON.stringify(header));
  return {
    method: "POST",
    url,
    headers: {
      ...(contentType ? { "content-type": contentType } : {}),
      "inference-header-content-length": String(json.length),
    },
    payload: Buffer.concat([json, ...binary]),
  };
}

/** Splits a binary response at its Inference-Header-Content-Length. */
function splitResponse(res: { headers: Record<string, unknown>; rawPayload: Buffer }): {
  header: unknown;
  binary: Buffer;
} {
  const length = Number(res.headers["inference-header-content-length"]);
  return {
    header: JSON.parse(res.rawPayload.subarray(0, length).toString("utf8")),
    binary: res.rawPayload.subarray(length),
  };
}

const HALF = Buffer.from("0000003f", "hex"); // FP32 0.5, little-endian

/** The identity classifier's answer to one row of equal features, every output binary: label 0, [0.5, 0.5]. */
function assertAllBinaryOneRow(res: {
  statusCode: number;
  headers: Record<string, unknown>;
  rawPayload: Buffer;
}): void {
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers["content-type"], "application/octet-stream");
  const { header, binary } = splitResponse(res);
  assert.deepEqual(header, {
    model_name: "clf",
    model_version: "1.2.0",
    outputs: [
      { name: "label", datatype: "INT64", shape: [1], parameters: { binary_data_size: 8 } },
      { name: "probabilities", datatype: "FP32", shape: [1, 2], parameters: { binary_data_size: 8 } },
    ],
  });
  assert.deepEqual(binary, Buffer.concat([Buffer.alloc(8), HALF, HALF]));
}

describe("binary tensor data extension (HTTP)", () => {
  let clf: TestServer;
  let dt: TestServer;
  before(async () => {
    [clf, dt] = await Promise.all([
      startTestServer({ name: "clf", version: "1.2.0" }),
      startTestServer({ name: "dt", version: "0.1.0", model: datatypeModel(2) }),
    ]);
  });
  after(() => Promise.all([clf.close(), dt.close()]));

  const input = (size: number, over: Record<string, unknown> = {}) => ({
    name: "input",
    shape: [2, 2],
    datatype: "FP32",
    parameters: { binary_data_size: size },
    ...over,
  });

  it("binary inputs, JSON outputs: the JSON response is unchanged", async () => {
    const res = await clf.app.inject(
      binaryRequest("/v2/models/clf/infer", { id: "b1", inputs: [input(16)] }, [fp32([3, 3, -1, -1])]),
    );
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["content-type"], "application/json; charset=utf-8");
    assert.equal(res.headers["inference-header-content-length"], undefined);
    assert.deepEqual(res.json(), {
      model_name: "clf",
      model_version: "1.2.0",
      id: "b1",
      outputs: [
        { name: "label", datatype: "INT64", shape: [2], data: [0, 0] },
        { name: "probabilities", datatype: "FP32", shape: [2, 2], data: [0.5, 0.5, 0.5, 0.5] },
      ],
    });
  });

  it("a binary output on request: exact header and bytes", async () => {
    const res = await clf.app.inject(
      binaryRequest(
        "/v2/models/clf/infer",
        { inputs: [input(16)], outputs: [{ name: "probabilities", parameters: { binary_data: true } }] },
        [fp32([3, 3, -1, -1])],
      ),
    );
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["content-type"], "application/octet-stream");
    const header =
      '{"model_name":"clf","model_version":"1.2.0","outputs":[{"name":"probabilities","datatype":"FP32",' +
      '"shape":[2,2],"parameters":{"binary_data_size":16}}]}';
    assert.equal(res.headers["inference-header-content-length"], String(header.length));
    assert.equal(res.headers["content-length"], String(header.length + 16));
    assert.deepEqual(res.rawPayload, Buffer.concat([Buffer.from(header), HALF, HALF, HALF, HALF]));
  });

  it("binary_data_output for all outputs, overridden per output by binary_data: false", async () => {
    const res = await clf.app.inject(
      binaryRequest(
        "/v2/models/clf/infer",
        {
          inputs: [input(16)],
          outputs: [{ name: "label", parameters: { binary_data: false } }, { name: "probabilities" }],
          parameters: { binary_data_output: true },
        },
        [fp32([3, 3, -1, -1])],
      ),
    );
    assert.equal(res.statusCode, 200);
    const { header, binary } = splitResponse(res);
    assert.deepEqual(header, {
      model_name: "clf",
      model_version: "1.2.0",
      outputs: [
        { name: "label", datatype: "INT64", shape: [2], data: [0, 0] },
        { name: "probabilities", datatype: "FP32", shape: [2, 2], parameters: { binary_data_size: 16 } },
      ],
    });
    assert.deepEqual(binary, Buffer.concat([HALF, HALF, HALF, HALF]));
  });

  it("a JSON request may ask for binary outputs", async () => {
    const res = await clf.app.inject({
      method: "POST",
      url: "/v2/models/clf/infer",
      headers: { "content-type": "application/json" },
      payload: JSON.stringify({
        inputs: [{ name: "input", shape: [1, 2], datatype: "FP32", data: [1, 1] }],
        parameters: { binary_data_output: true },
      }),
    });
    assert.equal(res.statusCode, 200);
    assertAllBinaryOneRow(res);
  });

  it("accepts a binary body without Content-Type (as Triton's HTTP client sends it)", async () => {
    const res = await clf.app.inject(
      binaryRequest("/v2/models/clf/infer", { inputs: [input(16)] }, [fp32([1, 1, 1, 1])], undefined),
    );
    assert.equal(res.statusCode, 200);
    assert.deepEqual((res.json().outputs as Array<{ data: unknown }>)[1].data, [0.5, 0.5, 0.5, 0.5]);
  });

  it("a raw binary request (Inference-Header-Content-Length: 0): batch 1, every output binary", async () => {
    const res = await clf.app.inject({
      method: "POST",
      url: "/v2/models/clf/infer",
      headers: { "content-type": "application/octet-stream", "inference-header-content-length": "0" },
      payload: fp32([2, 2]),
    });
    assert.equal(res.statusCode, 200);
    assertAllBinaryOneRow(res);
  });

  it("every datatype round-trips as binary, bytes for bytes (BOOL one byte, BYTES length-prefixed)", async () => {
    const tensors: Array<[string, string, Buffer]> = [
      ["bool", "BOOL", Buffer.from([1, 0])],
      ["uint8", "UINT8", Buffer.from([0, 255])],
      ["uint16", "UINT16", Buffer.from("0100ffff", "hex")],
      ["uint32", "UINT32", Buffer.from("01000000ffffffff", "hex")],
      ["uint64", "UINT64", Buffer.from("0100000000000000ffffffffffffffff", "hex")],
      ["int8", "INT8", Buffer.from([0x80, 0x7f])],
      ["int16", "INT16", Buffer.from("0080ff7f", "hex")],
      ["int32", "INT32", Buffer.from("00000080ffffff7f", "hex")],
      ["int64", "INT64", Buffer.from("0000000000000080ffffffffffffff7f", "hex")],
      ["fp16", "FP16", Buffer.from("003c00c0", "hex")],
      ["fp32", "FP32", Buffer.from("0000003f000010c0", "hex")],
      ["fp64", "FP64", Buffer.from(new Float64Array([0.1, -1e300]).buffer)],
      [
        "bytes",
        "BYTES",
        Buffer.concat([
          Buffer.from([2, 0, 0, 0]),
          Buffer.from("hi"),
          Buffer.from([4, 0, 0, 0]),
          Buffer.from("😀"),
        ]),
      ],
    ];
    const res = await dt.app.inject(
      binaryRequest(
        "/v2/models/dt/infer",
        {
          inputs: tensors.map(([n, datatype, bytes]) => ({
            name: `x_${n}`,
            datatype,
            shape: [1, 2],
            parameters: { binary_data_size: bytes.length },
          })),
          outputs: tensors.map(([n]) => ({ name: `y_${n}`, parameters: { binary_data: true } })),
        },
        tensors.map(([, , bytes]) => bytes),
      ),
    );
    assert.equal(res.statusCode, 200, res.body);
    const { header, binary } = splitResponse(res);
    assert.deepEqual(
      (header as { outputs: unknown[] }).outputs,
      tensors.map(([n, datatype, bytes]) => ({
        name: `y_${n}`,
        datatype,
        shape: [1, 2],
        parameters: { binary_data_size: bytes.length },
      })),
    );
    assert.deepEqual(binary, Buffer.concat(tensors.map(([, , bytes]) => bytes)));
  });

  describe("bad sizes and offsets are 400s naming the input", () => {
    const url = "/v2/models/clf/infer";
    const cases: Array<[string, InjectOptions, string]> = [
      [
        "a size past the end of the body",
        binaryRequest(url, { inputs: [input(32)] }, [fp32([1, 2, 3, 4])]),
        'inputs[0].parameters.binary_data_size (input "input") is 32 but only 16 bytes of binary data remain at offset 0',
      ],
      [
        "a size that does not fit the shape",
        binaryRequest(url, { inputs: [input(12)] }, [fp32([1, 2, 3])]),
        'inputs[0].parameters.binary_data_size (input "input", shape [2,2]): the binary data holds 12 bytes but 4 FP32 elements take 16 (4 each)',
      ],
      [
        "bytes left over after the last input",
        binaryRequest(url, { inputs: [input(16)] }, [fp32([1, 2, 3, 4, 5])]),
        "the body has 4 bytes of binary data after the inputs' binary_data_size total of 16",
      ],
      [
        "a negative size",
        binaryRequest(url, { inputs: [input(-1)] }, [fp32([1, 2, 3, 4])]),
        'inputs[0].parameters.binary_data_size (input "input") must be a non-negative integer number of bytes, got -1',
      ],
      [
        "a fractional size",
        binaryRequest(url, { inputs: [input(1.5)] }, [fp32([1, 2, 3, 4])]),
        'inputs[0].parameters.binary_data_size (input "input") must be a non-negative integer number of bytes, got 1.5',
      ],
      [
        "both data and binary data",
        binaryRequest(url, { inputs: [input(16, { data: [1, 2, 3, 4] })] }, [fp32([1, 2, 3, 4])]),
        'inputs[0] (input "input") has both "data" and binary data; send one',
      ],
      [
        "a header length beyond the body",
        {
          method: "POST",
          url,
          headers: { "content-type": "application/octet-stream", "inference-header-content-length": "999" },
          payload: Buffer.from('{"inputs":[]}'),
        },
        "Inference-Header-Content-Length is 999 but the body has only 13 bytes",
      ],
      [
        "a header length that is not a number",
        {
          method: "POST",
          url,
          headers: { "content-type": "application/octet-stream", "inference-header-content-length": "-5" },
          payload: Buffer.from('{"inputs":[]}'),
        },
        'Inference-Header-Content-Length must be a non-negative integer, got "-5"',
      ],
      [
        "binary data sent as application/json",
        binaryRequest(url, { inputs: [input(16)] }, [fp32([1, 2, 3, 4])], "application/json"),
        "a body with binary tensor data (Inference-Header-Content-Length shorter than the body) must be sent as application/octet-stream",
      ],
      [
        "a raw binary request of the wrong size",
        {
          method: "POST",
          url,
          headers: { "content-type": "application/octet-stream", "inference-header-content-length": "0" },
          payload: fp32([1, 2, 3]),
        },
        'inputs[0].parameters.binary_data_size (input "input", shape [1,2]): the binary data holds 12 bytes but 2 FP32 elements take 8 (4 each)',
      ],
    ];
    for (const [what, request, error] of cases) {
      it(what, async () => {
        const res = await clf.app.inject(request);
        assert.equal(res.statusCode, 400);
        assert.deepEqual(res.json(), { error });
      });
    }

    it("a BOOL byte other than 0 or 1", async () => {
      const header = {
        inputs: [
          ...dt.service.model!.manifest.inputs.map((s) => ({
            name: s.name,
            datatype: s.datatype,
            shape: [1, 2],
            ...(s.datatype === "BOOL"
              ? { parameters: { binary_data_size: 2 } }
              : { data: zeros(s.datatype) }),
          })),
        ],
      };
      const res = await dt.app.inject(binaryRequest("/v2/models/dt/infer", header, [Buffer.from([1, 2])]));
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json(), {
        error:
          'inputs[0].parameters.binary_data_size (input "x_bool", shape [1,2]): the binary data element 1 is byte 2; BOOL elements are 0 or 1',
      });
    });

    it("a header that is not JSON", async () => {
      const res = await clf.app.inject({
        method: "POST",
        url,
        headers: { "content-type": "application/octet-stream", "inference-header-content-length": "5" },
        payload: Buffer.from('{"inputs":[]}'),
      });
      assert.equal(res.statusCode, 400);
      assert.match(
        (res.json() as { error: string }).error,
        /^the first 5 bytes \(Inference-Header-Content-Length\) are not a JSON inference request: /,
      );
    });

    it("octet-stream without Inference-Header-Content-Length is a 415", async () => {
      const res = await clf.app.inject({
        method: "POST",
        url,
        headers: { "content-type": "application/octet-stream" },
        payload: fp32([1, 2]),
      });
      assert.equal(res.statusCode, 415);
      assert.deepEqual(res.json(), {
        error: 'unsupported Content-Type "application/octet-stream": expected application/json',
      });
    });
  });
});

function zeros(datatype: string): unknown[] {
  if (datatype === "BYTES") return ["", ""];
  if (datatype === "BOOL") return [false, false];
  return [0, 0];
}
