/**
 * A small ONNX graph builder on top of the `onnx-proto` protobuf bindings, so tests and the
 * benchmark can produce models with known weights without Python. It writes plain ONNX
 * (IR 8, default opset 13): enough for MatMul/Add/Softmax classifiers and per-datatype
 * Identity/Add/Cast graphs, which is what the server's tests need.
 */
import { onnx } from "onnx-proto";
import type { TensorDatatype } from "../src/model/manifest";

/** ONNX element type of each Open Inference Protocol datatype. */
export const ONNX_ELEM_TYPE: Readonly<Record<TensorDatatype, onnx.TensorProto.DataType>> = {
  BOOL: onnx.TensorProto.DataType.BOOL,
  UINT8: onnx.TensorProto.DataType.UINT8,
  UINT16: onnx.TensorProto.DataType.UINT16,
  UINT32: onnx.TensorProto.DataType.UINT32,
  UINT64: onnx.TensorProto.DataType.UINT64,
  INT8: onnx.TensorProto.DataType.INT8,
  INT16: onnx.TensorProto.DataType.INT16,
  INT32: onnx.TensorProto.DataType.INT32,
  INT64: onnx.TensorProto.DataType.INT64,
  FP16: onnx.TensorProto.DataType.FLOAT16,
  FP32: onnx.TensorProto.DataType.FLOAT,
  FP64: onnx.TensorProto.DataType.DOUBLE,
  BYTES: onnx.TensorProto.DataType.STRING,
};

/** A graph input or output. A dimension of -1 or a string becomes a symbolic (dynamic) dimension. */
export interface ValueSpec {
  readonly name: string;
  readonly datatype: TensorDatatype;
  readonly shape: readonly (number | string)[];
}

/** A node attribute, tagged with its ONNX attribute kind. */
export type AttributeValue =
  | { readonly int: number }
  | { readonly float: number }
  | { readonly ints: readonly number[] }
  | { readonly floats: readonly number[] }
  | { readonly string: string };

/** Options of {@link OnnxGraphBuilder.toBytes}. */
export interface SerializeOptions {
  /** ai.onnx opset version. Default: 13. */
  readonly opset?: number;
  /** Producer name recorded in the model. Default: "onnx-eks-serving tools". */
  readonly producer?: string;
}

/** Builds one ONNX graph; call `toBytes()` for the serialized ModelProto. */
export class OnnxGraphBuilder {
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly nodes: onnx.INodeProto[] = [];

  constructor(private readonly graphName: string) {}

  /** Declares a graph input. */
  input(spec: ValueSpec): this {
    this.inputs.push(valueInfo(spec));
    return this;
  }

  /** Declares a graph output. */
  output(spec: ValueSpec): this {
    this.outputs.push(valueInfo(spec));
    return this;
  }

  /** Adds a constant tensor (weights) with row-major `values`. */
  initializer(
    name: string,
    datatype: TensorDatatype,
    dims: readonly number[],
    values: readonly number[],
  ): this {
    const count = dims.reduce((a, b) => a * b, 1);
    if (values.length !== count) {
      throw new Error(
        `initializer "${name}": dims ${JSON.stringify(dims)} need ${count} values, got ${values.length}`,
      );
    }
    this.initializers.push({
      name,
      dataType: ONNX_ELEM_TYPE[datatype],
      dims: [...dims],
      rawData: rawBytes(datatype, values),
    });
    return this;
  }

  /** Appends a node; nodes must be added in topological order. */
  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attributes: Readonly<Record<string, AttributeValue>> = {},
    domain = "",
  ): this {
    this.nodes.push({
      opType,
      domain,
      name: `${opType}_${this.nodes.length}`,
      input: [...inputs],
      output: [...outputs],
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    });
    return this;
  }

  /** Serializes the model. */
  toBytes(options: SerializeOptions = {}): Uint8Array {
    const model: onnx.IModelProto = {
      irVersion: 8,
      producerName: options.producer ?? "onnx-eks-serving tools",
      opsetImport: [{ domain: "", version: options.opset ?? 13 }],
      graph: {
        name: this.graphName,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
        node: this.nodes,
      },
    };
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(spec: ValueSpec): onnx.IValueInfoProto {
  return {
    name: spec.name,
    type: {
      tensorType: {
        elemType: ONNX_ELEM_TYPE[spec.datatype],
        shape: {
          dim: spec.shape.map((d, i) =>
            typeof d === "string"
              ? { dimParam: d }
              : d < 0
                ? { dimParam: i === 0 ? "batch" : `d${i}` }
                : { dimValue: d },
          ),
        },
      },
    },
  };
}

function attribute(name: string, value: AttributeValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ("int" in value) return { name, type: T.INT, i: value.int };
  if ("float" in value) return { name, type: T.FLOAT, f: value.float };
  if ("ints" in value) return { name, type: T.INTS, ints: [...value.ints] };
  if ("floats" in value) return { name, type: T.FLOATS, floats: [...value.floats] };
  return { name, type: T.STRING, s: new TextEncoder().encode(value.string) };
}

/** Little-endian raw bytes of an initializer (ONNX `raw_data`). */
function rawBytes(datatype: TensorDatatype, values: readonly number[]): Uint8Array {
  const view = (array: ArrayBufferView): Uint8Array =>
    new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
  switch (datatype) {
    case "FP32":
      return view(Float32Array.from(values));
    case "FP64":
      return view(Float64Array.from(values));
    case "INT8":
      return view(Int8Array.from(values));
    case "UINT8":
    case "BOOL":
      return view(Uint8Array.from(values));
    case "INT16":
      return view(Int16Array.from(values));
    case "UINT16":
      return view(Uint16Array.from(values));
    case "INT32":
      return view(Int32Array.from(values));
    case "UINT32":
      return view(Uint32Array.from(values));
    case "INT64":
      return view(BigInt64Array.from(values, (v) => BigInt(v)));
    case "UINT64":
      return view(BigUint64Array.from(values, (v) => BigInt(v)));
    default:
      throw new Error(`initializer datatype ${datatype} is not supported by the builder`);
  }
}
