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
import { IDENTITY_CLASSIFIER, tempDir } from "../helpers";

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
