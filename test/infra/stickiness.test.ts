import assert from "node:assert/strict";
import { forwardStickiness } from "../../infra/components/trafficRouter";
import { evaluateStack } from "../../infra/harness";
import { valueAt } from "../../infra/plan/diff";
import { STAGED_GREEN, T } from "./support/stacks";

describe("rollout.stickySeconds: target-group stickiness on the weighted forward during steps", () => {
  const table: ReadonlyArray<[string, { blue: number; green: number }, number, unknown]> = [
    ["off by default, even during a step", { blue: 90, green: 10 }, 0, undefined],
    ["on during a step", { blue: 90, green: 10 }, 60, { enabled: true, duration: 60 }],
    ["off with one color at 100%", { blue: 100, green: 0 }, 60, undefined],
    ["off after the flip", { blue: 0, green: 100 }, 604800, undefined],
  ];
  for (const [name, weights, seconds, expected] of table) {
    it(`forwardStickiness: ${name}`, () => assert.deepEqual(forwardStickiness(weights, seconds), expected));
  }

  it("forwardStickiness refuses a duration the ALB does not accept", () =>
    assert.throws(
      () => forwardStickiness({ blue: 50, green: 50 }, 604801),
      /stickySeconds must be an integer from 0 to 604800, got 604801/,
    ));

  it("under mocks: a 10% canary with stickySeconds 300 sets forward.stickiness; without a canary it is absent", async () => {
    const rollout = { stickySeconds: 300 };
    const canary = await evaluateStack("dev", { ...STAGED_GREEN, canaryPercent: "10", rollout });
    const idle = await evaluateStack("dev", { ...STAGED_GREEN, rollout });
    const forward = (ev: typeof canary) =>
      valueAt(ev.one(T.rule, "serving-traffic-weighted").inputs, "actions[0].forward");
    assert.deepEqual((forward(canary) as { stickiness?: unknown }).stickiness, {
      enabled: true,
      duration: 300,
    });
    assert.equal((forward(idle) as { stickiness?: unknown }).stickiness, undefined);
  });
});
