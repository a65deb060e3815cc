/**
 * Server configuration from environment variables, parsed and validated once at start. Every
 * problem is reported at once, each naming the variable, the expected value and what it got.
 */
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { versionFromPath } from "./model/createModelStore";
import { readExperiment, type ExperimentSettings } from "./experiment/settings";
import { validateModelName, validateModelVersion } from "./model/manifest";
import { DEFAULT_S3_CALL_LIMITS, s3CallLimitsFromEnv, type S3CallLimits } from "./model/s3Limits";
import { parseExecutionProviders, type ExecutionProvider } from "./runtime/providers";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Which requests get an access-log line: every one, only those answered 4xx/5xx, or none. */
export const ACCESS_LOG_POLICIES = ["all", "errors", "none"] as const;
export type AccessLogPolicy = (typeof ACCESS_LOG_POLICIES)[number];

/** The access-log policy when ACCESS_LOG is unset. */
export const DEFAULT_ACCESS_LOG: AccessLogPolicy = "errors";

/**
 * Ranges and defaults of the dynamic-batching variables, exported because the stack's config
 * validates per-color batching against the same numbers before a pod ever starts.
 */
export const BATCHING_LIMITS = {
  maxBatchSize: { min: 1, max: 65_536, default: 32 },
  maxBatchDelayMs: { min: 0, max: 60_000, default: 0 },
} as const;

/**
 * Largest BODY_LIMIT_BYTES accepted: a body is held as text, parsed to JS values and turned into
 * tensors at once, so a few times its size sits on the heap; 64 MiB keeps that well inside
 * Node's default heap, where a 200 MB body exhausted it.
 */
export const MAX_BODY_LIMIT_BYTES = 64 * 1024 * 1024;

/** Where `session.run` executes: on the event-loop thread, or in a worker thread. */
export const INFERENCE_THREADS = ["main", "worker"] as const;
export type InferenceThread = (typeof INFERENCE_THREADS)[number];
/** Where `session.run` executes when INFERENCE_THREAD is unset. */
export const DEFAULT_INFERENCE_THREAD: InferenceThread = "main";

/** The gRPC port when GRPC_PORT is unset (the HTTP port's neighbour, as Triton's 8000/8001). */
export const DEFAULT_GRPC_PORT = 8081;

/** Which model version to serve: a `MODEL_URI`, or name/version inside a local repository root. */
export interface ModelLocation {
  /**
   * `s3://bucket/models/<name>/<version>/` or a local version directory. When set it wins over
   * `root`/`name`/`version`. Default: unset.
   */
  readonly uri?: string;
  /** Local model repository root (`<root>/<name>/<version>/`). Default: `serving/models` of the package. */
  readonly root: string;
  /** Model name. Default: "churn". */
  readonly name: string;
  /** Model version. Default: "1.0.0". */
  readonly version: string;
  /** Where remote models are downloaded to. Default: `<os tmpdir>/model-cache`. */
  readonly cacheDir: string;
  /**
   * Timeouts and attempts of S3 calls (S3_CONNECT_TIMEOUT_MS, S3_SOCKET_TIMEOUT_MS,
   * AWS_MAX_ATTEMPTS). Default: 5000 ms, 30000 ms, 3.
   */
  readonly s3?: S3CallLimits;
}

export interface ServerConfig {
  /** TCP port. Default: 8080. */
  readonly port: number;
  /**
   * TCP port of the Open Inference Protocol gRPC service (and grpc.health.v1), on HOST; "off"
   * serves no gRPC; 0 binds an ephemeral port, as PORT=0 does. Default: 8081.
   */
  readonly grpcPort: number | "off";
  /**
   * TCP port, on HOST, of a listener that answers only the probe paths (`/health`, `/ready`,
   * `/v2/health/live`, `/v2/health/ready`) from a thread of its own, so the kubelet's probes are
   * answered at once however busy the serving port is (probes/probeWorker.ts); "off" starts none;
   * 0 binds an ephemeral port. The stack sets it and points the pods' probes at it. Default: "off".
   */
  readonly probePort: number | "off";
  /** Listen address. Default: "0.0.0.0". */
  readonly host: string;
  /** pino log level. Default: "info". */
  readonly logLevel: LogLevel;
  /**
   * Which requests get a "request completed" line: "all", "errors" (status >= 400) or "none".
   * Request counts and latencies are always in the metrics. Default: "errors" — a line per
   * request costs ~10% of the server's CPU at full load and a log pipeline's bill at 10k req/s.
   */
  readonly accessLog: AccessLogPolicy;
  readonly model: ModelLocation;
  /** Execution providers in preference order. Default: ["cpu"]. */
  readonly executionProviders: readonly ExecutionProvider[];
  /** onnxruntime intra-op threads; 0 = onnxruntime's default. Default: 0. */
  readonly intraOpThreads: number;
  /** onnxruntime inter-op threads; 0 = onnxruntime's default. Default: 0. */
  readonly interOpThreads: number;
  /**
   * Where `session.run` executes: "main" (the event-loop thread, which it blocks while it
   * computes) or "worker" (a worker thread, so HTTP keeps being served meanwhile). Present only
   * when INFERENCE_THREAD is set. Default: "main".
   */
  readonly inferenceThread?: InferenceThread;
  /** Most rows one `session.run` gets. Default: 32. */
  readonly maxBatchSize: number;
  /**
   * Longest the oldest queued request waits for a batch to fill, in ms. Default: 0 (as Triton's
   * `max_queue_delay_microseconds`): a batch starts as soon as the model is free, and requests
   * arriving while it computes form the next one, so batches grow with load, not with waiting.
   */
  readonly maxBatchDelayMs: number;
  /** Requests waiting beyond this are refused with 503. Default: 1024. */
  readonly maxQueueSize: number;
  /** Per-request deadline, queueing included, in ms; beyond it the answer is 504. Default: 10000. */
  readonly requestTimeoutMs: number;
  /**
   * Largest accepted request body in bytes (413 beyond), at most {@link MAX_BODY_LIMIT_BYTES}.
   * Default: 1048576.
   */
  readonly bodyLimitBytes: number;
  /**
   * Most rows (dimension 0) one inference request may carry (413 beyond); requests above
   * `maxBatchSize` rows run in chunks of it; at least `maxBatchSize`. Default: 4096, or
   * `maxBatchSize` when that is larger.
   */
  readonly maxRowsPerRequest: number;
  /**
   * Longest a client may take to send a request's headers, in ms (408 beyond), counted from the
   * request's first byte: an idle kept-alive connection is not a slow request. Default: 10000.
   */
  readonly headersTimeoutMs: number;
  /**
   * Longest a client may take to send a whole request, headers and body, in ms (408 beyond); the
   * time to answer it is REQUEST_TIMEOUT_MS's. Default: 30000.
   */
  readonly bodyTimeoutMs: number;
  /**
   * While the queue is full, a connection just refused (503) is not read again for up to this
   * many ms, so clients that ask again at once cannot crowd out the batches; 0 = off.
   * Default: 1000 (the Retry-After of the 503).
   */
  readonly shedPauseMs: number;
  /** Seconds between SIGTERM (readiness 503) and closing the listener. Default: 5. */
  readonly drainDelaySeconds: number;
  /** Seconds from SIGTERM to a forced exit. Default: 30. */
  readonly shutdownTimeoutSeconds: number;
  /** The A/B experiment this server runs (EXPERIMENT_* variables). Default: none. */
  readonly experiment?: ExperimentSettings;
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Readonly<Record<string, string | undefined>>;

/** Parses and validates the server environment; throws one ConfigError listing every problem. */
export function loadConfig(env: Env = process.env): ServerConfig {
  const problems: string[] = [];
  const read = <T>(key: string, fallback: T, parse: (raw: string) => T): T => {
    const raw = env[key]?.trim();
    if (raw === undefined || raw === "") return fallback;
    try {
      return parse(raw);
    } catch (err) {
      problems.push(`${key}: ${(err as Error).message}`);
      return fallback;
    }
  };
  const int = (min: number, max: number) => (raw: string) => {
    if (!/^-?\d+$/.test(raw))
      throw new Error(`expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    const value = Number(raw);
    if (value < min || value > max)
      throw new Error(`expected an integer from ${min} to ${max}, got ${value}`);
    return value;
  };
  const intIn = (range: { readonly min: number; readonly max: number }) => int(range.min, range.max);
  const seconds = (max: number) => (raw: string) => {
    const value = Number(raw);
    if (!/^\d+(\.\d+)?$/.test(raw) || value > max) {
      throw new Error(`expected a number of seconds from 0 to ${max}, got ${JSON.stringify(raw)}`);
    }
    return value;
  };
  const oneOf =
    <T extends string>(allowed: readonly T[]) =>
    (raw: string): T => {
      if (!(allowed as readonly string[]).includes(raw)) {
        throw new Error(`expected one of ${allowed.join(", ")}, got ${JSON.stringify(raw)}`);
      }
      return raw as T;
    };

  const base: ServerConfig = {
    port: read("PORT", 8080, int(0, 65535)),
    grpcPort: read<number | "off">("GRPC_PORT", DEFAULT_GRPC_PORT, portOrOff),
    probePort: read<number | "off">("PROBE_PORT", "off", portOrOff),
    host: read("HOST", "0.0.0.0", (raw) => raw),
    logLevel: read<LogLevel>("LOG_LEVEL", "info", oneOf(LOG_LEVELS)),
    accessLog: read("ACCESS_LOG", DEFAULT_ACCESS_LOG, oneOf(ACCESS_LOG_POLICIES)),
    model: {
      uri: read<string | undefined>("MODEL_URI", undefined, parseModelUri),
      root: read("MODEL_ROOT", defaultModelRoot(), (raw) => resolve(raw)),
      name: read("MODEL_NAME", "churn", validateModelName),
      version: read("MODEL_VERSION", "1.0.0", validateModelVersion),
      cacheDir: read("MODEL_CACHE_DIR", join(tmpdir(), "model-cache"), (raw) => resolve(raw)),
      s3: s3Limits(env, problems),
    },
    executionProviders: read(
      "EXECUTION_PROVIDERS",
      ["cpu"] as readonly ExecutionProvider[],
      parseExecutionProviders,
    ),
    intraOpThreads: read("INTRA_OP_THREADS", 0, int(0, 1024)),
    interOpThreads: read("INTER_OP_THREADS", 0, int(0, 1024)),

    maxBatchSize: read(
      "MAX_BATCH_SIZE",
      BATCHING_LIMITS.maxBatchSize.default,
      intIn(BATCHING_LIMITS.maxBatchSize),
    ),
    maxBatchDelayMs: read(
      "MAX_BATCH_DELAY_MS",
      BATCHING_LIMITS.maxBatchDelayMs.default,
      intIn(BATCHING_LIMITS.maxBatchDelayMs),
    ),
    maxQueueSize: read("MAX_QUEUE_SIZE", 1024, int(1, 1_000_000)),
    requestTimeoutMs: read("REQUEST_TIMEOUT_MS", 10_000, int(1, 3_600_000)),
    bodyLimitBytes: read("BODY_LIMIT_BYTES", 1_048_576, int(1024, MAX_BODY_LIMIT_BYTES)),
    // Unset: 4096, or one batch when batches are larger.
    maxRowsPerRequest: read<number | undefined>("MAX_ROWS_PER_REQUEST", undefined, int(1, 1_000_000)) ?? 0,
    headersTimeoutMs: read("HEADERS_TIMEOUT_MS", 10_000, int(1, 3_600_000)),
    bodyTimeoutMs: read("BODY_TIMEOUT_MS", 30_000, int(1, 3_600_000)),
    shedPauseMs: read("SHED_PAUSE_MS", 1000, int(0, 10_000)),
    drainDelaySeconds: read("DRAIN_DELAY_SECONDS", 5, seconds(3600)),
    shutdownTimeoutSeconds: read("SHUTDOWN_TIMEOUT_SECONDS", 30, seconds(3600)),
    ...optional(
      "inferenceThread",
      read<InferenceThread | undefined>("INFERENCE_THREAD", undefined, oneOf(INFERENCE_THREADS)),
    ),
  };
  const experiment = readExperiment(env, read, int, base.model.uri, base.model.version, problems);
  const config: ServerConfig = { ...base, ...optional("experiment", experiment) };
  // After the drain delay, a request accepted just before the listener closed may take up to
  // REQUEST_TIMEOUT_MS; a shutdown deadline shorter than both cuts such requests off mid-answer.
  const drainAndAnswer = config.drainDelaySeconds + config.requestTimeoutMs / 1000;
  if (problems.length === 0 && config.shutdownTimeoutSeconds <= drainAndAnswer) {
    problems.push(
      `SHUTDOWN_TIMEOUT_SECONDS (${config.shutdownTimeoutSeconds}) must be greater than DRAIN_DELAY_SECONDS ` +
        `(${config.drainDelaySeconds}) + REQUEST_TIMEOUT_MS (${config.requestTimeoutMs} ms) = ${drainAndAnswer} s, ` +
        `or requests still queued when the deadline hits lose their connection unanswered`,
    );
  }
  if (problems.length === 0 && config.bodyTimeoutMs < config.headersTimeoutMs) {
    problems.push(
      `BODY_TIMEOUT_MS (${config.bodyTimeoutMs}) must be at least HEADERS_TIMEOUT_MS (${config.headersTimeoutMs})`,
    );
  }
  const ports = [
    ["PORT", config.port],
    ["GRPC_PORT", config.grpcPort],
    ["PROBE_PORT", config.probePort],
  ] as const;
  for (const [i, [key, value]] of ports.entries()) {
    const clash = ports
      .slice(0, i)
      .find(([, other]) => typeof value === "number" && value !== 0 && other === value);
    if (clash) problems.push(`${key} (${value}) is the same port as ${clash[0]}: give each listener its own`);
  }
  if (config.maxRowsPerRequest === 0) {
    Object.assign(config, { maxRowsPerRequest: Math.max(4096, config.maxBatchSize) });
  } else if (problems.length === 0 && config.maxRowsPerRequest < config.maxBatchSize) {
    problems.push(
      `MAX_ROWS_PER_REQUEST (${config.maxRowsPerRequest}) must be at least MAX_BATCH_SIZE (${config.maxBatchSize})`,
    );
  }
  if (problems.length > 0) {
    throw new ConfigError(`invalid server configuration:\n  ${problems.join("\n  ")}`);
  }
  return Object.freeze(config);
}

function s3Limits(env: Env, problems: string[]): S3CallLimits {
  try {
    return s3CallLimitsFromEnv(env);
  } catch (err) {
    problems.push((err as Error).message);
    return DEFAULT_S3_CALL_LIMITS;
  }
}

/** A TCP port, or "off". */
function portOrOff(raw: string): number | "off" {
  if (raw === "off") return "off";
  if (!/^\d+$/.test(raw) || Number(raw) > 65535) {
    throw new Error(`expected "off" or an integer from 0 to 65535, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

/** `{ [key]: value }`, or nothing when the value is unset (keeps unset optional keys absent). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function parseModelUri(raw: string): string {
  if (raw.startsWith("s3://")) {
    if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+/.test(raw)) {
      throw new Error(`expected s3://<bucket>/models/<name>/<version>/, got ${JSON.stringify(raw)}`);
    }
    return raw;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) && !raw.startsWith("file://")) {
    throw new Error(`expected an s3:// URI or a local directory, got ${JSON.stringify(raw)}`);
  }
  const dir = resolve(raw.startsWith("file://") ? new URL(raw).pathname : raw);
  try {
    versionFromPath(dir);
  } catch (err) {
    throw new Error(
      `a local MODEL_URI must be a version directory .../<name>/<version>/ (its manifest must name that ` +
        `model and version), got ${JSON.stringify(raw)}: ${(err as Error).message}`,
    );
  }
  return dir;
}

/**
 * `serving/models` under the package root, found by walking up from this file, so it is the same
 * whether run from source (tsx) or compiled (`dist/serving/src`), and whatever the cwd is.
 */
export function defaultModelRoot(): string {
  return join(packageRoot(), "serving", "models");
}

/** Nearest directory at or above this module that holds a package.json. */
export function packageRoot(from: string = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json found above ${from}`);
    dir = parent;
  }
  return dir;
}
