import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError, defaultModelRoot, loadConfig } from "../../serving/src/config";

const repoRoot = resolve(__dirname, "../..");

describe("server config", () => {
  it("has the documented defaults", () => {
    assert.deepEqual(loadConfig({}), {
      port: 8080,
      grpcPort: 8081,
      probePort: "off",
      host: "0.0.0.0",
      logLevel: "info",
      accessLog: "errors",
      model: {
        uri: undefined,
        root: join(repoRoot, "serving", "models"),
        name: "churn",
        version: "1.0.0",
        cacheDir: join(tmpdir(), "model-cache"),
        s3: { connectTimeoutMs: 5000, socketTimeoutMs: 30_000, maxAttempts: 3 },
      },
      executionProviders: ["cpu"],
      intraOpThreads: 0,
      interOpThreads: 0,
      maxBatchSize: 32,
      maxBatchDelayMs: 0,
      maxQueueSize: 1024,
      requestTimeoutMs: 10_000,
      bodyLimitBytes: 1_048_576,
      maxRowsPerRequest: 4096,
      headersTimeoutMs: 10_000,
      bodyTimeoutMs: 30_000,
      shedPauseMs: 1000,
      drainDelaySeconds: 5,
      shutdownTimeoutSeconds: 30,
    });
  });

  it("finds serving/models from the package root whatever the working directory", () => {
    const cwd = process.cwd();
    try {
      process.chdir(tmpdir());
      assert.equal(defaultModelRoot(), join(repoRoot, "serving", "models"));
    } finally {
      process.chdir(cwd);
    }
  });

  it("reads every variable", () => {
    const config = loadConfig({
      PORT: "9000",
      GRPC_PORT: "9001",
      PROBE_PORT: "9002",
      HOST: "127.0.0.1",
      LOG_LEVEL: "debug",
      ACCESS_LOG: "all",
      MODEL_URI: "s3://my-bucket/models/churn/2.0.0/",
      MODEL_ROOT: "/models",
      MODEL_NAME: "fraud",
      MODEL_VERSION: "2.1.0-rc.1",
      MODEL_CACHE_DIR: "/var/cache/models",
      EXECUTION_PROVIDERS: "CUDA, cpu",
      INTRA_OP_THREADS: "4",
      INTER_OP_THREADS: "1",
      MAX_BATCH_SIZE: "64",
      MAX_BATCH_DELAY_MS: "5",
      MAX_QUEUE_SIZE: "10",
      REQUEST_TIMEOUT_MS: "500",
      BODY_LIMIT_BYTES: "2048",
      MAX_ROWS_PER_REQUEST: "100",
      DRAIN_DELAY_SECONDS: "0.5",
      SHUTDOWN_TIMEOUT_SECONDS: "20",
    });
    assert.equal(config.port, 9000);
    assert.equal(config.grpcPort, 9001);
    assert.equal(loadConfig({ GRPC_PORT: "off" }).grpcPort, "off");
    assert.equal(loadConfig({ GRPC_PORT: "0" }).grpcPort, 0);
    assert.equal(config.probePort, 9002);
    assert.equal(loadConfig({}).probePort, "off");
    assert.equal(loadConfig({ PROBE_PORT: "0", GRPC_PORT: "0", PORT: "0" }).probePort, 0);
    assert.equal(config.model.uri, "s3://my-bucket/models/churn/2.0.0/");
    assert.equal(config.model.root, "/models");
    assert.equal(config.model.version, "2.1.0-rc.1");
    assert.deepEqual(config.executionProviders, ["cuda", "cpu"]);
    assert.equal(config.accessLog, "all");
    assert.equal(config.maxBatchDelayMs, 5);
    assert.equal(config.maxRowsPerRequest, 100);
    assert.equal(config.drainDelaySeconds, 0.5);
    assert.ok(Object.isFrozen(config));
  });

  it("resolves a local MODEL_URI to an absolute directory", () => {
    assert.equal(
      loadConfig({ MODEL_URI: "file:///srv/models/churn/1.0.0" }).model.uri,
      "/srv/models/churn/1.0.0",
    );
  });

  const bad: Array<[string, Record<string, string>, string]> = [
    ["a non-numeric port", { PORT: "http" }, 'PORT: expected an integer from 0 to 65535, got "http"'],
    ["a port out of range", { PORT: "70000" }, "PORT: expected an integer from 0 to 65535, got 70000"],
    [
      "an unknown log level",
      { LOG_LEVEL: "loud" },
      'LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    ],
    [
      "an unknown access-log policy",
      { ACCESS_LOG: "some" },
      'ACCESS_LOG: expected one of all, errors, none, got "some"',
    ],
    ["an invalid model name", { MODEL_NAME: "Churn!" }, 'MODEL_NAME: model name "Churn!" is invalid'],
    ["a non-semver version", { MODEL_VERSION: "latest" }, 'MODEL_VERSION: model version "latest" is invalid'],
    [
      "an unknown provider",
      { EXECUTION_PROVIDERS: "cuda,tpu" },
      'EXECUTION_PROVIDERS: unknown execution provider "tpu"; expected cpu, cuda, tensorrt',
    ],
    [
      "a duplicated provider",
      { EXECUTION_PROVIDERS: "cpu,cpu" },
      'EXECUTION_PROVIDERS: execution provider "cpu" is listed twice',
    ],
    [
      "a zero batch size",
      { MAX_BATCH_SIZE: "0" },
      "MAX_BATCH_SIZE: expected an integer from 1 to 65536, got 0",
    ],
    [
      "a fractional delay",
      { MAX_BATCH_DELAY_MS: "1.5" },
      'MAX_BATCH_DELAY_MS: expected an integer from 0 to 60000, got "1.5"',
    ],
    ["a zero queue", { MAX_QUEUE_SIZE: "0" }, "MAX_QUEUE_SIZE: expected an integer from 1 to 1000000, got 0"],
    [
      "a negative timeout",
      { REQUEST_TIMEOUT_MS: "-5" },
      "REQUEST_TIMEOUT_MS: expected an integer from 1 to 3600000, got -5",
    ],
    [
      "a tiny body limit",
      { BODY_LIMIT_BYTES: "10" },
      "BODY_LIMIT_BYTES: expected an integer from 1024 to 67108864, got 10",
    ],
    [
      "a body limit beyond what the process can parse and answer",
      { BODY_LIMIT_BYTES: String(300 * 1024 * 1024) },
      "BODY_LIMIT_BYTES: expected an integer from 1024 to 67108864, got 314572800",
    ],
    [
      "a body timeout shorter than the headers timeout",
      { HEADERS_TIMEOUT_MS: "20000", BODY_TIMEOUT_MS: "5000" },
      "BODY_TIMEOUT_MS (5000) must be at least HEADERS_TIMEOUT_MS (20000)",
    ],
    [
      "zero rows per request",
      { MAX_ROWS_PER_REQUEST: "0" },
      "MAX_ROWS_PER_REQUEST: expected an integer from 1 to 1000000, got 0",
    ],
    [
      "fewer rows per request than a batch",
      { MAX_ROWS_PER_REQUEST: "16", MAX_BATCH_SIZE: "32" },
      "MAX_ROWS_PER_REQUEST (16) must be at least MAX_BATCH_SIZE (32)",
    ],
    [
      "a negative drain delay",
      { DRAIN_DELAY_SECONDS: "-1" },
      'DRAIN_DELAY_SECONDS: expected a number of seconds from 0 to 3600, got "-1"',
    ],
    [
      "an unsupported URI scheme",
      { MODEL_URI: "gs://bucket/models/x/1.0.0/" },
      "MODEL_URI: expected an s3:// URI or a local directory",
    ],
    [
      "a local MODEL_URI that is not a <name>/<version> directory",
      { MODEL_URI: "/srv/models/latest" },
      "MODEL_URI: a local MODEL_URI must be a version directory .../<name>/<version>/",
    ],
    [
      "an S3 timeout that is not a number",
      { S3_SOCKET_TIMEOUT_MS: "soon" },
      'S3_SOCKET_TIMEOUT_MS: expected an integer from 1 to 3600000, got "soon"',
    ],
    [
      "an s3 URI without a key",
      { MODEL_URI: "s3://bucket" },
      "MODEL_URI: expected s3://<bucket>/models/<name>/<version>/",
    ],
    [
      "a gRPC port that is neither off nor a port",
      { GRPC_PORT: "70000" },
      'GRPC_PORT: expected "off" or an integer from 0 to 65535, got "70000"',
    ],
    [
      "a probe port that is neither off nor a port",
      { PROBE_PORT: "health" },
      'PROBE_PORT: expected "off" or an integer from 0 to 65535, got "health"',
    ],
    [
      "a probe port that is the serving port",
      { PORT: "8080", PROBE_PORT: "8080" },
      "PROBE_PORT (8080) is the same port as PORT: give each listener its own",
    ],
    [
      "a gRPC port that is the serving port",
      { PORT: "9000", GRPC_PORT: "9000" },
      "GRPC_PORT (9000) is the same port as PORT: give each listener its own",
    ],
    [
      "a probe port that is the gRPC port",
      { PROBE_PORT: "8081" },
      "PROBE_PORT (8081) is the same port as GRPC_PORT: give each listener its own",
    ],
    [
      "a shutdown timeout not above the drain delay",
      { DRAIN_DELAY_SECONDS: "30", SHUTDOWN_TIMEOUT_SECONDS: "30" },
      "SHUTDOWN_TIMEOUT_SECONDS (30) must be greater than DRAIN_DELAY_SECONDS (30)",
    ],
    [
      "a shutdown timeout not above the drain delay plus the request timeout",
      { DRAIN_DELAY_SECONDS: "5", REQUEST_TIMEOUT_MS: "10000", SHUTDOWN_TIMEOUT_SECONDS: "15" },
      "SHUTDOWN_TIMEOUT_SECONDS (15) must be greater than DRAIN_DELAY_SECONDS (5) + REQUEST_TIMEOUT_MS (10000 ms) = 15 s",
    ],
  ];
  for (const [what, env, message] of bad) {
    it(`rejects ${what}, naming the variable`, () => {
      assert.throws(
        () => loadConfig(env),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError);
          assert.ok(err.message.includes(message), `"${err.message}" does not include "${message}"`);
          return true;
        },
      );
    });
  }

  it("reports every problem at once", () => {
    assert.throws(
      () => loadConfig({ PORT: "x", MAX_BATCH_SIZE: "0" }),
      (err: unknown) => {
        assert.match((err as Error).message, /PORT: .*\n\s+MAX_BATCH_SIZE: /);
        return true;
      },
    );
  });
});
