/**
 * The deploy and preview workflows, read with js-yaml (GitHub itself cannot run here). The step
 * that decides between a plain `pulumi up` and `npm run rollout` is run for real with bash and jq
 * against a stand-in `pulumi` on PATH that answers like the CLI.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import * as yaml from "js-yaml";
import { REPO_ROOT } from "../../infra/paths";

interface Step {
  name?: string;
  uses?: string;
  if?: string;
  run?: string;
  with?: Record<string, unknown>;
}
function steps(file: string): Step[] {
  const doc = yaml.load(fs.readFileSync(path.join(REPO_ROOT, ".github", "workflows", file), "utf8")) as {
    jobs: Record<string, { steps: Step[] }>;
  };
  return Object.values(doc.jobs)[0].steps;
}
const byName = (all: Step[], name: string): Step => {
  const s = all.find((x) => x.name === name);
  assert.ok(s, `no step named ${name}`);
  return s;
};

const run = promisify(execFile);
const hasJq = (() => {
  try {
    execFileSync("jq", ["--version"]);
    return true;
  } catch {
    return false;
  }
})();

describe("workflows: deploy.yml and preview.yml", () => {
  const deploy = steps("deploy.yml");
  const preview = steps("preview.yml");

  it("deploy: a plain up when traffic stays, and the rollout sandwiched between two plain ups when it moves", () => {
    assert.deepEqual(
      deploy.filter((s) => s.name).map((s) => [s.name, s.if ?? ""]),
      [
        ["Does this change move traffic?", ""],
        ["pulumi up", "steps.mode.outputs.mode == 'up'"],
        ["Apply everything but traffic (deployed routing held)", "steps.mode.outputs.mode == 'rollout'"],
        ["npm run rollout", "steps.mode.outputs.mode == 'rollout'"],
        ["Hand every value back to Git", "steps.mode.outputs.mode == 'rollout'"],
        ["Summary", "always()"],
      ],
    );
    assert.equal(byName(deploy, "npm run rollout").run, "npm run rollout -- --stack dev");
    assert.equal(byName(deploy, "pulumi up").run, "pulumi up --yes --diff --stack dev");
    assert.match(
      byName(deploy, "Apply everything but traffic (deployed routing held)").run!,
      /git checkout -- Pulumi\.dev\.yaml/,
    );
  });

  it("preview: the rollout dry-run plan goes into the same comment as the preview diff", () => {
    assert.match(
      byName(preview, "Rollout plan").run!,
      /npm run --silent rollout -- --dry-run --stack dev > rollout-plan\.txt/,
    );
    const comment = byName(preview, "Comment").run!;
    assert.match(comment, /cat rollout-plan\.txt/);
    assert.match(comment, /gh pr comment .* --body-file comment\.md --edit-last --create-if-none/);
    const pulumi = preview.find((s) => s.uses === "pulumi/actions@v6");
    assert.deepEqual(pulumi?.with, { command: "preview", "stack-name": "dev", diff: true });
  });

  describe("the traffic decision, run with bash and jq", function () {
    let dir: string;
    before(async function () {
      if (!hasJq) this.skip();
      dir = await mkdtemp(path.join(tmpdir(), "deploy-mode-"));
    });
    after(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    /** Runs the step with a fake `pulumi`: stack outputs JSON (or failure) and committed config. */
    async function decide(
      outputs: string | undefined,
      config: Record<string, string>,
    ): Promise<Record<string, string>> {
      const fake = [
        "#!/bin/sh",
        'if [ "$1 $2" = "stack output" ]; then',
        outputs === undefined ? "  exit 255" : `  cat <<'JSON'\n${outputs}\nJSON`,
        "  exit 0",
        "fi",
        'if [ "$1 $2" = "config get" ]; then',
        '  case "$3" in',
        ...Object.entries(config).map(([k, v]) => `    ${k}) echo '${v}'; exit 0;;`),
        "  esac",
        "  exit 255",
        "fi",
        "exit 1",
      ].join("\n");
      await writeFile(path.join(dir, "pulumi"), fake, { mode: 0o755 });
      const out = path.join(dir, "github-output");
      await writeFile(out, "");
      await run("bash", ["-c", byName(deploy, "Does this change move traffic?").run!], {
        env: { PATH: `${dir}:${process.env.PATH}`, GITHUB_OUTPUT: out },
      });
      const lines = (await readFile(out, "utf8")).trim().split("\n");
      return Object.fromEntries(lines.map((l) => l.split("=") as [string, string]));
    }

    const deployed = (active: string, weights: Record<string, number>, standby: string) =>
      JSON.stringify({ activeColor: active, standbyColor: standby, weights });

    const table: ReadonlyArray<[string, string | undefined, Record<string, string>, Record<string, string>]> =
      [
        [
          "first deploy (no outputs)",
          undefined,
          { activeColor: "blue" },
          { mode: "up", from_active: "", from_canary: "" },
        ],
        [
          "same routing (a model staged on green)",
          deployed("blue", { blue: 100, green: 0 }, "green"),
          { activeColor: "blue", canaryPercent: "0" },
          { mode: "up", from_active: "blue", from_canary: "0" },
        ],
        [
          "a flip to green",
          deployed("blue", { blue: 100, green: 0 }, "green"),
          { activeColor: "green", canaryPercent: "0" },
          { mode: "rollout", from_active: "blue", from_canary: "0" },
        ],
        [
          "a canary, canaryPercent unset in the file (project default 0 applies to the deployed side)",
          deployed("blue", { blue: 90, green: 10 }, "green"),
          { activeColor: "blue" },
          { mode: "rollout", from_active: "blue", from_canary: "10" },
        ],
      ];
    for (const [name, outputs, config, expected] of table) {
      it(name, async () => assert.deepEqual(await decide(outputs, config), expected));
    }
  });
});
