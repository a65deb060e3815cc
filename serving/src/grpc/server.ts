/**
 * The gRPC protocol layer: `inference.GRPCInferenceService` exactly as the Open Inference
 * Protocol .proto defines it, plus the standard `grpc.health.v1.Health` service for probes and
 * load balancers. Like the REST routes it only translates: requests go through the same model
 * service, validation and dynamic batcher, so REST and gRPC requests share batches.
 *
 * Health is SERVING only while the model is ready and the server is not draining (for both the
 * whole server, "", and the inference service by name). Drain: `startDraining` flips health to
 * NOT_SERVING while calls are still served; `close` then stops accepting calls (new ones get
 * UNAVAILABLE) and resolves once every call in flight is answered.
 */
import {
  Metadata,
  Server,
  ServerCredentials,
  status as Status,
  type sendUnaryData,
  type ServerUnaryCall,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { HealthImplementation, type ServingStatus } from "grpc-health-check";
import { DEFAULT_ACCESS_LOG, type AccessLogPolicy } from "../config";
import { parseInferRequest } from "../http/oip/request";
import { OIP_EXTENSIONS, PLATFORM } from "../http/oip/routes";
import { silentLogger, type Logger } from "../logger";
import type { ServerMetrics } from "../metrics";
import { randomUUID } from "node:crypto";
import type { ModelService } from "../service/modelService";
import { ServedModels } from "../service/servedModels";
import { resolveModel } from "../service/resolveModel";
import { SERVER_NAME, serverVersion } from "../version";
import { inferBodyOf, inferResponseOf } from "./inferMessages";
import {
  inferenceServiceDefinition,
  SERVICE_NAME,
  type ModelInferRequest,
  type ModelInferResponse,
  type ModelMetadataResponse,
} from "./proto";
import { codeName, toGrpcError } from "./status";

/** What the gRPC layer needs. */
export interface GrpcServerDeps {
  /** The served models (with an A/B experiment, its variants; gRPC metadata is what it assigns by). */
  readonly service: ModelService | ServedModels;
  readonly metrics: ServerMetrics;
  /** Default: silent. */
  readonly logger?: Logger;
  /** Which calls get an access-log line: all, errors (status not OK) or none. Default: "errors". */
  readonly accessLog?: AccessLogPolicy;
  /** Largest accepted request message in bytes (RESOURCE_EXHAUSTED beyond), as BODY_LIMIT_BYTES for REST. Default: 1048576. */
  readonly maxMessageBytes?: number;
  /** Once every call is answered while closing, how long health Watch streams get before they are cut, in ms. Default: 100. */
  readonly closeGraceMs?: number;
}

interface NamedModel {
  name?: string;
  version?: string;
}

export class GrpcInferenceServer {
  readonly server: Server;
  private readonly health = new HealthImplementation({ "": "NOT_SERVING", [SERVICE_NAME]: "NOT_SERVING" });
  private readonly logger: Logger;
  private draining = false;
  private inFlight = 0;
  private onIdle?: () => void;
  private readonly service: ServedModels;

  constructor(private readonly deps: GrpcServerDeps) {
    this.logger = deps.logger ?? silentLogger;
    this.service = deps.service instanceof ServedModels ? deps.service : new ServedModels(deps.service);
    const limit = deps.maxMessageBytes ?? 1_048_576;
    this.server = new Server({
      "grpc.max_receive_message_length": limit,
      // As the HTTP server's keep-alive: longer than the ALB's idle timeout, so the ALB closes first.
      "grpc.max_connection_idle_ms": 72_000,
    });
    this.server.addService(inferenceServiceDefinition(), this.implementation());
    this.health.addToServer(this.server);
  }

  /** Binds `host:port` (0 = an ephemeral port) with plaintext HTTP/2; resolves with the bound port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      );
    });
  }

  /** Sets health from the model service: SERVING only while ready and not draining. */
  syncHealth(): void {
    const status: ServingStatus = this.service.ready && !this.draining ? "SERVING" : "NOT_SERVING";
    this.health.setStatus("", status);
    this.health.setStatus(SERVICE_NAME, status);
  }

  /** Health turns NOT_SERVING at once; calls are still served until `close`. */
  startDraining(): void {
    this.draining = true;
    this.syncHealth();
  }

  /**
   * Stops accepting calls (new ones get UNAVAILABLE) and resolves once every call in flight is
   * answered. Health Watch streams never end by themselves; they are cut after that.
   */
  close(): Promise<void> {
    this.startDraining();
    return new Promise((resolve) => {
      let done = false;
      const finish = (): void => {
        if (!done) {
          done = true;
          resolve();
        }
      };
      this.server.tryShutdown(finish);
      const forceWhenIdle = (): void => {
        setTimeout(() => {
          if (!done) this.server.forceShutdown();
          finish();
        }, this.deps.closeGraceMs ?? 100).unref();
      };
      if (this.inFlight === 0) forceWhenIdle();
      else this.onIdle = forceWhenIdle;
    });
  }

  private implementation(): UntypedServiceImplementation {
    const { service } = this;
    return {
      ServerLive: this.unary("ServerLive", () => ({ live: true })),
      ServerReady: this.unary("ServerReady", () => ({ ready: service.ready })),
      ModelReady: this.unary("ModelReady", (req: NamedModel) => {
        if (!service.model) return { ready: false };
        resolveModel(service, req.name ?? "", req.version || undefined); // NOT_FOUND for another model
        return { ready: service.ready };
      }),
      ServerMetadata: this.unary("ServerMetadata", () => ({
        name: SERVER_NAME,
        version: serverVersion(),
        extensions: [...OIP_EXTENSIONS],
      })),
      ModelMetadata: this.unary("ModelMetadata", (req: NamedModel): ModelMetadataResponse => {
        const { manifest } = resolveModel(service, req.name ?? "", req.version || undefined);
        const tensor = (t: (typeof manifest.inputs)[number]) => ({
          name: t.name,
          datatype: t.datatype,
          shape: [...t.shape],
        });
        return {
          name: manifest.name,
          versions: [manifest.version],
          platform: PLATFORM,
          inputs: manifest.inputs.map(tensor),
          outputs: manifest.outputs.map(tensor),
        };
      }),
      ModelInfer: this.unary(
        "ModelInfer",
        async (req: ModelInferRequest, metadata: Metadata): Promise<ModelInferResponse> => {
          resolveModel(service, req.model_name ?? ""); // NOT_FOUND for another model, UNAVAILABLE before loading
          // A version pins it; otherwise an experiment (if any) assigns one, by metadata as REST does by headers.
          const selection = service.select({ headers: headersOf(metadata) }, req.model_version || undefined);
          const { manifest, batchable } = selection.model;
          const { body, sources } = inferBodyOf(req);
          const parsed = parseInferRequest(body, manifest, batchable, sources);
          const names = parsed.outputs ?? manifest.outputs.map((o) => o.name);
          const outputs = await selection.infer(parsed.feeds, names);
          const response = inferResponseOf(manifest, parsed.id, names, outputs, sources.raw !== undefined);
          const e = selection.experiment;
          if (!e) return response;
          const predictionId = randomUUID();
          selection.record(predictionId);
          return {
            ...response,
            parameters: {
              experiment: { string_param: e.name },
              variant: { string_param: e.variant },
              prediction_id: { string_param: predictionId },
            },
          };
        },
      ),
    };
  }

  /** A unary handler: runs `handle`, maps errors to statuses, counts and times the call. */
  private unary<Req, Res>(method: string, handle: (request: Req, metadata: Metadata) => Res | Promise<Res>) {
    const route = `/${SERVICE_NAME}/${method}`;
    const { metrics } = this.deps;
    const accessLog = this.deps.accessLog ?? DEFAULT_ACCESS_LOG;
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      const started = performance.now();
      this.inFlight++;
      const finish = (code: Status, err: ReturnType<typeof toGrpcError> | null, response?: Res): void => {
        const seconds = (performance.now() - started) / 1000;
        metrics.requests.inc({ route, method: "POST", status: codeName(code), protocol: "grpc" });
        metrics.requestDuration.observe({ route, method: "POST", protocol: "grpc" }, seconds);
        if (accessLog === "all" || (accessLog === "errors" && code !== Status.OK)) {
          const line = {
            grpcMethod: route,
            code: codeName(code),
            durationMs: Math.round(seconds * 1e5) / 100,
          };
          if (code === Status.INTERNAL) this.logger.warn({ ...line, err: err?.details }, "call failed");
          else
            this.logger.info(
              code === Status.OK ? line : { ...line, details: err?.details },
              "call completed",
            );
        }
        callback(err, response);
        if (--this.inFlight === 0 && this.onIdle) this.onIdle();
      };
      let pending: Promise<Res>;
      try {
        pending = Promise.resolve(handle(call.request, call.metadata));
      } catch (err) {
        pending = Promise.reject(err);
      }
      pending.then(
        (response) => finish(Status.OK, null, response),
        (err: unknown) => {
          const status = toGrpcError(err);
          if (status.code === Status.INTERNAL)
            this.logger.error({ err, grpcMethod: route }, "unexpected error");
          finish(status.code, status);
        },
      );
    };
  }
}

/** Call metadata as request headers (text values; binary `-bin` entries are left out). */
function headersOf(metadata: Metadata): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata.getMap())) {
    if (typeof value === "string") headers[key] = value;
  }
  return headers;
}
