/**
 * End to end on loopback: two versions of a classifier with known weights, so known and different
 * accuracy on a generated dataset, served as one experiment by the real server process; users
 * predict, report what actually happened, the server writes the records to a real S3-compatible
 * server (flushed by SIGTERM), and `npm run experiment -- analyze` reads them back and decides.
 */
import assert from "node:assert/strict";
import { assignVariant } from "../../../serving/src/experiment/assignment";
import { runExperimentCli } from "../../../serving/cli/experiment";
import type { Analysis } from "../../../serving/cli/experiment/analysis";
import { mulberry32, softmaxClassifier } from "../../../serving/tools/models";
import { startS3Server, useS3rverCredentials, type S3TestServer } from "../../support/s3Server";
import { startExperimentProcess } from "./support";

const BUCKET = "models-bucket";
/** Control: class 1 only when x1 > x0 + 0.125 (a biased boundary); the truth's boundary is x1 > x0. */
const CONTROL = softmaxClassifier({
  weights: [
    [1, 0],
    [0, 1],
  ],
  bias: [0.125, 0],
  labels: ["0", "1"],
});
/** Treatment: class 1 when x1 > x0, the true boundary: better by the band the control misses. */
const TREATMENT = softmaxClassifier({
  weights: [
    [1, 0],
    [0, 1],
  ],
  bias: [0, 0],
  labels: ["0", "1"],
});

interface User {
  readonly id: string;
  readonly features: [number, number];
  /** What actually happens: the true boundary, with 10% of labels flipped (noise no model can learn). */
  readonly truth: number;
}

/**
 * Features on a grid that keeps every row off both decision boundaries (x1 - x0 is an odd
 * multiple of 1/64, never 0 or 0.125), so float32 inference and the float64 expectation agree.
 */
function dataset(n: number, seed: number): User[] {
  const rand = mulberry32(seed); // seeded: the dataset, and so every count below, is reproducible
  return Array.from({ length: n }, (_, i) => {
    const x0 = Math.floor(rand() * 32) / 32;
    const x1 = Math.floor(rand() * 32) / 32 + 1 / 64;
    const clean = x1 > x0 ? 1 : 0;
    return { id: `user-${seed}-${i}`, features: [x0, x1], truth: rand() < 0.1 ? 1 - clean : clean };
  });
}

const expectedPrediction = (variant: string, [x0, x1]: readonly number[]) =>
  variant === "treatment" ? (x1 > x0 ? 1 : 0) : x1 > x0 + 0.125 ? 1 : 0;

/** Runs the experiment with `users` against a fresh server process; returns `analyze --json`'s output. */
async function runExperiment(s3: S3TestServer, name: string, users: readonly User[]): Promise<Analysis> {
  const server = await startExperimentProcess({
    s3,
    bucket: BUCKET,
    name,
    control: CONTROL,
    treatment: TREATMENT,
  });
  try {
    const { child, url } = server;
    const outcomes: Array<Record<string, unknown>> = [];
    // 8 users at a time, as independent clients would be.
    for (let i = 0; i < users.length; i += 8) {
      await Promise.all(
        users.slice(i, i + 8).map(async (user, j) => {
          const res = await fetch(`${url}/predict`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-user-id": user.id },
            body: JSON.stringify({ features: user.features }),
          });
          const body = (await res.json()) as {
            prediction: number;
            variant: string;
            prediction_id: string;
            model_version: string;
          };
          assert.equal(res.status, 200);
          assert.equal(body.variant, assignVariant(name, user.id, 50), user.id);
          assert.equal(body.prediction, expectedPrediction(body.variant, user.features), user.id);
          // Every third user reports by key and time instead of by prediction id.
          outcomes.push(
            (i + j) % 3 === 0
              ? { key: user.id, timestamp: new Date().toISOString(), label: user.truth }
              : { prediction_id: body.prediction_id, label: user.truth },
          );
        }),
      );
    }
    for (let i = 0; i < outcomes.length; i += 500) {
      const res = await fetch(`${url}/outcomes`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ outcomes: outcomes.slice(i, i + 500) }),
      });
      assert.equal(res.status, 202);
    }
    child.process.kill("SIGTERM");
    assert.equal(await child.exited, 0);

    let out = "";
    const code = await runExperimentCli(
      [
        "analyze",
        "--name",
        name,
        "--min-effect",
        "0.08",
        "--baseline",
        "0.8",
        "--records",
        `s3://${BUCKET}/experiments/${name}/`,
        "--json",
      ],
      { stdout: (t) => (out += t), stderr: (t) => (out += t), env: { ...s3.env() } },
    );
    assert.equal(code, 0, out);
    return JSON.parse(out) as Analysis;
  } finally {
    await server.close();
  }
}

/** Accuracy each variant must show: computed from the dataset and the models' known boundaries. */
function expectedAccuracy(name: string, users: readonly User[]) {
  const by: Record<string, { n: number; correct: number }> = {
    control: { n: 0, correct: 0 },
    treatment: { n: 0, correct: 0 },
  };
  for (const u of users) {
    const v = assignVariant(name, u.id, 50);
    by[v].n++;
    if (expectedPrediction(v, u.features) === u.truth) by[v].correct++;
  }
  return by;
}

describe("experiment end to end (server process, s3rver, analyze CLI)", function () {
  this.timeout(180_000);
  let s3: S3TestServer;
  let restoreEnv: () => void = () => undefined;
  before(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    restoreEnv = useS3rverCredentials(); // the analyze CLI runs in this process
  });
  after(async () => {
    restoreEnv();
    await s3?.stop();
  });

  it("with a large enough sample, the verdict picks the treatment, whose accuracy is the better one", async () => {
    const users = dataset(1200, 7);
    const analysis = await runExperiment(s3, "e2e-large", users);
    const expected = expectedAccuracy("e2e-large", users);
    assert.deepEqual(
      [analysis.control.n, analysis.treatment.n],
      [expected.control.n, expected.treatment.n],
      "every outcome joined to its prediction",
    );
    assert.equal(analysis.control.value, expected.control.correct / expected.control.n);
    assert.equal(analysis.treatment.value, expected.treatment.correct / expected.treatment.n);
    assert.ok(analysis.treatment.value > analysis.control.value);
    assert.deepEqual(analysis.control.versions, ["1.0.0"]);
    assert.deepEqual(analysis.treatment.versions, ["1.1.0"]);
    assert.deepEqual(
      { ...analysis.counts },
      {
        predictions: 1200,
        unassigned: 0,
        outcomes: 1200,
        unmatched: 0,
        unassignedOutcomes: 0,
        unscorable: 0,
        duplicates: 0,
        otherKind: 0,
      },
    );
    assert.ok(analysis.minSamplePerVariant! <= Math.min(analysis.control.n, analysis.treatment.n));
    assert.ok(analysis.result!.pValue < 0.05, `p = ${analysis.result!.pValue}`);
    assert.equal(analysis.verdict, "treatment_better");
    assert.match(analysis.recommendation, /^treatment is better .*: promote 1\.1\.0$/);
  });

  it("with a small sample, the verdict is not significant and asks for the minimum sample", async () => {
    const users = dataset(40, 11);
    const analysis = await runExperiment(s3, "e2e-small", users);
    const expected = expectedAccuracy("e2e-small", users);
    assert.equal(analysis.control.n + analysis.treatment.n, 40);
    assert.equal(analysis.treatment.value, expected.treatment.correct / expected.treatment.n);
    assert.ok(analysis.result!.pValue >= 0.05, `p = ${analysis.result!.pValue}`);
    assert.equal(analysis.verdict, "not_significant");
    assert.match(
      analysis.recommendation,
      new RegExp(`keep running until each variant has ${analysis.minSamplePerVariant} outcomes`),
    );
  });
});
