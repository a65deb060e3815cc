/**
 * The seed API (`/predict`, `/predict/batch`) on top of any classifier-shaped model: one 2-D
 * float input `[batch, features]` and a probabilities output `[batch, classes]`, optionally a
 * label output `[batch]`. The churn model (RandomForest -> TreeEnsembleClassifier, zipmap off)
 * is one; so is any softmax classifier.
 */
import { BadRequestError, ConflictError } from "../../errors";
import type { ModelManifest, TensorSpec } from "../../model/manifest";
import { decodeElements, readElement } from "../../runtime/datatypes";
import type { HostTensor } from "../../runtime/runtime";
import { describe, invalid } from "../validate";

/** How the seed API maps onto the model. */
export interface SeedSignature {
  readonly input: TensorSpec;
  /** Feature count (the input's second dimension). */
  readonly features: number;
  /** Fixed batch size of a model without a dynamic batch dimension (then it is 1), else undefined. */
  readonly fixedBatch?: number;
  readonly probabilities: TensorSpec;
  readonly label?: TensorSpec;
  readonly labels?: readonly string[];
  /** The outputs the seed API reads: probabilities, then the label if there is one. */
  readonly outputs: readonly string[];
}

/** One prediction in the seed's shape. */
export interface SeedPrediction {
  /** The model's label for the row, else the manifest label of the argmax class, else the class index. */
  readonly prediction: number | string;
  /** Highest class probability. */
  readonly confidence: number;
  /** Probability of each class, in class order. */
  readonly probabilities: number[];
}

const FLOAT_INPUTS = new Set(["FP32", "FP64"]);
const FLOAT_OUTPUTS = new Set(["FP16", "FP32", "FP64"]);
const LABEL_OUTPUTS = new Set(["INT64", "INT32", "BYTES"]);

/** The seed mapping for a model, or a ConflictError saying why it does not fit. */
export function seedSignature(manifest: ModelManifest): SeedSignature {
  const misfit = (why: string): never => {
    throw new ConflictError(
      `model "${manifest.name}" does not fit the seed API (/predict): ${why}; use /v2/models/${manifest.name}/infer`,
    );
  };
  if (manifest.inputs.length !== 1)
    misfit(`it has ${manifest.inputs.length} inputs, the seed API needs exactly one`);
  const input = manifest.inputs[0];
  if (!FLOAT_INPUTS.has(input.datatype) || input.shape.length !== 2 || input.shape[1] < 1) {
    misfit(
      `its input "${input.name}" is ${input.datatype} ${describe(input.shape)}, not a 2-D float [batch, features] tensor`,
    );
  }
  const [batch, features] = input.shape;
  if (batch !== -1 && batch !== 1) misfit(`its input "${input.name}" has a fixed batch of ${batch}`);

  const probabilityCandidates = manifest.outputs.filter(
    (o) => FLOAT_OUTPUTS.has(o.datatype) && o.shape.length === 2 && o.shape[0] === batch,
  );
  const probabilities =
    probabilityCandidates.find((o) => /^prob/i.test(o.name)) ??
    (probabilityCandidates.length === 1 ? probabilityCandidates[0] : undefined);
  if (!probabilities) {
    misfit(
      probabilityCandidates.length === 0
        ? "it has no 2-D float [batch, classes] probabilities output"
        : "it has several 2-D float outputs and none is named like probabilities",
    );
  }
  const labelCandidates = manifest.outputs.filter(
    (o) => LABEL_OUTPUTS.has(o.datatype) && o.shape.length === 1 && o.shape[0] === batch,
  );
  const label =
    labelCandidates.find((o) => /^label/i.test(o.name)) ??
    (labelCandidates.length === 1 ? labelCandidates[0] : undefined);
  return {
    input,
    features,
    ...(batch === 1 ? { fixedBatch: 1 } : {}),
    probabilities: probabilities as TensorSpec,
    ...(label ? { label } : {}),
    ...(manifest.labels ? { labels: manifest.labels } : {}),
    outputs: label ? [(probabilities as TensorSpec).name, label.name] : [(probabilities as TensorSpec).name],
  };
}

/** Validates instances (`field` names them in errors) into one `[rows, features]` input tensor. */
export function featuresTensor(
  sig: SeedSignature,
  rows: readonly unknown[],
  field: (row: number) => string,
): HostTensor {
  const flat: unknown[] = [];
  rows.forEach((row, r) => {
    if (!Array.isArray(row)) invalid(field(r), `an array of ${sig.features} numbers`, row);
    if (row.length !== sig.features) {
      throw new BadRequestError(
        `${field(r)} must have ${sig.features} values (model input "${sig.input.name}" is ` +
          `${describe(sig.input.shape)}), got ${row.length}`,
      );
    }
    for (const v of row) flat.push(v);
  });
  const decoded = decodeElements(
    sig.input.datatype,
    flat,
    (i) => `${field(Math.floor(i / sig.features))}[${i % sig.features}]`,
  );
  if ("error" in decoded) throw new BadRequestError(decoded.error);
  return { datatype: sig.input.datatype, shape: [rows.length, sig.features], data: decoded.data };
}

/** Turns the model's outputs for `rows` rows into seed predictions. */
export function toPredictions(
  sig: SeedSignature,
  outputs: Readonly<Record<string, HostTensor>>,
  rows: number,
): SeedPrediction[] {
  const probs = outputs[sig.probabilities.name];
  const classes = probs.shape[1];
  const labelTensor = sig.label ? outputs[sig.label.name] : undefined;
  const predictions: SeedPrediction[] = [];
  for (let r = 0; r < rows; r++) {
    const p: number[] = [];
    let best = 0;
    for (let c = 0; c < classes; c++) {
      p.push(readElement(probs.datatype, probs.data, r * classes + c) as number);
      if (p[c] > p[best]) best = c;
    }
    let prediction: number | string;
    if (labelTensor) {
      const value = readElement(labelTensor.datatype, labelTensor.data, r);
      prediction = typeof value === "bigint" ? bigintToJson(value) : (value as number | string);
    } else {
      prediction = sig.labels?.[best] ?? best;
    }
    predictions.push({ prediction, confidence: p[best], probabilities: p });
  }
  return predictions;
}

/** A JSON-safe label: a number when exact, else its decimal string. */
function bigintToJson(value: bigint): number | string {
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : value.toString();
}
