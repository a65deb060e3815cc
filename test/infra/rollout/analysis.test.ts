import assert from "node:assert/strict";
import { analyseWindow, errorRate, failSafe, LATENCY_FLOOR_MS } from "../../../infra/rollout/analysis";
import { DEFAULT_ROLLOUT_POLICY, type RolloutPolicy } from "../../../infra/rollout/policy";
import type { ColorWindow } from "../../../infra/rollout/ports";

const POLICY: RolloutPolicy = {
  ...DEFAULT_ROLLOUT_POLICY,
  maxErrorRate: 0.01,
  maxErrorRateRatio: 2,
  maxLatencyRatio: 1.5,
  minRequests: 100,
  maxInconclusiveWindows: 3,
};

const w = (
  requests: number,
  errors5xx: number,
  p99Ms: number | undefined,
  healthyHosts?: number,
): ColorWindow => ({
  requests,
  errors5xx,
  p99Ms,
  ...(healthyHosts !== undefined ? { healthyHosts } : {}),
});

describe("rollout analysis: analyseWindow", () => {
  const table: {
    name: string;
    receiving: ColorWindow;
    live: ColorWindow;
    expected: ReturnType<typeof analyseWindow>;
  }[] = [
    {
      name: "clean and as fast: pass",
      receiving: w(200, 0, 20),
      live: w(1800, 0, 20),
      expected: { outcome: "pass" },
    },
    {
      name: "exactly at maxErrorRate (2/200 = 1%): pass",
      receiving: w(200, 2, 20),
      live: w(1800, 0, 20),
      expected: { outcome: "pass" },
    },
    {
      name: "above maxErrorRate (3/200 = 1.5%), clean live: fail errorRate",
      receiving: w(200, 3, 20),
      live: w(1800, 0, 20),
      expected: {
        outcome: "fail",
        metric: "errorRate",
        threshold: 0.01,
        observed: 0.015,
        receiving: 0.015,
        live: 0,
        reason: "5xx rate 1.50% (3/200) is above maxErrorRate 1.00%; live 0.00% (0/1800)",
      },
    },
    {
      name: "1% vs live 0.4%: ratio 2.5 > 2: fail errorRateRatio",
      receiving: w(200, 2, 20),
      live: w(1000, 4, 20),
      expected: {
        outcome: "fail",
        metric: "errorRateRatio",
        threshold: 2,
        observed: 2.5,
        receiving: 0.01,
        live: 0.004,
        reason: "5xx rate 1.00% is 2.50x the live color's 0.40%, above maxErrorRateRatio 2",
      },
    },
    {
      name: "1% vs live 0.5%: ratio exactly 2: pass",
      receiving: w(200, 2, 20),
      live: w(1000, 5, 20),
      expected: { outcome: "pass" },
    },
    {
      name: "p99 40 ms vs 20 ms: ratio 2 > 1.5: fail latencyRatio",
      receiving: w(200, 0, 40),
      live: w(1800, 0, 20),
      expected: {
        outcome: "fail",
        metric: "latencyRatio",
        threshold: 1.5,
        observed: 2,
        receiving: 40,
        live: 20,
        reason:
          "p99 40.0 ms is 2.00x the live color's 20.0 ms (each floored at 10 ms), above maxLatencyRatio 1.5",
      },
    },
    {
      name: "p99 30 ms vs 20 ms: ratio 1.5: pass",
      receiving: w(200, 0, 30),
      live: w(1800, 0, 20),
      expected: { outcome: "pass" },
    },
    {
      name: "p99 4 ms vs 1 ms: both under the 10 ms floor: pass",
      receiving: w(200, 0, 4),
      live: w(1800, 0, 1),
      expected: { outcome: "pass" },
    },
    {
      name: "p99 16 ms vs 2 ms: 16/10 = 1.6 > 1.5: fail",
      receiving: w(200, 0, 16),
      live: w(1800, 0, 2),
      expected: {
        outcome: "fail",
        metric: "latencyRatio",
        threshold: 1.5,
        observed: 1.6,
        receiving: 16,
        live: 2,
        reason:
          "p99 16.0 ms is 1.60x the live color's 2.0 ms (each floored at 10 ms), above maxLatencyRatio 1.5",
      },
    },
    {
      name: "live served nothing: no latency comparison: pass",
      receiving: w(200, 0, 500),
      live: w(0, 0, undefined),
      expected: { outcome: "pass" },
    },
    {
      name: "99 requests, clean: inconclusive",
      receiving: w(99, 0, 20),
      live: w(900, 0, 20),
      expected: { outcome: "inconclusive", requests: 99, minRequests: 100 },
    },
    {
      name: "50 requests, 1 error (1/100 = 1% at most): still inconclusive",
      receiving: w(50, 1, 20),
      live: w(450, 0, 20),
      expected: { outcome: "inconclusive", requests: 50, minRequests: 100 },
    },
    {
      name: "50 requests, 2 errors: even 100 requests could not get under 1%: fail now",
      receiving: w(50, 2, 20),
      live: w(450, 0, 20),
      expected: {
        outcome: "fail",
        metric: "errorRate",
        threshold: 0.01,
        observed: 0.04,
        receiving: 0.04,
        live: 0,
        reason: "5xx rate 4.00% (2/50) is above maxErrorRate 1.00%; live 0.00% (0/450)",
      },
    },
    {
      name: "no healthy receiving targets: fail healthyHosts",
      receiving: w(200, 0, 20, 0),
      live: w(1800, 0, 20, 3),
      expected: {
        outcome: "fail",
        metric: "healthyHosts",
        threshold: 1,
        observed: 0,
        receiving: 0,
        live: 3,
        reason: "the receiving color has no healthy targets",
      },
    },
  ];
  for (const t of table) {
    it(t.name, () => assert.deepEqual(analyseWindow(POLICY, t.receiving, t.live), t.expected));
  }

  it("errorRate is 0 with no requests", () => {
    assert.equal(errorRate(w(0, 0, undefined)), 0);
    assert.equal(errorRate(w(8, 2, 1)), 0.25);
  });

  it("the latency floor is 10 ms", () => assert.equal(LATENCY_FLOOR_MS, 10));

  it("failSafe names minRequests, the counts and the windows", () => {
    assert.deepEqual(failSafe(POLICY, w(12, 0, 5), w(108, 0, 5), 4), {
      outcome: "fail",
      metric: "minRequests",
      threshold: 100,
      observed: 12,
      receiving: 12,
      live: 108,
      reason:
        "only 12 requests reached the receiving color after 4 window(s) (minRequests 100, " +
        "maxInconclusiveWindows 3): too little traffic to judge, failing safe",
    });
  });
});
