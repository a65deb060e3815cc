import assert from "node:assert/strict";
import { describeRollout, type RolloutPlan } from "../../../infra/rollout/plan";
import { DEFAULT_ROLLOUT_POLICY } from "../../../infra/rollout/policy";
import type { Routing } from "../../../infra/rollout/ports";
import { formatPlan } from "../../../infra/rollout/report";
import { TrafficError } from "../../../infra/traffic";

const r = (activeColor: "blue" | "green", canaryPercent = 0): Routing => ({ activeColor, canaryPercent });
const NEW_GREEN = { blue: "1.0.0", green: "1.1.0" };
const POLICY = { ...DEFAULT_ROLLOUT_POLICY, steps: [10, 50] };

/** Golden gate, 10%, 50%, then the flip to green. */
const STEPPED_FLIP_TO_GREEN = {
  kind: "progressive",
  receiving: "green",
  gate: true,
  steps: [
    [10, "blue", 10],
    [50, "blue", 50],
  ],
  final: ["green", 0],
};

/** The plan's shape without the echoed inputs. */
function shape(p: RolloutPlan): unknown {
  return {
    kind: p.kind,
    receiving: p.receiving,
    gate: p.goldenGate,
    steps: p.steps.map((s) => [s.percent, s.routing.activeColor, s.routing.canaryPercent]),
    final: p.final && [p.final.activeColor, p.final.canaryPercent],
  };
}

describe("rollout plan: describeRollout", () => {
  const table: [string, Routing, Routing, Record<"blue" | "green", string>, unknown][] = [
    [
      "deployed == committed: noop",
      r("blue"),
      r("blue"),
      NEW_GREEN,
      { kind: "noop", receiving: undefined, gate: false, steps: [], final: undefined },
    ],
    [
      "flip to a newer green: golden gate, 10, 50, then the flip",
      r("blue"),
      r("green"),
      NEW_GREEN,
      STEPPED_FLIP_TO_GREEN,
    ],
    [
      "canary-only target 30: the 10 step, then 30 as committed, no flip",
      r("blue"),
      r("blue", 30),
      NEW_GREEN,
      {
        kind: "progressive",
        receiving: "green",
        gate: true,
        steps: [
          [10, "blue", 10],
          [30, "blue", 30],
        ],
        final: undefined,
      },
    ],
    [
      "canary-only target 10: one step, exactly the committed routing",
      r("blue"),
      r("blue", 10),
      NEW_GREEN,
      { kind: "progressive", receiving: "green", gate: true, steps: [[10, "blue", 10]], final: undefined },
    ],
    [
      "from a running 10% canary to the flip: only the steps above 10",
      r("blue", 10),
      r("green"),
      NEW_GREEN,
      { kind: "progressive", receiving: "green", gate: true, steps: [[50, "blue", 50]], final: ["green", 0] },
    ],
    [
      "from a 50% canary to the flip: no step left, flip after the gate",
      r("blue", 50),
      r("green"),
      NEW_GREEN,
      { kind: "progressive", receiving: "green", gate: true, steps: [], final: ["green", 0] },
    ],
    [
      "back to the older blue after a flip: rollback, at once",
      r("green"),
      r("blue"),
      NEW_GREEN,
      { kind: "rollback", receiving: "blue", gate: false, steps: [], final: ["blue", 0] },
    ],
    [
      "a canary of the newer green set back to 0: rollback, at once",
      r("blue", 50),
      r("blue"),
      NEW_GREEN,
      { kind: "rollback", receiving: "blue", gate: false, steps: [], final: ["blue", 0] },
    ],
    [
      "same version on both colors (e.g. a new image): stepped",
      r("blue"),
      r("green"),
      { blue: "1.0.0", green: "1.0.0" },
      STEPPED_FLIP_TO_GREEN,
    ],
    [
      "same weights, other active color (blue 50/50 -> green 50/50): reroute",
      r("blue", 50),
      r("green", 50),
      NEW_GREEN,
      { kind: "reroute", receiving: undefined, gate: false, steps: [], final: ["green", 50] },
    ],
    [
      "green live, blue newer: flip to blue is progressive, live stays green during steps",
      r("green"),
      r("blue"),
      { blue: "2.0.0", green: "1.1.0" },
      {
        kind: "progressive",
        receiving: "blue",
        gate: true,
        steps: [
          [10, "green", 10],
          [50, "green", 50],
        ],
        final: ["blue", 0],
      },
    ],
  ];
  for (const [name, from, to, versions, expected] of table) {
    it(name, () => assert.deepEqual(shape(describeRollout(from, to, POLICY, versions)), expected));
  }

  it("an invalid committed routing throws a TrafficError naming canaryPercent", () => {
    assert.throws(
      () => describeRollout(r("blue"), r("blue", 120), POLICY, NEW_GREEN),
      (e: unknown) => {
        return (
          e instanceof TrafficError &&
          /canaryPercent must be an integer from 0 to 100, got 120/.test(e.message)
        );
      },
    );
  });

  it("formats the plan with from, to, steps, thresholds and the golden set", () => {
    const text = formatPlan(describeRollout(r("blue"), r("green"), POLICY, NEW_GREEN), POLICY);
    assert.equal(
      text,
      [
        "Rollout plan: progressive",
        "- from: blue 100%",
        "- to: green 100%",
        "- receiving: green (1.1.0), live: blue (1.0.0)",
        "- golden set of 1.1.0 through the green route, tolerance 0.0001",
        "- steps: 10% -> 50% -> flip to green 100%; each bakes 300 s",
        "- abort when, on a step's window: 5xx rate > 1%; 5xx rate > 2x live (when live > 0); " +
          "p99 > 1.5x live (each floored at 10 ms); fewer than 100 requests after 4 window(s) (fail safe)",
      ].join("\n"),
    );
  });
});
