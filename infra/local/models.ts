/**
 * The local pair's model repository: blue serves the bundled churn 1.0.0, green a churn 1.1.0
 * built by the repo's own model tools (serving/tools) with known weights and published with a
 * golden set, as `npm run model -- push --golden` would store it: `golden.jsonl` beside
 * model.onnx. Expected outputs are computed here in float64 from the weights, not recorded
 * from the model, so the golden gate checks the served model against an independent answer.
 */
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { formatGoldenSet, GOLDEN_FILE } from "../../serving/src/model/golden";
import { MANIFEST_FILE, MODEL_FILE } from "../../serving/src/model/manifest";
import { writeModelVersion } from "../../serving/tools/modelRepository";
import { softmaxClassifier } from "../../serving/tools/models";
import { BUNDLED_MODEL_DIR, REPO_ROOT } from "../paths";
import type { GoldenCase } from "../rollout/ports";

export const LOCAL_MODEL_NAME = "churn";
export const BLUE_VERSION = "1.0.0";
export const GREEN_VERSION = "1.1.0";

/** Weights (4 features x 2 classes) and bias of the local churn 1.1.0: a linear model. */
export interface LinearChurn {
  readonly weights: readonly (readonly [number, number])[];
  readonly bias: readonly [number, number];
}

/** churn 1.1.0 of the local pair. */
export const CHURN_1_1_0: LinearChurn = {
  weights: [
    [0.5, -0.5],
    [-0.25, 0.25],
    [1, -1],
    [-0.75, 0.75],
  ],
  bias: [0.1, -0.1],
};

/** The golden rows: a few feature vectors spread over both classes. */
export const GOLDEN_ROWS: readonly (readonly number[])[] = [
  [0, 0, 0, 0],
  [1, 0.5, -1, 2],
  [-1.5, 0.25, 1.5, -0.5],
  [0.3, -0.7, 0.9, 0.1],
  [2, 2, -2, -2],
];

/** `softmax(x @ W + b)` and its argmax, in float64. */
export function predictLinear(
  model: LinearChurn,
  x: readonly number[],
): { probabilities: number[]; label: number } {
  const logits = [0, 1].map(
    (k) => model.bias[k] + x.reduce((sum, xi, i) => sum + xi * model.weights[i][k], 0),
  );
  const m = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - m));
  const total = e[0] + e[1];
  const probabilities = e.map((v) => v / total);
  return { probabilities, label: probabilities[1] > probabilities[0] ? 1 : 0 };
}

/** One golden case per row: an OIP request of one row and the outputs `model` must give. */
export function goldenCases(
  model: LinearChurn,
  rows: readonly (readonly number[])[] = GOLDEN_ROWS,
): GoldenCase[] {
  return rows.map((row) => {
    const { probabilities, label } = predictLinear(model, row);
    return {
      request: { inputs: [{ name: "input", datatype: "FP32", shape: [1, row.length], data: [...row] }] },
      expected: { label: [label], probabilities },
    };
  });
}

/**
 * Writes a linear churn version into `root` (`<root>/churn/<version>/`): model.onnx and
 * manifest.json from serving/tools, plus golden.jsonl with `golden`'s expected outputs
 * (default: the model's own, so the gate passes; a test passes other weights to plant a
 * version that predicts differently from what it was published with).
 */
export async function writeLinearChurn(
  root: string,
  version: string,
  model: LinearChurn,
  golden: LinearChurn = model,
): Promise<string> {
  const built = softmaxClassifier({
    weights: model.weights.map((r) => [...r]),
    bias: [...model.bias],
    labels: ["0", "1"],
  });
  const { dir } = await writeModelVersion({ root, name: LOCAL_MODEL_NAME, version, model: built });
  await writeFile(join(dir, GOLDEN_FILE), formatGoldenSet(goldenCases(golden)));
  return dir;
}

/** Copies the bundled churn 1.0.0 (no golden set: it predates them) into `root`. */
export async function copyBundledChurn(root: string): Promise<string> {
  const dir = join(root, LOCAL_MODEL_NAME, BLUE_VERSION);
  await mkdir(dir, { recursive: true });
  for (const file of [MODEL_FILE, MANIFEST_FILE]) {
    await copyFile(join(REPO_ROOT, BUNDLED_MODEL_DIR, file), join(dir, file));
  }
  return dir;
}

/** The local pair's repository: blue's 1.0.0 and green's 1.1.0 under `root`. */
export async function prepareLocalModels(root: string): Promise<void> {
  await copyBundledChurn(root);
  await writeLinearChurn(root, GREEN_VERSION, CHURN_1_1_0);
}
