/**
 * The seed-compatible API: `POST /predict`, `POST /predict/batch` and `GET /model/info`.
 * Requests go through the model service (and so the batcher) like OIP inferences.
 */
import type { FastifyPluginAsync, FastifyReply } from "fastify";
import { UnavailableError } from "../../errors";
import type { HostTensor } from "../../runtime/runtime";
import type { LoadedModel } from "../../service/modelService";
import type { Selection, ServedModels } from "../../service/servedModels";
import { PLATFORM } from "../oip/routes";
import { invalid, isObject } from "../validate";
import { featuresTensor, seedSignature, toPredictions, type SeedSignature } from "./adapter";

export interface SeedRoutesOptions {
  readonly service: ServedModels;
  /** Batching limits to report in `/model/info`. Default: not reported. */
  readonly batching?: {
    readonly maxBatchSize: number;
    readonly maxDelayMs: number;
    readonly maxQueueSize: number;
  };
}

export const seedRoutes: FastifyPluginAsync<SeedRoutesOptions> = async (app, { service, batching }) => {
  // The signature depends only on the manifest; compute it once per loaded model.
  const signatures = new WeakMap<LoadedModel, SeedSignature | Error>();
  const loaded = (): LoadedModel => {
    const model = service.model;
    if (!model) throw new UnavailableError(`model is not ready: ${service.stateReason}`, 5);
    return model;
  };
  const signatureOf = (model: LoadedModel): SeedSignature => {
    let sig = signatures.get(model);
    if (!sig) {
      try {
        sig = seedSignature(model.manifest);
      } catch (err) {
        sig = err as Error;
      }
      signatures.set(model, sig);
    }
    if (sig instanceof Error) throw sig;
    return sig;
  };

  /** Runs rows through the chosen version; a model with a fixed batch of 1 gets one request per row. */
  const run = async (selection: Selection, sig: SeedSignature, input: HostTensor) => {
    const outputs = sig.outputs;
    if (!sig.fixedBatch || input.shape[0] === 1) {
      return toPredictions(sig, await selection.infer({ [sig.input.name]: input }, outputs), input.shape[0]);
    }
    const rows = await Promise.all(
      Array.from({ length: input.shape[0] }, (_, r) => {
        const row: HostTensor = {
          datatype: input.datatype,
          shape: [1, sig.features],
          data: (input.data as Float32Array).subarray(r * sig.features, (r + 1) * sig.features),
        };
        return selection
          .infer({ [sig.input.name]: row }, outputs)
          .then((out) => toPredictions(sig, out, 1)[0]);
      }),
    );
    return rows;
  };

  app.post("/predict", async (request, reply: FastifyReply) => {
    // The experiment (if any) picks the version from the request's key; the route only asks.
    const selection = service.select(request);
    const model = selection.model;
    const sig = signatureOf(model);
    const body = request.body;
    if (!isObject(body) || !("features" in body)) {
      invalid("request body", `{"features": [${sig.features} numbers]}`, body);
    }
    const input = featuresTensor(sig, [body.features], () => "features");
    const prediction = (await run(selection, sig, input))[0];
    selection.record(request.id, [prediction.prediction]);
    // Literals of one fixed shape each, not spreads: this object is built for every request, and
    // spreading into a literal was a visible share of the server's CPU per request.
    const e = selection.experiment;
    const version = model.manifest.version;
    const latency = round(reply.elapsedTime);
    return reply.send(
      e
        ? {
            prediction: prediction.prediction,
            confidence: prediction.confidence,
            probabilities: prediction.probabilities,
            model_version: version,
            experiment: e.name,
            variant: e.variant,
            prediction_id: request.id,
            latency_ms: latency,
          }
        : {
            prediction: prediction.prediction,
            confidence: prediction.confidence,
            probabilities: prediction.probabilities,
            model_version: version,
            latency_ms: latency,
          },
    );
  });

  app.post("/predict/batch", async (request, reply: FastifyReply) => {
    const selection = service.select(request);
    const model = selection.model;
    const sig = signatureOf(model);
    const body = request.body;
    if (!isObject(body) || !Array.isArray(body.instances) || body.instances.length === 0) {
      invalid(
        isObject(body) ? "instances" : "request body",
        isObject(body)
          ? `a non-empty array of rows of ${sig.features} numbers`
          : `{"instances": [[${sig.features} numbers], ...]}`,
        isObject(body) ? body.instances : body,
      );
    }
    const instances = body.instances as unknown[];
    const input = featuresTensor(sig, instances, (r) => `instances[${r}]`);
    const predictions = await run(selection, sig, input);
    selection.record(
      request.id,
      predictions.map((p) => p.prediction),
    );
    return reply.send({
      predictions,
      batch_size: instances.length,
      model_version: model.manifest.version,
      ...experimentFields(selection, request.id),
      total_latency_ms: round(reply.elapsedTime),
    });
  });

  app.get("/model/info", async () => {
    const model = loaded();
    const { manifest } = model;
    let seed: { compatible: true; features: number } | { compatible: false; reason: string };
    try {
      seed = { compatible: true, features: signatureOf(model).features };
    } catch (err) {
      seed = { compatible: false, reason: (err as Error).message };
    }
    return {
      name: manifest.name,
      version: manifest.version,
      sha256: manifest.sha256,
      framework: manifest.framework,
      platform: PLATFORM,
      created_at: manifest.createdAt,
      inputs: manifest.inputs,
      outputs: manifest.outputs,
      labels: manifest.labels ?? null,
      metrics: manifest.metrics ?? null,
      execution_provider: model.provider,
      ready: service.ready,
      batching: {
        dynamic: model.batchable,
        ...(batching
          ? {
              max_batch_size: batching.maxBatchSize,
              max_delay_ms: batching.maxDelayMs,
              max_queue_size: batching.maxQueueSize,
            }
          : {}),
      },
      seed_api: seed,
      ...(service.experiment ? { experiment: service.experiment.describe() } : {}),
    };
  });
};

/** `experiment`, `variant` and the `prediction_id` to report outcomes against, on experiment traffic. */
function experimentFields(selection: Selection, id: string) {
  const e = selection.experiment;
  return e ? { experiment: e.name, variant: e.variant, prediction_id: id } : {};
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
