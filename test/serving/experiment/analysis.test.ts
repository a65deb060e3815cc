import assert from "node:assert/strict";
import { analyze } from "../../../serving/cli/experiment/analysis";
import { runExperimentCli } from "../../../serving/cli/experiment";
import { summarize, twoProportionZTest, welchTTest } from "../../../serving/cli/experiment/stats";
import type { ExperimentRecord } from "../../../serving/src/experiment/records";

const T0 = Date.UTC(2026, 11, 2, 10);
const iso = (ms: number) => new Date(ms).toISOString();

/** `n` predictions per variant with `correct` of them matching their outcome's label. */
function accuracyRecords(control: [number, number], treatment: [number, number]): ExperimentRecord[] {
  const out: ExperimentRecord[] = [];
  for (const [variant, [n, correct], version] of [
    ["control", control, "1.0.0"],
    ["treatment", treatment, "1.1.0"],
  ] as const) {
    for (let i = 0; i < n; i++) {
      const id = `${variant}-${i}`;
      out.push({
        kind: "prediction",
        experiment: "x",
        id,
        variant,
        model_version: version,
        assigned: true,
        key_hash: `h-${id}`,
        time: iso(T0 + i),
        predictions: ["yes"],
      });
      out.push({
        kind: "outcome",
        experiment: "x",
        prediction_id: id,
        label: i < correct ? "yes" : "no",
        time: iso(T0 + i),
      });
    }
  }
  return out;
}

describe("experiment analysis", () => {
  it("scores accuracy per variant and tests it with the two-proportion z-test", () => {
    const a = analyze("x", accuracyRecords([1200, 960], [1200, 1020]), { minEffect: 0.05 });
    assert.equal(a.metric, "accuracy");
    assert.deepEqual(
      [a.control.n, a.control.value, a.treatment.n, a.treatment.value],
      [1200, 0.8, 1200, 0.85],
    );
    assert.deepEqual(a.result, twoProportionZTest(960, 1200, 1020, 1200, 0.95));
    assert.equal(a.verdict, "treatment_better");
  });

  const verdicts: Array<[string, [number, number], [number, number], string]> = [
    ["control better", [1200, 1020], [1200, 960], "control_better"],
    ["no real difference", [1200, 960], [1200, 966], "not_significant"],
    ["significant but below the minimum sample", [200, 140], [200, 170], "insufficient_sample"],
    ["no outcomes on one side", [10, 5], [0, 0], "no_data"],
  ];
  for (const [what, control, treatment, verdict] of verdicts) {
    it(`says ${verdict} for ${what}`, () => {
      const a = analyze("x", accuracyRecords(control, treatment), { minEffect: 0.05, baseline: 0.8 });
      assert.equal(a.verdict, verdict, a.recommendation);
    });
  }

  it("fixes the minimum sample up front from the effect size: power.prop.test(0.8, 0.85) rounded up", () => {
    const a = analyze("x", accuracyRecords([10, 8], [10, 9]), { minEffect: 0.05, baseline: 0.8 });
    // Larger of the n to detect 0.80 -> 0.85 and 0.80 -> 0.75 (the harder one, nearer 0.5): 1094.
    assert.equal(a.minSamplePerVariant, 1094);
  });

  it("joins outcomes by key hash to the nearest prediction within the window, and counts what it cannot use", () => {
    const records: ExperimentRecord[] = [
      {
        kind: "prediction",
        experiment: "x",
        id: "a",
        variant: "control",
        model_version: "1",
        assigned: true,
        key_hash: "k1",
        time: iso(T0),
        predictions: [1],
      },
      {
        kind: "prediction",
        experiment: "x",
        id: "b",
        variant: "control",
        model_version: "1",
        assigned: true,
        key_hash: "k1",
        time: iso(T0 + 60_000),
        predictions: [0],
      },
      {
        kind: "prediction",
        experiment: "x",
        id: "c",
        variant: "control",
        model_version: "1",
        assigned: false,
        time: iso(T0),
        predictions: [1],
      },
      {
        kind: "prediction",
        experiment: "x",
        id: "d",
        variant: "treatment",
        model_version: "2",
        assigned: true,
        key_hash: "k2",
        time: iso(T0),
      },
      // nearest to T0 + 50 s is "b" (predicted 0): correct
      {
        kind: "outcome",
        experiment: "x",
        key_hash: "k1",
        timestamp: iso(T0 + 50_000),
        label: 0,
        time: iso(T0),
      },
      // outside the 5-minute window: unmatched
      {
        kind: "outcome",
        experiment: "x",
        key_hash: "k1",
        timestamp: iso(T0 + 3_600_000),
        label: 0,
        time: iso(T0),
      },
      { kind: "outcome", experiment: "x", prediction_id: "a", label: 1, time: iso(T0) },
      { kind: "outcome", experiment: "x", prediction_id: "a", label: 0, time: iso(T0) },
      { kind: "outcome", experiment: "x", prediction_id: "c", label: 1, time: iso(T0) },
      { kind: "outcome", experiment: "x", prediction_id: "d", label: 1, time: iso(T0) },
      { kind: "outcome", experiment: "x", prediction_id: "a", value: 3, time: iso(T0) },
      { kind: "outcome", experiment: "other", prediction_id: "a", label: 1, time: iso(T0) },
    ];
    const a = analyze("x", records, { minEffect: 0.1 });
    assert.deepEqual(a.counts, {
      predictions: 4,
      unassigned: 1,
      outcomes: 7,
      unmatched: 1,
      unassignedOutcomes: 1,
      unscorable: 1,
      duplicates: 1,
      otherKind: 1,
    });
    assert.deepEqual([a.control.n, a.control.value], [2, 1]);
  });

  it("scores each row of a batch prediction by its own outcome", () => {
    const records: ExperimentRecord[] = [
      {
        kind: "prediction",
        experiment: "x",
        id: "b",
        variant: "treatment",
        model_version: "2",
        assigned: true,
        time: iso(T0),
        predictions: [0, 1, 1],
      },
      { kind: "outcome", experiment: "x", prediction_id: "b", label: 0, time: iso(T0) },
      { kind: "outcome", experiment: "x", prediction_id: "b", row: 1, label: 0, time: iso(T0) },
      { kind: "outcome", experiment: "x", prediction_id: "b", row: 2, label: 1, time: iso(T0) },
      { kind: "outcome", experiment: "x", prediction_id: "b", row: 3, label: 1, time: iso(T0) },
    ];
    const a = analyze("x", records, { minEffect: 0.1 });
    assert.deepEqual([a.treatment.n, a.treatment.value, a.counts.unscorable], [3, 2 / 3, 1]);
  });

  it("tests means with Welch's t-test, and honours --goal min", () => {
    const records: ExperimentRecord[] = [];
    const values = { control: [10, 12, 11, 13, 9, 10, 12, 11], treatment: [8, 9, 7, 8, 10, 9, 8, 7] };
    for (const variant of ["control", "treatment"] as const) {
      values[variant].forEach((v, i) => {
        const id = `${variant}-${i}`;
        records.push({
          kind: "prediction",
          experiment: "x",
          id,
          variant,
          model_version: variant,
          assigned: true,
          time: iso(T0),
        });
        records.push({ kind: "outcome", experiment: "x", prediction_id: id, value: v, time: iso(T0) });
      });
    }
    const a = analyze("x", records, { minEffect: 2, goal: "min" });
    assert.equal(a.metric, "mean");
    assert.equal(a.test, "Welch's t-test");
    assert.deepEqual(a.result, welchTTest(summarize(values.control), summarize(values.treatment), 0.95));
    assert.ok(a.result!.pValue < 0.05);
    assert.equal(a.verdict, "treatment_better", a.recommendation);
    assert.equal(analyze("x", records, { minEffect: 2 }).verdict, "control_better");
  });
});

describe("experiment CLI", () => {
  it("refuses a bad flag with a message naming it, exit code 1", async () => {
    let err = "";
    const code = await runExperimentCli(["analyze", "--name", "x", "--min-effect", "0"], {
      stdout: () => undefined,
      stderr: (t) => (err += t),
      env: {},
    });
    assert.equal(code, 1);
    assert.match(err, /--min-effect must be a number strictly between 0 and Infinity, got "0"/);
  });
});
