/**
 * The second bundled example (serving/models/mlp/1.0.0): a dense MLP whose manifest asks for a
 * GPU. Here (no GPU, the CPU build of onnxruntime-node) the GPU path is exercised as far as it
 * honestly goes: the provider list a gpu color gets, CUDA failing to start and the fallback to the
 * CPU provider, with the same answers as a CPU-only session.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseManifest } from "../../../serving/src/model/manifest";
import { sha256Bytes } from "../../../serving/src/model/checksum";
import { createOnnxRuntime } from "../../../serving/src/runtime/onnxRuntime";
import { providersFor } from "../../../serving/src/runtime/providers";
import { bundledMlpModel } from "../../../serving/tools/bundledMlp";
import { memoryLogger } from "../helpers";

const DIR = join(__dirname, "..", "..", "..", "serving", "models", "mlp", "1.0.0");

describe("bundled MLP example (gpu)", () => {
  it("is exactly what serving/tools/bundledMlp.ts generates, and its manifest asks for a GPU", () => {
    const bytes = readFileSync(join(DIR, "model.onnx"));
    assert.ok(
      Buffer.from(bundledMlpModel().bytes).equals(bytes),
      "bundled model.onnx differs from the generator",
    );
    const manifest = parseManifest(readFileSync(join(DIR, "manifest.json"), "utf8"));
    assert.equal(manifest.accelerator, "gpu");
    assert.equal(manifest.sha256, sha256Bytes(bytes));
    assert.deepEqual(manifest.inputs, [{ name: "input", datatype: "FP32", shape: [-1, 64] }]);
  });

  it("the churn manifest asks for the CPU (a TreeEnsemble runs on the CPU provider only)", () => {
    const churn = join(__dirname, "..", "..", "..", "serving", "models", "churn", "1.0.0", "manifest.json");
    assert.equal(parseManifest(readFileSync(churn, "utf8")).accelerator, "cpu");
  });

  it("providersFor: gpu prefers CUDA and may fall back to CPU; cpu never tries CUDA", () => {
    assert.deepEqual(providersFor("gpu"), ["cuda", "cpu"]);
    assert.deepEqual(providersFor("cpu"), ["cpu"]);
  });

  it("served with the gpu providers here, CUDA is unavailable: CPU with a warning, same answers as CPU-only", async () => {
    const logger = memoryLogger();
    const path = join(DIR, "model.onnx");
    const gpu = await createOnnxRuntime(path, { providers: providersFor("gpu"), logger });
    const cpu = await createOnnxRuntime(path, { providers: providersFor("cpu") });
    try {
      assert.equal(gpu.provider, "cpu");
      assert.ok(
        logger.lines.some((l) => l.msg === 'execution provider "cuda" is unavailable; falling back to "cpu"'),
        "expected the fallback warning",
      );
      const rows = 3;
      const data = Float32Array.from({ length: rows * 64 }, (_, i) => ((i * 37) % 101) / 50 - 1);
      const feeds = { input: { datatype: "FP32" as const, shape: [rows, 64], data } };
      const [a, b] = [await gpu.run(feeds), await cpu.run(feeds)];
      assert.deepEqual(
        Array.from(a.probabilities.data as Float32Array),
        Array.from(b.probabilities.data as Float32Array),
      );
      const p = Array.from(a.probabilities.data as Float32Array);
      for (let r = 0; r < rows; r++)
        assert.ok(Math.abs(p[2 * r] + p[2 * r + 1] - 1) < 1e-6, `row ${r} sums to 1`);
    } finally {
      await gpu.dispose();
      await cpu.dispose();
    }
  });
});
