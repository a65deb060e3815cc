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
  type StackConfig,
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

describe("config: formats, one table per key", () => {
  const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;
  const CERT = "arn:aws:acm:us-west-2:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
  const json = (v: string): string => JSON.stringify(v);
  const GPU_TYPES =
    'x86_64 NVIDIA GPU instance types such as "g5.xlarge" (families g4dn, g5, g6, g6e, gr6, p4d, p5, ...)';
  const IMAGE =
    "an image reference such as 123456789012.dkr.ecr.us-west-2.amazonaws.com/serving@sha256:<64 hex>";
  /** Per key: how a value is set, where the parsed value is read, and the message for a bad one. */
  const KEYS: Record<
    string,
    { set: (v: string) => RawConfig; read: (c: StackConfig) => unknown; refused: (v: string) => string }
  > = {
    "aws:region": {
      set: (v) => ({ "aws:region": v }),
      read: (c) => c.region,
      refused: (v) => `region must be an AWS region such as "us-west-2" (set aws:region), got ${json(v)}`,
    },
    systemNodeInstanceType: {
      set: (v) => ({ ...BASE, systemNodeInstanceType: v }),
      read: (c) => c.systemNodeInstanceType,
      refused: (v) =>
        `systemNodeInstanceType must be an EC2 instance type such as "t3.large", got ${json(v)}`,
    },
    gpuInstanceTypes: {
      set: (v) => ({ ...BASE, gpuInstanceTypes: [v] }),
      read: (c) => c.gpuInstanceTypes[0],
      refused: (v) => `gpuInstanceTypes entries must be ${GPU_TYPES}, got gpuInstanceTypes[0]=${json(v)}`,
    },
    "blue.modelVersion": {
      set: (v) => ({ ...BASE, "blue.modelVersion": v }),
      read: (c) => c.blue.modelVersion,
      refused: (v) =>
        `blue.modelVersion must be "" (none) or a semantic version such as 1.2.3, got ${json(v)}`,
    },
    clusterVersion: {
      set: (v) => ({ ...BASE, clusterVersion: v, clusterAutoscaler: false }),
      read: (c) => c.clusterVersion,
      refused: (v) =>
        'clusterVersion must be an EKS Kubernetes version "1.<minor>" with minor >= 30 (the serving pods\' ' +
        "preStop hook uses the sleep lifecycle action, on by default from Kubernetes 1.30), such as " +
        `"1.35", got ${json(v)}`,
    },
    adminPrincipalArns: {
      set: (v) => ({ ...BASE, adminPrincipalArns: [v] }),
      read: (c) => c.adminPrincipalArns[0],
      refused: (v) =>
        "adminPrincipalArns entries must be IAM role or user ARNs such as arn:aws:iam::123456789012:role/Admin " +
        `(not sts assumed-role ARNs), got adminPrincipalArns[0]=${json(v)}`,
    },
    certificateArn: {
      set: (v) => ({ ...BASE, certificateArn: v }),
      read: (c) => c.certificateArn,
      refused: (v) =>
        'certificateArn must be "" (HTTP only) or an ACM certificate ARN such as ' +
        `arn:aws:acm:us-west-2:123456789012:certificate/<uuid>, got ${json(v)}`,
    },
    modelName: {
      set: (v) => ({ ...BASE, modelName: v }),
      read: (c) => c.modelName,
      refused: (v) =>
        `modelName must be 1-63 of [a-z0-9._-] starting with a letter or digit, such as "churn", got ${json(v)}`,
    },
    servingNamespace: {
      set: (v) => ({ ...BASE, servingNamespace: v }),
      read: (c) => c.servingNamespace,
      refused: (v) =>
        `servingNamespace must be a DNS-1123 label (lowercase a-z, 0-9, '-', at most 63), got ${json(v)}`,
    },
    "blue.image": {
      set: (v) => ({ ...BASE, "blue.image": v }),
      read: (c) => c.blue.image,
      refused: (v) => `blue.image must be "" (the stack's image) or ${IMAGE}, got ${json(v)}`,
    },
    vpcCniAddonVersion: {
      set: (v) => ({ ...BASE, vpcCniAddonVersion: v }),
      read: (c) => c.vpcCniAddonVersion,
      refused: (v) =>
        `vpcCniAddonVersion must be "" or an EKS add-on version such as "v1.20.4-eksbuild.1", got ${json(v)}`,
    },
    onnxruntimeCudaSha256: {
      set: (v) => ({ ...BASE, onnxruntimeCudaSha256: v }),
      read: (c) => c.onnxruntimeCudaSha256,
      refused: (v) => `onnxruntimeCudaSha256 must be "" or 64 lowercase hex characters, got ${json(v)}`,
    },
  };
  const HEX64 = "0123456789abcdef".repeat(4);

  /** [key, value, accepted]: an accepted value parses to itself, a refused one gets exactly its key's message. */
  const FORMATS: ReadonlyArray<[string, string, boolean]> = [
    ["aws:region", "us-gov-west-1", true],
    ["aws:region", "us-iso-east-1", true],
    ["aws:region", "us-isob-east-1", true],
    ["aws:region", "ap-southeast-12", true], // two-digit numbers are the format's, for regions to come
    ["aws:region", "xus-west-2", false],
    ["aws:region", "us-west-2a", false], // an availability zone, not a region
    ["aws:region", "u-west-2", false],
    ["aws:region", "us-west-123", false],

    ["systemNodeInstanceType", "m7i-flex.large", true],
    ["systemNodeInstanceType", "c5.2xlarge", true],
    ["systemNodeInstanceType", "Xt3.large", false],
    ["systemNodeInstanceType", "t3.large.", false],

    ["gpuInstanceTypes", "g10.xlarge", true], // generations to come: g\d+, gr\d+, p\d+
    ["gpuInstanceTypes", "gr10.4xlarge", true],
    ["gpuInstanceTypes", "gr6e.4xlarge", true],
    ["gpuInstanceTypes", "p10.48xlarge", true],
    ["gpuInstanceTypes", "p4de.24xlarge", true],
    ["gpuInstanceTypes", "g6-flex.xlarge", true], // an option suffix, as in m7i-flex
    ["gpuInstanceTypes", "xg5.xlarge", false],
    ["gpuInstanceTypes", "g5g.2xlarge", false], // Graviton: the ARM AMI
    ["gpuInstanceTypes", "g6-7.xlarge", false],

    ["blue.modelVersion", "10.20.30", true],
    ["blue.modelVersion", "1.2.3", true],
    ["blue.modelVersion", "1.0.0-rc.1", true],
    ["blue.modelVersion", "1.0.0+build.5", true],
    ["blue.modelVersion", "1.2.3-beta.2+exp.sha.5114f85", true],
    ["blue.modelVersion", "01.0.0", false],
    ["blue.modelVersion", "1.0.0_x", false],
    ["blue.modelVersion", "1.0.0-", false],
    ["blue.modelVersion", "1.0.0+", false],
    ["blue.modelVersion", "1.0.0-rc 1", false],

    ["clusterVersion", "1.35.0", false], // a patch release is not an EKS version
    ["clusterVersion", "1.3", false],

    ["adminPrincipalArns", "arn:aws:iam::123456789012:user/alice", true],
    ["adminPrincipalArns", "arn:aws-us-gov:iam::123456789012:role/team/ops/Deploy+Bot@x=,.-", true],
    ["adminPrincipalArns", "arn:aws-cn:iam::123456789012:role/A", true],
    ["adminPrincipalArns", " arn:aws:iam::123456789012:role/Admin", false],
    ["adminPrincipalArns", "arn:aws:iam::123456789012:role/Admin ", false],
    ["adminPrincipalArns", "arn:aws:iam::123456789012:group/Admins", false],
    ["adminPrincipalArns", `arn:aws:iam::123456789012:role/${"a".repeat(513)}`, false],

    ["certificateArn", CERT, true],
    ["certificateArn", ` ${CERT}`, false],
    ["certificateArn", `${CERT}0`, false],
    ["certificateArn", CERT.toUpperCase(), false],

    ["modelName", "a", true],
    ["modelName", "churn_v2.onnx-x", true],
    ["modelName", "a".repeat(63), true],
    ["modelName", "a".repeat(64), false],
    ["modelName", "-churn", false],
    ["modelName", "churn model", false],

    ["servingNamespace", "a", true],
    ["servingNamespace", "ml-serving-2", true],
    ["servingNamespace", "a".repeat(63), true],
    ["servingNamespace", "a".repeat(64), false],
    ["servingNamespace", "-serving", false],
    ["servingNamespace", "serving-", false],

    ["blue.image", "registry.example.com:5000/team/my-app:v1.2.3", true],
    ["blue.image", "serving:1.0", true],
    ["blue.image", "serving:1", true],
    ["blue.image", "ghcr.io/org/sub_team/app-dev.x_y:latest", true],
    ["blue.image", `a.b-c/d@${DIGEST}`, true],
    ["blue.image", `serving:v1.2.3@${DIGEST}`, true],
    ["blue.image", "Registry/serving:1.0", false],
    ["blue.image", "registry:port/serving", false],
    ["blue.image", "serving:-1", false],
    ["blue.image", "serving@sha256:abc", false],

    ["vpcCniAddonVersion", "v1.20.4", true],
    ["vpcCniAddonVersion", "v10.0.0-eksbuild.1", true],
    ["vpcCniAddonVersion", "v1.19.10-eksbuild.1", true],
    ["vpcCniAddonVersion", "xv1.20.4-eksbuild.1", false],
    ["vpcCniAddonVersion", "v1.20.4+eksbuild.1", false],

    ["onnxruntimeCudaSha256", HEX64, true],
    ["onnxruntimeCudaSha256", `${HEX64}0`, false],
    ["onnxruntimeCudaSha256", HEX64.slice(1), false],
    ["onnxruntimeCudaSha256", `x${HEX64}`, false],
    ["onnxruntimeCudaSha256", `${HEX64}x`, false],
    ["onnxruntimeCudaSha256", HEX64.toUpperCase(), false],
  ];
  for (const [key, value, accepted] of FORMATS) {
    const shown = value.length > 40 ? `${value.slice(0, 37)}...` : value;
    if (accepted) {
      it(`${key} accepts ${JSON.stringify(shown)}`, () => {
        assert.equal(KEYS[key].read(parseConfig(KEYS[key].set(value))), value);
      });
    } else {
      it(`${key} refuses ${JSON.stringify(shown)}`, () => {
        assert.deepEqual(issuesOf(KEYS[key].set(value)), [KEYS[key].refused(value)]);
      });
    }
  }
});

describe("config: later rules (experiment, accelerator, preview sources, add-ons, production)", () => {
  const CERT = "arn:aws:acm:us-west-2:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
  const PINNED = {
    vpcCniAddonVersion: "v1.20.4-eksbuild.1",
    kubeProxyAddonVersion: "v1.35.0-eksbuild.2",
    corednsAddonVersion: "v1.12.4-eksbuild.1",
    metricsServerAddonVersion: "v0.8.0-eksbuild.1",
  };
  const PRODUCTION: RawConfig = { ...BASE, ...PINNED, environment: "production", certificateArn: CERT };
  const EXPERIMENT = { name: "ab", treatmentVersion: "1.2.0", treatmentPercent: 10 };

  const experimentFields: Array<[Record<string, unknown>, string]> = [
    [{ name: {} }, "green.experiment.name must be a string, got {}"],
    [{ treatmentVersion: [] }, "green.experiment.treatmentVersion must be a string, got []"],
    [{ treatmentPercent: "ten" }, 'green.experiment.treatmentPercent must be an integer, got "ten"'],
    [{ assignmentKey: {} }, "green.experiment.assignmentKey must be a string, got {}"],
  ];
  for (const [field, message] of experimentFields) {
    it(`an experiment field of the wrong type is named in full: ${message.split(" ")[0]}`, () => {
      const green = { modelVersion: "1.1.0", experiment: { ...EXPERIMENT, ...field } };
      assert.deepEqual(issuesOf({ ...BASE, green }), [message]);
    });
  }

  it("accepts every value of the enumerated keys", () => {
    for (const natGateways of ["single", "onePerAz"])
      assert.equal(parseConfig({ ...BASE, natGateways }).natGateways, natGateways);
    for (const gpuCapacityType of ["ON_DEMAND", "SPOT"])
      assert.equal(parseConfig({ ...BASE, gpuCapacityType }).gpuCapacityType, gpuCapacityType);
    const green = parseConfig({
      ...BASE,
      activeColor: "green",
      green: { modelVersion: "1.1.0", replicas: 2 },
    });
    assert.equal(green.activeColor, "green");
    for (const accelerator of ["", "gpu", "cpu"]) {
      const cfg = parseConfig({ ...BASE, "blue.accelerator": accelerator, "green.accelerator": accelerator });
      assert.deepEqual([cfg.blue.accelerator, cfg.green.accelerator], [accelerator, accelerator]);
    }
    const cpuOnly = parseConfig({ ...BASE, gpuEnabled: false, "blue.accelerator": "cpu" });
    assert.equal(cpuOnly.blue.accelerator, "cpu");
  });

  it("previewAllowedCidrs takes up to 3 CIDRs", () => {
    const cidrs = ["10.0.0.0/8", "192.168.0.0/16", "203.0.113.0/24"];
    assert.deepEqual(parseConfig({ ...BASE, previewAllowedCidrs: cidrs }).previewAllowedCidrs, cidrs);
    assert.deepEqual(
      parseConfig({ ...BASE, previewAllowedCidrs: '["203.0.113.7/32"]' }).previewAllowedCidrs,
      ["203.0.113.7/32"],
    );
  });

  it("a malformed kube-proxy version is reported once, not also as another minor", () => {
    assert.deepEqual(issuesOf({ ...BASE, kubeProxyAddonVersion: "xv1.34.1-eksbuild.1" }), [
      'kubeProxyAddonVersion must be "" or an EKS add-on version such as "v1.20.4-eksbuild.1", got "xv1.34.1-eksbuild.1"',
    ]);
  });

  it("a kube-proxy version is compared with clusterVersion only when that is well formed", () => {
    assert.deepEqual(
      issuesOf({ ...BASE, clusterVersion: "v1.35", kubeProxyAddonVersion: "v1.35.0-eksbuild.2" }),
      [
        'clusterVersion must be an EKS Kubernetes version "1.<minor>" with minor >= 30 (the serving pods\' ' +
          "preStop hook uses the sleep lifecycle action, on by default from Kubernetes 1.30), such as " +
          '"1.35", got "v1.35"',
      ],
    );
    const cfg = parseConfig({ ...BASE, clusterVersion: "1.34", kubeProxyAddonVersion: "v1.34.1-eksbuild.1" });
    assert.equal(cfg.kubeProxyAddonVersion, "v1.34.1-eksbuild.1");
  });

  it("production: a green live color needs 2 replicas too", () => {
    assert.deepEqual(
      issuesOf({ ...PRODUCTION, activeColor: "green", green: { modelVersion: "1.1.0", replicas: 1 } }),
      [
        'green.replicas must be at least 2 when environment is "production" (activeColor is green): with one ' +
          "replica a node drain evicts it before its replacement is healthy in the ALB, got 1. " +
          "Fix: `pulumi config set --path green.replicas 2`",
      ],
    );
    const cfg = parseConfig({
      ...PRODUCTION,
      activeColor: "green",
      blue: { replicas: 0 },
      green: { modelVersion: "1.1.0", replicas: 2 },
    });
    assert.deepEqual([cfg.activeColor, cfg.green.replicas, cfg.blue.replicas], ["green", 2, 0]);
  });

  it("production: an unknown active color is reported once, by its own rule", () => {
    assert.deepEqual(issuesOf({ ...PRODUCTION, activeColor: "purple" }), [
      'activeColor must be one of "blue", "green", got "purple"',
    ]);
  });

  it("a certificate is checked against the region only when the region is well formed", () => {
    assert.deepEqual(issuesOf({ certificateArn: CERT }), [
      "aws:region is required, e.g. `pulumi config set aws:region us-west-2`",
    ]);
    assert.deepEqual(issuesOf({ "aws:region": "us-west", certificateArn: CERT }), [
      'region must be an AWS region such as "us-west-2" (set aws:region), got "us-west"',
    ]);
  });

  it("only a dotted path of names into a known key gets the --path advice", () => {
    const key = "green.a-b.c.d";
    assert.deepEqual(issuesOf({ ...BASE, [key]: "1" }), [
      `unknown config key ${PROJECT_NAME}:${key} (known keys: ${KNOWN_KEYS})`,
    ]);
  });
});
