/**
 * The engine's state machine against in-memory ports and a fake clock: every branch, fast and
 * exact. The same engine runs against real servers in test/infra/local/rollout.e2e.test.ts.
 */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { runRollout, type RolloutInput } from "../../../infra/rollout/engine";
import { DEFAULT_ROLLOUT_POLICY, type RolloutPolicy } from "../../../infra/rollout/policy";
import type {
  ColorWindow,
  GoldenAnswer,
  GoldenCase,
  RolloutPorts,
  RolloutRecord,
  Routing,
} from "../../../infra/rollout/ports";
import type { Color } from "../../../infra/traffic";

const POLICY: RolloutPolicy = {
  ...DEFAULT_ROLLOUT_POLICY,
  bakeSeconds: 60,
  minRequests: 100,
  maxInconclusiveWindows: 2,
};
const BLUE: Routing = { activeColor: "blue", canaryPercent: 0 };
const GREEN: Routing = { activeColor: "green", canaryPercent: 0 };
const VERSIONS = { blue: "1.0.0", green: "1.1.0" };
const T0 = Date.parse("2026-01-01T00:00:00Z");

const clean = (requests: number, p99Ms = 20): ColorWindow => ({ requests, errors5xx: 0, p99Ms });
const GOLDEN: GoldenCase[] = [{ request: { x: 1 }, expected: { label: [1], probabilities: [0.25, 0.75] } }];

interface Fake {
  ports: RolloutPorts;
  /** Every call that changed the world, in order. */
  calls: string[];
  routing: Routing;
  record: RolloutRecord | undefined;
  ready: Record<Color, number>;
  /** Metrics windows asked for, as [start, end] offsets from T0 in seconds. */
  windows: [number, number][];
}

function fake(
  opts: {
    routing?: Routing;
    ready?: Record<Color, number>;
    metrics?: (call: number) => Record<Color, ColorWindow>;
    answers?: GoldenAnswer[];
    cases?: GoldenCase[];
    record?: RolloutRecord;
    failApply?: (routing: Routing, call: number) => boolean;
    onSleep?: (call: number) => void;
  } = {},
): Fake {
  let now = T0;
  let metricsCalls = 0;
  let applyCalls = 0;
  let sleeps = 0;
  const f: Fake = {
    calls: [],
    routing: opts.routing ?? BLUE,
    record: opts.record,
    ready: opts.ready ?? { blue: 2, green: 2 },
    windows: [],
    ports: undefined as unknown as RolloutPorts,
  };
  const key = (r: Routing): string => `${r.activeColor}/${r.canaryPercent}`;
  f.ports = {
    traffic: {
      current: async () => f.routing,
      async apply(r) {
        if (opts.failApply?.(r, ++applyCalls)) throw new Error(`apply ${key(r)} failed`);
        f.calls.push(`apply ${key(r)}`);
        f.routing = r;
      },
    },
    metrics: {
      async window(start, end) {
        f.windows.push([(start.getTime() - T0) / 1000, (end.getTime() - T0) / 1000]);
        return (opts.metrics ?? (() => ({ green: clean(150), blue: clean(1350) })))(++metricsCalls);
      },
    },
    capacity: {
      readyReplicas: async (c) => f.ready[c],
      async ensureAtLeast(c, n) {
        f.calls.push(`scale ${c} >= ${n}`);
        f.ready[c] = Math.max(f.ready[c], n);
      },
    },
    golden: {
      cases: async () => opts.cases ?? GOLDEN,
      async send(color, cases) {
        f.calls.push(`golden ${color} x${cases.length}`);
        return opts.answers ?? cases.map((c) => ({ status: 200, outputs: c.expected }));
      },
    },
    record: {
      read: async () => f.record,
      async write(r) {
        f.calls.push("record");
        f.record = r;
      },
      async clear() {
        f.calls.push("clear");
        f.record = undefined;
      },
    },
    clock: {
      now: () => new Date(now),
      async sleep(ms, signal) {
        opts.onSleep?.(++sleeps);
        if (signal?.aborted) throw signal.reason;
        now += ms;
      },
    },
  };
  return f;
}

const input = (over: Partial<RolloutInput> = {}): RolloutInput => ({
  to: GREEN,
  policy: POLICY,
  versions: VERSIONS,
  ...over,
});

describe("rollout engine (in-memory ports, fake clock)", () => {
  it("flip: golden gate, record, 10 -> 50 -> flip, clear; each step analysed after its bake", async () => {
    const f = fake();
    const report = await runRollout(f.ports, input());
    assert.equal(report.outcome, "succeeded");
    assert.deepEqual(f.calls, [
      "golden green x1",
      "record",
      "apply blue/10",
      "apply blue/50",
      "apply green/0",
      "clear",
    ]);
    assert.deepEqual(f.windows, [
      [0, 60],
      [60, 120],
    ]);
    assert.deepEqual(
      report.steps.map((s) => [s.percent, s.outcome, s.windows.length]),
      [
        [10, "passed", 1],
        [50, "passed", 1],
      ],
    );
    assert.deepEqual(report.finalRouting, GREEN);
    assert.equal(f.record, undefined);
  });

  it("scales the receiving color to the live color's Ready count before any weight moves, never the live one down", async () => {
    const f = fake({ ready: { blue: 5, green: 2 } });
    await runRollout(f.ports, input());
    assert.deepEqual(f.calls.slice(0, 3), ["scale green >= 5", "golden green x1", "record"]);
    assert.equal(f.ready.blue, 5);
    assert.ok(!f.calls.some((c) => c.startsWith("scale blue")));
  });

  it("nothing to do when the deployed routing is the committed one", async () => {
    const f = fake({ routing: GREEN });
    const report = await runRollout(f.ports, input());
    assert.equal(report.outcome, "noop");
    assert.deepEqual(f.calls, []);
  });

  it("pre-check: no Ready pods on the receiving color: nothing moves", async () => {
    const f = fake({ ready: { blue: 2, green: 0 } });
    const report = await runRollout(f.ports, input());
    assert.equal(report.outcome, "precheck-failed");
    assert.match(report.abort!.reason, /green has no Ready pods \(0\)/);
    assert.deepEqual(f.calls, []);
  });

  it("pre-check: no model version on the receiving color", async () => {
    const f = fake();
    const report = await runRollout(f.ports, input({ versions: { blue: "1.0.0", green: "" } }));
    assert.equal(report.outcome, "precheck-failed");
    assert.match(report.abort!.reason, /green has no model version/);
    assert.deepEqual(f.calls, []);
  });

  it("golden mismatch: aborted before the record and any weight, first differing rows reported", async () => {
    const f = fake({ answers: [{ status: 200, outputs: { label: [0], probabilities: [0.75, 0.25] } }] });
    const report = await runRollout(f.ports, input());
    assert.equal(report.outcome, "aborted");
    assert.equal(report.abort!.phase, "golden");
    assert.deepEqual(f.calls, ["golden green x1"]);
    assert.deepEqual(
      report.golden!.mismatches.map((m) => [m.output, m.index, m.expected, m.actual]),
      [
        ["label", 0, 1, 0],
        ["probabilities", 0, 0.25, 0.75],
        ["probabilities", 1, 0.75, 0.25],
      ],
    );
  });

  it("a version without a golden set: the gate is skipped and says so", async () => {
    const f = fake({ cases: [] });
    const report = await runRollout(f.ports, input());
    assert.equal(report.outcome, "succeeded");
    assert.deepEqual(report.golden, { version: "1.1.0", cases: 0, failedCases: 0, mismatches: [] });
  });

  it("a breached threshold at 50%: the starting routing is restored, the report names step, metric and values", async () => {
    const f = fake({
      metrics: (call) =>
        call === 1
          ? { green: clean(150), blue: clean(1350) }
          : { green: clean(750, 45), blue: clean(750, 20) },
    });
    const report = await runRollout(f.ports, input());
    assert.equal(report.outcome, "aborted");
    assert.deepEqual(f.calls, [
      "golden green x1",
      "record",
      "apply blue/10",
      "apply blue/50",
      "apply blue/0",
      "clear",
    ]);
    assert.equal(report.abort!.stepPercent, 50);
    assert.deepEqual(
      [
        report.abort!.analysis!.metric,
        report.abort!.analysis!.threshold,
        report.abort!.analysis!.receiving,
        report.abort!.analysis!.live,
      ],
      ["latencyRatio", 1.5, 45, 20],
    );
    assert.deepEqual(report.finalRouting, BLUE);
  });

  it("inconclusive windows extend the bake over one growing window, then pass", async () => {
    const f = fake({
      metrics: (call) =>
        call <= 2
          ? { green: clean(40 * call), blue: clean(360 * call) }
          : { green: clean(150), blue: clean(1350) },
    });
    const report = await runRollout(f.ports, input());
    assert.equal(report.outcome, "succeeded");
    assert.deepEqual(f.windows.slice(0, 3), [
      [0, 60],
      [0, 120],
      [0, 180],
    ]);
    assert.deepEqual(
      report.steps[0].windows.map((w) => w.result.outcome),
      ["inconclusive", "inconclusive", "pass"],
    );
  });

  it("too little traffic after maxInconclusiveWindows extra windows: fails safe and rolls back", async () => {
    const f = fake({ metrics: () => ({ green: clean(7), blue: clean(63) }) });
    const report = await runRollout(f.ports, input());
    assert.equal(report.outcome, "aborted");
    assert.equal(report.steps[0].windows.length, 3);
    assert.equal(report.abort!.analysis!.metric, "minRequests");
    assert.deepEqual(f.calls.slice(-2), ["apply blue/0", "clear"]);
  });

  it("a port failing mid-rollout aborts and restores", async () => {
    const f = fake({
      metrics: (call) => {
        if (call === 2) throw new Error("GetMetricData throttled");
        return { green: clean(150), blue: clean(1350) };
      },
    });
    const report = await runRollout(f.ports, input());
    assert.equal(report.outcome, "aborted");
    assert.deepEqual(report.abort, { phase: "error", reason: "GetMetricData throttled" });
    assert.deepEqual(
      report.steps.map((s) => s.outcome),
      ["passed", "incomplete"],
    );
    assert.deepEqual(f.routing, BLUE);
  });

  it("the abort signal during a bake restores the starting routing", async () => {
    const controller = new AbortController();
    const f = fake({ onSleep: (n) => n === 2 && controller.abort(new Error("SIGINT")) });
    const report = await runRollout(f.ports, input({ signal: controller.signal }));
    assert.equal(report.outcome, "interrupted");
    assert.deepEqual(f.calls.slice(-3), ["apply blue/50", "apply blue/0", "clear"]);
    assert.deepEqual(report.finalRouting, BLUE);
  });

  it("the abort signal between two steps: the next weight is never applied", async () => {
    const controller = new AbortController();
    const f = fake({
      metrics: (call) => {
        if (call === 1) controller.abort(new Error("SIGTERM"));
        return { green: clean(150), blue: clean(1350) };
      },
    });
    const report = await runRollout(f.ports, input({ signal: controller.signal }));
    assert.equal(report.outcome, "interrupted");
    assert.deepEqual(f.calls, ["golden green x1", "record", "apply blue/10", "apply blue/0", "clear"]);
  });

  it("restore failing keeps the record so the next run retries the restore", async () => {
    const f = fake({
      metrics: () => ({ green: { requests: 150, errors5xx: 30, p99Ms: 20 }, blue: clean(1350) }),
      failApply: (r) => r.activeColor === "blue" && r.canaryPercent === 0,
    });
    const report = await runRollout(f.ports, input());
    assert.equal(report.outcome, "restore-failed");
    assert.equal(report.finalRouting, undefined);
    assert.deepEqual(f.record?.from, BLUE);
    assert.match(report.abort!.reason, /then restoring blue live, canary 0% failed: apply blue\/0 failed/);
  });

  it("a record left by a killed run: the next run restores its starting routing, clears it, and stops", async () => {
    const record: RolloutRecord = { from: BLUE, to: GREEN, startedAt: "2026-01-01T00:00:00.000Z" };
    const f = fake({ routing: { activeColor: "blue", canaryPercent: 50 }, record });
    const report = await runRollout(f.ports, input());
    assert.equal(report.outcome, "recovered");
    assert.deepEqual(f.calls, ["apply blue/0", "clear"]);
    assert.deepEqual(report.recovered, record);
  });

  it("rollback to the older color: capacity first, then one apply; no golden set, no bake, no record", async () => {
    const f = fake({ routing: GREEN, ready: { blue: 1, green: 4 } });
    const report = await runRollout(f.ports, input({ to: BLUE }));
    assert.equal(report.outcome, "succeeded");
    assert.equal(report.plan!.kind, "rollback");
    assert.deepEqual(f.calls, ["scale blue >= 4", "apply blue/0"]);
  });

  it("canary-only target: walks up to the committed share and stays there", async () => {
    const f = fake();
    const report = await runRollout(f.ports, input({ to: { activeColor: "blue", canaryPercent: 25 } }));
    assert.equal(report.outcome, "succeeded");
    assert.deepEqual(f.calls, ["golden green x1", "record", "apply blue/10", "apply blue/25", "clear"]);
  });
});

describe("rollout engine: exact reports and log lines", () => {
  /** Runs the engine, returning its report and every log line. */
  async function run(
    ports: RolloutPorts,
    over: Partial<RolloutInput> = {},
  ): Promise<{ report: Awaited<ReturnType<typeof runRollout>>; log: string[] }> {
    const log: string[] = [];
    const report = await runRollout(ports, input({ log: (line) => log.push(line), ...over }));
    return { report, log };
  }

  it("a flip logs every move and window, and reports each step's routing, windows and times", async () => {
    const f = fake({ ready: { blue: 5, green: 2 } });
    const { report, log } = await run(f.ports);
    assert.deepEqual(log, [
      "deployed: blue live, canary 0%; committed: green live, canary 0%; plan: progressive",
      "scaling green from 2 to at least 5 Ready pods (the live color's count)",
      "golden gate: 1/1 cases match",
      "step 10%: applying blue live, canary 10%",
      "step 10%: green 150 req 0 5xx p99 20 ms; blue 1350 req 0 5xx p99 20 ms: pass",
      "step 50%: applying blue live, canary 50%",
      "step 50%: green 150 req 0 5xx p99 20 ms; blue 1350 req 0 5xx p99 20 ms: pass",
      "all steps passed; applying green live, canary 0%",
    ]);
    assert.equal(report.startedAt, "2026-01-01T00:00:00.000Z");
    assert.equal(report.endedAt, "2026-01-01T00:02:00.000Z");
    assert.equal(report.abort, undefined);
    assert.deepEqual(report.golden, { version: "1.1.0", cases: 1, failedCases: 0, mismatches: [] });
    assert.deepEqual(
      report.steps.map((s) => [s.routing, s.windows.map((w) => [w.start, w.end, w.receiving, w.live])]),
      [
        [
          { activeColor: "blue", canaryPercent: 10 },
          [["2026-01-01T00:00:00.000Z", "2026-01-01T00:01:00.000Z", clean(150), clean(1350)]],
        ],
        [
          { activeColor: "blue", canaryPercent: 50 },
          [["2026-01-01T00:01:00.000Z", "2026-01-01T00:02:00.000Z", clean(150), clean(1350)]],
        ],
      ],
    );
  });

  it("equal Ready counts need no scaling", async () => {
    const f = fake({ ready: { blue: 3, green: 3 } });
    const { report, log } = await run(f.ports);
    assert.equal(report.outcome, "succeeded");
    assert.ok(!f.calls.some((c) => c.startsWith("scale")));
    assert.ok(!log.some((line) => line.startsWith("scaling")));
  });

  it("pre-check: scaling that leaves fewer Ready pods than the live color's fails with both counts", async () => {
    const f = fake({ ready: { blue: 5, green: 2 } });
    const capacity = { ...f.ports.capacity, ensureAtLeast: async () => undefined };
    const { report } = await run({ ...f.ports, capacity });
    assert.equal(report.outcome, "precheck-failed");
    assert.deepEqual(report.abort, {
      phase: "precheck",
      reason: "green has 2 Ready pods after scaling, fewer than blue's 5",
    });
    assert.deepEqual(report.finalRouting, BLUE);
    assert.deepEqual(f.calls, []);
  });

  it("pre-check messages name the color and what to do", async () => {
    const noPods = await run(fake({ ready: { blue: 2, green: 0 } }).ports);
    assert.deepEqual(noPods.report.abort, {
      phase: "precheck",
      reason: "green has no Ready pods (0): deploy it (pulumi up) and let it become Ready first",
    });
    const noVersion = await run(fake().ports, { versions: { blue: "1.0.0", green: "" } });
    assert.deepEqual(noVersion.report.abort, {
      phase: "precheck",
      reason: "green has no model version: set green.modelVersion and deploy it first",
    });
  });

  it("golden mismatch: the reason names the version, the count and the first differing value", async () => {
    const f = fake({ answers: [{ status: 200, outputs: { label: [0], probabilities: [0.75, 0.25] } }] });
    const { report, log } = await run(f.ports);
    assert.deepEqual(report.abort, {
      phase: "golden",
      reason:
        "golden set of 1.1.0: 1 of 1 cases differ (first: case 0 label[0] expected 1, got 0); no traffic moved",
    });
    assert.deepEqual(report.finalRouting, BLUE);
    assert.equal(log[1], "golden gate: 0/1 cases match");
    assert.deepEqual(report.steps, []);
  });

  it("golden set skipped: logged as skipped", async () => {
    const { log } = await run(fake({ cases: [] }).ports);
    assert.equal(log[1], "golden gate: 1.1.0 has no golden set; skipped");
  });

  it("a golden port failing aborts before any weight moves, with the port's message", async () => {
    const f = fake();
    const golden = {
      ...f.ports.golden,
      cases: async (): Promise<GoldenCase[]> => {
        throw new Error("golden set unreadable");
      },
    };
    const { report } = await run({ ...f.ports, golden });
    assert.equal(report.outcome, "aborted");
    assert.deepEqual(report.abort, { phase: "golden", reason: "golden set unreadable" });
    assert.deepEqual(report.finalRouting, BLUE);
    assert.deepEqual(f.calls, []);
  });

  it("a breached step logs the abort and the restore, and reports the analysis", async () => {
    const f = fake({
      metrics: () => ({
        green: { requests: 150, errors5xx: 30, p99Ms: undefined },
        blue: { requests: 1350, errors5xx: 0, p99Ms: undefined },
      }),
    });
    const { report, log } = await run(f.ports);
    assert.equal(report.outcome, "aborted");
    const reason = "step 10%: 5xx rate 20.00% (30/150) is above maxErrorRate 1.00%; live 0.00% (0/1350)";
    assert.deepEqual(log.slice(3), [
      "step 10%: green 150 req 30 5xx p99 n/a ms; blue 1350 req 0 5xx p99 n/a ms: fail",
      `aborting: ${reason}; restoring blue live, canary 0%`,
    ]);
    assert.equal(report.abort!.phase, "step");
    assert.equal(report.abort!.stepPercent, 10);
    assert.equal(report.abort!.reason, reason);
    assert.equal(report.abort!.analysis!.metric, "errorRate");
    assert.deepEqual(
      report.steps.map((s) => s.outcome),
      ["failed"],
    );
    assert.deepEqual(report.finalRouting, BLUE);
  });

  it("restore failing after a breach: the reason keeps the breach and adds the restore's error", async () => {
    const f = fake({
      metrics: () => ({ green: { requests: 150, errors5xx: 30, p99Ms: 20 }, blue: clean(1350) }),
      failApply: (r) => r.activeColor === "blue" && r.canaryPercent === 0,
    });
    const { report } = await run(f.ports);
    const breach = `step 10%: ${report.abort!.analysis!.reason}`;
    assert.equal(report.abort!.phase, "step");
    assert.equal(report.abort!.stepPercent, 10);
    assert.equal(
      report.abort!.reason,
      `${breach}; then restoring blue live, canary 0% failed: apply blue/0 failed`,
    );
    assert.deepEqual(report.golden, { version: "1.1.0", cases: 1, failedCases: 0, mismatches: [] });
    assert.deepEqual(f.calls, ["golden green x1", "record", "apply blue/10"]);
  });

  it("the abort signal during a bake: an interrupt report, the step incomplete, the restore logged", async () => {
    const controller = new AbortController();
    const f = fake({ onSleep: (n) => n === 1 && controller.abort(new Error("SIGINT")) });
    const { report, log } = await run(f.ports, { signal: controller.signal });
    assert.equal(report.outcome, "interrupted");
    assert.deepEqual(report.abort, { phase: "interrupt", reason: "interrupted by a signal" });
    assert.deepEqual(
      report.steps.map((s) => s.outcome),
      ["incomplete"],
    );
    assert.equal(log.at(-1), "aborting: interrupted by a signal; restoring blue live, canary 0%");
    assert.deepEqual(f.calls, ["golden green x1", "record", "apply blue/10", "apply blue/0", "clear"]);
  });

  it("a signal already raised: interrupted before any port moves anything", async () => {
    const controller = new AbortController();
    controller.abort(new Error("SIGTERM"));
    const f = fake({ ready: { blue: 5, green: 2 } }); // a scale-up would be due
    const { report } = await run(f.ports, { signal: controller.signal });
    assert.equal(report.outcome, "interrupted");
    assert.deepEqual(report.abort, { phase: "interrupt", reason: "interrupted by a signal" });
    assert.deepEqual(report.finalRouting, BLUE);
    assert.deepEqual(f.calls, []);
  });

  it("a signal while scaling up: interrupted, no golden request, no record", async () => {
    const controller = new AbortController();
    const f = fake({ ready: { blue: 5, green: 2 } });
    const capacity = {
      ...f.ports.capacity,
      ensureAtLeast: () => {
        controller.abort(new Error("SIGINT"));
        return new Promise<void>(() => undefined); // a scale-up that never finishes
      },
    };
    const { report } = await run({ ...f.ports, capacity }, { signal: controller.signal });
    assert.equal(report.outcome, "interrupted");
    assert.deepEqual(f.calls, []);
  });

  it("a signal during the golden gate: interrupted, no record, no weight", async () => {
    const controller = new AbortController();
    const f = fake();
    const golden = {
      ...f.ports.golden,
      send: () => {
        controller.abort(new Error("SIGINT"));
        return new Promise<GoldenAnswer[]>(() => undefined);
      },
    };
    const { report } = await run({ ...f.ports, golden }, { signal: controller.signal });
    assert.equal(report.outcome, "interrupted");
    assert.deepEqual(report.abort, { phase: "interrupt", reason: "interrupted by a signal" });
    assert.deepEqual(f.calls, []);
    assert.equal(f.record, undefined);
  });

  it("leaves no listener on the signal it was given", async () => {
    const controller = new AbortController();
    const f = fake({ ready: { blue: 5, green: 2 } });
    const { report } = await run(f.ports, { signal: controller.signal });
    assert.equal(report.outcome, "succeeded");
    assert.equal(getEventListeners(controller.signal, "abort").length, 0);
  });

  it("without a signal the engine runs to the end", async () => {
    const f = fake();
    const { report } = await run(f.ports, { signal: undefined });
    assert.equal(report.outcome, "succeeded");
  });

  it("recovery: the report says what was killed and that the starting routing is back", async () => {
    const record: RolloutRecord = { from: BLUE, to: GREEN, startedAt: "2025-12-31T23:00:00.000Z" };
    const f = fake({ routing: { activeColor: "blue", canaryPercent: 50 }, record });
    const { report, log } = await run(f.ports);
    assert.deepEqual(log, [
      "a rollout started at 2025-12-31T23:00:00.000Z was interrupted; restoring blue live, canary 0%",
    ]);
    assert.deepEqual(report.abort, {
      phase: "interrupt",
      reason:
        "a previous rollout (started 2025-12-31T23:00:00.000Z, blue live, canary 0% -> green live, canary 0%) " +
        "was killed; its starting routing is restored. Run the rollout again to retry.",
    });
    assert.deepEqual(report.finalRouting, BLUE);
    assert.equal(f.record, undefined);
  });

  it("recovery whose restore fails: restore-failed, the record kept for the next run", async () => {
    const record: RolloutRecord = { from: BLUE, to: GREEN, startedAt: "2025-12-31T23:00:00.000Z" };
    const f = fake({ routing: { activeColor: "blue", canaryPercent: 50 }, record, failApply: () => true });
    const { report } = await run(f.ports);
    assert.equal(report.outcome, "restore-failed");
    assert.deepEqual(report.recovered, record);
    assert.deepEqual(report.abort, {
      phase: "error",
      reason: "restoring blue live, canary 0% failed: apply blue/0 failed",
    });
    assert.equal(report.finalRouting, undefined);
    assert.deepEqual(f.record, record);
    assert.deepEqual(f.calls, []);
  });

  it("reroute: the same weights under the other active color, applied at once", async () => {
    const to: Routing = { activeColor: "green", canaryPercent: 100 };
    const f = fake();
    const { report, log } = await run(f.ports, { to });
    assert.equal(report.outcome, "succeeded");
    assert.equal(report.plan!.kind, "reroute");
    assert.deepEqual(report.finalRouting, to);
    assert.deepEqual(f.calls, ["apply green/100"]);
    assert.deepEqual(log, [
      "deployed: blue live, canary 0%; committed: green live, canary 100%; plan: reroute",
      "reroute: applying green live, canary 100% at once",
    ]);
  });

  it("reroute whose apply fails: aborted with the port's error, the deployed routing reported", async () => {
    const f = fake({ failApply: () => true });
    const { report } = await run(f.ports, { to: { activeColor: "green", canaryPercent: 100 } });
    assert.equal(report.outcome, "aborted");
    assert.deepEqual(report.abort, { phase: "error", reason: "apply green/100 failed" });
    assert.deepEqual(report.finalRouting, BLUE);
  });

  it("noop: reported with the deployed routing, logged once", async () => {
    const { report, log } = await run(fake({ routing: GREEN }).ports);
    assert.deepEqual(report.finalRouting, GREEN);
    assert.deepEqual(report.steps, []);
    assert.deepEqual(log, ["deployed: green live, canary 0%; committed: green live, canary 0%; plan: noop"]);
  });
});
