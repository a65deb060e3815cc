/**
 * Parsing and validating an Open Inference Protocol v2 inference request against the model's
 * manifest: input names, datatypes, shapes (rank, fixed dimensions, element count), element
 * values, requested outputs and parameters. Every failure is a 400 naming the field. REST (JSON
 * or binary tensor data) and gRPC requests all pass through here, so they are validated alike.
 */
import { BadRequestError } from "../../errors";
import type { ModelManifest, TensorSpec } from "../../model/manifest";
import { decodeElements } from "../../runtime/datatypes";
import { decodeRaw } from "../../runtime/rawTensors";
import type { HostTensor } from "../../runtime/runtime";
import { checkParameters, describe, flattenTensorData, invalid, isObject } from "../validate";

/** A validated inference request, ready for the batcher. */
export interface InferRequest {
  /** The request's `id`, echoed in the response. */
  readonly id?: string;
  readonly feeds: Record<string, HostTensor>;
  /** Requested outputs in request order; undefined = all of the manifest's. */
  readonly outputs?: readonly string[];
  /**
   * Outputs to return as binary tensor data (`binary_data` per output, else the request's
   * `binary_data_output`); empty = all JSON.
   */
  readonly binaryOutputs: ReadonlySet<string>;
}

/** Where input elements come from besides JSON `data` (binary tensor data, gRPC contents). */
export interface InputSources {
  /** Raw little-endian bytes of input `index`, or undefined when it has none. */
  readonly raw?: (index: number) => Uint8Array | undefined;
  /** How input `index`'s raw bytes are named in errors. Default: `parameters.binary_data_size`. */
  readonly rawField?: (index: number) => string;
  /** How input `index`'s element list is named in errors. Default: "data". */
  readonly dataField?: (index: number) => string;
}

/** Upper bound on elements per input, far above anything a body limit lets through, to refuse absurd shapes early. */
const MAX_ELEMENTS = 2 ** 31 - 1;

export function parseInferRequest(
  body: unknown,
  manifest: ModelManifest,
  batchable: boolean,
  sources: InputSources = {},
): InferRequest {
  if (!isObject(body)) invalid("request body", 'a JSON object with an "inputs" array', body);
  const { id, parameters, inputs, outputs } = body;
  if (id !== undefined && typeof id !== "string") invalid("id", "a string", id);
  const binaryAll = booleanParameter(
    "parameters",
    checkParameters("parameters", parameters),
    "binary_data_output",
  );
  if (!Array.isArray(inputs) || inputs.length === 0)
    invalid("inputs", "a non-empty array of tensors", inputs);

  const specs = new Map(manifest.inputs.map((s) => [s.name, s]));
  // Null prototype: input names are data, and "constructor" or "__proto__" must stay plain keys.
  const feeds: Record<string, HostTensor> = Object.create(null);
  let rows: { count: number; field: string } | undefined;
  inputs.forEach((raw: unknown, i: number) => {
    const at = `inputs[${i}]`;
    if (!isObject(raw)) invalid(at, "an object with name, shape, datatype and data", raw);
    if (typeof raw.name !== "string") invalid(`${at}.name`, "a string", raw.name);
    const spec = specs.get(raw.name);
    if (!spec) {
      throw new BadRequestError(
        `${at}.name ${describe(raw.name)} is not an input of model "${manifest.name}"; expected ${nameList(manifest.inputs)}`,
      );
    }
    if (feeds[spec.name])
      throw new BadRequestError(`${at}.name ${describe(raw.name)} is given more than once`);
    const tensor = parseInput(at, raw, spec, i, sources);
    if (batchable) {
      if (rows && rows.count !== tensor.shape[0]) {
        throw new BadRequestError(
          `${at}.shape[0] is ${tensor.shape[0]} but ${rows.field}.shape[0] is ${rows.count}: ` +
            `every input needs the same batch size`,
        );
      }
      rows ??= { count: tensor.shape[0], field: at };
    }
    feeds[spec.name] = tensor;
  });
  const missing = manifest.inputs.filter((s) => !Object.hasOwn(feeds, s.name));
  if (missing.length > 0) {
    throw new BadRequestError(
      `inputs is missing ${nameList(missing)} (model "${manifest.name}" needs ${nameList(manifest.inputs)})`,
    );
  }
  const requested = outputs !== undefined ? parseOutputs(outputs, manifest) : undefined;
  const binaryOutputs = new Set<string>();
  for (const { name } of manifest.outputs) {
    const wanted = requested ? requested.get(name) : { binary: undefined };
    if (wanted && (wanted.binary ?? binaryAll ?? false)) binaryOutputs.add(name);
  }
  return {
    ...(id !== undefined ? { id: id as string } : {}),
    feeds,
    ...(requested !== undefined ? { outputs: [...requested.keys()] } : {}),
    binaryOutputs,
  };
}

function parseInput(
  at: string,
  raw: Record<string, unknown>,
  spec: TensorSpec,
  index: number,
  sources: InputSources,
): HostTensor {
  if (raw.datatype !== spec.datatype) {
    invalid(`${at}.datatype`, `"${spec.datatype}" for input "${spec.name}"`, raw.datatype);
  }
  const params = checkParameters(`${at}.parameters`, raw.parameters);
  const bytes = sources.raw?.(index);
  if (bytes === undefined && params && "binary_data_size" in params) {
    throw new BadRequestError(
      `${at}.parameters.binary_data_size is set for input "${spec.name}" but the request carries no ` +
        `binary data: send the JSON header then the tensor bytes, with an Inference-Header-Content-Length header`,
    );
  }
  const shape = raw.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    invalid(`${at}.shape`, "an array of non-negative integers", shape);
  }
  const dims = shape as number[];
  if (dims.length !== spec.shape.length) {
    throw new BadRequestError(
      `${at}.shape ${describe(dims)} has ${dims.length} dimensions; input "${spec.name}" has ` +
        `${spec.shape.length} (${describe(spec.shape)}, -1 = any size)`,
    );
  }
  spec.shape.forEach((expected, d) => {
    if (expected !== -1 && dims[d] !== expected) {
      throw new BadRequestError(
        `${at}.shape[${d}] must be ${expected} for input "${spec.name}" (${describe(spec.shape)}), got ${dims[d]}`,
      );
    }
  });
  if (dims.length > 0 && spec.shape[0] === -1 && dims[0] === 0) {
    throw new BadRequestError(`${at}.shape[0] must be at least 1 (an empty batch has nothing to infer)`);
  }
  const count = dims.reduce((a, b) => a * b, 1);
  if (count > MAX_ELEMENTS) throw new BadRequestError(`${at}.shape ${describe(dims)} has too many elements`);
  if (bytes !== undefined) {
    if (raw.data !== undefined) {
      throw new BadRequestError(`${at} (input "${spec.name}") has both "data" and binary data; send one`);
    }
    const decoded = decodeRaw(spec.datatype, bytes, count);
    if ("error" in decoded) {
      const field = sources.rawField?.(index) ?? "parameters.binary_data_size";
      throw new BadRequestError(
        `${at}.${field} (input "${spec.name}", shape ${describe(dims)}): the binary data ${decoded.error}`,
      );
    }
    return { datatype: spec.datatype, shape: dims, data: decoded.data };
  }
  const dataField = `${at}.${sources.dataField?.(index) ?? "data"}`;
  if (raw.data === undefined) invalid(dataField, `an array of ${count} elements`, raw.data);
  const values = flattenTensorData(dataField, raw.data, dims);
  const decoded = decodeElements(spec.datatype, values, (i) => `${dataField}[${i}]`);
  if ("error" in decoded) throw new BadRequestError(decoded.error);
  return { datatype: spec.datatype, shape: dims, data: decoded.data };
}

/** Requested outputs in request order, each with its `binary_data` choice (undefined = not given). */
function parseOutputs(
  outputs: unknown,
  manifest: ModelManifest,
): Map<string, { binary: boolean | undefined }> {
  if (!Array.isArray(outputs) || outputs.length === 0) {
    invalid("outputs", "a non-empty array of {name} objects (omit it for all outputs)", outputs);
  }
  const known = new Set(manifest.outputs.map((o) => o.name));
  const names = new Map<string, { binary: boolean | undefined }>();
  outputs.forEach((raw: unknown, i: number) => {
    const at = `outputs[${i}]`;
    if (!isObject(raw)) invalid(at, "an object with a name", raw);
    if (typeof raw.name !== "string") invalid(`${at}.name`, "a string", raw.name);
    if (!known.has(raw.name)) {
      throw new BadRequestError(
        `${at}.name ${describe(raw.name)} is not an output of model "${manifest.name}"; expected ${nameList(manifest.outputs)}`,
      );
    }
    if (names.has(raw.name))
      throw new BadRequestError(`${at}.name ${describe(raw.name)} is requested more than once`);
    const params = checkParameters(`${at}.parameters`, raw.parameters);
    names.set(raw.name, { binary: booleanParameter(`${at}.parameters`, params, "binary_data") });
  });
  return names;
}

/** A boolean parameter of the binary tensor data extension; undefined when not given. */
function booleanParameter(
  field: string,
  params: Record<string, string | number | boolean> | undefined,
  key: string,
): boolean | undefined {
  const value = params?.[key];
  if (value !== undefined && typeof value !== "boolean") invalid(`${field}.${key}`, "true or false", value);
  return value;
}

function nameList(specs: readonly TensorSpec[]): string {
  return specs.map((s) => `"${s.name}"`).join(", ");
}
