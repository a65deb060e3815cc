import assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import {
  CONFIG_SCHEMA,
  ConfigError,
  isCanonicalIpv4Cidr,
  loadConfig,
  parseConfig,
  PROJECT_NAME,
  type RawConfig,
} from "../../infra/config";
import { DEFAULT_ROLLOUT_POLICY } from "../../infra/rollout/policy";

/** Boundaries, coercion edge cases and hints of config validation (config.test.ts has the rule table). */
const BASE: RawConfig = { "aws:region": "us-west-2" };
const KNOWN_KEYS = CONFIG_SCHEMA.map((s) => s.key).join(", ");
const COLOR_OBJECT =
  "{modelVersion, replicas, maxReplicas, image, accelerator, maxBatchSize, maxBatchDelayMs, experiment}";

function issuesOf(raw: RawConfig): string[] {
  try {
    parseConfig(raw);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.issues.map((i) => i.message);
  }
  assert.fail(`parseConfig accepted ${JSON.stringify(raw)}`);
}

describe("config: validation edges", () => {
  it("ConfigError names itself and lists one problem inline, several one per line", () => {
    assert.throws(
      () => parseConfig({ ...BASE, canaryPercent: 101 }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.name === "ConfigError" &&
        err.message ===
          "Invalid stack configuration: canaryPercent must be an integer from 0 to 100, got 101",
    );
    assert.throws(
      () => parseConfig({ ...BASE, canaryPercent: 101, servingPort: 80 }),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message ===
          "Invalid stack configuration (2 problems):\n" +
            "  - servingPort must be an integer from 1024 to 65535, got 80\n" +
            "  - canaryPercent must be an integer from 0 to 100, got 101",
    );
  });

  it("accepts every range at its upper bound", () => {
    const cfg = parseConfig({
      ...BASE,
      availabilityZoneCount: 6,
      canaryPercent: 100,
      blue: { modelVersion: "1.0.0", replicas: 100, maxReplicas: 100 },
      vpcCidr: "10.0.0.0/20",
    });
    assert.deepEqual(
      [cfg.availabilityZoneCount, cfg.canaryPercent, cfg.blue.replicas, cfg.blue.maxReplicas, cfg.vpcCidr],
      [6, 100, 100, 100, "10.0.0.0/20"],
    );
  });

  it("refuses a VPC larger than /16", () => {
    assert.deepEqual(issuesOf({ ...BASE, vpcCidr: "10.0.0.0/15" }), [
      'vpcCidr prefix must be from /16 to /20 (AWS allows /16 at most; smaller than /20 leaves no room for per-AZ subnets), got "10.0.0.0/15"',
    ]);
  });

  const cidrs: Array<[string, boolean]> = [
    ["10.100.0.0/16", true],
    ["192.168.255.0/24", true],
    ["10.0.0.255/32", true],
    ["10.0.0.128/25", true],
    ["10.0.0.64/25", false],
    ["10.0.1.0/24", true],
    ["10.0.1.0/23", false],
    ["x10.0.0.0/16", false],
    ["10.0.0.0/16x", false],
    ["10.0.0.0/16/1", false],
  ];
  for (const [value, ok] of cidrs) {
    it(`isCanonicalIpv4Cidr(${JSON.stringify(value)}) is ${ok}`, () =>
      assert.equal(isCanonicalIpv4Cidr(value), ok));
  }

  it("a private-only API needs no private endpoint exception while the public one is open to all", () => {
    const cfg = parseConfig({
      ...BASE,
      endpointPrivateAccess: false,
      publicAccessCidrs: ["203.0.113.0/24", "0.0.0.0/0"],
    });
    assert.deepEqual(cfg.publicAccessCidrs, ["203.0.113.0/24", "0.0.0.0/0"]);
  });

  for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
    it(`refuses the system namespace ${ns}`, () => {
      assert.deepEqual(issuesOf({ ...BASE, servingNamespace: ns }), [
        `servingNamespace must be a namespace of its own, not a system namespace, got "${ns}"`,
      ]);
    });
  }

  it("keeps the text of unquoted YAML scalars for string keys, and refuses objects", () => {
    const cfg = parseConfig({ ...BASE, servingCpu: 2, clusterVersion: 1.33, modelName: 7 });
    assert.equal(cfg.servingCpu, "2");
    assert.equal(cfg.clusterVersion, "1.33");
    assert.equal(cfg.modelName, "7");
    assert.equal(parseConfig({ ...BASE, servingNamespace: true }).servingNamespace, "true");
    assert.deepEqual(issuesOf({ ...BASE, servingCpu: { cores: 2 } }), [
      'servingCpu must be a string, got {"cores":2}',
    ]);
  });

  it("trims integers given as text, and treats null as unset", () => {
    const cfg = parseConfig({ ...BASE, canaryPercent: " 10 ", servingPort: null });
    assert.equal(cfg.canaryPercent, 10);
    assert.equal(cfg.servingPort, 8080);
  });

  it("refuses lists that are not lists of strings", () => {
    assert.deepEqual(issuesOf({ ...BASE, gpuInstanceTypes: '"g5.xlarge"' }), [
      'gpuInstanceTypes must be a list of strings, got "\\"g5.xlarge\\""',
    ]);
    assert.deepEqual(issuesOf({ ...BASE, gpuInstanceTypes: "[1]" }), [
      'gpuInstanceTypes must be a list of strings, got "[1]"',
    ]);
    assert.deepEqual(issuesOf({ ...BASE, gpuInstanceTypes: [1] }), [
      "gpuInstanceTypes must be a list of strings, got [1]",
    ]);
  });

  const colors: Array<[string, unknown, string]> = [
    ["a JSON list", "[1]", `green must be an object ${COLOR_OBJECT}, got "[1]"`],
    ["JSON null", "null", `green must be an object ${COLOR_OBJECT}, got "null"`],
    ["a number", 5, `green must be an object ${COLOR_OBJECT}, got 5`],
    ["a list", [], `green must be an object ${COLOR_OBJECT}, got []`],
    [
      "two unknown fields",
      { replica: 1, version: "1.0.0" },
      `green has unknown field(s) "replica", "version"; allowed: ${COLOR_OBJECT.slice(1, -1)}`,
    ],
    ["a modelVersion that is an object", { modelVersion: {} }, "green.modelVersion must be a string, got {}"],
  ];
  for (const [what, green, message] of colors) {
    it(`refuses a color given as ${what}`, () => assert.deepEqual(issuesOf({ ...BASE, green }), [message]));
  }

  it("a color that is not an object is reported even with a flat field beside it, not replaced", () => {
    for (const [green, message] of [
      ["[1]", `green must be an object ${COLOR_OBJECT}, got "[1]"`],
      ["5", `green must be an object ${COLOR_OBJECT}, got "5"`],
      ["{bad", 'green must be an object (JSON when set as one value), got "{bad"'],
    ]) {
      const issues = issuesOf({ ...BASE, green, "green.replicas": "1" });
      assert.ok(issues.includes(message), issues.join("\n"));
    }
  });

  it("a flat color field equal to the one inside the object is no conflict", () => {
    const cfg = parseConfig({
      ...BASE,
      green: { modelVersion: "1.1.0", replicas: 2 },
      "green.replicas": "2",
    });
    assert.equal(cfg.green.replicas, 2);
  });

  it("only keys that start with blue. or green. and end at the field are color fields", () => {
    for (const key of ["xblue.replicas", "-blue.replicas", "blue.replicas-x"]) {
      assert.deepEqual(issuesOf({ ...BASE, [key]: "1" }), [
        `unknown config key ${PROJECT_NAME}:${key} (known keys: ${KNOWN_KEYS})`,
      ]);
    }
  });

  const hints: Array<[string, string]> = [
    ["canaryPerc", "canaryPercent"], // 3 edits: still a hint
    ["gpuNodesMa", "gpuNodesMax"], // closer to a later key than to gpuNodesMin
    ["gpuNodesM", "gpuNodesMin"], // a tie: the first in schema order
  ];
  for (const [typo, hint] of hints) {
    it(`hints ${hint} for ${typo}`, () => {
      assert.deepEqual(issuesOf({ ...BASE, [typo]: "1" }), [
        `unknown config key ${PROJECT_NAME}:${typo} (did you mean ${hint}?)`,
      ]);
    });
  }

  it("lists the known keys when no key is within 3 edits", () => {
    assert.deepEqual(issuesOf({ ...BASE, canaryPercentXYZW: "1" }), [
      `unknown config key ${PROJECT_NAME}:canaryPercentXYZW (known keys: ${KNOWN_KEYS})`,
    ]);
  });

  it("aws:region: null or empty is missing; a non-string is read as text", () => {
    for (const region of [null, ""]) {
      assert.deepEqual(issuesOf({ "aws:region": region }), [
        "aws:region is required, e.g. `pulumi config set aws:region us-west-2`",
      ]);
    }
    assert.deepEqual(issuesOf({ "aws:region": 5 }), [
      'region must be an AWS region such as "us-west-2" (set aws:region), got "5"',
    ]);
  });

  it("a key that failed coercion does not hide the rules of the other keys", () => {
    assert.deepEqual(issuesOf({ "aws:region": "us-west", canaryPercent: "ten" }), [
      'canaryPercent must be an integer, got "ten"',
      'region must be an AWS region such as "us-west-2" (set aws:region), got "us-west"',
    ]);
  });

  /** The policy's own defaults, as parseConfig returns them (a plain steps array). */
  const ROLLOUT_DEFAULTS = { ...DEFAULT_ROLLOUT_POLICY, steps: [...DEFAULT_ROLLOUT_POLICY.steps] };
  const ROLLOUT_OBJECT = `{${Object.keys(ROLLOUT_DEFAULTS).join(", ")}}`;
  const STEPS_RULE =
    "rollout.steps must be at most 10 strictly ascending integers from 1 to 99 (percent to the receiving " +
    "color before the flip to 100), got ";
  const FRACTION = "rollout.maxErrorRate must be a fraction from 0 to 1 (0.01 = 1% of requests), got ";

  const rolloutOk: Array<[unknown, Partial<typeof ROLLOUT_DEFAULTS>]> = [
    [{}, {}],
    [{ maxErrorRate: "0.5" }, { maxErrorRate: 0.5 }],
    [{ maxErrorRate: " .5 " }, { maxErrorRate: 0.5 }],
    [{ maxErrorRate: "1e-2" }, { maxErrorRate: 0.01 }],
    [{ maxLatencyRatio: "10.25" }, { maxLatencyRatio: 10.25 }],
    [{ maxErrorRate: ".25" }, { maxErrorRate: 0.25 }],
    [{ maxLatencyRatio: "1e1" }, { maxLatencyRatio: 10 }],
    [{ maxLatencyRatio: "1e10" }, { maxLatencyRatio: 1e10 }],
    [{ steps: "[5, 20]" }, { steps: [5, 20] }],
    [{ steps: [50] }, { steps: [50] }],
    [{ steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }, { steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] }],
  ];
  for (const [rollout, changed] of rolloutOk) {
    it(`rollout ${JSON.stringify(rollout)} parses, other fields at their defaults`, () => {
      assert.deepEqual(parseConfig({ ...BASE, rollout }).rollout, { ...ROLLOUT_DEFAULTS, ...changed });
    });
  }

  const rolloutBad: Array<[unknown, string]> = [
    [{ maxErrorRate: "5." }, `${FRACTION}5`],
    [{ maxErrorRate: "12.5e+1" }, `${FRACTION}125`],
    [{ maxErrorRate: -0.1 }, `${FRACTION}-0.1`],
    [{ maxErrorRate: "x0.5" }, 'rollout.maxErrorRate must be a number, got "x0.5"'],
    [{ maxErrorRate: "0.5x" }, 'rollout.maxErrorRate must be a number, got "0.5x"'],
    [{ maxErrorRate: "1e" }, 'rollout.maxErrorRate must be a number, got "1e"'],
    [{ maxErrorRate: ".x" }, 'rollout.maxErrorRate must be a number, got ".x"'],
    [{ maxErrorRate: true }, "rollout.maxErrorRate must be a number, got true"],
    [{ maxErrorRate: Infinity }, "rollout.maxErrorRate must be a number, got Infinity"],
    ["[1]", `rollout must be an object ${ROLLOUT_OBJECT}, got "[1]"`],
    ["{bad", 'rollout must be an object (JSON when set as one value), got "{bad"'],
    ["null", `rollout must be an object ${ROLLOUT_OBJECT}, got "null"`],
    [5, `rollout must be an object ${ROLLOUT_OBJECT}, got 5`],
    [
      { step: 1, bake: 2 },
      `rollout has unknown field(s) "step", "bake"; allowed: ${ROLLOUT_OBJECT.slice(1, -1)}`,
    ],
    [{ steps: "x" }, 'rollout.steps must be a list of integers (JSON when set as one value), got "x"'],
    [{ steps: {} }, "rollout.steps must be a list of integers, got {}"],
    [{ steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }, `${STEPS_RULE}[1,2,3,4,5,6,7,8,9,10,11]`],
    [{ steps: [50, 50] }, `${STEPS_RULE}[50,50]`],
    [{ steps: [50, 40] }, `${STEPS_RULE}[50,40]`],
  ];
  for (const [rollout, message] of rolloutBad) {
    it(`refuses rollout ${JSON.stringify(rollout)}`, () =>
      assert.deepEqual(issuesOf({ ...BASE, rollout }), [message]));
  }

  it("loadConfig reads the project's keys and aws:region from the Pulumi runtime", async () => {
    await pulumi.runtime.setMocks(
      { newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }), call: (args) => args.inputs },
      PROJECT_NAME,
      "dev",
    );
    pulumi.runtime.setAllConfig({
      "aws:region": "eu-west-1",
      [`${PROJECT_NAME}:canaryPercent`]: "10",
      [`${PROJECT_NAME}:green`]: JSON.stringify({ modelVersion: "1.1.0", replicas: 1 }),
      "other-project:canaryPercent": "50",
    });
    const cfg = loadConfig();
    assert.equal(cfg.region, "eu-west-1");
    assert.equal(cfg.canaryPercent, 10);
    assert.deepEqual([cfg.green.modelVersion, cfg.green.replicas], ["1.1.0", 1]);
    pulumi.runtime.setAllConfig({ [`${PROJECT_NAME}:canaryPercent`]: "10" });
    assert.throws(loadConfig, /aws:region is required/);
  });
});
