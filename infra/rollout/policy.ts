/**
 * The rollout policy: how `npm run rollout` walks traffic from the deployed routing to the
 * committed one. Declared in stack config as the `rollout` object (Pulumi.yaml), parsed and
 * validated by infra/config.ts like every other key; the engine (infra/rollout/engine.ts) only
 * reads this typed, frozen value.
 */

/** The validated `rollout` config object. Every field has a default (see {@link DEFAULT_ROLLOUT_POLICY}). */
export interface RolloutPolicy {
  /**
   * Percent of traffic the receiving color takes at each step before the flip, strictly
   * ascending, each 1-99. The flip (100%) is always the last step and is not listed.
   * Default [10, 50].
   */
  readonly steps: readonly number[];
  /** Seconds each step bakes before its window is analysed (1-86400). Default 300. */
  readonly bakeSeconds: number;
  /**
   * Highest 5xx rate (5xx / requests, 0-1) the receiving color may show in a step's window.
   * Default 0.01 (1%).
   */
  readonly maxErrorRate: number;
  /**
   * Highest ratio of the receiving color's 5xx rate to the live color's on the same window
   * (>= 1). Applied only when the live color's rate is above 0; with a clean live color the
   * absolute {@link maxErrorRate} decides alone. Default 2.
   */
  readonly maxErrorRateRatio: number;
  /**
   * Highest ratio of the receiving color's p99 latency to the live color's on the same window
   * (>= 1). Default 1.5.
   */
  readonly maxLatencyRatio: number;
  /**
   * Fewest requests the receiving color must have served in a window before it is judged
   * (>= 1). With fewer, the step keeps baking for another window. Default 100.
   */
  readonly minRequests: number;
  /**
   * Extra bake windows a step may take when it has too few requests (0-100). When they run out,
   * the rollout fails safe: it rolls back. Default 3.
   */
  readonly maxInconclusiveWindows: number;
  /**
   * Largest absolute difference allowed between an output of the golden set and its expected
   * value (>= 0). Class labels must match exactly. Default 1e-4.
   */
  readonly goldenTolerance: number;
  /**
   * Seconds of ALB target-group stickiness on the weighted forward while a rollout is between
   * steps, so one client keeps one model version (0 = off, 1-604800). Default 0.
   */
  readonly stickySeconds: number;
}

export const DEFAULT_ROLLOUT_POLICY: RolloutPolicy = Object.freeze({
  steps: Object.freeze([10, 50]),
  bakeSeconds: 300,
  maxErrorRate: 0.01,
  maxErrorRateRatio: 2,
  maxLatencyRatio: 1.5,
  minRequests: 100,
  maxInconclusiveWindows: 3,
  goldenTolerance: 1e-4,
  stickySeconds: 0,
});
