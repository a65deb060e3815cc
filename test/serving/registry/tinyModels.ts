/**
 * Minimal ONNX files for registry tests, written with onnx-proto so each test knows exactly what
 * interface the file declares (including things the server's model tools do not build: non-tensor
 * outputs, element types the Open Inference Protocol lacks, unnamed dynamic dimensions).
 */
import { onnx } from "onnx-proto";

const T = onnx.TensorProto.DataType;
/** ONNX INT4 (IR 10), newer than onnx-proto's enum. */
export const INT4 = 22 as onnx.TensorProto.DataType;

/** A dimension: a size, a symbolic name, or null for a dimension with neither (unknown). */
export type Dim = number | string | null;

function tensorType(elemType: onnx.TensorProto.DataType, shape: readonly Dim[]): onnx.ITypeProto {
  return {
    tensorType: {
      elemType,
      shape: {
        dim: shape.map((d) => (d === null ? {} : typeof d === "string" ? { dimParam: d } : { dimValue: d })),
      },
    },
  };
}

function model(graph: onnx.IGraphProto, opset = 17, irVersion = 8): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion,
    producerName: "registry tests",
    opsetImport: [{ domain: "", version: opset }],
    graph,
  }).finish();
}

/** `y = Identity(x)` with the given element type and shape on both sides. */
export function identityModel(elemType: onnx.TensorProto.DataType, shape: readonly Dim[]): Uint8Array {
  return model({
    name: "identity",
    node: [{ opType: "Identity", input: ["x"], output: ["y"], name: "id" }],
    input: [{ name: "x", type: tensorType(elemType, shape) }],
    output: [{ name: "y", type: tensorType(elemType, shape) }],
  });
}

/** `y = Cast(x: FP32, to)` at opset 21 (IR 10), which knows the 4-bit integer types. */
export function castModel(to: onnx.TensorProto.DataType): Uint8Array {
  const toAttr = { name: "to", type: onnx.AttributeProto.AttributeType.INT, i: to };
  return model(
    {
      name: "cast",
      node: [{ opType: "Cast", input: ["x"], output: ["y"], name: "cast", attribute: [toAttr] }],
      input: [{ name: "x", type: tensorType(T.FLOAT, ["batch"]) }],
      output: [{ name: "y", type: tensorType(to, ["batch"]) }],
    },
    21,
    10,
  );
}

/** `seq = SequenceConstruct(x)`: a model whose only output is a sequence, not a tensor. */
export function sequenceOutputModel(): Uint8Array {
  return model({
    name: "sequence",
    node: [{ opType: "SequenceConstruct", input: ["x"], output: ["seq"], name: "seq" }],
    input: [{ name: "x", type: tensorType(T.FLOAT, ["batch", 3]) }],
    output: [{ name: "seq", type: { sequenceType: { elemType: tensorType(T.FLOAT, ["batch", 3]) } } }],
  });
}

/** Two inputs, two outputs of different types: `sum = a + b` (FP64) and `flag = Not(c)` (BOOL). */
export function twoByTwoModel(): Uint8Array {
  return model({
    name: "two_by_two",
    node: [
      { opType: "Add", input: ["a", "b"], output: ["sum"], name: "add" },
      { opType: "Not", input: ["c"], output: ["flag"], name: "not" },
    ],
    input: [
      { name: "a", type: tensorType(T.DOUBLE, ["n", 2]) },
      { name: "b", type: tensorType(T.DOUBLE, ["n", 2]) },
      { name: "c", type: tensorType(T.BOOL, [null]) },
    ],
    output: [
      { name: "sum", type: tensorType(T.DOUBLE, ["n", 2]) },
      { name: "flag", type: tensorType(T.BOOL, [null]) },
    ],
  });
}

export { T as ELEM };
