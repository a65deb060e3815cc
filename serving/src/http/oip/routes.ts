/**
 * Open Inference Protocol v2 (KServe / Triton REST): server metadata, model metadata and
 * readiness, and inference. Handlers only translate between JSON and tensors and hand off to
 * the model service (which batches); errors are mapped in one place (errorHandling).
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { elementsToJson } from "../../runtime/datatypes";
import type { LoadedModel } from "../../service/modelService";
import { resolveModel } from "../../service/resolveModel";
import type { ServedModels } from "../../service/servedModels";
import { SERVER_NAME, serverVersion } from "../../version";
import {
  BINARY_TENSOR_DATA_EXTENSION,
  BinaryInferBody,
  binaryInferResponse,
  binaryInputSources,
  HEADER_LENGTH_HEADER,
  rawBinaryRequest,
} from "./binary";
import { parseInferRequest } from "./request";
import { serializeInferResponse } from "./response";

export interface OipRoutesOptions {
  readonly service: ServedModels;
}

/** platform reported in model metadata (Triton's name for ONNX Runtime models). */
export const PLATFORM = "onnxruntime_onnx";

/** Protocol extensions this server supports, reported by `GET /v2` and gRPC ServerMetadata. */
export const OIP_EXTENSIONS: readonly string[] = [BINARY_TENSOR_DATA_EXTENSION];

interface ModelParams {
  name: string;
  version?: string;
}

export const oipRoutes: FastifyPluginAsync<OipRoutesOptions> = async (app, { service }) => {
  /** The loaded model if `name`/`version` address it: 404 for another model or version, 503 before loading. */
  const resolve = ({ name, version }: ModelParams): LoadedModel => resolveModel(service, name, version);

  app.get("/v2", async () => ({ name: SERVER_NAME, version: serverVersion(), extensions: OIP_EXTENSIONS }));

  const metadata = async (request: { params: ModelParams }) => {
    const { manifest } = resolve(request.params);
    return {
      name: manifest.name,
      versions: [manifest.version],
      platform: PLATFORM,
      inputs: manifest.inputs,
      outputs: manifest.outputs,
    };
  };
  app.get<{ Params: ModelParams }>("/v2/models/:name", metadata);
  app.get<{ Params: ModelParams }>("/v2/models/:name/versions/:version", metadata);

  const ready = async (request: { params: ModelParams }, reply: FastifyReply) => {
    const { name } = request.params;
    if (service.model) resolve(request.params); // 404 for an unknown model or version
    if (service.ready) return { name, ready: true };
    return reply.status(503).send({ name, ready: false, error: service.stateReason });
  };
  app.get<{ Params: ModelParams }>("/v2/models/:name/ready", ready);
  app.get<{ Params: ModelParams }>("/v2/models/:name/versions/:version/ready", ready);

  const infer = async (
    request: { id: string; params: ModelParams; body: unknown; headers: FastifyRequest["headers"] },
    reply: FastifyReply,
  ) => {
    resolve({ name: request.params.name });
    // A version in the URL pins it; otherwise the experiment (if any) assigns one.
    const selection = service.select(request, request.params.version);
    const model = selection.model;
    const { manifest, batchable } = model;
    let parsed;
    if (request.body instanceof BinaryInferBody) {
      const { binary } = request.body;
      const header = request.body.header ?? rawBinaryRequest(manifest, batchable, binary.length);
      parsed = parseInferRequest(header, manifest, batchable, binaryInputSources(header, binary));
    } else {
      parsed = parseInferRequest(request.body, manifest, batchable);
    }
    const outputNames = parsed.outputs ?? manifest.outputs.map((o) => o.name);
    const outputs = await selection.infer(parsed.feeds, outputNames);
    selection.record(request.id);
    const e = selection.experiment;
    const parameters = e ? { experiment: e.name, variant: e.variant, prediction_id: request.id } : undefined;
    if (parsed.binaryOutputs.size === 0) {
      return reply
        .type("application/json")
        .send(serializeInferResponse(manifest, parsed.id, outputNames, outputs, parameters));
    }
    const head = {
      model_name: manifest.name,
      model_version: manifest.version,
      ...(parsed.id !== undefined ? { id: parsed.id } : {}),
      ...(parameters !== undefined ? { parameters } : {}),
    };
    const { body, headerLength } = binaryInferResponse(
      head,
      outputNames,
      outputs,
      parsed.binaryOutputs,
      (t) => elementsToJson(t.datatype, t.data),
    );
    return reply
      .type("application/octet-stream")
      .header(HEADER_LENGTH_HEADER, String(headerLength))
      .send(body);
  };
  app.post<{ Params: ModelParams }>("/v2/models/:name/infer", infer);
  app.post<{ Params: ModelParams }>("/v2/models/:name/versions/:version/infer", infer);
};
