import assert from "node:assert/strict";
import { UnavailableError } from "../../../serving/src/errors";
import { ServerMetrics } from "../../../serving/src/metrics";
import { LocalModelStore } from "../../../serving/src/model/localStore";
import type { ModelStore, VerifiedModel } from "../../../serving/src/model/store";
import { createOnnxRuntime } from "../../../serving/src/runtime/onnxRuntime";
import type { HostTensor, InferenceRuntime, TensorMap } from "../../../serving/src/runtime/runtime";
import { ModelService } from "../../../serving/src/service/modelService";
import { softmaxClassifier } from "../../../serving/tools/models";
import { writeModelVersion } from "../../../serving/tools/modelRepository";
import { IDENTITY_CLASSIFIER, memoryLogger, metricValue, tempDir } from "../helpers";

const input = (a: number, b: number): TensorMap => ({
  input: { datatype: "FP32", shape: [1, 2], data: Float32Array.from([a, b]) },
});

describe("model service", () => {
  let root: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir: root, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it("verifies, warms up with zeros of the manifest shape, then becomes ready", async () => {
    await writeModelVersion({ root, name: "m", model: IDENTITY_CLASSIFIER });
    const seen: TensorMap[] = [];
    const metrics = new ServerMetrics();
    const service = new ModelService({
      store: LocalModelStore.forVersion(root, "m", "1.0.0"),
      createRuntime: async (path) => {
        const real = await createOnnxRuntime(path);
        return {
          ...real,
          provider: real.provider,
          run: (feeds, outputs) => (seen.push(feeds), real.run(feeds, outputs)),
          dispose: () => real.dispose(),
        };
      },
      metrics,
    });
    assert.equal(service.state, "loading");
    assert.equal(service.ready, false);
    await service.start();
    assert.equal(service.state, "ready");
    assert.equal(seen.length, 1, "exactly one warm-up run before ready");
    assert.deepEqual(seen[0].input.shape, [1, 2]);
    assert.deepEqual(Array.from(seen[0].input.data as Float32Array), [0, 0]);
    assert.deepEqual(service.model?.provider, "cpu");
    assert.equal(service.model?.batchable, true);
    const text = await metrics.registry.metrics();
    assert.equal(metricValue(text, "model_server_ready"), 1);
    assert.ok(
      text.includes(
        `model_server_model_info{name="m",version="1.0.0",sha256="${service.model?.manifest.sha256}",provider="cpu"} 1`,
      ),
    );
    await service.stop();
  });

  it("never becomes ready on a sha256 mismatch and logs why", async () => {
    await writeModelVersion({ root, name: "m", model: IDENTITY_CLASSIFIER, sha256: "f".repeat(64) });
    const logger = memoryLogger();
    let runtimes = 0;
    const service = new ModelService({
      store: LocalModelStore.forVersion(root, "m", "1.0.0"),
      createRuntime: (path) => (runtimes++, createOnnxRuntime(path)),
      logger,
    });
    await service.start();
    assert.equal(service.state, "failed");
    assert.equal(service.ready, false);
    assert.equal(runtimes, 0, "an unverified model must never reach onnxruntime");
    const line = logger.lines.find((l) => l.level === "error");
    assert.ok(line?.msg);
    assert.match(
      line.msg,
      /^model failed to load and will not become ready: sha256 mismatch for .*model\.onnx: manifest declares f{64}, file has [0-9a-f]{64}/,
    );
    await assert.rejects(
      service.infer(input(1, 2)),
      (err: unknown) => err instanceof UnavailableError && err.status === 503,
    );
  });

  it("refuses a model that does not match its manifest", async () => {
    // The manifest says the input is INT32 [-1, 3]; the model has FP32 [-1, 2].
    await writeModelVersion({
      root,
      name: "m",
      model: { ...IDENTITY_CLASSIFIER, inputs: [{ name: "input", datatype: "INT32", shape: [-1, 3] }] },
    });
    const logger = memoryLogger();
    const service = new ModelService({
      store: LocalModelStore.forVersion(root, "m", "1.0.0"),
      createRuntime: (path) => createOnnxRuntime(path),
      logger,
    });
    await service.start();
    assert.equal(service.state, "failed");
    assert.match(
      service.stateReason,
      /manifest does not match the model: input "input": manifest says INT32, the model has FP32; input "input": manifest shape \[-1,3\] does not fit the model's \[-1,2\]/,
    );
  });

  it("retries transient store failures and then becomes ready", async () => {
    await writeModelVersion({ root, name: "m", model: IDENTITY_CLASSIFIER });
    const local = LocalModelStore.forVersion(root, "m", "1.0.0");
    let attempts = 0;
    const flaky: ModelStore = {
      location: "flaky://",
      load: async (): Promise<VerifiedModel> => {
        attempts++;
        if (attempts < 3) throw new Error("connection reset");
        return local.load();
      },
    };
    const logger = memoryLogger();
    const service = new ModelService({
      store: flaky,
      createRuntime: (p) => createOnnxRuntime(p),
      retryDelayMs: 5,
      logger,
    });
    await service.start();
    assert.equal(attempts, 3);
    assert.equal(service.state, "ready");
    assert.equal(logger.lines.filter((l) => l.msg === "model load failed; retrying").length, 2);
    await service.stop();
  });

  it("turns unready when draining but still answers inferences until stopped", async () => {
    await writeModelVersion({ root, name: "m", model: IDENTITY_CLASSIFIER });
    const service = new ModelService({
      store: LocalModelStore.forVersion(root, "m", "1.0.0"),
      createRuntime: (p) => createOnnxRuntime(p),
    });
    await service.start();
    service.startDraining();
    assert.equal(service.state, "draining");
    assert.equal(service.ready, false);
    const out = await service.infer(input(3, 3));
    assert.deepEqual(Array.from(out.probabilities.data as Float32Array), [0.5, 0.5]);
    await service.stop();
    assert.equal(service.state, "stopped");
    await assert.rejects(service.infer(input(1, 1)), UnavailableError);
  });

  it("finishes queued inferences when stopped", async () => {
    const model = softmaxClassifier({
      weights: [
        [1, 0],
        [0, 1],
      ],
      bias: [0, 0],
    });
    await writeModelVersion({ root, name: "m", model });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const service = new ModelService({
      store: LocalModelStore.forVersion(root, "m", "1.0.0"),
      createRuntime: async (path): Promise<InferenceRuntime> => {
        const real = await createOnnxRuntime(path);
        let warm = false;
        return {
          inputs: real.inputs,
          outputs: real.outputs,
          provider: real.provider,
          run: async (feeds: TensorMap, names?: readonly string[]): Promise<Record<string, HostTensor>> => {
            if (warm) await gate;
            warm = true;
            return real.run(feeds, names);
          },
          dispose: () => real.dispose(),
        };
      },
      batching: { maxBatchSize: 1 },
    });
    await service.start();
    const pending = [service.infer(input(1, 2)), service.infer(input(3, 1)), service.infer(input(0, 5))];
    const stopped = service.stop();
    release();
    await stopped;
    const results = await Promise.all(pending);
    assert.deepEqual(
      results.map((r) => Array.from(r.label.data as BigInt64Array)),
      [[1n], [0n], [1n]],
    );
  });
});
