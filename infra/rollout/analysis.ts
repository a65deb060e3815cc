/**
 * Step analysis: the receiving color's window judged against the live color's window of the
 * same time span. A pure function of the policy and two windows, table-tested; the engine
 * (engine.ts) only acts on its verdict.
 *
 * Outcomes, as in Argo Rollouts' analysis runs: `pass`, `fail` (with the metric that breached,
 * its threshold and both colors' values) and `inconclusive` (too few requests to judge: the
 * engine keeps baking, up to policy.maxInconclusiveWindows, then fails safe).
 */
import type { ColorWindow } from "./ports";
import type { RolloutPolicy } from "./policy";

/** The metrics a step is judged on. */
export type AnalysisMetric = "errorRate" | "errorRateRatio" | "latencyRatio" | "healthyHosts" | "minRequests";

/**
 * p99 latencies are raised to at least this many ms before their ratio is taken. Below it the
 * ratio measures noise (a 2 ms vs 1 ms p99 is "2x" but no user can tell, and CloudWatch's
 * TargetResponseTime and a loaded laptop both jitter by more), so a fast canary is never rolled
 * back for being "twice as slow" as a fast live color.
 */
export const LATENCY_FLOOR_MS = 10;

export interface AnalysisPass {
  readonly outcome: "pass";
}

export interface AnalysisFail {
  readonly outcome: "fail";
  readonly metric: AnalysisMetric;
  /** The policy threshold that was breached. */
  readonly threshold: number;
  /** The value compared with `threshold` (a rate, a ratio or a count). */
  readonly observed: number;
  /** The receiving color's underlying measure: 5xx rate, p99 ms, healthy hosts or requests. */
  readonly receiving: number | undefined;
  /** The live color's same measure on the same window; undefined when the source has none. */
  readonly live: number | undefined;
  /** One sentence for the report. */
  readonly reason: string;
}

export interface AnalysisInconclusive {
  readonly outcome: "inconclusive";
  /** Requests the receiving color served in the window. */
  readonly requests: number;
  /** The policy's minRequests. */
  readonly minRequests: number;
}

export type AnalysisResult = AnalysisPass | AnalysisFail | AnalysisInconclusive;

/** 5xx / requests, or 0 with no requests. */
export function errorRate(w: ColorWindow): number {
  return w.requests > 0 ? w.errors5xx / w.requests : 0;
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
const ms = (x: number | undefined): string => (x === undefined ? "n/a" : `${x.toFixed(1)} ms`);
const round = (x: number): number => Math.round(x * 1e6) / 1e6;

/**
 * Judges one window. Checks, in order:
 * 1. No healthy receiving targets (when the source reports them): fail.
 * 2. Errors so many that even `minRequests` clean requests could not bring the rate under
 *    maxErrorRate (`errors5xx / max(requests, minRequests) > maxErrorRate`): fail now, without
 *    waiting for the window to fill. Otherwise, fewer than minRequests requests: inconclusive.
 * 3. 5xx rate above maxErrorRate: fail.
 * 4. The live color had 5xx on the same window and the receiving rate exceeds
 *    maxErrorRateRatio times it: fail. With a clean live color, check 3 decides alone.
 * 5. p99 (each raised to {@link LATENCY_FLOOR_MS}) above maxLatencyRatio times the live p99:
 *    fail. Skipped when the live color served nothing in the window (no p99 to compare).
 */
export function analyseWindow(
  policy: RolloutPolicy,
  receiving: ColorWindow,
  live: ColorWindow,
): AnalysisResult {
  if (receiving.healthyHosts === 0) {
    return {
      outcome: "fail",
      metric: "healthyHosts",
      threshold: 1,
      observed: 0,
      receiving: 0,
      live: live.healthyHosts,
      reason: "the receiving color has no healthy targets",
    };
  }
  const rate = errorRate(receiving);
  const liveRate = errorRate(live);
  const lowerBound = receiving.errors5xx / Math.max(receiving.requests, policy.minRequests);
  if (receiving.requests < policy.minRequests && lowerBound <= policy.maxErrorRate) {
    return { outcome: "inconclusive", requests: receiving.requests, minRequests: policy.minRequests };
  }
  if (rate > policy.maxErrorRate) {
    return {
      outcome: "fail",
      metric: "errorRate",
      threshold: policy.maxErrorRate,
      observed: round(rate),
      receiving: round(rate),
      live: round(liveRate),
      reason:
        `5xx rate ${pct(rate)} (${receiving.errors5xx}/${receiving.requests}) is above ` +
        `maxErrorRate ${pct(policy.maxErrorRate)}; live ${pct(liveRate)} (${live.errors5xx}/${live.requests})`,
    };
  }
  if (liveRate > 0 && rate / liveRate > policy.maxErrorRateRatio) {
    return {
      outcome: "fail",
      metric: "errorRateRatio",
      threshold: policy.maxErrorRateRatio,
      observed: round(rate / liveRate),
      receiving: round(rate),
      live: round(liveRate),
      reason:
        `5xx rate ${pct(rate)} is ${(rate / liveRate).toFixed(2)}x the live color's ${pct(liveRate)}, ` +
        `above maxErrorRateRatio ${policy.maxErrorRateRatio}`,
    };
  }
  if (receiving.p99Ms !== undefined && live.p99Ms !== undefined) {
    const ratio = Math.max(receiving.p99Ms, LATENCY_FLOOR_MS) / Math.max(live.p99Ms, LATENCY_FLOOR_MS);
    if (ratio > policy.maxLatencyRatio) {
      return {
        outcome: "fail",
        metric: "latencyRatio",
        threshold: policy.maxLatencyRatio,
        observed: round(ratio),
        receiving: receiving.p99Ms,
        live: live.p99Ms,
        reason:
          `p99 ${ms(receiving.p99Ms)} is ${ratio.toFixed(2)}x the live color's ${ms(live.p99Ms)} ` +
          `(each floored at ${LATENCY_FLOOR_MS} ms), above maxLatencyRatio ${policy.maxLatencyRatio}`,
      };
    }
  }
  return { outcome: "pass" };
}

/**
 * The fail-safe verdict once a step stayed inconclusive for `windows` windows: a version that
 * could not be judged is not promoted.
 */
export function failSafe(
  policy: RolloutPolicy,
  receiving: ColorWindow,
  live: ColorWindow,
  windows: number,
): AnalysisFail {
  return {
    outcome: "fail",
    metric: "minRequests",
    threshold: policy.minRequests,
    observed: receiving.requests,
    receiving: receiving.requests,
    live: live.requests,
    reason:
      `only ${receiving.requests} requests reached the receiving color after ${windows} window(s) ` +
      `(minRequests ${policy.minRequests}, maxInconclusiveWindows ${policy.maxInconclusiveWindows}): ` +
      `too little traffic to judge, failing safe`,
  };
}
