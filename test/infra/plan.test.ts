import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { parsePlanArgs, parseValue, PlanUsageError } from "../../infra/plan/args";
import { diffResources, diffValues, valueAt, type PlannedResource } from "../../infra/plan/diff";
import { runPlanCli } from "../../infra/plan/cli";
import { PlanBaselineError, planChange, type PlanResult } from "../../infra/plan/plan";
import { formatPlan, planWarnings } from "../../infra/plan/report";
import { BLUE_PIN, FLIP_READY, SERVER, STAGED_GREEN as STAGED } from "./support/stacks";

const REPO = path.resolve(__dirname, "..", "..");
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const RULE = "aws:lb/listenerRule:ListenerRule";

/** `type name` of every changed/added/removed resource, sorted: what a plan touches. */
function touched(plan: PlanResult): string[] {
  const { added, removed, changed } = plan.diff;
  return [
    ...added.map((r) => `+ ${r.type} ${r.name}`),
    ...removed.map((r) => `- ${r.type} ${r.name}`),
    ...changed.map((r) => `~ ${r.type} ${r.name}`),
  ].sort();
}
function changesOf(plan: PlanResult, type: string, name: string): [string, string, unknown, unknown][] {
  const r = plan.diff.changed.find((c) => c.type === type && c.name === name);
  assert.ok(r, `${type} ${name} should be in the plan's changes`);
  return r.changes.map((c) => [c.kind, c.path, c.old, c.new]);
}

describe("plan: the property that matters (offline plans of config changes)", () => {
  let flip: PlanResult;
  let canary: PlanResult;
  let newStandbyVersion: PlanResult;
  let stageGreen: PlanResult;
  let newLiveVersion: PlanResult;
  let standbyBatchSize: PlanResult;
  let accessLog: PlanResult;
  let experiment: PlanResult;
  before(async () => {
    flip = await planChange("dev", { activeColor: "green" }, { baseOverrides: FLIP_READY });
    canary = await planChange("dev", { canaryPercent: "10" }, { baseOverrides: STAGED });
    newStandbyVersion = await planChange("dev", { "green.modelVersion": "1.2.0" }, { baseOverrides: STAGED });
    stageGreen = await planChange(
      "dev",
      { "green.modelVersion": "1.1.0", "green.replicas": 1 },
      { baseOverrides: { "blue.image": BLUE_PIN } },
    );
    newLiveVersion = await planChange(
      "dev",
      { "green.modelVersion": "1.2.0" },
      { baseOverrides: { ...FLIP_READY, activeColor: "green" } },
    );
    standbyBatchSize = await planChange("dev", { "green.maxBatchSize": 64 }, { baseOverrides: STAGED });
    accessLog = await planChange("dev", { servingAccessLog: "all" }, { baseOverrides: STAGED });
    experiment = await planChange(
      "dev",
      {
        "green.experiment.name": "ranker-v2",
        "green.experiment.treatmentVersion": "1.2.0",
        "green.experiment.treatmentPercent": 20,
        "green.experiment.assignmentKey": "body:user_id",
      },
      { baseOverrides: STAGED },
    );
  });

  it("adding an experiment to green changes only green's Deployment: the EXPERIMENT_* variables", () => {
    const bucket = experiment.before.outputs.modelBucketName;
    assert.deepEqual(touched(experiment), [`~ ${DEPLOYMENT} serving-green`]);
    assert.deepEqual(changesOf(experiment, DEPLOYMENT, "serving-green"), [
      [
        "added",
        `${SERVER}.env[name=EXPERIMENT_NAME]`,
        undefined,
        { name: "EXPERIMENT_NAME", value: "ranker-v2" },
      ],
      [
        "added",
        `${SERVER}.env[name=EXPERIMENT_TREATMENT_VERSION]`,
        undefined,
        { name: "EXPERIMENT_TREATMENT_VERSION", value: "1.2.0" },
      ],
      [
        "added",
        `${SERVER}.env[name=EXPERIMENT_TREATMENT_PERCENT]`,
        undefined,
        { name: "EXPERIMENT_TREATMENT_PERCENT", value: "20" },
      ],
      [
        "added",
        `${SERVER}.env[name=EXPERIMENT_ASSIGNMENT_KEY]`,
        undefined,
        { name: "EXPERIMENT_ASSIGNMENT_KEY", value: "body:user_id" },
      ],
      [
        "added",
        `${SERVER}.env[name=EXPERIMENT_RECORDS_URI]`,
        undefined,
        { name: "EXPERIMENT_RECORDS_URI", value: `s3://${bucket}/experiments/ranker-v2/` },
      ],
    ]);
    assert.deepEqual(experiment.outputs, []);
    assert.deepEqual(experiment.warnings, []);
  });

  it("flipping activeColor changes only the weighted and preview listener rules", () => {
    assert.deepEqual(touched(flip), [
      `~ ${RULE} serving-traffic-preview`,
      `~ ${RULE} serving-traffic-weighted`,
    ]);
  });

  it("flipping activeColor touches no Deployment, bucket, cluster, node group, target group or listener", () => {
    const types = new Set(flip.diff.changed.map((c) => c.type));
    assert.deepEqual([...types], [RULE]);
    assert.equal(flip.diff.added.length + flip.diff.removed.length, 0);
  });

  it("the flip moves the weights 100/0 -> 0/100 and points the preview route at blue", () => {
    const blueTg = flip.before.one("aws:lb/targetGroup:TargetGroup", "serving-blue").state.arn;
    const greenTg = flip.before.one("aws:lb/targetGroup:TargetGroup", "serving-green").state.arn;
    assert.deepEqual(changesOf(flip, RULE, "serving-traffic-weighted"), [
      ["changed", "actions[0].forward.targetGroups[0].weight", 100, 0],
      ["changed", "actions[0].forward.targetGroups[1].weight", 0, 100],
    ]);
    assert.deepEqual(changesOf(flip, RULE, "serving-traffic-preview"), [
      ["changed", "actions[0].targetGroupArn", greenTg, blueTg],
    ]);
  });

  it("the flip's outputs: active/standby swap, live version 1.1.0, rollback to blue", () => {
    assert.deepEqual(
      flip.outputs.map((c) => [c.path, c.old, c.new]),
      [
        ["activeColor", "blue", "green"],
        ["liveModelVersion", "1.0.0", "1.1.0"],
        [
          "rollbackCommand",
          "# nothing to roll back: blue (1.0.0) serves 100% and green (1.1.0, newer) is staged, not previous. " +
            "If green was live before, run: pulumi config set activeColor green --stack dev && " +
            "pulumi config set canaryPercent 0 --stack dev && pulumi up --stack dev",
          "pulumi config set activeColor blue --stack dev && pulumi config set canaryPercent 0 --stack dev && " +
            "pulumi up --stack dev",
        ],
        ["standbyColor", "green", "blue"],
        ["standbyModelVersion", "1.1.0", "1.0.0"],
        ["weights.blue", 100, 0],
        ["weights.green", 0, 100],
      ],
    );
  });

  it("a canary changes only the weighted rule's weights", () => {
    assert.deepEqual(touched(canary), [`~ ${RULE} serving-traffic-weighted`]);
    assert.deepEqual(changesOf(canary, RULE, "serving-traffic-weighted"), [
      ["changed", "actions[0].forward.targetGroups[0].weight", 100, 90],
      ["changed", "actions[0].forward.targetGroups[1].weight", 0, 10],
    ]);
  });

  it("changing the standby's model version changes only that color's Deployment: model env and version labels", () => {
    const bucket = newStandbyVersion.before.outputs.modelBucketName;
    assert.deepEqual(touched(newStandbyVersion), [`~ ${DEPLOYMENT} serving-green`]);
    assert.deepEqual(changesOf(newStandbyVersion, DEPLOYMENT, "serving-green"), [
      ["changed", 'metadata.labels["app.kubernetes.io/version"]', "1.1.0", "1.2.0"],
      ["changed", 'spec.template.metadata.labels["app.kubernetes.io/version"]', "1.1.0", "1.2.0"],
      [
        "changed",
        `${SERVER}.env[name=MODEL_URI].value`,
        `s3://${bucket}/models/churn/1.1.0/`,
        `s3://${bucket}/models/churn/1.2.0/`,
      ],
      ["changed", `${SERVER}.env[name=MODEL_VERSION].value`, "1.1.0", "1.2.0"],
    ]);
    assert.deepEqual(newStandbyVersion.warnings, []);
  });

  it("setting green.maxBatchSize changes only the green Deployment's MAX_BATCH_SIZE, with no warning", () => {
    assert.deepEqual(touched(standbyBatchSize), [`~ ${DEPLOYMENT} serving-green`]);
    assert.deepEqual(changesOf(standbyBatchSize, DEPLOYMENT, "serving-green"), [
      ["changed", `${SERVER}.env[name=MAX_BATCH_SIZE].value`, "32", "64"],
    ]);
    assert.deepEqual(standbyBatchSize.outputs, []);
    assert.deepEqual(standbyBatchSize.warnings, []);
  });

  it("setting servingAccessLog changes ACCESS_LOG on both Deployments, and warns that the live one rolls", () => {
    assert.deepEqual(touched(accessLog), [`~ ${DEPLOYMENT} serving-blue`, `~ ${DEPLOYMENT} serving-green`]);
    for (const color of ["blue", "green"]) {
      assert.deepEqual(changesOf(accessLog, DEPLOYMENT, `serving-${color}`), [
        ["changed", `${SERVER}.env[name=ACCESS_LOG].value`, "errors", "all"],
      ]);
    }
    assert.deepEqual(accessLog.warnings, [
      "the blue Deployment changes while blue receives 100% of live traffic: its pods are replaced in place " +
        "by a rolling update (maxUnavailable 0, readiness gates), mixing versions until it completes. To release " +
        "without that, stage the change on the standby color and flip.",
    ]);
  });

  it("staging green (version + replicas) changes the green Deployment and adds its HPA, nothing else", () => {
    assert.deepEqual(touched(stageGreen), [
      `+ kubernetes:autoscaling/v2:HorizontalPodAutoscaler serving-green-hpa`,
      `~ ${DEPLOYMENT} serving-green`,
    ]);
    assert.deepEqual(
      changesOf(stageGreen, DEPLOYMENT, "serving-green").map(([kind, p]) => `${kind} ${p}`),
      [
        "removed metadata.annotations",
        'added metadata.labels["app.kubernetes.io/version"]',
        "removed spec.replicas",
        'added spec.template.metadata.labels["app.kubernetes.io/version"]',
        `added ${SERVER}.env[name=MODEL_URI]`,
        `added ${SERVER}.env[name=MODEL_NAME]`,
        `added ${SERVER}.env[name=MODEL_VERSION]`,
      ],
    );
  });

  it("changing the live color's model version changes only its Deployment, and the plan warns it rolls live pods", () => {
    assert.deepEqual(touched(newLiveVersion), [`~ ${DEPLOYMENT} serving-green`]);
    assert.deepEqual(newLiveVersion.warnings, [
      "the green Deployment changes while green receives 100% of live traffic: its pods are replaced in place " +
        "by a rolling update (maxUnavailable 0, readiness gates), mixing versions until it completes. To release " +
        "without that, stage the change on the standby color and flip.",
    ]);
  });

  it("a change the guards refuse fails the plan with the guard's message", async () => {
    await assert.rejects(
      planChange("dev", { activeColor: "green" }),
      /^TrafficError: 2 problems:\n- activeColor is "green" but green\.replicas is 0/,
    );
  });

  it("an unknown stack fails as a baseline error naming the stack file", async () => {
    await assert.rejects(
      planChange("nope", { activeColor: "green" }),
      (e: unknown) =>
        e instanceof PlanBaselineError &&
        e.message.startsWith(`stack "nope"'s current config does not evaluate: StackFileError: `) &&
        e.message.includes("Pulumi.nope.yaml does not exist"),
    );
  });

  it("the text report lists each changed property and a summary", () => {
    const text = formatPlan(canary);
    const lines = text.split("\n");
    assert.equal(
      lines[0],
      `Plan for stack "dev" with canaryPercent=10, on top of blue.image=${BLUE_PIN} green.modelVersion=1.1.0 green.replicas=1`,
    );
    assert.ok(lines.includes(`  ~ ${RULE}  serving-traffic-weighted  (update)`), text);
    assert.ok(lines.includes("      ~ actions[0].forward.targetGroups[0].weight: 100 -> 90"), text);
    assert.ok(lines.includes("      ~ actions[0].forward.targetGroups[1].weight: 0 -> 10"), text);
    assert.ok(
      lines.includes(
        '  ~ rollbackCommand: "# nothing to roll back: blue (1.0.0) serves 100% and green (1.1.0, newer) is staged, not previous. If green was live before, run: pulumi config set activeColor green --stack dev && pulumi config set canaryPercent 0 --stack dev && pulumi up --stack dev" -> "pulumi config set canaryPercent 0 --stack dev && pulumi up --stack dev"',
      ),
      text,
    );
    assert.equal(
      lines[lines.length - 1],
      `Summary: 0 to create, 1 to update, 0 to delete, ${canary.diff.unchanged} unchanged`,
    );
    assert.equal(canary.diff.unchanged, canary.after.resources.length - 1);
  });
});

describe("plan: diff (no mocks)", () => {
  const res = (name: string, inputs: Record<string, unknown>): PlannedResource => ({
    type: "t:m:R",
    name,
    urn: `urn:${name}`,
    inputs,
  });

  it("reports added, removed and changed leaves with their paths", () => {
    assert.deepEqual(
      diffValues({ a: 1, b: { c: 2, d: 3 }, e: [1, 2] }, { a: 1, b: { c: 4 }, e: [1, 2, 3], f: "x" }),
      [
        { path: "b.c", kind: "changed", old: 2, new: 4 },
        { path: "b.d", kind: "removed", old: 3 },
        { path: "e[2]", kind: "added", new: 3 },
        { path: "f", kind: "added", new: "x" },
      ],
    );
  });

  it("matches arrays of named objects by name, so an inserted env var is one addition", () => {
    const before = {
      env: [
        { name: "A", value: "1" },
        { name: "C", value: "3" },
      ],
    };
    const after = {
      env: [
        { name: "A", value: "1" },
        { name: "B", value: "2" },
        { name: "C", value: "4" },
      ],
    };
    assert.deepEqual(diffValues(before, after), [
      { path: "env[name=C].value", kind: "changed", old: "3", new: "4" },
      { path: "env[name=B]", kind: "added", new: { name: "B", value: "2" } },
    ]);
  });

  it("quotes keys that are not identifiers", () => {
    assert.deepEqual(
      diffValues(
        { labels: { "app.kubernetes.io/version": "1" } },
        { labels: { "app.kubernetes.io/version": "2" } },
      ),
      [{ path: 'labels["app.kubernetes.io/version"]', kind: "changed", old: "1", new: "2" }],
    );
  });

  it("a type change of a leaf is a change", () => {
    assert.deepEqual(diffValues({ a: "1" }, { a: 1 }), [{ path: "a", kind: "changed", old: "1", new: 1 }]);
  });

  it("diffResources leaves out input paths the resource lists in ignoreChanges, as pulumi preview does", () => {
    const group = (desiredSize: number, ignoreChanges: string[]): PlannedResource => ({
      type: "aws:eks/nodeGroup:NodeGroup",
      name: "gpu-nodes",
      urn: "urn:gpu-nodes",
      inputs: { scalingConfig: { minSize: 1, desiredSize, maxSize: desiredSize + 2 } },
      options: { ignoreChanges },
    });
    const ignoring = diffResources(
      [group(1, ["scalingConfig.desiredSize"])],
      [group(2, ["scalingConfig.desiredSize"])],
    );
    assert.deepEqual(
      ignoring.changed.map((c) => c.changes),
      [[{ path: "scalingConfig.maxSize", kind: "changed", old: 3, new: 4 }]],
    );
    assert.deepEqual(
      diffResources([group(1, [])], [group(2, [])]).changed.map((c) => c.changes.map((x) => x.path)),
      [["scalingConfig.desiredSize", "scalingConfig.maxSize"]],
    );
    assert.deepEqual(
      ignoring.ignored.map((c) => c.changes),
      [[{ path: "scalingConfig.desiredSize", kind: "changed", old: 1, new: 2 }]],
    );
    assert.deepEqual(planWarnings(ignoring, [], undefined), [
      "gpu-nodes: scalingConfig.desiredSize 1 -> 2 is not applied: the resource ignores changes to it after " +
        "creation (ignoreChanges; the Cluster Autoscaler owns a node group's desired size).",
    ]);
    assert.equal(diffResources([group(1, ["scalingConfig"])], [group(2, ["scalingConfig"])]).unchanged, 1);
  });

  it("diffResources matches by URN and counts unchanged resources", () => {
    const d = diffResources(
      [res("x", { a: 1 }), res("y", { a: 1 }), res("gone", {})],
      [res("x", { a: 1 }), res("y", { a: 2 }), res("new", {})],
    );
    assert.deepEqual(
      d.added.map((r) => r.name),
      ["new"],
    );
    assert.deepEqual(
      d.removed.map((r) => r.name),
      ["gone"],
    );
    assert.deepEqual(d.changed, [
      { type: "t:m:R", name: "y", urn: "urn:y", changes: [{ path: "a", kind: "changed", old: 1, new: 2 }] },
    ]);
    assert.equal(d.unchanged, 1);
  });

  it("valueAt reads the paths the diff prints", () => {
    const v = {
      spec: { containers: [{ name: "server", env: [{ name: "A", value: "1" }] }] },
      l: { "a.b/c": 2 },
      n: [7, 8],
    };
    assert.equal(valueAt(v, "spec.containers[name=server].env[name=A].value"), "1");
    assert.equal(valueAt(v, 'l["a.b/c"]'), 2);
    assert.equal(valueAt(v, "n[1]"), 8);
    assert.equal(valueAt(v, "spec.missing.deeper"), undefined);
    assert.throws(() => valueAt(v, "spec..x"), /^Error: invalid property path "spec\.\.x"$/);
  });
});

describe("plan: command line (no mocks)", () => {
  it("parses repeated --set, --stack and --json", () => {
    assert.deepEqual(
      parsePlanArgs(
        ["--set", "activeColor=green", "--set=green.replicas=2", "--stack", "prod", "--json"],
        "onnx-eks-serving",
      ),
      {
        stack: "prod",
        overrides: { activeColor: "green", "green.replicas": 2 },
        base: {},
        json: true,
        help: false,
      },
    );
  });

  it("parses --base like --set, into the changes applied to both sides", () => {
    const args = parsePlanArgs(
      [
        "--base",
        "green.modelVersion=1.1.0",
        "--base=onnx-eks-serving:green.replicas=1",
        "--set",
        "activeColor=green",
      ],
      "onnx-eks-serving",
    );
    assert.deepEqual(args.base, { "green.modelVersion": "1.1.0", "green.replicas": 1 });
    assert.deepEqual(args.overrides, { activeColor: "green" });
  });

  it("drops the project prefix and keeps aws:region", () => {
    assert.deepEqual(
      parsePlanArgs(
        ["--set", "onnx-eks-serving:canaryPercent=10", "--set", "aws:region=eu-west-1"],
        "onnx-eks-serving",
      ).overrides,
      { canaryPercent: "10", "aws:region": "eu-west-1" },
    );
  });

  it("types --path values like pulumi config set --path; top-level values stay strings", () => {
    assert.deepEqual(
      [
        parseValue("green.replicas", "2"),
        parseValue("green.modelVersion", "1.1.0"),
        parseValue("x.y", "true"),
        parseValue("canaryPercent", "10"),
      ],
      [2, "1.1.0", true, "10"],
    );
  });

  it("the last --set of a key wins", () => {
    assert.deepEqual(
      parsePlanArgs(["--set", "canaryPercent=5", "--set", "canaryPercent=10"], "p").overrides,
      { canaryPercent: "10" },
    );
  });

  const bad: [string[], string][] = [
    [[], "nothing to plan: give at least one --set key=value"],
    [["--base", "green.replicas=1"], "nothing to plan: give at least one --set key=value"],
    [["--base", "green.replicas", "--set", "x=1"], '--base expects key=value, got "green.replicas"'],
    [
      ["--base", "green..replicas=1", "--set", "x=1"],
      '--base key must be a config key such as activeColor or green.modelVersion, got "green..replicas"',
    ],
    [["--set"], "--set needs a value"],
    [["--set", "activeColor"], '--set expects key=value, got "activeColor"'],
    [
      ["--set", "bad key=1"],
      '--set key must be a config key such as activeColor or green.modelVersion, got "bad key"',
    ],
    [["--stack", "a b", "--set", "x=1"], '--stack must be a stack name, got "a b"'],
    [["--frobnicate"], 'unknown argument "--frobnicate"'],
  ];
  for (const [argv, message] of bad) {
    it(`refuses ${JSON.stringify(argv)}: ${message}`, () => {
      assert.throws(
        () => parsePlanArgs(argv, "p"),
        (e: unknown) => e instanceof PlanUsageError && e.message === message,
      );
    });
  }
});

describe("plan: the command line's exit codes and output", () => {
  /** Runs the CLI in-process (sharing the harness), capturing what it writes. */
  async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runPlanCli(argv, { log: (t) => out.push(t), error: (t) => err.push(t) });
    return { code, out: out.join("\n"), err: err.join("\n") };
  }

  it("prints the plan of a model version change and exits 0", async () => {
    const r = await cli("--set", "green.modelVersion=1.1.0");
    assert.equal(r.code, 0, r.err);
    assert.ok(r.out.startsWith('Plan for stack "dev" with green.modelVersion=1.1.0\n'), r.out);
    assert.ok(r.out.includes(`\n  ~ ${DEPLOYMENT}  serving-green  (update)\n`), r.out);
    assert.ok(r.out.includes("\nSummary: 0 to create, 1 to update, 0 to delete, "), r.out);
  });

  it("--json prints the same plan as JSON", async () => {
    const r = await cli("--set", "green.modelVersion=1.1.0", "--json");
    assert.equal(r.code, 0, r.err);
    const json = JSON.parse(r.out) as {
      changed: { type: string; name: string }[];
      added: unknown[];
      removed: unknown[];
    };
    assert.deepEqual(
      json.changed.map((c) => `${c.type} ${c.name}`),
      [`${DEPLOYMENT} serving-green`],
    );
    assert.deepEqual([json.added, json.removed], [[], []]);
  });

  it("exits 1 with the guard's message, its fix and how to plan with the fix when the change is refused", async () => {
    const r = await cli("--set", "activeColor=green");
    assert.equal(r.code, 1, r.out);
    assert.equal(
      r.err,
      "The change is refused; `pulumi preview` would fail the same way:\n\n" +
        "TrafficError: 2 problems:\n" +
        '- activeColor is "green" but green.replicas is 0: the live color needs pods. Fix: `pulumi config set --path green.replicas 1` (and a model version), or `pulumi config set activeColor blue`.\n' +
        '- activeColor is "green" but green.modelVersion is not set: the live color must serve a model. Fix: `pulumi config set --path green.modelVersion <version>` (a version pushed with `npm run model -- push`), or `pulumi config set activeColor blue`.\n\n' +
        "To plan the change together with its fix, add the fix to the command: `pulumi config set [--path] <key> <value>` is `--set <key>=<value>`.",
    );
  });

  it("--base plans a flip on top of a staged green: only the listener rules change", async () => {
    const r = await cli(
      "--base",
      "green.modelVersion=1.1.0",
      "--base",
      "green.replicas=1",
      "--base",
      `blue.image=${BLUE_PIN}`,
      "--base",
      `green.image=${BLUE_PIN}`,
      "--set",
      "activeColor=green",
    );
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split("\n");
    assert.equal(
      lines[0],
      `Plan for stack "dev" with activeColor=green, on top of green.modelVersion=1.1.0 green.replicas=1 blue.image=${BLUE_PIN} green.image=${BLUE_PIN}`,
    );
    assert.deepEqual(lines.filter((l) => / {2}\((create|update|delete)\)$/.test(l)).sort(), [
      `  ~ ${RULE}  serving-traffic-preview  (update)`,
      `  ~ ${RULE}  serving-traffic-weighted  (update)`,
    ]);
    assert.ok(r.out.includes("\nSummary: 0 to create, 2 to update, 0 to delete, "), r.out);
    const json = JSON.parse(
      (await cli("--base", "green.modelVersion=1.1.0", "--set", "canaryPercent=0", "--json")).out,
    ) as {
      base: unknown;
    };
    assert.deepEqual(json.base, { "green.modelVersion": "1.1.0" });
  });

  it("a --base the program refuses is a baseline error that names it", async () => {
    const r = await cli("--base", "activeColor=green", "--set", "canaryPercent=10");
    assert.equal(r.code, 1, r.out);
    assert.ok(
      r.err.startsWith(
        'error: stack "dev"\'s current config with activeColor=green does not evaluate: TrafficError: 2 problems:',
      ),
      r.err,
    );
  });

  it("exits 1 naming the key when the change is not valid config", async () => {
    const r = await cli("--set", "activeColour=green");
    assert.equal(r.code, 1, r.out);
    assert.ok(
      r.err.includes("unknown config key onnx-eks-serving:activeColour (did you mean activeColor?)"),
      r.err,
    );
  });

  it("exits 2 with usage on a bad command line", async () => {
    const r = await cli("--set", "activeColor");
    assert.equal(r.code, 2);
    assert.ok(
      r.err.startsWith('error: --set expects key=value, got "activeColor"\n\nUsage: npm run plan'),
      r.err,
    );
  });

  it("`npm run plan`'s entry point runs as a script (one real process)", function () {
    this.timeout(60_000);
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", path.join(REPO, "infra", "plan", "cli.ts"), "--set", "canaryPercent=0"],
      {
        cwd: REPO,
        encoding: "utf8",
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.includes("Resources: no changes\n"), r.stdout);
  });
});
