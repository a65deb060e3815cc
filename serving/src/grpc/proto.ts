/**
 * The Open Inference Protocol gRPC service, loaded at run time from the published .proto
 * (serving/proto/open_inference_grpc.proto) with @grpc/proto-loader, and the message shapes the
 * loader's options produce. 64-bit integers arrive and leave as decimal strings (exact), bytes
 * as Buffers, absent scalars and messages as undefined, absent repeated fields as [].
 */
import { join } from "node:path";
import { loadPackageDefinition, type ServiceDefinition } from "@grpc/grpc-js";
import { loadSync, type Options } from "@grpc/proto-loader";
import { packageRoot } from "../config";

/** The .proto file the server (and any client in this repository) is generated from. */
export const PROTO_PATH = join(packageRoot(), "serving", "proto", "open_inference_grpc.proto");

/** Fully qualified service name, as in `/inference.GRPCInferenceService/ModelInfer`. */
export const SERVICE_NAME = "inference.GRPCInferenceService";

/** proto-loader options shared by the server and the tests' client. */
export const LOADER_OPTIONS: Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: false,
  arrays: true,
  oneofs: true,
};

/** The service definition grpc-js serves. */
export function inferenceServiceDefinition(): ServiceDefinition {
  const pkg = loadPackageDefinition(loadSync(PROTO_PATH, LOADER_OPTIONS)) as unknown as {
    inference: { GRPCInferenceService: { service: ServiceDefinition } };
  };
  return pkg.inference.GRPCInferenceService.service;
}

/** `InferParameter`: exactly one of these is set (`parameter_choice` names which). */
export interface InferParameter {
  bool_param?: boolean;
  int64_param?: string;
  string_param?: string;
  double_param?: number;
  uint64_param?: string;
  parameter_choice?: string;
}

/** `InferTensorContents`: one repeated field per datatype family. */
export interface InferTensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: string[];
  uint_contents?: number[];
  uint64_contents?: string[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Buffer[];
}

export interface InferInputTensor {
  name?: string;
  datatype?: string;
  shape?: string[];
  parameters?: Record<string, InferParameter>;
  contents?: InferTensorContents;
}

export interface ModelInferRequest {
  model_name?: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, InferParameter>;
  inputs?: InferInputTensor[];
  outputs?: Array<{ name?: string; parameters?: Record<string, InferParameter> }>;
  raw_input_contents?: Buffer[];
}

export interface InferOutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  contents?: InferTensorContents;
}

export interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  /** With an A/B experiment: experiment, variant and prediction_id (as REST's response parameters). */
  parameters?: Record<string, InferParameter>;
  outputs: InferOutputTensor[];
  raw_output_contents: Buffer[];
}

export interface TensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export interface ModelMetadataResponse {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}
