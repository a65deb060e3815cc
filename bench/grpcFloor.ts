/**
 * The gRPC floor: a bare grpc-js server for the same .proto whose ModelInfer answers a constant
 * response (the churn model's outputs for one row, raw) after grpc-js has decoded the request.
 * No validation, batching, metrics or inference: the most grpc-js in one Node process on this
 * machine answers for the same call. Run as its own process; prints `{"url": "<host:port>"}`.
 *
 *   node --require tsx/cjs bench/grpcFloor.ts
 */
import { join } from "node:path";
import { loadPackageDefinition, Server, ServerCredentials, type ServiceDefinition } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

const pkg = loadPackageDefinition(
  loadSync(join(__dirname, "..", "serving", "proto", "open_inference_grpc.proto"), {
    keepCase: true,
    longs: String,
  }),
) as unknown as { inference: { GRPCInferenceService: { service: ServiceDefinition } } };

const ANSWER = {
  model_name: "churn",
  model_version: "1.0.0",
  outputs: [
    { name: "label", datatype: "INT64", shape: [1] },
    { name: "probabilities", datatype: "FP32", shape: [1, 2] },
  ],
  raw_output_contents: [Buffer.alloc(8), Buffer.alloc(8)],
};

const server = new Server();
server.addService(pkg.inference.GRPCInferenceService.service, {
  ModelInfer: (_call: unknown, callback: (err: null, response: unknown) => void) => callback(null, ANSWER),
});
server.bindAsync(
  `127.0.0.1:${Number(process.env.PORT ?? 0)}`,
  ServerCredentials.createInsecure(),
  (err, port) => {
    if (err) throw err;
    process.stdout.write(`${JSON.stringify({ url: `127.0.0.1:${port}` })}\n`);
  },
);
process.on("SIGTERM", () => server.tryShutdown(() => process.exit(0)));
