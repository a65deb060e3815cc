/**
 * ModelInfer messages <-> the protocol-neutral inference request. A gRPC request becomes the same
 * object a REST body is, with its typed `contents` as the element list and `raw_input_contents`
 * as raw bytes, so parseInferRequest validates both protocols alike (names, datatypes, shapes,
 * element ranges) and the errors name the gRPC fields.
 */
import { BadRequestError } from "../errors";
import type { ModelManifest, TensorDatatype } from "../model/manifest";
import { encodeRaw } from "../runtime/rawTensors";
import type { HostTensor, TensorData } from "../runtime/runtime";
import type { InputSources } from "../http/oip/request";
import type {
  InferOutputTensor,
  InferParameter,
  InferTensorContents,
  ModelInferRequest,
  ModelInferResponse,
} from "./proto";

type ContentsField = keyof InferTensorContents;

/** The `InferTensorContents` field each datatype travels in (FP16 has none: raw only). */
export const CONTENTS_FIELD: Readonly<Record<TensorDatatype, ContentsField | undefined>> = {
  BOOL: "bool_contents",
  INT8: "int_contents",
  INT16: "int_contents",
  INT32: "int_contents",
  INT64: "int64_contents",
  UINT8: "uint_contents",
  UINT16: "uint_contents",
  UINT32: "uint_contents",
  UINT64: "uint64_contents",
  FP16: undefined,
  FP32: "fp32_contents",
  FP64: "fp64_contents",
  BYTES: "bytes_contents",
};

const CONTENTS_FIELDS: readonly ContentsField[] = [
  "bool_contents",
  "int_contents",
  "int64_contents",
  "uint_contents",
  "uint64_contents",
  "fp32_contents",
  "fp64_contents",
  "bytes_contents",
];

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** The request as parseInferRequest takes it, and where its inputs' elements come from. */
export function inferBodyOf(request: ModelInferRequest): {
  body: Record<string, unknown>;
  sources: InputSources;
} {
  const inputs = request.inputs ?? [];
  const raw = request.raw_input_contents ?? [];
  const usesRaw = raw.length > 0;
  if (usesRaw && raw.length !== inputs.length) {
    throw new BadRequestError(
      `raw_input_contents has ${raw.length} entries but inputs has ${inputs.length}: give one per input, in input order`,
    );
  }
  const fields: string[] = [];
  const body = {
    ...(request.id ? { id: request.id } : {}),
    ...(request.parameters ? { parameters: parametersOf("parameters", request.parameters) } : {}),
    inputs: inputs.map((input, i) => {
      const at = `inputs[${i}]`;
      const given = CONTENTS_FIELDS.filter((f) => (input.contents?.[f]?.length ?? 0) > 0);
      if (usesRaw && given.length > 0) {
        throw new BadRequestError(
          `${at}.contents.${given[0]} is set, but contents must be empty when raw_input_contents is used`,
        );
      }
      const datatype = input.datatype ?? "";
      const field = CONTENTS_FIELD[datatype as TensorDatatype];
      fields[i] = `contents.${field ?? "(none)"}`;
      const stray = given.find((f) => f !== field);
      if (!usesRaw && stray !== undefined) {
        throw new BadRequestError(
          field
            ? `${at}.contents.${stray} is set, but datatype ${datatype} travels in contents.${field}`
            : `${at}.contents.${stray} is set, but datatype ${JSON.stringify(datatype)} has no contents field; ` +
                `send it in raw_input_contents`,
        );
      }
      return {
        name: input.name ?? "",
        datatype,
        shape: (input.shape ?? []).map((d) => (/^-?\d+$/.test(d) ? Number(d) : d)),
        ...(input.parameters ? { parameters: parametersOf(`${at}.parameters`, input.parameters) } : {}),
        ...(!usesRaw && field !== undefined ? { data: elementsOf(at, field, input.contents?.[field]) } : {}),
      };
    }),
    ...(request.outputs && request.outputs.length > 0
      ? {
          outputs: request.outputs.map((o, i) => ({
            name: o.name ?? "",
            ...(o.parameters ? { parameters: parametersOf(`outputs[${i}].parameters`, o.parameters) } : {}),
          })),
        }
      : {}),
  };
  return {
    body,
    sources: {
      raw: usesRaw ? (i) => raw[i] : undefined,
      rawField: (i) => `raw_input_contents[${i}]`,
      dataField: (i) => fields[i],
    },
  };
}

function elementsOf(at: string, field: ContentsField, values: InferTensorContents[ContentsField]): unknown[] {
  const list = (values ?? []) as unknown[];
  if (field !== "bytes_contents") return list;
  return (list as Buffer[]).map((b, i) => {
    try {
      return utf8.decode(b);
    } catch {
      throw new BadRequestError(
        `${at}.contents.bytes_contents[${i}] is not valid UTF-8 (this server runs BYTES as strings)`,
      );
    }
  });
}

/** InferParameter map -> plain values (64-bit integers as numbers when exact, else strings). */
function parametersOf(field: string, params: Record<string, InferParameter>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, p] of Object.entries(params)) {
    const choice = p.parameter_choice as keyof InferParameter | undefined;
    const value = choice ? p[choice] : undefined;
    if (value === undefined) throw new BadRequestError(`${field}.${key} has no value`);
    out[key] = choice === "int64_param" || choice === "uint64_param" ? exactNumber(value as string) : value;
  }
  return out;
}

function exactNumber(decimal: string): number | string {
  const n = Number(decimal);
  return Number.isSafeInteger(n) ? n : decimal;
}

/**
 * The response: typed contents when the request sent typed contents, raw_output_contents when it
 * sent raw (as tritonclient does) or when an output is FP16, which has no contents field.
 */
export function inferResponseOf(
  manifest: ModelManifest,
  id: string | undefined,
  outputNames: readonly string[],
  outputs: Readonly<Record<string, HostTensor>>,
  raw: boolean,
): ModelInferResponse {
  const tensors = outputNames.map((name) => outputs[name]);
  const useRaw = raw || tensors.some((t) => CONTENTS_FIELD[t.datatype] === undefined);
  return {
    model_name: manifest.name,
    model_version: manifest.version,
    id: id ?? "",
    outputs: tensors.map((t, i): InferOutputTensor => {
      const meta = { name: outputNames[i], datatype: t.datatype, shape: [...t.shape] };
      return useRaw ? meta : { ...meta, contents: contentsOf(t.datatype, t.data) };
    }),
    raw_output_contents: useRaw ? tensors.map((t) => encodeRaw(t.datatype, t.data)) : [],
  };
}

function contentsOf(datatype: TensorDatatype, data: TensorData): InferTensorContents {
  const field = CONTENTS_FIELD[datatype] as ContentsField;
  switch (field) {
    case "bool_contents":
      return { bool_contents: Array.from(data as Uint8Array, (v) => v !== 0) };
    case "int64_contents":
    case "uint64_contents":
      return { [field]: Array.from(data as BigInt64Array, (v) => v.toString()) };
    case "bytes_contents":
      return { bytes_contents: (data as string[]).map((s) => Buffer.from(s, "utf8")) };
    default:
      return { [field]: Array.from(data as Float64Array) };
  }
}
