/**
 * An experiment server for tests: two versions of one model in a temporary repository, served by
 * the real `startServer` from an environment (as main does), records in a local directory unless
 * the caller points EXPERIMENT_RECORDS_URI elsewhere.
 */
import { join } from "node:path";
import pino from "pino";
import { loadConfig } from "../../../serving/src/config";
import { startServer, type ServerHandle } from "../../../serving/src/server";
import { softmaxClassifier, type BuiltModel } from "../../../serving/tools/models";
import { writeModelVersion } from "../../../serving/tools/modelRepository";
import type { S3TestServer } from "../../support/s3Server";
import { IDENTITY_CLASSIFIER, tempDir } from "../helpers";
import { startMain, waitReady, type Child } from "../mainProcess";

/** The control of the tests: label = argmax(x0, x1) ("stay" when x0 > x1). */
export const CONTROL_MODEL = IDENTITY_CLASSIFIER;
/** The treatment: the weights swapped, so it answers the opposite label on every row with x0 != x1. */
export const TREATMENT_MODEL: BuiltModel = softmaxClassifier({
  weights: [
    [0, 1],
    [1, 0],
  ],
  bias: [0, 0],
  labels: ["stay", "churn"],
});

export interface ExperimentServer {
  readonly server: ServerHandle;
  readonly root: string;
  readonly recordsDir: string;
  close(): Promise<void>;
}

export interface ExperimentServerOptions {
  /** Extra or overriding environment variables. */
  readonly env?: Record<string, string>;
  /** Manifest sha256 of the treatment (to plant a mismatch). Default: the real one. */
  readonly treatmentSha256?: string;
  /** Repository root to reuse (a "restart"). Default: a new temporary one. */
  readonly root?: string;
  readonly control?: BuiltModel;
  readonly treatment?: BuiltModel;
}

export async function startExperimentServer(
  options: ExperimentServerOptions = {},
): Promise<ExperimentServer> {
  const temp = options.root ? undefined : await tempDir("experiment-test-");
  const root = options.root ?? temp!.dir;
  await writeModelVersion({
    root,
    name: "test-model",
    version: "1.0.0",
    model: options.control ?? CONTROL_MODEL,
  });
  await writeModelVersion({
    root,
    name: "test-model",
    version: "2.0.0",
    model: options.treatment ?? TREATMENT_MODEL,
    ...(options.treatmentSha256 ? { sha256: options.treatmentSha256 } : {}),
  });
  const recordsDir = join(root, "records");
  const config = loadConfig({
    PORT: "0",
    GRPC_PORT: "0",
    HOST: "127.0.0.1",
    MODEL_ROOT: root,
    MODEL_NAME: "test-model",
    MODEL_VERSION: "1.0.0",
    DRAIN_DELAY_SECONDS: "0",
    EXPERIMENT_NAME: "swap-test",
    EXPERIMENT_TREATMENT_VERSION: "2.0.0",
    EXPERIMENT_TREATMENT_PERCENT: "50",
    EXPERIMENT_ASSIGNMENT_KEY: "header:X-User-Id",
    EXPERIMENT_RECORDS_URI: recordsDir,
    ...options.env,
  });
  const server = await startServer(config, { logger: pino({ level: "silent" }) });
  await server.loaded;
  return {
    server,
    root,
    recordsDir,
    close: async () => {
      await server.shutdown("test");
      await temp?.cleanup();
    },
  };
}

export interface ExperimentProcess {
  readonly child: Child;
  /** `http://127.0.0.1:<port>`, ready. */
  readonly url: string;
  /** Kills the process if it still runs and removes its model repository. */
  close(): Promise<void>;
}

/**
 * The real entry point as a child process running experiment `name` (treatment share 50%, key
 * header X-User-Id) over two versions of "churn" in a temporary repository, writing its records
 * to `s3://<bucket>/experiments/<name>/` of the given S3 server.
 */
export async function startExperimentProcess(args: {
  readonly s3: S3TestServer;
  readonly bucket: string;
  readonly name: string;
  readonly control: BuiltModel;
  readonly treatment: BuiltModel;
  /** Extra or overriding environment variables. */
  readonly env?: Record<string, string>;
}): Promise<ExperimentProcess> {
  const { dir: root, cleanup } = await tempDir("experiment-process-");
  let child: Child | undefined;
  const close = async () => {
    if (child && child.process.exitCode === null) child.process.kill("SIGKILL");
    await cleanup();
  };
  try {
    await writeModelVersion({ root, name: "churn", version: "1.0.0", model: args.control });
    await writeModelVersion({ root, name: "churn", version: "1.1.0", model: args.treatment });
    child = startMain({
      ...args.s3.env(),
      MODEL_ROOT: root,
      MODEL_NAME: "churn",
      MODEL_VERSION: "1.0.0",
      DRAIN_DELAY_SECONDS: "0",
      EXPERIMENT_NAME: args.name,
      EXPERIMENT_TREATMENT_VERSION: "1.1.0",
      EXPERIMENT_TREATMENT_PERCENT: "50",
      EXPERIMENT_ASSIGNMENT_KEY: "header:X-User-Id",
      EXPERIMENT_RECORDS_URI: `s3://${args.bucket}/experiments/${args.name}/`,
      ...args.env,
    });
    const url = await child.url;
    await waitReady(url);
    return { child, url, close };
  } catch (err) {
    await close();
    throw err;
  }
}
