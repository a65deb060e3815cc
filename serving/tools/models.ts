/**
 * Ready-made test and benchmark models with known weights, built with {@link OnnxGraphBuilder}.
 * Each returns the serialized model plus the manifest tensor specs that describe it, so a caller
 * can write a model version with {@link writeModelVersion}.
 */
import { TENSOR_DATATYPES, type TensorDatatype, type TensorSpec } from "../src/model/manifest";
import { OnnxGraphBuilder } from "./onnxBuilder";

/** A serialized model and the tensor specs its manifest should declare. */
export interface BuiltModel {
  readonly bytes: Uint8Array;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Class labels, for classifiers. */
  readonly labels?: readonly string[];
}

/** Options of {@link softmaxClassifier}. */
export interface SoftmaxClassifierArgs {
  /** Weights, `features x classes`, row-major as nested arrays. */
  readonly weights: readonly (readonly number[])[];
  /** Per-class bias; length = classes. */
  readonly bias: readonly number[];
  /** Class labels for the manifest. Default: none. */
  readonly labels?: readonly string[];
  /** Input tensor name. Default: "input". */
  readonly inputName?: string;
  /** Whether to add the INT64 `label` (argmax) output. Default: true. */
  readonly withLabel?: boolean;
  /** Fixed batch size instead of a dynamic batch dimension. Default: dynamic (-1). */
  readonly fixedBatch?: number;
}

/**
 * A logistic-regression-like classifier: `probabilities = softmax(input @ W + b)` and
 * `label = argmax(probabilities)`; outputs are easy to compute by hand in tests.
 */
export function softmaxClassifier(args: SoftmaxClassifierArgs): BuiltModel {
  const features = args.weights.length;
  const classes = args.bias.length;
  if (features === 0 || args.weights.some((row) => row.length !== classes)) {
    throw new Error(`weights must be a non-empty ${features}x${classes} matrix (features x classes)`);
  }
  const input = args.inputName ?? "input";
  const batch = args.fixedBatch ?? -1;
  const g = new OnnxGraphBuilder("softmax_classifier")
    .input({ name: input, datatype: "FP32", shape: [batch, features] })
    .initializer("W", "FP32", [features, classes], args.weights.flat())
    .initializer("B", "FP32", [classes], [...args.bias])
    .node("MatMul", [input, "W"], ["logits_raw"])
    .node("Add", ["logits_raw", "B"], ["logits"]);
  return classifierHead(g, {
    input,
    features,
    classes,
    batch,
    withLabel: args.withLabel,
    labels: args.labels,
  });
}

/**
 * The head every classifier here ends with: `probabilities = softmax(logits)` over dimension 1
 * and, unless `withLabel` is false, `label = argmax(probabilities)`. Declares the graph's outputs
 * and returns the model with the manifest specs of the same tensors.
 */
function classifierHead(
  g: OnnxGraphBuilder,
  head: {
    readonly input: string;
    readonly features: number;
    readonly classes: number;
    /** Batch dimension. Default: dynamic (-1). */
    readonly batch?: number;
    /** Default: true. */
    readonly withLabel?: boolean;
    readonly labels?: readonly string[];
  },
): BuiltModel {
  const batch = head.batch ?? -1;
  g.node("Softmax", ["logits"], ["probabilities"], { axis: { int: 1 } });
  const outputs: TensorSpec[] = [];
  if (head.withLabel ?? true) {
    g.node("ArgMax", ["probabilities"], ["label"], { axis: { int: 1 }, keepdims: { int: 0 } });
    outputs.push({ name: "label", datatype: "INT64", shape: [batch] });
  }
  outputs.push({ name: "probabilities", datatype: "FP32", shape: [batch, head.classes] });
  for (const output of outputs) g.output(output);
  return {
    bytes: g.toBytes(),
    inputs: [{ name: head.input, datatype: "FP32", shape: [batch, head.features] }],
    outputs,
    ...(head.labels ? { labels: head.labels } : {}),
  };
}

/** Options of {@link slowClassifier}. */
export interface SlowClassifierArgs extends SoftmaxClassifierArgs {
  /** Side of the square matrix multiplied with itself per row: cost grows as work^3. Default: 256. */
  readonly work?: number;
}

/**
 * The {@link softmaxClassifier} plus deliberate per-row compute that cannot change its outputs:
 * each row expands the sum of its features into a `work x work` matrix, squares it (MatMul), and
 * adds `0 * tanh(mean)` to the logits. A tiny file whose runs take measurable time, for drain and
 * load tests and benchmarks.
 */
export function slowClassifier(args: SlowClassifierArgs): BuiltModel {
  const features = args.weights.length;
  const classes = args.bias.length;
  const work = args.work ?? 256;
  const input = args.inputName ?? "input";
  const g = new OnnxGraphBuilder("slow_classifier")
    .input({ name: input, datatype: "FP32", shape: [-1, features] })
    .initializer("W", "FP32", [features, classes], args.weights.flat())
    .initializer("B", "FP32", [classes], [...args.bias])
    .initializer("ones", "FP32", [features, 1], new Array<number>(features).fill(1))
    .initializer("cube", "INT64", [3], [-1, 1, 1])
    .initializer("square", "INT64", [3], [1, work, work])
    .initializer("column", "INT64", [2], [-1, 1])
    .initializer("zero", "FP32", [], [0])
    .node("MatMul", [input, "ones"], ["row_sum"])
    .node("Reshape", ["row_sum", "cube"], ["row_sum3"])
    .node("Expand", ["row_sum3", "square"], ["matrix"])
    .node("MatMul", ["matrix", "matrix"], ["product"])
    .node("ReduceMean", ["product"], ["mean"], { axes: { ints: [1, 2] }, keepdims: { int: 0 } })
    .node("Tanh", ["mean"], ["bounded"])
    .node("Mul", ["bounded", "zero"], ["nothing"])
    .node("Reshape", ["nothing", "column"], ["nothing_col"])
    .node("MatMul", [input, "W"], ["logits_raw"])
    .node("Add", ["logits_raw", "B"], ["logits_b"])
    .node("Add", ["logits_b", "nothing_col"], ["logits"]);
  return classifierHead(g, { input, features, classes, labels: args.labels });
}

/** Every datatype the Open Inference Protocol names; onnxruntime-node supports all of them. */
export const ALL_DATATYPES: readonly TensorDatatype[] = TENSOR_DATATYPES;

/** Datatypes whose `plus_one` output the datatype model computes with an ONNX Add. */
export const ADD_DATATYPES: readonly TensorDatatype[] = ["FP32", "FP64", "INT32", "INT64"];

/** Lowercase tensor-name suffix for a datatype (`FP32` -> `fp32`). */
export function dtName(datatype: TensorDatatype): string {
  return datatype.toLowerCase();
}

/**
 * One model exercising every datatype, each over a `[-1, width]` tensor:
 * - `x_<dt>` -> Identity -> `y_<dt>` for every datatype;
 * - `x_<dt>` + 1 -> `plus_one_<dt>` for FP32, FP64, INT32, INT64;
 * - `x_uint8` -> Cast -> `uint8_as_fp64`.
 */
export function datatypeModel(width = 2): BuiltModel {
  const g = new OnnxGraphBuilder("datatypes");
  const inputs: TensorSpec[] = [];
  const outputs: TensorSpec[] = [];
  const spec = (name: string, datatype: TensorDatatype): TensorSpec => ({
    name,
    datatype,
    shape: [-1, width],
  });
  for (const dt of ALL_DATATYPES) {
    const x = spec(`x_${dtName(dt)}`, dt);
    const y = spec(`y_${dtName(dt)}`, dt);
    g.input(x).output(y).node("Identity", [x.name], [y.name]);
    inputs.push(x);
    outputs.push(y);
  }
  for (const dt of ADD_DATATYPES) {
    const out = spec(`plus_one_${dtName(dt)}`, dt);
    g.initializer(`one_${dtName(dt)}`, dt, [], [1])
      .node("Add", [`x_${dtName(dt)}`, `one_${dtName(dt)}`], [out.name])
      .output(out);
    outputs.push(out);
  }
  const cast = spec("uint8_as_fp64", "FP64");
  g.node("Cast", ["x_uint8"], [cast.name], { to: { int: 11 } }).output(cast);
  outputs.push(cast);
  return { bytes: g.toBytes(), inputs, outputs };
}

/** A model without a batch dimension: `y = x * 2` over a fixed `[rows, cols]` FP32 tensor. */
export function fixedShapeModel(rows = 2, cols = 3): BuiltModel {
  const x: TensorSpec = { name: "x", datatype: "FP32", shape: [rows, cols] };
  const y: TensorSpec = { name: "y", datatype: "FP32", shape: [rows, cols] };
  const bytes = new OnnxGraphBuilder("fixed_shape")
    .input(x)
    .output(y)
    .initializer("two", "FP32", [], [2])
    .node("Mul", ["x", "two"], ["y"])
    .toBytes();
  return { bytes, inputs: [x], outputs: [y] };
}

/** Options of {@link mlpModel}. */
export interface MlpArgs {
  /** Input features. Default: 256. */
  readonly features?: number;
  /** Width of each hidden layer. Default: 1024. */
  readonly hidden?: number;
  /** Number of hidden layers (MatMul + Add + Relu each). Default: 4. */
  readonly layers?: number;
  /** Output classes. Default: 2. */
  readonly classes?: number;
  /** Seed of the deterministic weight generator. Default: 1. */
  readonly seed?: number;
}

/**
 * A dense ReLU network ending in softmax: compute-heavy enough to measure batching and event-loop
 * blocking, with deterministic pseudo-random weights. Same I/O contract as the churn classifier.
 */
export function mlpModel(args: MlpArgs = {}): BuiltModel {
  const features = args.features ?? 256;
  const hidden = args.hidden ?? 1024;
  const layers = args.layers ?? 4;
  const classes = args.classes ?? 2;
  const random = mulberry32(args.seed ?? 1);
  const matrix = (rows: number, cols: number): number[] =>
    Array.from({ length: rows * cols }, () => (random() - 0.5) / Math.sqrt(rows));
  const g = new OnnxGraphBuilder("mlp").input({ name: "input", datatype: "FP32", shape: [-1, features] });
  let previous = "input";
  let width = features;
  for (let i = 0; i < layers; i++) {
    g.initializer(`W${i}`, "FP32", [width, hidden], matrix(width, hidden))
      .initializer(`B${i}`, "FP32", [hidden], new Array<number>(hidden).fill(0.01))
      .node("MatMul", [previous, `W${i}`], [`mm${i}`])
      .node("Add", [`mm${i}`, `B${i}`], [`pre${i}`])
      .node("Relu", [`pre${i}`], [`h${i}`]);
    previous = `h${i}`;
    width = hidden;
  }
  g.initializer("Wout", "FP32", [width, classes], matrix(width, classes)).node(
    "MatMul",
    [previous, "Wout"],
    ["logits"],
  );
  return classifierHead(g, {
    input: "input",
    features,
    classes,
    labels: Array.from({ length: classes }, (_, i) => String(i)),
  });
}

/** Small deterministic PRNG (mulberry32) so benchmark models and test datasets are identical run to run. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
