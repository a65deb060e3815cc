/**
 * Checks the exported churn model in onnxruntime-node against outputs recorded by sklearn.
 *
 *   /usr/bin/python3 serving/models/churn/export_churn.py --all-rows-out /tmp/churn-all.json
 *   npx tsx serving/models/churn/check_churn.ts /tmp/churn-all.json
 *
 * Without an argument it checks the 8 rows of test/fixtures/churn-expected.json. Exits 1 on any
 * probability off by the recorded tolerance or more, or any label that differs from sklearn's.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";

interface Expected {
  tolerance: number;
  inputs: number[][];
  probabilities: number[][];
  labels: number[];
}

const REPO = join(__dirname, "..", "..", "..");

async function main(): Promise<void> {
  const file = process.argv[2] ?? join(REPO, "test", "fixtures", "churn-expected.json");
  const expected = JSON.parse(readFileSync(file, "utf8")) as Expected;
  const session = await ort.InferenceSession.create(join(__dirname, "1.0.0", "model.onnx"));
  const n = expected.inputs.length;
  const out = await session.run({
    input: new ort.Tensor("float32", Float32Array.from(expected.inputs.flat()), [n, 4]),
  });
  const probabilities = out.probabilities.data as Float32Array;
  const labels = out.label.data as BigInt64Array;
  let maxDiff = 0;
  let labelMismatches = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < 2; j++) {
      maxDiff = Math.max(maxDiff, Math.abs(probabilities[i * 2 + j] - expected.probabilities[i][j]));
    }
    if (Number(labels[i]) !== expected.labels[i]) labelMismatches++;
  }
  await session.release();
  console.log(`${n} rows: max |onnxruntime - sklearn| = ${maxDiff}; label mismatches: ${labelMismatches}`);
  if (maxDiff >= expected.tolerance || labelMismatches > 0) process.exit(1);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
