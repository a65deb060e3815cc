/**
 * Parsing and validating an Open Inference Protocol v2 inference request against the model's
 * manifest: input names, datatypes, shapes (rank, fixed dimensions, element count), element
 * values, requested outputs and parameters. Every failure is a 400 naming the field.
 */
import { BadRequestError } from "../../errors";
import type { ModelManifest, TensorSpec } from "../../model/manifest";
import { decodeElements } from "../../runtime/datatypes";
import type { HostTensor } from "../../runtime/runtime";
import { checkParameters, describe, flattenTensorData, invalid, isObject } from "../validate";

/** A validated inference request, ready for the batcher. */
export interface InferRequest {
  /** The request's `id`, echoed in the response. */
  readonly id?: string;
  readonly feeds: Record<string, HostTensor>;
  /** Requested outputs in request order; undefined = all of the manifest's. */
  readonly outputs?: readonly string[];
}

/** Upper bound on elements per input, far above anything a body limit lets through, to refuse absurd shapes early. */
const MAX_ELEMENTS = 2 ** 31 - 1;

export function parseInferRequest(body: unknown, manifest: ModelManifest, batchable: boolean): InferRequest {
  if (!isObject(body)) invalid("request body", 'a JSON object with an "inputs" array', body);
  const { id, parameters, inputs, outputs } = body;
  if (id !== undefined && typeof id !== "string") invalid("id", "a string", id);
  checkParameters("parameters", parameters);
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
    const tensor = parseInput(at, raw, spec);
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
  return {
    ...(id !== undefined ? { id: id as string } : {}),
    feeds,
    ...(outputs !== undefined ? { outputs: parseOutputs(outputs, manifest) } : {}),
  };
}

function parseInput(at: string, raw: Record<string, unknown>, spec: TensorSpec): HostTensor {
  if (raw.datatype !== spec.datatype) {
    invalid(`${at}.datatype`, `"${spec.datatype}" for input "${spec.name}"`, raw.datatype);
  }
  const params = checkParameters(`${at}.parameters`, raw.parameters);
  if (params && "binary_data_size" in params) {
    throw new BadRequestError(
      `${at}.parameters.binary_data_size: binary tensor data is not supported; send "data" as JSON`,
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
  if (raw.data === undefined) invalid(`${at}.data`, `an array of ${count} elements`, raw.data);
  const values = flattenTensorData(`${at}.data`, raw.data, dims);
  const decoded = decodeElements(spec.datatype, values, (i) => `${at}.data[${i}]`);
  if ("error" in decoded) throw new BadRequestError(decoded.error);
  return { datatype: spec.datatype, shape: dims, data: decoded.data };
}

function parseOutputs(outputs: unknown, manifest: ModelManifest): string[] {
  if (!Array.isArray(outputs) || outputs.length === 0) {
    invalid("outputs", "a non-empty array of {name} objects (omit it for all outputs)", outputs);
  }
  const known = new Set(manifest.outputs.map((o) => o.name));
  const names: string[] = [];
  outputs.forEach((raw: unknown, i: number) => {
    const at = `outputs[${i}]`;
    if (!isObject(raw)) invalid(at, "an object with a name", raw);
    if (typeof raw.name !== "string") invalid(`${at}.name`, "a string", raw.name);
    if (!known.has(raw.name)) {
      throw new BadRequestError(
        `${at}.name ${describe(raw.name)} is not an output of model "${manifest.name}"; expected ${nameList(manifest.outputs)}`,
      );
    }
    if (names.includes(raw.name))
      throw new BadRequestError(`${at}.name ${describe(raw.name)} is requested more than once`);
    const params = checkParameters(`${at}.parameters`, raw.parameters);
    if (params?.binary_data === true) {
      throw new BadRequestError(
        `${at}.parameters.binary_data: binary tensor data is not supported; outputs are JSON`,
      );
    }
    names.push(raw.name);
  });
  return names;
}

function nameList(specs: readonly TensorSpec[]): string {
  return specs.map((s) => `"${s.name}"`).join(", ");
}
