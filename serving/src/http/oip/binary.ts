/**
 * The binary tensor data extension (Triton's `binary_tensor_data`, see
 * shared/specs/open-inference-protocol/triton_extension_binary_data.md): a request body is the
 * JSON inference header (`Inference-Header-Content-Length` bytes) followed by the tensor bytes
 * of every input with a `binary_data_size` parameter, in input order; a response carries
 * requested outputs the same way. `Inference-Header-Content-Length: 0` is the raw binary
 * request: the whole body is the only input's bytes.
 */
import { BadRequestError } from "../../errors";
import type { ModelManifest } from "../../model/manifest";
import { ELEMENT_BYTES, encodeRaw } from "../../runtime/rawTensors";
import type { HostTensor } from "../../runtime/runtime";
import { describe, invalid, isObject } from "../validate";
import type { InputSources } from "./request";

/** The extension's name in `GET /v2` (and gRPC ServerMetadata). */
export const BINARY_TENSOR_DATA_EXTENSION = "binary_tensor_data";

/** Request and response header giving the JSON part's length in bytes. */
export const HEADER_LENGTH_HEADER = "inference-header-content-length";

/** A request body that arrived with `Inference-Header-Content-Length`: JSON header and binary part. */
export class BinaryInferBody {
  constructor(
    /** The body's first `Inference-Header-Content-Length` bytes, as JSON; undefined for a raw binary request. */
    readonly header: unknown,
    /** Every byte after the JSON header. */
    readonly binary: Buffer,
  ) {}
}

/**
 * Splits a body by its `Inference-Header-Content-Length` value. The header must be a decimal
 * length no larger than the body; 400 otherwise.
 */
export function splitBinaryBody(body: Buffer, headerLength: string): BinaryInferBody {
  if (!/^\d{1,15}$/.test(headerLength)) {
    throw new BadRequestError(
      `Inference-Header-Content-Length must be a non-negative integer, got ${JSON.stringify(headerLength)}`,
    );
  }
  const length = Number(headerLength);
  if (length > body.length) {
    throw new BadRequestError(
      `Inference-Header-Content-Length is ${length} but the body has only ${body.length} bytes`,
    );
  }
  if (length === 0) return new BinaryInferBody(undefined, body);
  let header: unknown;
  try {
    header = JSON.parse(body.subarray(0, length).toString("utf8"));
  } catch (err) {
    throw new BadRequestError(
      `the first ${length} bytes (Inference-Header-Content-Length) are not a JSON inference request: ${(err as Error).message}`,
    );
  }
  return new BinaryInferBody(header, body.subarray(length));
}

/**
 * The slice of the binary part each input's `binary_data_size` claims, in input order. A size
 * that is not a non-negative integer, runs past the body, or leaves bytes over is a 400 naming
 * the input.
 */
export function binaryInputSources(header: unknown, binary: Buffer): InputSources {
  const slices = new Map<number, Uint8Array>();
  const inputs = isObject(header) && Array.isArray(header.inputs) ? (header.inputs as unknown[]) : [];
  let offset = 0;
  inputs.forEach((input, i) => {
    if (!isObject(input) || !isObject(input.parameters)) return;
    const size = input.parameters.binary_data_size;
    if (size === undefined) return;
    const at = `inputs[${i}].parameters.binary_data_size`;
    const name = typeof input.name === "string" ? ` (input ${JSON.stringify(input.name)})` : "";
    if (!Number.isSafeInteger(size) || (size as number) < 0) {
      invalid(`${at}${name}`, "a non-negative integer number of bytes", size);
    }
    const end = offset + (size as number);
    if (end > binary.length) {
      throw new BadRequestError(
        `${at}${name} is ${size} but only ${binary.length - offset} bytes of binary data remain at offset ${offset}`,
      );
    }
    slices.set(i, binary.subarray(offset, end));
    offset = end;
  });
  if (offset !== binary.length) {
    throw new BadRequestError(
      `the body has ${binary.length - offset} bytes of binary data after the inputs' binary_data_size total of ${offset}`,
    );
  }
  return { raw: (i) => slices.get(i) };
}

/**
 * The JSON inference request a raw binary request stands for (the spec's "Raw Binary Request"):
 * the model's only input, batch 1 when the model batches, its one other variable dimension (if
 * any) deduced from the byte count, every output returned as binary data.
 */
export function rawBinaryRequest(
  manifest: ModelManifest,
  batchable: boolean,
  bytes: number,
): Record<string, unknown> {
  if (manifest.inputs.length !== 1) {
    throw new BadRequestError(
      `a raw binary request (Inference-Header-Content-Length: 0) needs a model with exactly one input; ` +
        `model "${manifest.name}" has ${manifest.inputs.length}`,
    );
  }
  const spec = manifest.inputs[0];
  const shape = spec.shape.map((d, i) => (i === 0 && batchable ? 1 : d));
  if (spec.datatype === "BYTES") {
    if (!(shape.length === 1 && shape[0] === 1)) {
      throw new BadRequestError(
        `a raw binary request of BYTES needs input shape [1]; input "${spec.name}" is ${describe(spec.shape)}`,
      );
    }
  } else {
    const variable = shape.filter((d) => d === -1).length;
    if (variable > 1) {
      throw new BadRequestError(
        `a raw binary request cannot deduce the shape of input "${spec.name}" ${describe(spec.shape)}: ` +
          `more than one variable dimension`,
      );
    }
    const fixed = shape.reduce((n, d) => (d === -1 ? n : n * d), 1) * ELEMENT_BYTES[spec.datatype];
    if (variable === 1) {
      if (fixed === 0 || bytes % fixed !== 0) {
        throw new BadRequestError(
          `the body's ${bytes} bytes are not a multiple of ${fixed}, the bytes per step of the variable ` +
            `dimension of input "${spec.name}" ${describe(spec.shape)} (${spec.datatype})`,
        );
      }
      shape[shape.indexOf(-1)] = bytes / fixed;
    }
  }
  return {
    inputs: [{ name: spec.name, datatype: spec.datatype, shape, parameters: { binary_data_size: bytes } }],
    parameters: { binary_data_output: true },
  };
}

/**
 * A response with binary outputs: the JSON header (outputs in `binary` carry
 * `parameters.binary_data_size` instead of `data`), then their bytes in output order.
 * `jsonData(tensor)` writes a JSON output's data (exact 64-bit integers).
 */
export function binaryInferResponse(
  head: Record<string, unknown>,
  outputNames: readonly string[],
  outputs: Readonly<Record<string, HostTensor>>,
  binary: ReadonlySet<string>,
  jsonData: (tensor: HostTensor) => string,
): { body: Buffer; headerLength: number } {
  const chunks: Buffer[] = [];
  const tensors = outputNames.map((name) => {
    const t = outputs[name];
    if (binary.has(name)) {
      const bytes = encodeRaw(t.datatype, t.data);
      chunks.push(bytes);
      return JSON.stringify({
        name,
        datatype: t.datatype,
        shape: t.shape,
        parameters: { binary_data_size: bytes.length },
      });
    }
    const meta = JSON.stringify({ name, datatype: t.datatype, shape: t.shape });
    return `${meta.slice(0, -1)},"data":${jsonData(t)}}`;
  });
  const json = Buffer.from(`${JSON.stringify(head).slice(0, -1)},"outputs":[${tensors.join(",")}]}`, "utf8");
  return { body: Buffer.concat([json, ...chunks]), headerLength: json.length };
}
