/**
 * What a rollout will do, decided from the deployed routing, the committed one, the policy and
 * each color's model version alone: the engine walks this plan, `--dry-run` and the PR preview
 * comment print it. Pure and table-tested.
 *
 * Kinds:
 * - `noop`: the deployed routing is the committed one.
 * - `reroute`: the weights do not change, only which color is called active (and so which one
 *   the preview route reaches); applied at once.
 * - `progressive`: a color gains traffic and it is not going back to an older version: golden
 *   gate, then each policy step between the deployed and the committed share is applied, baked
 *   and analysed; a committed canary (share < 100) is itself the last analysed step; a flip
 *   follows the last analysed step.
 * - `rollback`: the color gaining traffic serves an *older* model version (semver) than the
 *   color losing it, i.e. traffic goes back to the known-good version (a revert PR, or a canary
 *   set back to 0). Applied at once, with no golden gate and no bake: that version already
 *   served this traffic, and an operator rolling back wants the bad version out now, not in
 *   three steps. Capacity is still ensured first, so the old color can take the load.
 */
import { compareVersions, otherColor, weights, type Color } from "../traffic";
import type { RolloutPolicy } from "./policy";
import type { Routing } from "./ports";

export type RolloutKind = "noop" | "reroute" | "progressive" | "rollback";

/** One analysed step: a weight the receiving color takes, baked and judged before moving on. */
export interface PlannedStep {
  /** Percent of the weighted traffic the receiving color takes. */
  readonly percent: number;
  /** The routing applied for this step. */
  readonly routing: Routing;
}

export interface RolloutPlan {
  readonly kind: RolloutKind;
  readonly from: Routing;
  readonly to: Routing;
  /** The color gaining traffic; undefined for noop and reroute. */
  readonly receiving?: Color;
  /** The color losing traffic (analysed against); undefined for noop and reroute. */
  readonly live?: Color;
  /** Model version of the receiving color ("" = none). */
  readonly receivingVersion: string;
  /** Model version of the live color ("" = none). */
  readonly liveVersion: string;
  /** Whether the golden set is sent to the receiving color before any weight moves. */
  readonly goldenGate: boolean;
  /** Steps baked and analysed, in order (empty for noop, reroute and rollback). */
  readonly steps: readonly PlannedStep[];
  /**
   * Routing applied after the last analysed step without analysis of its own (the flip, or the
   * single move of a reroute or rollback); undefined when the last step already is `to`.
   */
  readonly final?: Routing;
}

/** Per-color model versions ("" = the color has none). */
export type ColorVersions = Readonly<Record<Color, string>>;

export function sameRouting(a: Routing, b: Routing): boolean {
  return a.activeColor === b.activeColor && a.canaryPercent === b.canaryPercent;
}

/** The plan from `from` (deployed) to `to` (committed). Throws a TrafficError on an invalid routing. */
export function describeRollout(
  from: Routing,
  to: Routing,
  policy: RolloutPolicy,
  versions: ColorVersions,
): RolloutPlan {
  const wFrom = weights(from.activeColor, from.canaryPercent);
  const wTo = weights(to.activeColor, to.canaryPercent);
  const base = { from, to, goldenGate: false, steps: [] as PlannedStep[] };
  if (sameRouting(from, to)) return { ...base, kind: "noop", receivingVersion: "", liveVersion: "" };
  if (wFrom.blue === wTo.blue) {
    return { ...base, kind: "reroute", receivingVersion: "", liveVersion: "", final: to };
  }
  const receiving: Color = wTo.blue > wFrom.blue ? "blue" : "green";
  const live = otherColor(receiving);
  const who = { receiving, live, receivingVersion: versions[receiving], liveVersion: versions[live] };
  const order = compareVersions(versions[receiving], versions[live]);
  if (order !== undefined && order < 0) return { ...base, ...who, kind: "rollback", final: to };

  const start = wFrom[receiving];
  const target = wTo[receiving];
  const steps: PlannedStep[] = policy.steps
    .filter((p) => p > start && p < target)
    .map((percent) => ({ percent, routing: { activeColor: live, canaryPercent: percent } }));
  // A committed canary is the last analysed step, applied as committed.
  if (target < 100) steps.push({ percent: target, routing: to });
  return {
    ...base,
    ...who,
    kind: "progressive",
    goldenGate: true,
    steps,
    ...(target === 100 ? { final: to } : {}),
  };
}
