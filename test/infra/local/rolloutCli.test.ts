/**
 * `npm run rollout -- --local` against the pair `npm run local` starts (startLocalPair): the
 * command line, its exit codes and its output, on real servers.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startLoad } from "../../../infra/local/load";
import { startLocalPair, type LocalPair } from "../../../infra/local/pair";
import { ADDRESS_FILE } from "../../../infra/local/stateDir";
import { runRolloutCli } from "../../../infra/rollout/cli";
import { tempDir } from "../../serving/helpers";

describe("npm run rollout -- --local (CLI on the local pair)", function () {
  this.timeout(60_000);
  let pair: LocalPair;
  let dir: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    ({ dir, cleanup } = await tempDir("rollout-cli-"));
    pair = await startLocalPair({ dir });
    await writeFile(
      join(dir, ADDRESS_FILE),
      JSON.stringify({ trafficUrl: pair.trafficUrl, adminUrl: pair.adminUrl, pid: process.pid }),
    );
  });
  after(async () => {
    await pair?.close();
    await cleanup?.();
  });

  const cli = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runRolloutCli(["--local", "--state-dir", dir, ...argv], {
      log: (t) => out.push(t),
      error: (t) => err.push(t),
    });
    return { code, out: out.join("\n"), err: err.join("\n") };
  };

  it("serves blue churn 1.0.0 and green churn 1.1.0 (the latter's golden set beside it)", () => {
    const s = pair.router.state();
    assert.deepEqual([s.colors.blue.modelVersion, s.colors.green.modelVersion], ["1.0.0", "1.1.0"]);
  });

  it("--dry-run prints the plan and changes nothing", async () => {
    const { code, out } = await cli("--to", "green", "--dry-run", "--bake-seconds", "3");
    assert.equal(code, 0);
    assert.match(out, /^Rollout plan: progressive\n- from: blue 100%\n- to: green 100%\n/);
    assert.match(out, /- steps: 10% -> 50% -> flip to green 100%; each bakes 3 s/);
    assert.deepEqual(pair.router.currentRouting, { activeColor: "blue", canaryPercent: 0 });
  });

  it("--canary 10 walks to a 10% canary of green and reports JSON; exit 0", async () => {
    const load = startLoad({ url: pair.trafficUrl, rate: 60 });
    const { code, out, err } = await cli(
      "--to",
      "green",
      "--canary",
      "10",
      "--bake-seconds",
      "1",
      "--min-requests",
      "4",
      "--json",
    );
    const stats = await load.stop();
    const report = JSON.parse(out) as { outcome: string; exitCode: number; steps: { percent: number }[] };
    assert.equal(code, 0, err);
    assert.deepEqual(
      [report.outcome, report.exitCode, report.steps.map((s) => s.percent)],
      ["succeeded", 0, [10]],
    );
    assert.deepEqual(pair.router.currentRouting, { activeColor: "blue", canaryPercent: 10 });
    assert.match(err, /golden gate: 5\/5 cases match/);
    assert.equal(stats.errors, 0);
  });

  it("--to blue from the canary of the newer green is a rollback, applied at once", async () => {
    const { code, out } = await cli("--to", "blue");
    assert.equal(code, 0);
    assert.match(
      out,
      /^Rollout succeeded \(exit 0\)\n- rollback: blue live, 10% to the standby -> blue 100%/,
    );
    assert.deepEqual(pair.router.currentRouting, { activeColor: "blue", canaryPercent: 0 });
  });

  it("too little traffic: exit 1 and the report names the metric", async () => {
    const { code, out } = await cli("--to", "green", "--bake-seconds", "1", "--min-requests", "1000");
    assert.equal(code, 1);
    assert.match(out, /metric minRequests: observed \d+, threshold 1000/);
    assert.deepEqual(pair.router.currentRouting, { activeColor: "blue", canaryPercent: 0 });
  });

  it("no local pair running: exit 2 saying how to start one, nothing changed", async () => {
    const out: string[] = [];
    const code = await runRolloutCli(["--local", "--state-dir", join(dir, "elsewhere"), "--to", "green"], {
      log: (t) => out.push(t),
      error: (t) => out.push(t),
    });
    assert.equal(code, 2);
    assert.match(
      out.join("\n"),
      /no local pair found \(.*local\.json is missing\): start one with `npm run local`/,
    );
  });

  it("a bad flag is exit 2 with the usage", async () => {
    const { code, err } = await cli("--canary", "150");
    assert.equal(code, 2);
    assert.match(err, /--canary must be an integer from 0 to 100, got "150"/);
  });
});
