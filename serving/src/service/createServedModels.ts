/**
 * Builds what the server serves from its config: the model alone, or, with EXPERIMENT_NAME set,
 * the control plus the treatment version (a second store, runtime and batcher: batching stays
 * per model version) and the experiment's record buffer.
 */
import { dirname, join } from "node:path";
import type { ModelLocation, ServerConfig } from "../config";
import { RecordBuffer } from "../experiment/recordBuffer";
import { createRecordSink } from "../experiment/recordSinks";
import type { Logger } from "../logger";
import type { ServerMetrics } from "../metrics";
import { createModelStore } from "../model/createModelStore";
import type { ModelStore } from "../model/store";
import { Experiment } from "./experiment";
import type { ModelService, ModelServiceOptions } from "./modelService";
import { ServedModels } from "./servedModels";

/** Creates a ModelService for a store, with the server's runtime and batching settings. */
export type ModelServiceFactory = (
  store: ModelStore,
  options: Pick<ModelServiceOptions, "metricsLabel" | "reportsReadiness">,
) => ModelService;

/** The treatment's location: the control's, with its version replaced. */
export function treatmentLocation(control: ModelLocation, version: string): ModelLocation {
  const uri = control.uri;
  if (uri === undefined) return { ...control, version };
  if (uri.startsWith("s3://")) {
    const m = /^(s3:\/\/[^/]+\/(?:.*\/)?)[^/]+\/?$/.exec(uri);
    if (!m) throw new Error(`cannot derive the treatment's location from MODEL_URI ${JSON.stringify(uri)}`);
    return { ...control, uri: `${m[1]}${version}/`, version };
  }
  return { ...control, uri: join(dirname(uri.replace(/\/+$/, "")), version), version };
}

export async function createServedModels(
  config: ServerConfig,
  create: ModelServiceFactory,
  metrics: ServerMetrics,
  logger: Logger,
): Promise<{ control: ModelService; served: ServedModels }> {
  const settings = config.experiment;
  const control = create(await createModelStore(config.model, logger), { reportsReadiness: !settings });
  if (!settings) return { control, served: new ServedModels(control) };

  const location = treatmentLocation(config.model, settings.treatmentVersion);
  const treatment = create(await createModelStore(location, logger), {
    metricsLabel: `${config.model.name}@${settings.treatmentVersion}`,
    reportsReadiness: false,
  });
  const experiment = settings.name;
  const records = new RecordBuffer({
    sink: createRecordSink(settings.recordsUri),
    bufferSize: settings.bufferSize,
    batchSize: settings.batchSize,
    flushIntervalMs: settings.flushIntervalMs,
    logger,
    observer: {
      onDepth: (n) => metrics.experimentRecordBuffer.set({ experiment }, n),
      onWrite: (ok) => metrics.experimentRecordWrites.inc({ experiment, result: ok ? "ok" : "failed" }),
    },
  });
  logger.info(
    {
      experiment,
      treatmentVersion: settings.treatmentVersion,
      treatmentPercent: settings.treatmentPercent,
      assignmentKey: settings.assignmentKey,
      records: records.location,
    },
    "experiment: serving control and treatment",
  );
  return {
    control,
    served: new ServedModels(
      control,
      new Experiment({ settings, treatment, records, metrics, logger }),
      metrics,
    ),
  };
}
