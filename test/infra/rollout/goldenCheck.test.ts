import assert from "node:assert/strict";
import { compareGolden, scalarMatches } from "../../../infra/rollout/goldenCheck";
import type { GoldenAnswer, GoldenCase } from "../../../infra/rollout/ports";

describe("rollout golden gate: comparison", () => {
  const scalars: [string, number | string | boolean, unknown, number, boolean][] = [
    ["float within tolerance", 0.5, 0.50005, 1e-4, true],
    ["float exactly at tolerance", 0.25, 0.375, 0.125, true],
    ["float beyond tolerance", 0.5, 0.5002, 1e-4, false],
    ["label equal", 1, 1, 1e-4, true],
    ["label off by one, even with a tolerance of 2", 1, 2, 2, false],
    ["integer expected, float answered: tolerance applies", 1, 0.99995, 1e-4, true],
    ["string exact", "churn", "churn", 1, true],
    ["string differs", "churn", "Churn", 1, false],
    ["boolean exact", true, true, 0, true],
    ["boolean vs number", true, 1, 1, false],
    ["number vs string", 1, "1", 1, false],
    ["NaN answered", 0.5, Number.NaN, 1, false],
  ];
  for (const [name, expected, actual, tol, result] of scalars) {
    it(`scalarMatches: ${name}`, () => assert.equal(scalarMatches(expected, actual, tol), result));
  }

  const cases: GoldenCase[] = [
    { request: { n: 0 }, expected: { label: [0], probabilities: [0.75, 0.25] } },
    { request: { n: 1 }, expected: { label: [1], probabilities: [0.2, 0.8] } },
    { request: { n: 2 }, expected: { label: [1], probabilities: [0.1, 0.9] } },
  ];
  const ok: GoldenAnswer[] = cases.map((c) => ({ status: 200, outputs: c.expected }));

  it("every case matching: no mismatch", () => {
    assert.deepEqual(compareGolden(cases, ok, 1e-4), { cases: 3, failedCases: 0, mismatches: [] });
  });

  it("reports the first differing rows in order, with expected and actual values", () => {
    const answers: GoldenAnswer[] = [
      ok[0],
      { status: 200, outputs: { label: [0], probabilities: [0.6, 0.4] } },
      { status: 503, outputs: {} },
    ];
    assert.deepEqual(compareGolden(cases, answers, 1e-4), {
      cases: 3,
      failedCases: 2,
      mismatches: [
        { caseIndex: 1, output: "label", index: 0, expected: 1, actual: 0, reason: "different label" },
        {
          caseIndex: 1,
          output: "probabilities",
          index: 0,
          expected: 0.2,
          actual: 0.6,
          reason: "differs by 4.00e-1 > 0.0001",
        },
        {
          caseIndex: 1,
          output: "probabilities",
          index: 1,
          expected: 0.8,
          actual: 0.4,
          reason: "differs by 4.00e-1 > 0.0001",
        },
        {
          caseIndex: 2,
          output: "",
          index: -1,
          expected: "status 200",
          actual: "status 503",
          reason: "the request failed",
        },
      ],
    });
  });

  it("keeps at most `limit` mismatches but counts every failed case", () => {
    const wrong: GoldenAnswer[] = cases.map(() => ({
      status: 200,
      outputs: { label: [7], probabilities: [0, 0] },
    }));
    const verdict = compareGolden(cases, wrong, 1e-4, 2);
    assert.equal(verdict.failedCases, 3);
    assert.deepEqual(
      verdict.mismatches.map((m) => [m.caseIndex, m.output, m.index]),
      [
        [0, "label", 0],
        [0, "probabilities", 0],
      ],
    );
  });

  it("a missing output, a wrong length and a missing answer are mismatches", () => {
    const verdict = compareGolden(
      cases,
      [
        { status: 200, outputs: { probabilities: [0.75, 0.25] } },
        { status: 200, outputs: { label: [1], probabilities: [0.2] } },
      ],
      1e-4,
    );
    assert.deepEqual(verdict.mismatches, [
      {
        caseIndex: 0,
        output: "label",
        index: -1,
        expected: "present",
        actual: "absent",
        reason: "output missing",
      },
      {
        caseIndex: 1,
        output: "probabilities",
        index: -1,
        expected: "2 values",
        actual: "1 values",
        reason: "different number of values",
      },
      { caseIndex: 2, output: "", index: -1, expected: "an answer", actual: "none", reason: "no answer" },
    ]);
  });
});
