/**
 * The rollout end to end: real model servers (serving/src) for blue and green on loopback,
 * the local router in front applying the traffic plan, the engine driving it through the
 * local ports, and a bounded client load. A misbehaving green is the real green server behind
 * a small fault-injecting proxy (test/support/faultProxy.ts) or a real server with other
 * weights; the router and the engine are not told.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startLoad } from "../../../infra/local/load";
import {
  BLUE_VERSION,
  CHURN_1_1_0,
  copyBundledChurn,
  GREEN_VERSION,
  LOCAL_MODEL_NAME,
  predictLinear,
  GOLDEN_ROWS,
  writeLinearChurn,
} from "../../../infra/local/models";
import { startColorServer } from "../../../infra/local/pair";
import { localPorts } from "../../../infra/local/ports";
import { LocalRouter } from "../../../infra/local/router";
import { runRollout, type RolloutInput, type RolloutReport } from "../../../infra/rollout/engine";
import { DEFAULT_ROLLOUT_POLICY, type RolloutPolicy } from "../../../infra/rollout/policy";
import type { RolloutPorts, Routing } from "../../../infra/rollout/ports";
import type { ServerHandle } from "../../../serving/src/server";
import { tempDir } from "../../serving/helpers";
import { startFaultProxy, type FaultProxy } from "../../support/faultProxy";

const BLUE: Routing = { activeColor: "blue", canaryPercent: 0 };
const GREEN: Routing = { activeColor: "green", canaryPercent: 0 };
const VERSIONS = { blue: BLUE_VERSION, green: GREEN_VERSION };
/** Small bakes and counts so each rollout takes seconds; the thresholds are the defaults. */
const POLICY: RolloutPolicy = {
  ...DEFAULT_ROLLOUT_POLICY,
  steps: [10, 50],
  bakeSeconds: 1,
  minRequests: 8,
  maxInconclusiveWindows: 2,
};
/** Client load, requests per second: 10 per second reach a 10% step. */
const RATE = 100;
/** churn 1.1.0 as published (golden set), but served with the bias the other way round. */
const MISPREDICTING = { ...CHURN_1_1_0, bias: [-0.1, 0.1] as const };

describe("rollout end to end (real servers on loopback)", function () {
  this.timeout(60_000);
  let cleanup: () => Promise<void>;
  let stateDir: string;
  const servers: ServerHandle[] = [];
  let green: ServerHandle;
  let mispredicting: ServerHandle;
  let proxy: FaultProxy;
  let router: LocalRouter;
  let ports: RolloutPorts;

  before(async () => {
    ({ dir: stateDir, cleanup } = await tempDir("rollout-e2e-"));
    const modelRoot = join(stateDir, "models");
    const badRoot = join(stateDir, "bad");
    await copyBundledChurn(modelRoot);
    await writeLinearChurn(modelRoot, GREEN_VERSION, CHURN_1_1_0);
    await writeLinearChurn(badRoot, GREEN_VERSION, MISPREDICTING, CHURN_1_1_0);
    const start = (root: string, version: string) =>
      startColorServer({ modelRoot: root, modelName: LOCAL_MODEL_NAME, modelVersion: version });
    const blue = await start(modelRoot, BLUE_VERSION);
    green = await start(modelRoot, GREEN_VERSION);
    mispredicting = await start(badRoot, GREEN_VERSION);
    servers.push(blue, green, mispredicting);
    proxy = await startFaultProxy(green.url);
    router = new LocalRouter({
      upstreams: {
        blue: { url: blue.url, modelVersion: BLUE_VERSION },
        green: { url: proxy.url, modelVersion: GREEN_VERSION },
      },
      modelName: LOCAL_MODEL_NAME,
      modelRoot,
    });
    const { adminUrl } = await router.listen();
    ports = await localPorts({ adminUrl, stateDir });
  });

  beforeEach(async () => {
    router.apply(BLUE);
    Object.assign(proxy.faults, { errorEvery: 0, delayMs: 0 });
    proxy.target = green.url;
    await ports.record.clear();
  });

  after(async () => {
    await router?.close();
    await proxy?.close();
    await Promise.all(servers.map((s) => s.shutdown("test done")));
    await cleanup?.();
  });

  const rollout = (over: Partial<RolloutInput> = {}): Promise<RolloutReport> =>
    runRollout(ports, { to: GREEN, policy: POLICY, versions: VERSIONS, ...over });

  /** Requests the router sent to `color` from `since` until now. */
  const served = (color: "blue" | "green", since: number) =>
    router.stats.window(since, Date.now() + 1)[color];

  it("a good version rolls out to 100% through 10% and 50% with zero client errors", async () => {
    const load = startLoad({ url: router.state().trafficUrl, rate: RATE });
    // Loopback p99s of a few ms jump with every scheduling hiccup of a loaded 2-core machine,
    // and a 10% step's p99 is the slowest of ~10 requests; the latency threshold itself is
    // exercised by the slow-version test below.
    const report = await rollout({ policy: { ...POLICY, maxLatencyRatio: 5 } });
    const stats = await load.stop();
    assert.equal(report.outcome, "succeeded", JSON.stringify(report.abort));
    assert.deepEqual(
      report.steps.map((s) => [s.percent, s.outcome]),
      [
        [10, "passed"],
        [50, "passed"],
      ],
    );
    assert.deepEqual(report.golden && [report.golden.cases, report.golden.failedCases], [5, 0]);
    assert.deepEqual(router.currentRouting, GREEN);
    assert.ok(stats.sent > 100, `load sent ${stats.sent}`);
    assert.deepEqual(stats.byStatus, { 200: stats.sent });
    assert.equal(await ports.record.read(), undefined);
  });

  it("a version answering 5xx on a third of /predict is rolled back at the first step; client errors stay within that step's share", async () => {
    proxy.faults.errorEvery = 3;
    const load = startLoad({ url: router.state().trafficUrl, rate: RATE });
    const report = await rollout();
    const stats = await load.stop();
    assert.equal(report.outcome, "aborted");
    assert.equal(report.abort?.stepPercent, 10);
    assert.equal(report.abort?.analysis?.metric, "errorRate");
    assert.equal(report.steps.length, 1);
    assert.deepEqual(router.currentRouting, BLUE);
    // Only green's injected 500s reach clients, and only while it held its 10%: at most a third
    // of 10% of the requests sent between the step's apply and the restore (+2 for rounding).
    const exposedSeconds = (Date.parse(report.endedAt) - Date.parse(report.steps[0].windows[0].start)) / 1000;
    const bound = Math.ceil((RATE * 0.1 * exposedSeconds) / 3) + 2;
    assert.ok(stats.errors >= 1, "the fault reached clients");
    assert.ok(
      stats.errors <= bound,
      `${stats.errors} client errors > bound ${bound} (${exposedSeconds} s exposed)`,
    );
    assert.deepEqual(Object.keys(stats.byStatus).sort(), ["200", "500"]);
  });

  it("a version predicting differently from its golden set fails the gate and no traffic moves", async () => {
    proxy.target = mispredicting.url;
    const since = Date.now();
    const load = startLoad({ url: router.state().trafficUrl, rate: RATE / 2 });
    const report = await rollout();
    const stats = await load.stop();
    assert.equal(report.outcome, "aborted");
    assert.equal(report.abort?.phase, "golden");
    assert.deepEqual(report.steps, []);
    const expected = predictLinear(CHURN_1_1_0, GOLDEN_ROWS[0]);
    assert.equal(expected.label, 0);
    assert.deepEqual(report.golden?.mismatches[0], {
      caseIndex: 0,
      output: "label",
      index: 0,
      expected: 0,
      actual: 1,
      reason: "different label",
    });
    assert.equal(report.golden?.failedCases, 5);
    assert.deepEqual(router.currentRouting, BLUE);
    // Green saw the five golden requests (pinned) and nothing of the clients' traffic.
    assert.equal(served("green", since).requests, 5);
    assert.equal(stats.errors, 0);
  });

  it("a slow version is rolled back on the p99 latency ratio", async () => {
    proxy.faults.delayMs = 250;
    const load = startLoad({ url: router.state().trafficUrl, rate: RATE });
    const report = await rollout();
    await load.stop();
    assert.equal(report.outcome, "aborted");
    assert.equal(report.abort?.stepPercent, 10);
    const analysis = report.abort?.analysis;
    assert.equal(analysis?.metric, "latencyRatio");
    assert.ok((analysis?.receiving ?? 0) >= 250, `green p99 ${analysis?.receiving}`);
    assert.ok((analysis?.observed ?? 0) > POLICY.maxLatencyRatio);
    assert.deepEqual(router.currentRouting, BLUE);
  });

  it("too little traffic to decide: fails safe after the extra windows", async () => {
    const report = await rollout({ policy: { ...POLICY, maxInconclusiveWindows: 1 } });
    assert.equal(report.outcome, "aborted");
    assert.equal(report.abort?.analysis?.metric, "minRequests");
    assert.equal(report.steps[0].windows.length, 2);
    assert.deepEqual(
      report.steps[0].windows.map((w) => w.result.outcome),
      ["inconclusive", "inconclusive"],
    );
    assert.deepEqual(router.currentRouting, BLUE);
  });

  it("an abort signal (SIGINT) in the middle of a step restores the starting routing", async () => {
    const controller = new AbortController();
    let duringStep: Routing | undefined;
    const load = startLoad({ url: router.state().trafficUrl, rate: RATE / 2 });
    const report = await rollout({
      policy: { ...POLICY, bakeSeconds: 5 },
      signal: controller.signal,
      log: (line) => {
        if (line.startsWith("step 10%: applying")) {
          setTimeout(() => {
            duringStep = router.currentRouting;
            controller.abort(new Error("SIGINT"));
          }, 400);
        }
      },
    });
    const stats = await load.stop();
    assert.deepEqual(duringStep, { activeColor: "blue", canaryPercent: 10 });
    assert.equal(report.outcome, "interrupted");
    assert.deepEqual(
      report.steps.map((s) => s.outcome),
      ["incomplete"],
    );
    assert.deepEqual(router.currentRouting, BLUE);
    assert.equal(await ports.record.read(), undefined);
    assert.equal(stats.errors, 0);
  });

  it("a run killed mid-step is detected by the next run, which restores the starting routing", async () => {
    // A run whose process stops during the bake: its clock never wakes up again.
    const frozen: RolloutPorts = {
      ...ports,
      clock: { now: ports.clock.now, sleep: () => new Promise(() => undefined) },
    };
    void runRollout(frozen, { to: GREEN, policy: POLICY, versions: VERSIONS });
    const deadline = Date.now() + 30_000;
    while (router.currentRouting.canaryPercent !== 10 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(router.currentRouting, { activeColor: "blue", canaryPercent: 10 });
    assert.deepEqual((await ports.record.read())?.from, BLUE);

    const report = await rollout();
    assert.equal(report.outcome, "recovered");
    assert.deepEqual(report.recovered?.to, GREEN);
    assert.deepEqual(router.currentRouting, BLUE);
    assert.equal(await ports.record.read(), undefined);
  });
});
