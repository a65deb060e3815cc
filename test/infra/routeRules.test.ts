import assert from "node:assert/strict";
import * as loadBalancer from "../../infra/components/loadBalancer";
import { COLOR_HEADER, headerRoute, PREVIEW_HEADER_VALUE, WeightedPicker } from "../../infra/routeRules";

describe("route rules: the listener's decision per request", () => {
  it("uses the ALB listener rules' header name and preview value", () => {
    assert.equal(COLOR_HEADER, loadBalancer.COLOR_HEADER);
    assert.equal(PREVIEW_HEADER_VALUE, loadBalancer.PREVIEW_HEADER_VALUE);
  });

  const blueLive = { activeColor: "blue" as const, canaryPercent: 10 };
  const greenLive = { activeColor: "green" as const, canaryPercent: 0 };
  const table: [string | undefined, typeof blueLive | typeof greenLive, string | undefined][] = [
    [undefined, blueLive, undefined],
    ["preview", blueLive, "green"],
    ["preview", greenLive, "blue"],
    ["PREVIEW", blueLive, "green"],
    ["blue", greenLive, "blue"],
    ["Green", blueLive, "green"],
    [" green ", blueLive, "green"],
    ["red", blueLive, undefined],
    ["", blueLive, undefined],
  ];
  for (const [header, state, expected] of table) {
    it(`${JSON.stringify(header)} with ${state.activeColor} live -> ${expected ?? "the weights"}`, () =>
      assert.equal(headerRoute(header, state), expected));
  }

  it("gives each color exactly its weight over every 100 picks, interleaved", () => {
    const picker = new WeightedPicker();
    const picks = Array.from({ length: 200 }, () => picker.pick(blueLive));
    assert.equal(picks.filter((c) => c === "green").length, 20);
    for (let i = 0; i < 200; i += 10) {
      assert.equal(picks.slice(i, i + 10).filter((c) => c === "green").length, 1, `picks ${i}..${i + 9}`);
    }
  });

  it("never picks a color with weight 0", () => {
    const picker = new WeightedPicker();
    for (let i = 0; i < 50; i++) assert.equal(picker.pick(greenLive), "green");
    for (let i = 0; i < 50; i++)
      assert.equal(picker.pick({ activeColor: "green", canaryPercent: 100 }), "blue");
  });
});
