/**
 * Shared fixtures for the server tests: temporary model repositories with models built by
 * serving/tools, and an app wired exactly like the real server (real onnxruntime, real batcher).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import type { BatcherOptions } from "../../serving/src/batching/batcher";
import { buildApp } from "../../serving/src/http/app";
import type { Logger } from "../../serving/src/logger";
import { ServerMetrics } from "../../serving/src/metrics";
import { LocalModelStore } from "../../serving/src/model/localStore";
import { createOnnxRuntime } from "../../serving/src/runtime/onnxRuntime";
import type { InferenceRuntime } from "../../serving/src/runtime/runtime";
import pino from "pino";
import { loadConfig } from "../../serving/src/config";
import { startServer, type ServerHandle } from "../../serving/src/server";
import { ModelService } from "../../serving/src/service/modelService";
import { softmaxClassifier, type BuiltModel } from "../../serving/tools/models";
import { writeModelVersion } from "../../serving/tools/modelRepository";

/** A temporary directory removed by the returned cleanup. */
export async function tempDir(
  prefix = "serving-test-",
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * The known-weight classifier most tests use: 2 features, 2 classes,
 * `probabilities = softmax([x0, x1] @ [[1, 0], [0, 1]] + [0, 0]) = softmax(x0, x1)`,
 * `label = argmax`. Equal features give exactly [0.5, 0.5].
 */
export const IDENTITY_CLASSIFIER: BuiltModel = softmaxClassifier({
  weights: [
    [1, 0],
    [0, 1],
  ],
  bias: [0, 0],
  labels: ["stay", "churn"],
});

/** softmax over two logits, in float64 (tests compare float32 outputs within 1e-6). */
export function softmax2(a: number, b: number): [number, number] {
  const m = Math.max(a, b);
  const ea = Math.exp(a - m);
  const eb = Math.exp(b - m);
  return [ea / (ea + eb), eb / (ea + eb)];
}

/** Asserts two number arrays are equal within `tolerance` (float32 transcendental functions). */
export function assertClose(actual: readonly number[], expected: readonly number[], tolerance = 1e-6): void {
  if (actual.length !== expected.length || actual.some((v, i) => Math.abs(v - expected[i]) > tolerance)) {
    throw new Error(`expected ${JSON.stringify(expected)} (±${tolerance}), got ${JSON.stringify(actual)}`);
  }
}

/** A logger that keeps every line, for asserting on log output. */
export function memoryLogger(): Logger & { lines: Array<{ level: string; msg?: string; obj: object }> } {
  const lines: Array<{ level: string; msg?: string; obj: object }> = [];
  const at =
    (level: string) =>
    (obj: object, msg?: string): void => {
      lines.push({ level, msg, obj });
    };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

export interface TestServer {
  readonly app: FastifyInstance;
  readonly service: ModelService;
  readonly metrics: ServerMetrics;
  readonly root: string;
  /** Closes the app, stops the service and removes the model repository. */
  close(): Promise<void>;
}

/** Options of {@link startTestServer}. */
export interface TestServerOptions {
  /** Model to serve. Default: IDENTITY_CLASSIFIER. */
  readonly model?: BuiltModel;
  /** Default: "test-model". */
  readonly name?: string;
  /** Default: "1.0.0". */
  readonly version?: string;
  /** Manifest sha256 override (to plant a mismatch). Default: the real one. */
  readonly sha256?: string;
  /** Batcher limits. Default: maxBatchSize 32, maxDelayMs 2, maxQueueSize 1024, timeoutMs 10000. */
  readonly batching?: Omit<BatcherOptions, "batchable" | "observer">;
  /** Body limit. Default: 1 MiB. */
  readonly bodyLimitBytes?: number;
  /** HTTP receive timeouts and refusal pacing (see AppDeps). Default: the app's. */
  readonly timeouts?: {
    readonly headersTimeoutMs?: number;
    readonly bodyTimeoutMs?: number;
    readonly shedPauseMs?: number;
  };
  /** Whether to wait for the model to load. Default: true. */
  readonly waitForLoad?: boolean;
  /** Logger for the model service. Default: silent. */
  readonly logger?: Logger;
  /** Wraps the real runtime (to slow or gate it). Default: none. */
  readonly wrapRuntime?: (runtime: InferenceRuntime) => InferenceRuntime;
}

/** Writes the model to a temporary repository and builds the app around it (not listening). */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { dir: root, cleanup } = await tempDir();
  const name = options.name ?? "test-model";
  const version = options.version ?? "1.0.0";
  await writeModelVersion({
    root,
    name,
    version,
    model: options.model ?? IDENTITY_CLASSIFIER,
    ...(options.sha256 ? { sha256: options.sha256 } : {}),
  });
  const metrics = new ServerMetrics();
  const batching = {
    maxBatchSize: 32,
    maxDelayMs: 2,
    maxQueueSize: 1024,
    timeoutMs: 10_000,
    ...options.batching,
  };
  const service = new ModelService({
    store: LocalModelStore.forVersion(root, name, version),
    createRuntime: async (path) => {
      const runtime = await createOnnxRuntime(path);
      return options.wrapRuntime ? options.wrapRuntime(runtime) : runtime;
    },
    batching,
    metrics,
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const app = buildApp({
    service,
    metrics,
    logLevel: "silent",
    bodyLimitBytes: options.bodyLimitBytes,
    ...options.timeouts,
    batching: {
      maxBatchSize: batching.maxBatchSize,
      maxDelayMs: batching.maxDelayMs,
      maxQueueSize: batching.maxQueueSize,
    },
  });
  const loading = service.start();
  if (options.waitForLoad ?? true) await loading;
  return {
    app,
    service,
    metrics,
    root,
    close: async () => {
      await app.close();
      await service.stop();
      await loading;
      await cleanup();
    },
  };
}

/**
 * Wraps a runtime so every run after the warm-up waits until `open()` is called. `entered`
 * resolves when the first such run starts (a request is then computing).
 */
export function gatedRuntime(): {
  wrap: (runtime: InferenceRuntime) => InferenceRuntime;
  open: () => void;
  entered: Promise<void>;
} {
  let open!: () => void;
  let enter!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const entered = new Promise<void>((resolve) => (enter = resolve));
  const wrap = (runtime: InferenceRuntime): InferenceRuntime => {
    let warmedUp = false;
    return {
      inputs: runtime.inputs,
      outputs: runtime.outputs,
      provider: runtime.provider,
      run: async (feeds, names) => {
        if (warmedUp) {
          enter();
          await gate;
        }
        warmedUp = true;
        return runtime.run(feeds, names);
      },
      dispose: () => runtime.dispose(),
    };
  };
  return { wrap, open, entered };
}

/** Polls `condition` every few ms until it holds (or fails after `timeoutMs`). */
export async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** POSTs JSON through inject and returns status, headers and parsed body. */
export async function postJson(
  app: FastifyInstance,
  url: string,
  body: unknown,
): Promise<{ status: number; body: Record<string, unknown>; headers: Record<string, unknown> }> {
  const res = await app.inject({
    method: "POST",
    url,
    headers: { "content-type": "application/json" },
    payload: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.statusCode, body: res.json(), headers: res.headers };
}

/** Value of one sample of a metric in Prometheus text, e.g. `metricValue(text, 'x_total{a="b"}')`. */
export function metricValue(text: string, sample: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}

/** A server started by startServer, as main.ts starts it, with the log lines it wrote. */
export interface RealServer {
  readonly server: ServerHandle;
  readonly lines: Array<Record<string, unknown>>;
  /** Shuts the server down (if the test has not) and removes the model repository. */
  close(): Promise<void>;
}

/**
 * Writes IDENTITY_CLASSIFIER as clf 1.0.0 and starts the real server on it, on ephemeral
 * loopback ports with no drain delay and no gRPC, plus `env` on top.
 */
export async function startRealServer(env: Record<string, string>): Promise<RealServer> {
  const { dir, cleanup } = await tempDir();
  try {
    await writeModelVersion({ root: dir, name: "clf", model: IDENTITY_CLASSIFIER });
    const config = loadConfig({
      PORT: "0",
      GRPC_PORT: "off",
      HOST: "127.0.0.1",
      MODEL_ROOT: dir,
      MODEL_NAME: "clf",
      MODEL_VERSION: "1.0.0",
      DRAIN_DELAY_SECONDS: "0",
      ...env,
    });
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const server = await startServer(config, { logger });
    return {
      server,
      lines,
      close: async () => {
        await server.shutdown("test");
        await cleanup();
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
