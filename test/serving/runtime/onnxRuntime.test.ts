import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createOnnxRuntime } from "../../../serving/src/runtime/onnxRuntime";
import { missingProviderLibraries } from "../../../serving/src/runtime/providers";
import type { HostTensor } from "../../../serving/src/runtime/runtime";
import { datatypeModel, fixedShapeModel, softmaxClassifier } from "../../../serving/tools/models";
import { assertClose, memoryLogger, tempDir } from "../helpers";

describe("onnxruntime runtime", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const modelFile = async (name: string, bytes: Uint8Array) => {
    const path = join(dir, `${name}.onnx`);
    await writeFile(path, bytes);
    return path;
  };
  before(async () => ({ dir, cleanup } = await tempDir()));
  after(() => cleanup());

  it("computes a known-weight classifier exactly as worked out by hand", async () => {
    // logits = x @ W + b with W = [[1, -1], [0.5, 2]], b = [0.25, -0.5]
    // x = [2, 4]: logits = [2 + 2 + 0.25, -2 + 8 - 0.5] = [4.25, 5.5] -> label 1
    // x = [1, 0]: logits = [1.25, -1.5] -> label 0
    const model = softmaxClassifier({
      weights: [
        [1, -1],
        [0.5, 2],
      ],
      bias: [0.25, -0.5],
    });
    const runtime = await createOnnxRuntime(await modelFile("clf", model.bytes));
    try {
      assert.deepEqual(runtime.inputs, [{ name: "input", datatype: "FP32", shape: [-1, 2] }]);
      assert.deepEqual(runtime.outputs, [
        { name: "label", datatype: "INT64", shape: [-1] },
        { name: "probabilities", datatype: "FP32", shape: [-1, 2] },
      ]);
      assert.equal(runtime.provider, "cpu");
      const out = await runtime.run({
        input: { datatype: "FP32", shape: [2, 2], data: Float32Array.from([2, 4, 1, 0]) },
      });
      assert.deepEqual(out.label.shape, [2]);
      assert.deepEqual(Array.from(out.label.data as BigInt64Array), [1n, 0n]);
      const e = (d: number) => 1 / (1 + Math.exp(d)); // softmax of two logits a, b: [e(b - a), e(a - b)]
      assertClose(Array.from(out.probabilities.data as Float32Array), [e(1.25), e(-1.25), e(-2.75), e(2.75)]);
    } finally {
      await runtime.dispose();
    }
  });

  it("round-trips every protocol datatype through Identity, Add and Cast", async () => {
    const runtime = await createOnnxRuntime(await modelFile("dt", datatypeModel(2).bytes));
    try {
      const t = (datatype: HostTensor["datatype"], data: HostTensor["data"]): HostTensor => ({
        datatype,
        shape: [1, 2],
        data,
      });
      const out = await runtime.run({
        x_bool: t("BOOL", Uint8Array.from([1, 0])),
        x_uint8: t("UINT8", Uint8Array.from([7, 255])),
        x_uint16: t("UINT16", Uint16Array.from([1, 65535])),
        x_uint32: t("UINT32", Uint32Array.from([1, 4294967295])),
        x_uint64: t("UINT64", BigUint64Array.from([1n, 2n ** 64n - 1n])),
        x_int8: t("INT8", Int8Array.from([-128, 127])),
        x_int16: t("INT16", Int16Array.from([-2, 3])),
        x_int32: t("INT32", Int32Array.from([-5, 2147483646])),
        x_int64: t("INT64", BigInt64Array.from([-(2n ** 63n), 2n ** 62n])),
        x_fp16: t("FP16", Uint16Array.from([0x3c00, 0xc000])),
        x_fp32: t("FP32", Float32Array.from([1.5, -2])),
        x_fp64: t("FP64", Float64Array.from([0.1, -1e300])),
        x_bytes: t("BYTES", ["héllo", ""]),
      });
      const values = (name: string) => Array.from(out[name].data as ArrayLike<unknown>);
      assert.deepEqual(values("y_bool"), [1, 0]);
      assert.equal(out.y_bool.datatype, "BOOL");
      assert.deepEqual(values("y_uint64"), [1n, 2n ** 64n - 1n]);
      assert.deepEqual(values("y_int64"), [-(2n ** 63n), 2n ** 62n]);
      assert.deepEqual(values("y_fp16"), [0x3c00, 0xc000]);
      assert.equal(out.y_fp16.datatype, "FP16");
      assert.deepEqual(values("y_bytes"), ["héllo", ""]);
      assert.equal(out.y_bytes.datatype, "BYTES");
      assert.deepEqual(values("plus_one_fp32"), [2.5, -1]);
      assert.deepEqual(values("plus_one_fp64"), [1.1, -1e300]);
      assert.deepEqual(values("plus_one_int32"), [-4, 2147483647]);
      assert.deepEqual(values("plus_one_int64"), [-(2n ** 63n) + 1n, 2n ** 62n + 1n]);
      assert.deepEqual(values("uint8_as_fp64"), [7, 255]);
      assert.equal(out.uint8_as_fp64.datatype, "FP64");
    } finally {
      await runtime.dispose();
    }
  });

  it("reports fixed shapes of a model without a batch dimension", async () => {
    const runtime = await createOnnxRuntime(await modelFile("fixed", fixedShapeModel(2, 3).bytes));
    assert.deepEqual(runtime.inputs, [{ name: "x", datatype: "FP32", shape: [2, 3] }]);
    await runtime.dispose();
  });

  it("falls back from CUDA to CPU with a warning when CUDA is unavailable", async () => {
    const logger = memoryLogger();
    const runtime = await createOnnxRuntime(
      await modelFile("fb", softmaxClassifier({ weights: [[1]], bias: [0] }).bytes),
      {
        providers: ["cuda", "cpu"],
        logger,
      },
    );
    assert.equal(runtime.provider, "cpu");
    const warning = logger.lines.find((l) => l.level === "warn");
    assert.ok(warning, "expected a fallback warning");
    assert.equal(warning.msg, 'execution provider "cuda" is unavailable; falling back to "cpu"');
    // Judged from the missing libraries, before onnxruntime is asked (which would print a native
    // error line that reads like a crash).
    assert.match(
      String((warning.obj as { err?: unknown }).err),
      /^the cuda provider's libraries are not installed \(libonnxruntime_providers_shared\.so, libonnxruntime_providers_cuda\.so not in .*onnxruntime-node\/bin\/napi-v6\/linux\/x64\)$/,
    );
    await runtime.dispose();
  });

  it("names the provider libraries that are missing, and nothing when all are there", () => {
    const have = (present: string[]) => (p: string) => present.includes(p);
    assert.equal(missingProviderLibraries("cpu", "/b", have([])), undefined);
    assert.equal(
      missingProviderLibraries("cuda", "/b", have(["/b/libonnxruntime_providers_shared.so"])),
      "the cuda provider's libraries are not installed (libonnxruntime_providers_cuda.so not in /b)",
    );
    assert.equal(
      missingProviderLibraries(
        "tensorrt",
        "/b",
        have(["/b/libonnxruntime_providers_shared.so", "/b/libonnxruntime_providers_tensorrt.so"]),
      ),
      undefined,
    );
  });

  it("does not fall back to CPU when the list does not allow it", async () => {
    const path = await modelFile("strict", softmaxClassifier({ weights: [[1]], bias: [0] }).bytes);
    await assert.rejects(
      createOnnxRuntime(path, { providers: ["cuda"] }),
      /could not create an onnxruntime session with execution providers \[cuda\]/,
    );
  });

  it("applies thread options", async () => {
    const path = await modelFile("threads", softmaxClassifier({ weights: [[1]], bias: [0] }).bytes);
    const runtime = await createOnnxRuntime(path, { intraOpThreads: 1, interOpThreads: 1 });
    const out = await runtime.run({
      input: { datatype: "FP32", shape: [1, 1], data: Float32Array.from([3]) },
    });
    assert.deepEqual(Array.from(out.probabilities.data as Float32Array), [1]);
    await runtime.dispose();
  });
});
