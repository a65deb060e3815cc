/**
 * The golden-set gate's comparison: each case's answer against the outputs the version was
 * published with. Pure and table-tested; the engine sends the cases (GoldenPort) and acts on
 * the verdict.
 */
import type { GoldenAnswer, GoldenCase } from "./ports";

type Scalar = number | string | boolean;

/** One difference between an answer and its expectation. */
export interface GoldenMismatch {
  /** 0-based index of the case in the golden set (line order). */
  readonly caseIndex: number;
  /** Output name, or "" for a non-200 answer. */
  readonly output: string;
  /** 0-based index in the output's flat data; -1 for a whole-output problem. */
  readonly index: number;
  readonly expected: Scalar | string;
  readonly actual: Scalar | string;
  /** Why the two differ. */
  readonly reason: string;
}

export interface GoldenVerdict {
  /** Cases compared. */
  readonly cases: number;
  /** Cases with at least one mismatch. */
  readonly failedCases: number;
  /** The first mismatches, in case order, at most `limit` of them. */
  readonly mismatches: readonly GoldenMismatch[];
}

/**
 * Whether `actual` matches `expected` within `tolerance`:
 * - strings and booleans match exactly;
 * - two integers match exactly: integer outputs are class labels (ArgMax, INT64) or counts,
 *   and a label that is off by one is a different prediction, whatever the tolerance;
 * - other numbers match when |actual - expected| <= tolerance (float32 outputs of the same
 *   graph differ by rounding between builds and execution providers).
 */
export function scalarMatches(expected: Scalar, actual: unknown, tolerance: number): boolean {
  if (typeof expected !== "number") return actual === expected;
  if (typeof actual !== "number" || !Number.isFinite(actual)) return false;
  if (Number.isInteger(expected) && Number.isInteger(actual)) return expected === actual;
  return Math.abs(actual - expected) <= tolerance;
}

/** Compares every case; keeps the first `limit` mismatches (default 5) for the report. */
export function compareGolden(
  cases: readonly GoldenCase[],
  answers: readonly GoldenAnswer[],
  tolerance: number,
  limit = 5,
): GoldenVerdict {
  const mismatches: GoldenMismatch[] = [];
  let failedCases = 0;
  cases.forEach((c, caseIndex) => {
    const found = caseMismatches(c, answers[caseIndex], caseIndex, tolerance);
    if (found.length > 0) failedCases++;
    for (const m of found) if (mismatches.length < limit) mismatches.push(m);
  });
  return { cases: cases.length, failedCases, mismatches };
}

function caseMismatches(
  c: GoldenCase,
  answer: GoldenAnswer | undefined,
  caseIndex: number,
  tolerance: number,
): GoldenMismatch[] {
  if (answer === undefined) {
    return [{ caseIndex, output: "", index: -1, expected: "an answer", actual: "none", reason: "no answer" }];
  }
  if (answer.status !== 200) {
    return [
      {
        caseIndex,
        output: "",
        index: -1,
        expected: "status 200",
        actual: `status ${answer.status}`,
        reason: "the request failed",
      },
    ];
  }
  const out: GoldenMismatch[] = [];
  for (const [name, expected] of Object.entries(c.expected)) {
    const actual = answer.outputs[name];
    if (actual === undefined) {
      out.push({
        caseIndex,
        output: name,
        index: -1,
        expected: "present",
        actual: "absent",
        reason: "output missing",
      });
      continue;
    }
    if (actual.length !== expected.length) {
      out.push({
        caseIndex,
        output: name,
        index: -1,
        expected: `${expected.length} values`,
        actual: `${actual.length} values`,
        reason: "different number of values",
      });
      continue;
    }
    expected.forEach((e, index) => {
      if (!scalarMatches(e, actual[index], tolerance)) {
        out.push({
          caseIndex,
          output: name,
          index,
          expected: e,
          actual: actual[index],
          reason:
            typeof e === "number" && typeof actual[index] === "number"
              ? Number.isInteger(e) && Number.isInteger(actual[index])
                ? "different label"
                : `differs by ${Math.abs((actual[index] as number) - e).toExponential(2)} > ${tolerance}`
              : "different value",
        });
      }
    });
  }
  return out;
}
