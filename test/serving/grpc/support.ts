/**
 * A gRPC client generated at run time from the published .proto by @grpc/proto-loader (the
 * way a KServe or Triton user's generated client talks to us: its own loader options, never the
 * server's code), the standard health client, and a test server with the gRPC layer attached.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  credentials,
  loadPackageDefinition,
  Metadata,
  type Client,
  type ServiceError,
  type status,
} from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { protoPath as HEALTH_PROTO } from "grpc-health-check";
import { GrpcInferenceServer } from "../../../serving/src/grpc/server";
import { parseManifest } from "../../../serving/src/model/manifest";
import type { BuiltModel } from "../../../serving/tools/models";
import { startTestServer, type TestServer, type TestServerOptions } from "../helpers";

const REPO = join(__dirname, "..", "..", "..");

/** The bundled churn model, as a model the test repositories can hold. */
export function churnModel(): BuiltModel {
  const dir = join(REPO, "serving", "models", "churn", "1.0.0");
  const manifest = parseManifest(readFileSync(join(dir, "manifest.json"), "utf8"));
  return {
    bytes: readFileSync(join(dir, "model.onnx")),
    inputs: manifest.inputs,
    outputs: manifest.outputs,
    ...(manifest.labels ? { labels: manifest.labels } : {}),
  };
}

/** sklearn's outputs for rows of the churn training set (test/fixtures/churn-expected.json). */
export interface ChurnFixture {
  tolerance: number;
  inputs: number[][];
  probabilities: number[][];
  labels: number[];
}

export function churnFixture(): ChurnFixture {
  return JSON.parse(
    readFileSync(join(REPO, "test", "fixtures", "churn-expected.json"), "utf8"),
  ) as ChurnFixture;
}

type Unary = (
  request: object,
  metadata: Metadata,
  options: { deadline?: number },
  callback: (err: ServiceError | null, response: unknown) => void,
) => void;

/** Promise-returning calls of one generated client. */
export interface RpcClient {
  call<T = Record<string, unknown>>(
    method: string,
    request?: object,
    deadlineMs?: number,
    metadata?: Readonly<Record<string, string>>,
  ): Promise<T>;
  close(): void;
}

function rpcClient(client: Client): RpcClient {
  return {
    call: <T>(
      method: string,
      request: object = {},
      deadlineMs?: number,
      headers: Readonly<Record<string, string>> = {},
    ) =>
      new Promise<T>((resolve, reject) => {
        const fn = (client as unknown as Record<string, Unary>)[method].bind(client);
        const options = deadlineMs === undefined ? {} : { deadline: Date.now() + deadlineMs };
        const metadata = new Metadata();
        for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
        fn(request, metadata, options, (err, response) => (err ? reject(err) : resolve(response as T)));
      }),
    close: () => client.close(),
  };
}

// The client's own loader options: 64-bit integers as strings, default values filled in.
const CLIENT_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };

/** A client of inference.GRPCInferenceService from serving/proto/open_inference_grpc.proto. */
export function inferenceClient(address: string): RpcClient {
  const def = loadSync(join(REPO, "serving", "proto", "open_inference_grpc.proto"), CLIENT_OPTIONS);
  const pkg = loadPackageDefinition(def) as unknown as {
    inference: { GRPCInferenceService: new (address: string, creds: unknown) => Client };
  };
  return rpcClient(new pkg.inference.GRPCInferenceService(address, credentials.createInsecure()));
}

/** A client of grpc.health.v1.Health (the standard health proto). */
export function healthClient(address: string): RpcClient {
  const pkg = loadPackageDefinition(loadSync(HEALTH_PROTO, CLIENT_OPTIONS)) as unknown as {
    grpc: { health: { v1: { Health: new (address: string, creds: unknown) => Client } } };
  };
  return rpcClient(new pkg.grpc.health.v1.Health(address, credentials.createInsecure()));
}

/** Rejects unless `promise` fails with gRPC status `code` and exactly `details` (or details matching it). */
export async function expectStatus(
  promise: Promise<unknown>,
  code: status,
  details?: string | RegExp,
): Promise<ServiceError> {
  try {
    await promise;
  } catch (err) {
    const e = err as ServiceError;
    const detailsOk =
      details === undefined ||
      (typeof details === "string" ? e.details === details : details.test(e.details));
    if (e.code !== code || !detailsOk) {
      throw new Error(`expected status ${code} "${details ?? "*"}", got ${e.code} "${e.details}"`);
    }
    return e;
  }
  throw new Error(`expected status ${code}, but the call succeeded`);
}

export interface GrpcTestServer extends TestServer {
  readonly grpc: GrpcInferenceServer;
  /** `127.0.0.1:<port>` of the gRPC server. */
  readonly address: string;
  readonly client: RpcClient;
  readonly health: RpcClient;
}

/** startTestServer plus the gRPC layer on an ephemeral loopback port, health synced to the model. */
export async function startGrpcTestServer(
  options: TestServerOptions & { closeGraceMs?: number } = {},
): Promise<GrpcTestServer> {
  const server = await startTestServer(options);
  const grpc = new GrpcInferenceServer({
    service: server.service,
    metrics: server.metrics,
    closeGraceMs: options.closeGraceMs,
  });
  const port = await grpc.listen("127.0.0.1", 0);
  grpc.syncHealth();
  const address = `127.0.0.1:${port}`;
  const client = inferenceClient(address);
  const health = healthClient(address);
  return {
    ...server,
    grpc,
    address,
    client,
    health,
    close: async () => {
      client.close();
      health.close();
      await grpc.close();
      await server.close();
    },
  };
}

/** Little-endian bytes of float32 values. */
export function fp32Bytes(values: readonly number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b;
}
