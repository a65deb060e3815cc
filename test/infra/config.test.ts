import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import {
  CONFIG_RULES,
  CONFIG_SCHEMA,
  coerceConfig,
  ConfigError,
  isCanonicalIpv4Cidr,
  isX86NvidiaInstanceType,
  parseConfig,
  type RawConfig,
  type StackConfig,
} from "../../infra/config";
import { readStackConfig } from "../../infra/harness/stackFiles";
import { REPO_ROOT } from "../../infra/paths";

const BASE: RawConfig = { "aws:region": "us-west-2" };

/** The config parseConfig returns for `{ aws:region: us-west-2 }`: every default. */
const DEFAULTS: StackConfig = {
  region: "us-west-2",
  vpcCidr: "10.0.0.0/16",
  availabilityZoneCount: 2,
  natGateways: "single",
  clusterVersion: "1.35",
  endpointPublicAccess: true,
  publicAccessCidrs: ["0.0.0.0/0"],
  endpointPrivateAccess: true,
  adminPrincipalArns: [],
  systemNodeInstanceType: "t3.large",
  systemNodeCount: 2,
  gpuEnabled: true,
  gpuInstanceTypes: ["g5.xlarge"],
  gpuNodesMin: 1,
  gpuNodesDesired: 1,
  gpuNodesMax: 3,
  gpuNodeDiskSizeGiB: 100,
  gpuCapacityType: "ON_DEMAND",
  nvidiaDevicePluginChartVersion: "0.17.1",
  lbControllerChartVersion: "1.13.3",
  clusterAutoscaler: true,
  clusterAutoscalerChartVersion: "9.59.0",
  modelName: "churn",
  seedBundledModel: true,
  modelNoncurrentVersionDays: 30,
  ecrKeepImages: 20,
  certificateArn: "",
  allowedIngressCidrs: ["0.0.0.0/0"],
  albAccessLogs: true,
  albAccessLogRetentionDays: 90,
  servingNamespace: "model-serving",
  servingPort: 8080,
  activeColor: "blue",
  canaryPercent: 0,
  blue: {
    modelVersion: "1.0.0",
    replicas: 2,
    maxReplicas: 4,
    image: "",
    accelerator: "",
    maxBatchSize: 32,
    maxBatchDelayMs: 0,
  },
  green: {
    modelVersion: "",
    replicas: 0,
    maxReplicas: 4,
    image: "",
    accelerator: "",
    maxBatchSize: 32,
    maxBatchDelayMs: 0,
  },
  servingCpu: "2",
  servingMemory: "4Gi",
  servingAccessLog: "errors",
  servingInferenceThread: "main",
  drainDelaySeconds: 5,
  preStopDelaySeconds: 15,
  deregistrationDelaySeconds: 30,
  environment: "dev",
  previewAllowedCidrs: [],
  vpcCniAddonVersion: "",
  kubeProxyAddonVersion: "",
  corednsAddonVersion: "",
  metricsServerAddonVersion: "",
  onnxruntimeCudaSha256: "",
  rollout: {
    steps: [10, 50],
    bakeSeconds: 300,
    maxErrorRate: 0.01,
    maxErrorRateRatio: 2,
    maxLatencyRatio: 1.5,
    minRequests: 100,
    maxInconclusiveWindows: 3,
    goldenTolerance: 1e-4,
    stickySeconds: 0,
  },
  alarmP99LatencyMs: 1000,
};

/** The batching fields of a color that leaves them unset: the server's defaults. */
const BATCHING_DEFAULTS = { maxBatchSize: 32, maxBatchDelayMs: 0 } as const;

/** BASE with overrides; an override of `undefined` removes the key. */
function withBase(overrides: Record<string, unknown>): Record<string, unknown> {
  const raw: Record<string, unknown> = { ...BASE, ...overrides };
  for (const [k, v] of Object.entries(raw)) if (v === undefined) delete raw[k];
  return raw;
}

/** parseConfig's error for `raw`, or a failure naming the input when it does not throw. */
function errorOf(raw: RawConfig): ConfigError {
  try {
    parseConfig(raw);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail(`parseConfig accepted ${JSON.stringify(raw)}`);
}

describe("config: parseConfig defaults and coercion", () => {
  it("applies every default when only aws:region is set", () => {
    assert.deepEqual(parseConfig(BASE), DEFAULTS);
  });

  it("returns a deeply frozen object", () => {
    const cfg = parseConfig(BASE);
    assert.ok(Object.isFrozen(cfg));
    assert.ok(Object.isFrozen(cfg.blue));
    assert.ok(Object.isFrozen(cfg.gpuInstanceTypes));
    assert.throws(() => (cfg.gpuInstanceTypes as string[]).push("p5.48xlarge"), TypeError);
  });

  it("coerces the strings the Pulumi CLI passes (numbers, booleans, JSON lists and objects)", () => {
    const cfg = parseConfig({
      ...BASE,
      canaryPercent: "10",
      gpuEnabled: "false",
      gpuInstanceTypes: '["g6.xlarge","g6.2xlarge"]',
      green: '{"modelVersion":"1.1.0","replicas":2}',
    });
    assert.equal(cfg.canaryPercent, 10);
    assert.equal(cfg.gpuEnabled, false);
    assert.deepEqual(cfg.gpuInstanceTypes, ["g6.xlarge", "g6.2xlarge"]);
    // Fields left out of a --path-set object keep their defaults.
    assert.deepEqual(cfg.green, {
      modelVersion: "1.1.0",
      replicas: 2,
      maxReplicas: 4,
      image: "",
      accelerator: "",
      ...BATCHING_DEFAULTS,
    });
  });

  it("folds `pulumi config set green.modelVersion 1.1.0` (a flat key, no --path) into the color", () => {
    const cfg = parseConfig({
      ...BASE,
      "green.modelVersion": "1.1.0",
      "green.replicas": "2",
      green: '{"maxReplicas":6}',
    });
    assert.deepEqual(cfg.green, {
      modelVersion: "1.1.0",
      replicas: 2,
      maxReplicas: 6,
      image: "",
      accelerator: "",
      ...BATCHING_DEFAULTS,
    });
  });

  it("accepts typed values as YAML gives them", () => {
    const cfg = parseConfig({
      ...BASE,
      systemNodeCount: 3,
      endpointPublicAccess: false,
      blue: { replicas: 1 },
    });
    assert.equal(cfg.systemNodeCount, 3);
    assert.equal(cfg.endpointPublicAccess, false);
    assert.deepEqual(cfg.blue, {
      modelVersion: "1.0.0",
      replicas: 1,
      maxReplicas: 4,
      image: "",
      accelerator: "",
      ...BATCHING_DEFAULTS,
    });
  });

  it("a color object written before the batching fields existed parses, with the server's batching defaults", () => {
    const cfg = parseConfig({
      ...BASE,
      blue: { modelVersion: "1.0.0", replicas: 1, maxReplicas: 2, image: "" },
      green: '{"modelVersion":"","replicas":0,"maxReplicas":2,"image":""}',
    });
    assert.deepEqual(cfg.blue, {
      modelVersion: "1.0.0",
      replicas: 1,
      maxReplicas: 2,
      image: "",
      accelerator: "",
      ...BATCHING_DEFAULTS,
    });
    assert.deepEqual(cfg.green, {
      modelVersion: "",
      replicas: 0,
      maxReplicas: 2,
      image: "",
      accelerator: "",
      ...BATCHING_DEFAULTS,
    });
  });

  it("sets batching per color: --path values, flat keys and JSON strings, the other color keeping its defaults", () => {
    const cfg = parseConfig({
      ...BASE,
      green: '{"maxBatchSize":"64"}',
      "green.maxBatchDelayMs": "2",
    });
    assert.deepEqual(
      [cfg.green.maxBatchSize, cfg.green.maxBatchDelayMs, cfg.blue.maxBatchSize, cfg.blue.maxBatchDelayMs],
      [64, 2, 32, 0],
    );
    const typed = parseConfig({ ...BASE, blue: { maxBatchSize: 128, maxBatchDelayMs: 5 } });
    assert.deepEqual([typed.blue.maxBatchSize, typed.blue.maxBatchDelayMs], [128, 5]);
    assert.deepEqual([typed.green.maxBatchSize, typed.green.maxBatchDelayMs], [32, 0]);
  });

  it("says to use --path for an experiment field set as a flat key", () => {
    assert.deepEqual(
      errorOf({ ...BASE, "green.experiment.name": "ab" }).issues.map((i) => i.message),
      [
        "unknown config key onnx-eks-serving:green.experiment.name (a path into green: " +
          "`pulumi config rm green.experiment.name` and use `pulumi config set --path green.experiment.name <value>`)",
      ],
    );
  });

  it("parses a color's experiment from --path values, defaulting the assignment key to header:X-User-Id", () => {
    const cfg = parseConfig({
      ...BASE,
      green: {
        modelVersion: "1.1.0",
        experiment: { name: "ranker-v2", treatmentVersion: "1.2.0", treatmentPercent: "20" },
      },
    });
    assert.deepEqual(cfg.green.experiment, {
      name: "ranker-v2",
      treatmentVersion: "1.2.0",
      treatmentPercent: 20,
      assignmentKey: "header:X-User-Id",
    });
    assert.equal(cfg.blue.experiment, undefined);
    const json = parseConfig({
      ...BASE,
      blue: JSON.stringify({
        experiment: {
          name: "ab",
          treatmentVersion: "1.1.0",
          treatmentPercent: 50,
          assignmentKey: "body:user_id",
        },
      }),
    });
    assert.equal(json.blue.experiment?.assignmentKey, "body:user_id");
  });

  it("accepts the batching bounds: maxBatchSize 1 and 65536, maxBatchDelayMs 0 and 60000", () => {
    const low = parseConfig({ ...BASE, green: { maxBatchSize: 1, maxBatchDelayMs: 0 } });
    const high = parseConfig({ ...BASE, green: { maxBatchSize: "65536", maxBatchDelayMs: "60000" } });
    assert.deepEqual([low.green.maxBatchSize, low.green.maxBatchDelayMs], [1, 0]);
    assert.deepEqual([high.green.maxBatchSize, high.green.maxBatchDelayMs], [65536, 60000]);
  });

  it("accepts every access-log policy and inference thread the server knows", () => {
    for (const policy of ["all", "errors", "none"])
      assert.equal(parseConfig({ ...BASE, servingAccessLog: policy }).servingAccessLog, policy);
    for (const thread of ["main", "worker"])
      assert.equal(parseConfig({ ...BASE, servingInferenceThread: thread }).servingInferenceThread, thread);
  });

  const resourceDefaults: ReadonlyArray<[string, Record<string, unknown>, string, string]> = [
    ["GPU nodes: 2 CPUs, 4Gi", {}, "2", "4Gi"],
    ["CPU-only: 500m, 1Gi", { gpuEnabled: "false" }, "500m", "1Gi"],
    [
      'CPU-only, "" set explicitly',
      { gpuEnabled: "false", servingCpu: "", servingMemory: "" },
      "500m",
      "1Gi",
    ],
    ["GPU nodes, explicit values win", { servingCpu: "3", servingMemory: "6Gi" }, "3", "6Gi"],
    [
      "CPU-only, explicit values win",
      { gpuEnabled: "false", servingCpu: "1.5", servingMemory: "2G" },
      "1.5",
      "2G",
    ],
    ["CPU-only, one explicit value", { gpuEnabled: "false", servingMemory: "768Mi" }, "500m", "768Mi"],
  ];
  for (const [name, overrides, cpu, memory] of resourceDefaults) {
    it(`servingCpu/servingMemory by mode: ${name}`, () => {
      const cfg = parseConfig({ ...BASE, ...overrides });
      assert.deepEqual([cfg.servingCpu, cfg.servingMemory], [cpu, memory]);
    });
  }

  it("accepts clusterVersion 1.30, the oldest with the preStop sleep action, and newer ones", () => {
    // Any such minor without the Cluster Autoscaler; with it, the minors it has a release for.
    for (const version of ["1.30", "1.34", "1.36"]) {
      const cfg = parseConfig({ ...BASE, clusterVersion: version, clusterAutoscaler: "false" });
      assert.equal(cfg.clusterVersion, version);
    }
    for (const version of ["1.32", "1.33", "1.34", "1.35"])
      assert.equal(parseConfig({ ...BASE, clusterVersion: version }).clusterVersion, version);
  });

  it("accepts a certificate in the stack's region and an image pinned by digest", () => {
    const image = `123456789012.dkr.ecr.us-west-2.amazonaws.com/serving@sha256:${"a".repeat(64)}`;
    const cert = "arn:aws:acm:us-west-2:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
    const cfg = parseConfig({ ...BASE, certificateArn: cert, green: { image, modelVersion: "1.1.0" } });
    assert.equal(cfg.certificateArn, cert);
    assert.equal(cfg.green.image, image);
  });
});

const STEPS_RULE =
  "rollout.steps must be at most 10 strictly ascending integers from 1 to 99 (percent to the receiving color " +
  "before the flip to 100), got ";

/** The rollout policy's cases: [case, raw overrides, exact expected issue messages]. */
const ROLLOUT_INVALID: ReadonlyArray<[string, Record<string, unknown>, readonly string[]]> = [
  ["rollout steps descending", { rollout: { steps: [50, 10] } }, [STEPS_RULE + "[50,10]"]],
  ["rollout step repeated", { rollout: { steps: [10, 10] } }, [STEPS_RULE + "[10,10]"]],
  ["rollout step of 100 (the flip is implied)", { rollout: { steps: [10, 100] } }, [STEPS_RULE + "[10,100]"]],
  ["rollout step of 0", { rollout: '{"steps":[0,50]}' }, [STEPS_RULE + "[0,50]"]],
  [
    "rollout with eleven steps",
    { rollout: { steps: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] } },
    [STEPS_RULE + "[1,2,3,4,5,6,7,8,9,10,11]"],
  ],
  [
    "rollout step not an integer",
    { rollout: { steps: [10, 12.5] } },
    ["rollout.steps[1] must be an integer, got 12.5"],
  ],
  [
    "rollout steps not a list",
    { "rollout.steps": "10" },
    ['rollout.steps must be a list of integers, got "10"'],
  ],
  [
    "rollout bake of zero",
    { rollout: { bakeSeconds: 0 } },
    ["rollout.bakeSeconds must be an integer from 1 to 86400, got 0"],
  ],
  [
    "rollout bake above a day, as a flat key",
    { "rollout.bakeSeconds": "86401" },
    ["rollout.bakeSeconds must be an integer from 1 to 86400, got 86401"],
  ],
  [
    "rollout error rate as a percent",
    { rollout: { maxErrorRate: 5 } },
    ["rollout.maxErrorRate must be a fraction from 0 to 1 (0.01 = 1% of requests), got 5"],
  ],
  [
    "rollout error rate with a unit",
    { rollout: { maxErrorRate: "1%" } },
    ['rollout.maxErrorRate must be a number, got "1%"'],
  ],
  [
    "rollout error-rate ratio below 1",
    { rollout: { maxErrorRateRatio: "0.5" } },
    ["rollout.maxErrorRateRatio must be a ratio >= 1 (receiving color's 5xx rate / live color's), got 0.5"],
  ],
  [
    "rollout latency ratio below 1",
    { rollout: { maxLatencyRatio: 0.9 } },
    ["rollout.maxLatencyRatio must be a ratio >= 1 (receiving color's p99 / live color's), got 0.9"],
  ],
  [
    "rollout minimum requests of zero",
    { rollout: { minRequests: 0 } },
    ["rollout.minRequests must be an integer from 1 to 1000000000, got 0"],
  ],
  [
    "rollout inconclusive windows above 100",
    { rollout: { maxInconclusiveWindows: 101 } },
    ["rollout.maxInconclusiveWindows must be an integer from 0 to 100, got 101"],
  ],
  [
    "rollout golden tolerance negative",
    { rollout: { goldenTolerance: -0.001 } },
    [
      "rollout.goldenTolerance must be a number >= 0 (largest absolute difference per output value), got -0.001",
    ],
  ],
  [
    "rollout stickiness above the ALB's 7 days",
    { rollout: { stickySeconds: 604801 } },
    ["rollout.stickySeconds must be an integer from 0 (off) to 604800 (7 days, the ALB's limit), got 604801"],
  ],
  [
    "rollout field misspelled",
    { rollout: { bakeSecs: 60 } },
    [
      'rollout has unknown field(s) "bakeSecs"; allowed: steps, bakeSeconds, maxErrorRate, maxErrorRateRatio, maxLatencyRatio, minRequests, maxInconclusiveWindows, goldenTolerance, stickySeconds',
    ],
  ],
  [
    "rollout not an object",
    { rollout: "[10,50]" },
    [
      'rollout must be an object {steps, bakeSeconds, maxErrorRate, maxErrorRateRatio, maxLatencyRatio, minRequests, maxInconclusiveWindows, goldenTolerance, stickySeconds}, got "[10,50]"',
    ],
  ],
  [
    "several rollout fields wrong at once",
    { rollout: { bakeSeconds: 0, maxLatencyRatio: 0 } },
    [
      "rollout.bakeSeconds must be an integer from 1 to 86400, got 0",
      "rollout.maxLatencyRatio must be a ratio >= 1 (receiving color's p99 / live color's), got 0",
    ],
  ],
  [
    "latency alarm of zero",
    { alarmP99LatencyMs: 0 },
    ["alarmP99LatencyMs must be an integer from 1 to 60000, got 0"],
  ],
];

/** [case, raw overrides, exact expected issue messages]. */
const INVALID: ReadonlyArray<[string, Record<string, unknown>, readonly string[]]> = [
  [
    "missing aws:region",
    { "aws:region": undefined },
    ["aws:region is required, e.g. `pulumi config set aws:region us-west-2`"],
  ],
  [
    "malformed region",
    { "aws:region": "us-west" },
    ['region must be an AWS region such as "us-west-2" (set aws:region), got "us-west"'],
  ],
  [
    "unknown key with a close match",
    { canaryPercnt: "10" },
    ["unknown config key onnx-eks-serving:canaryPercnt (did you mean canaryPercent?)"],
  ],
  ["canary above 100", { canaryPercent: 150 }, ["canaryPercent must be an integer from 0 to 100, got 150"]],
  ["canary not a number", { canaryPercent: "ten" }, ['canaryPercent must be an integer, got "ten"']],
  ["canary a fraction", { canaryPercent: "12.5" }, ['canaryPercent must be an integer, got "12.5"']],
  ["boolean spelled wrong", { gpuEnabled: "yes" }, ['gpuEnabled must be true or false, got "yes"']],
  [
    "list not JSON",
    { gpuInstanceTypes: "g5.xlarge" },
    ['gpuInstanceTypes must be a list of strings (JSON when set as one value), got "g5.xlarge"'],
  ],
  [
    "vpc CIDR not a CIDR",
    { vpcCidr: "10.0.0.0" },
    ['vpcCidr must be an IPv4 network CIDR such as "10.0.0.0/16", got "10.0.0.0"'],
  ],
  [
    "vpc CIDR with host bits",
    { vpcCidr: "10.0.0.1/16" },
    ['vpcCidr must be an IPv4 network CIDR such as "10.0.0.0/16", got "10.0.0.1/16"'],
  ],
  [
    "vpc CIDR too small",
    { vpcCidr: "10.0.0.0/24" },
    [
      'vpcCidr prefix must be from /16 to /20 (AWS allows /16 at most; smaller than /20 leaves no room for per-AZ subnets), got "10.0.0.0/24"',
    ],
  ],
  ["one AZ", { availabilityZoneCount: 1 }, ["availabilityZoneCount must be an integer from 2 to 6, got 1"]],
  ["NAT mode", { natGateways: "perAz" }, ['natGateways must be one of "single", "onePerAz", got "perAz"']],
  [
    "cluster version too old for the preStop sleep action",
    { clusterVersion: "1.29" },
    [
      'clusterVersion must be an EKS Kubernetes version "1.<minor>" with minor >= 30 (the serving pods\' preStop hook uses the sleep lifecycle action, on by default from Kubernetes 1.30), such as "1.35", got "1.29"',
    ],
  ],
  [
    "cluster version with v",
    { clusterVersion: "v1.35" },
    [
      'clusterVersion must be an EKS Kubernetes version "1.<minor>" with minor >= 30 (the serving pods\' preStop hook uses the sleep lifecycle action, on by default from Kubernetes 1.30), such as "1.35", got "v1.35"',
    ],
  ],
  [
    "no endpoint at all",
    { endpointPublicAccess: false, endpointPrivateAccess: false },
    ["endpointPublicAccess and endpointPrivateAccess cannot both be false: the EKS API would be unreachable"],
  ],
  [
    "public CIDR malformed",
    { publicAccessCidrs: ["203.0.113.7"] },
    [
      'publicAccessCidrs entries must be IPv4 network CIDRs such as "203.0.113.0/24", got publicAccessCidrs[0]="203.0.113.7"',
    ],
  ],
  [
    "public endpoint with no CIDR",
    { publicAccessCidrs: [] },
    [
      "publicAccessCidrs must list at least one CIDR while endpointPublicAccess is true, got [] (set endpointPublicAccess false for a private-only endpoint)",
    ],
  ],
  [
    "restricted public endpoint without private access",
    { publicAccessCidrs: ["203.0.113.0/24"], endpointPrivateAccess: false },
    [
      'endpointPrivateAccess must be true when publicAccessCidrs is restricted (["203.0.113.0/24"]): nodes in private subnets reach the API through the private endpoint',
    ],
  ],
  [
    "admin given as an assumed-role session",
    { adminPrincipalArns: ["arn:aws:sts::123456789012:assumed-role/Admin/alice"] },
    [
      'adminPrincipalArns entries must be IAM role or user ARNs such as arn:aws:iam::123456789012:role/Admin (not sts assumed-role ARNs), got adminPrincipalArns[0]="arn:aws:sts::123456789012:assumed-role/Admin/alice"',
    ],
  ],
  [
    "admin listed twice",
    { adminPrincipalArns: ["arn:aws:iam::123456789012:role/Admin", "arn:aws:iam::123456789012:role/Admin"] },
    [
      'adminPrincipalArns must not repeat entries, got ["arn:aws:iam::123456789012:role/Admin","arn:aws:iam::123456789012:role/Admin"]',
    ],
  ],
  [
    "system instance type format",
    { systemNodeInstanceType: "t3large" },
    ['systemNodeInstanceType must be an EC2 instance type such as "t3.large", got "t3large"'],
  ],
  ["no system nodes", { systemNodeCount: 0 }, ["systemNodeCount must be an integer from 1 to 50, got 0"]],
  [
    "GPU enabled without instance types",
    { gpuInstanceTypes: [] },
    ["gpuInstanceTypes must list at least one instance type while gpuEnabled is true, got []"],
  ],
  [
    "GPU instance type format",
    { gpuInstanceTypes: ["g5xlarge"] },
    [
      'gpuInstanceTypes entries must be x86_64 NVIDIA GPU instance types such as "g5.xlarge" (families g4dn, g5, g6, g6e, gr6, p4d, p5, ...), got gpuInstanceTypes[0]="g5xlarge"',
    ],
  ],
  [
    "CPU and Graviton instance types as GPU types",
    { gpuInstanceTypes: ["g5.xlarge", "m5.large", "g5g.xlarge"] },
    [
      'gpuInstanceTypes entries must be x86_64 NVIDIA GPU instance types such as "g5.xlarge" (families g4dn, g5, g6, g6e, gr6, p4d, p5, ...), got gpuInstanceTypes[1]="m5.large", gpuInstanceTypes[2]="g5g.xlarge"',
    ],
  ],
  [
    "GPU type listed twice",
    { gpuInstanceTypes: ["g5.xlarge", "g5.xlarge"] },
    ['gpuInstanceTypes must not repeat entries, got ["g5.xlarge","g5.xlarge"]'],
  ],
  [
    "desired below min",
    { gpuNodesMin: 2, gpuNodesDesired: 1, gpuNodesMax: 3 },
    [
      "gpuNodesDesired must satisfy gpuNodesMin <= gpuNodesDesired <= gpuNodesMax, got gpuNodesMin 2, gpuNodesDesired 1, gpuNodesMax 3",
    ],
  ],
  [
    "min above max",
    { gpuNodesMin: 4, gpuNodesDesired: 4, gpuNodesMax: 3 },
    [
      "gpuNodesDesired must satisfy gpuNodesMin <= gpuNodesDesired <= gpuNodesMax, got gpuNodesMin 4, gpuNodesDesired 4, gpuNodesMax 3",
      "gpuNodesMin must be <= gpuNodesMax, got gpuNodesMin 4 > gpuNodesMax 3",
    ],
  ],
  [
    "negative min",
    { gpuNodesMin: -1, gpuNodesDesired: 0 },
    ["gpuNodesMin must be an integer from 0 to 100, got -1"],
  ],
  [
    "max of zero",
    { gpuNodesMin: 0, gpuNodesDesired: 0, gpuNodesMax: 0 },
    ["gpuNodesMax must be an integer from 1 to 100, got 0"],
  ],
  [
    "GPU disk too small",
    { gpuNodeDiskSizeGiB: 8 },
    ["gpuNodeDiskSizeGiB must be an integer from 20 to 16384, got 8"],
  ],
  [
    "capacity type",
    { gpuCapacityType: "spot" },
    ['gpuCapacityType must be one of "ON_DEMAND", "SPOT", got "spot"'],
  ],
  [
    "device plugin chart with v",
    { nvidiaDevicePluginChartVersion: "v0.17.1" },
    [
      'nvidiaDevicePluginChartVersion must be a chart version such as "0.17.1" (no "v" prefix), got "v0.17.1"',
    ],
  ],
  [
    "controller chart not semver",
    { lbControllerChartVersion: "1.13" },
    ['lbControllerChartVersion must be a chart version such as "1.13.3" (no "v" prefix), got "1.13"'],
  ],
  [
    "autoscaler chart with v",
    { clusterAutoscalerChartVersion: "v9.59.0" },
    ['clusterAutoscalerChartVersion must be a chart version such as "9.59.0" (no "v" prefix), got "v9.59.0"'],
  ],
  [
    "autoscaler without a release for the cluster minor",
    { clusterVersion: "1.31" },
    [
      'clusterAutoscaler needs a Cluster Autoscaler release matching clusterVersion "1.31" (its minor must ' +
        "equal the Kubernetes minor); known: 1.32, 1.33, 1.34, 1.35. Set clusterAutoscaler false, or add the " +
        "release to infra/components/clusterAutoscaler.ts",
    ],
  ],
  [
    "model name",
    { modelName: "Churn Model" },
    [
      'modelName must be 1-63 of [a-z0-9._-] starting with a letter or digit, such as "churn", got "Churn Model"',
    ],
  ],
  [
    "noncurrent days",
    { modelNoncurrentVersionDays: 0 },
    ["modelNoncurrentVersionDays must be an integer from 1 to 3650, got 0"],
  ],
  ["ECR keep count", { ecrKeepImages: 0 }, ["ecrKeepImages must be an integer from 1 to 1000, got 0"]],
  [
    "certificate ARN malformed",
    { certificateArn: "arn:aws:acm:us-west-2:123:certificate/x" },
    [
      'certificateArn must be "" (HTTP only) or an ACM certificate ARN such as arn:aws:acm:us-west-2:123456789012:certificate/<uuid>, got "arn:aws:acm:us-west-2:123:certificate/x"',
    ],
  ],
  [
    "certificate from another region",
    { certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0" },
    [
      'certificateArn must be a certificate in the stack\'s region us-west-2 (an ALB only uses certificates from its own region), got "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"',
    ],
  ],
  [
    "no ingress CIDR",
    { allowedIngressCidrs: [] },
    ["allowedIngressCidrs must list at least one entry (the load balancer would admit nobody), got []"],
  ],
  [
    "ingress CIDR malformed",
    { allowedIngressCidrs: ["0.0.0.0/0", "10.1.2.3/8"] },
    [
      'allowedIngressCidrs entries must be IPv4 network CIDRs such as "0.0.0.0/0" or "203.0.113.0/24", got allowedIngressCidrs[1]="10.1.2.3/8"',
    ],
  ],
  [
    "namespace not a DNS label",
    { servingNamespace: "Model_Serving" },
    [
      "servingNamespace must be a DNS-1123 label (lowercase a-z, 0-9, '-', at most 63), got \"Model_Serving\"",
    ],
  ],
  [
    "system namespace",
    { servingNamespace: "kube-system" },
    ['servingNamespace must be a namespace of its own, not a system namespace, got "kube-system"'],
  ],
  ["privileged port", { servingPort: 80 }, ["servingPort must be an integer from 1024 to 65535, got 80"]],
  ["active color", { activeColor: "purple" }, ['activeColor must be one of "blue", "green", got "purple"']],
  [
    "model version not semver",
    { green: { modelVersion: "latest" } },
    ['green.modelVersion must be "" (none) or a semantic version such as 1.2.3, got "latest"'],
  ],
  [
    "negative replicas",
    { blue: { replicas: -1 } },
    ["blue.replicas must be an integer from 0 to 100, got -1"],
  ],
  [
    "max replicas of zero",
    { green: { maxReplicas: 0 } },
    ["green.maxReplicas must be an integer from 1 to 100, got 0"],
  ],
  [
    "max replicas below replicas",
    { blue: { replicas: 5, maxReplicas: 3 } },
    ["blue.maxReplicas must be >= blue.replicas, got maxReplicas 3 < replicas 5"],
  ],
  [
    "image reference malformed",
    { blue: { image: "not an image" } },
    [
      'blue.image must be "" (the stack\'s image) or an image reference such as 123456789012.dkr.ecr.us-west-2.amazonaws.com/serving@sha256:<64 hex>, got "not an image"',
    ],
  ],
  [
    "blue model version with a v",
    { blue: { modelVersion: "v1.0.0" } },
    ['blue.modelVersion must be "" (none) or a semantic version such as 1.2.3, got "v1.0.0"'],
  ],
  [
    "blue max replicas of zero",
    { blue: { replicas: 0, maxReplicas: 0 } },
    ["blue.maxReplicas must be an integer from 1 to 100, got 0"],
  ],
  [
    "green replicas above 100",
    { green: { replicas: 101, maxReplicas: 101 } },
    [
      "green.replicas must be an integer from 0 to 100, got 101",
      "green.maxReplicas must be an integer from 1 to 100, got 101",
    ],
  ],
  [
    "green max replicas below replicas",
    { green: { replicas: 2, maxReplicas: 1 } },
    ["green.maxReplicas must be >= green.replicas, got maxReplicas 1 < replicas 2"],
  ],
  [
    "green image with a space",
    { green: { image: "repo/serving:1 .0" } },
    [
      'green.image must be "" (the stack\'s image) or an image reference such as 123456789012.dkr.ecr.us-west-2.amazonaws.com/serving@sha256:<64 hex>, got "repo/serving:1 .0"',
    ],
  ],
  [
    "a color field set both flat and with --path",
    { "green.modelVersion": "1.2.0", green: { modelVersion: "1.1.0" } },
    [
      'green.modelVersion is set twice, as the key "green.modelVersion" ("1.2.0") and inside green ("1.1.0"); keep one: `pulumi config rm green.modelVersion` and use `pulumi config set --path green.modelVersion <value>`',
    ],
  ],
  [
    "color field misspelled",
    { green: { modelVerison: "1.1.0" } },
    [
      'green has unknown field(s) "modelVerison"; allowed: modelVersion, replicas, maxReplicas, image, accelerator, maxBatchSize, maxBatchDelayMs, experiment',
    ],
  ],
  [
    "batching field misspelled (Triton's spelling)",
    { blue: { max_batch_size: 64 } },
    [
      'blue has unknown field(s) "max_batch_size"; allowed: modelVersion, replicas, maxReplicas, image, accelerator, maxBatchSize, maxBatchDelayMs, experiment',
    ],
  ],
  [
    "green batch size of zero",
    { green: { maxBatchSize: 0 } },
    ["green.maxBatchSize must be an integer from 1 to 65536, got 0"],
  ],
  [
    "blue batch size above 65536",
    { blue: { maxBatchSize: 65537 } },
    ["blue.maxBatchSize must be an integer from 1 to 65536, got 65537"],
  ],
  [
    "blue batch delay negative",
    { blue: { maxBatchDelayMs: "-1" } },
    ["blue.maxBatchDelayMs must be an integer from 0 to 60000, got -1"],
  ],
  [
    "green batch delay above a minute, set as a flat key",
    { "green.maxBatchDelayMs": "60001" },
    ["green.maxBatchDelayMs must be an integer from 0 to 60000, got 60001"],
  ],
  [
    "batch size a fraction",
    { green: { maxBatchSize: 1.5 } },
    ["green.maxBatchSize must be an integer, got 1.5"],
  ],
  [
    "batch delay with a unit",
    { blue: { maxBatchDelayMs: "2ms" } },
    ['blue.maxBatchDelayMs must be an integer, got "2ms"'],
  ],
  [
    "batching out of range on both colors at once",
    { blue: { maxBatchSize: 0 }, green: { maxBatchDelayMs: 100000 } },
    [
      "blue.maxBatchSize must be an integer from 1 to 65536, got 0",
      "green.maxBatchDelayMs must be an integer from 0 to 60000, got 100000",
    ],
  ],
  [
    "an experiment with every field wrong",
    {
      green: {
        modelVersion: "1.1.0",
        experiment: {
          name: "Ranker V2",
          treatmentVersion: "v2",
          treatmentPercent: 100,
          assignmentKey: "X-User-Id",
        },
      },
    },
    [
      'green.experiment.name must be 1-63 of [a-z0-9-] starting and ending alphanumeric, got "Ranker V2"; ' +
        'green.experiment.treatmentVersion must be a semantic version such as 1.2.3, got "v2"; ' +
        "green.experiment.treatmentPercent must be an integer from 1 to 99, got 100; " +
        'green.experiment.assignmentKey must be "header:<name>" (e.g. header:X-User-Id) or "body:<field>" (e.g. body:user_id), got "X-User-Id"',
    ],
  ],
  [
    "an experiment whose treatment is the control, at 0%",
    { blue: { experiment: { name: "ab", treatmentVersion: "1.0.0", treatmentPercent: 0 } } },
    [
      'blue.experiment.treatmentVersion must differ from the color\'s modelVersion "1.0.0", got "1.0.0"; ' +
        "blue.experiment.treatmentPercent must be an integer from 1 to 99, got 0",
    ],
  ],
  [
    "an experiment on a color without a model version",
    { green: { experiment: { name: "ab", treatmentVersion: "1.2.0", treatmentPercent: 10 } } },
    ["green.experiment needs the color's modelVersion (the control) to be set"],
  ],
  [
    "an experiment without its required fields",
    { "green.experiment": { name: "ab" } },
    [
      'green.experiment needs green.experiment.treatmentVersion, green.experiment.treatmentPercent (got {"name":"ab"})',
    ],
  ],
  [
    "an experiment field misspelled",
    { green: { experiment: { name: "ab", treatmentVersion: "1.2.0", treatmentPercent: 10, share: 10 } } },
    [
      'green.experiment has unknown field(s) "share"; allowed: name, treatmentVersion, treatmentPercent, assignmentKey',
    ],
  ],
  [
    "color field of the wrong type",
    { green: { replicas: "two" } },
    ['green.replicas must be an integer, got "two"'],
  ],
  [
    "color not an object",
    { blue: "1.0.0" },
    ['blue must be an object (JSON when set as one value), got "1.0.0"'],
  ],
  [
    "CPU of zero",
    { servingCpu: "0" },
    ['servingCpu must be a positive Kubernetes CPU quantity such as "2", "1.5" or "500m", got "0"'],
  ],
  [
    "CPU with a unit word, in CPU-only mode",
    { gpuEnabled: "false", servingCpu: "2 cores" },
    ['servingCpu must be a positive Kubernetes CPU quantity such as "2", "1.5" or "500m", got "2 cores"'],
  ],
  [
    "fractional millicores",
    { servingCpu: "0.5m" },
    ['servingCpu must be a positive Kubernetes CPU quantity such as "2", "1.5" or "500m", got "0.5m"'],
  ],
  ["memory in bytes by mistake", { servingMemory: "4" }, ['servingMemory must be at least 256Mi, got "4"']],
  [
    "memory below what the server needs, in CPU-only mode",
    { gpuEnabled: "false", servingMemory: "128Mi" },
    ['servingMemory must be at least 256Mi, got "128Mi"'],
  ],
  [
    "memory in GB spelled wrong",
    { servingMemory: "4GB" },
    ['servingMemory must be a positive Kubernetes memory quantity such as "4Gi" or "512Mi", got "4GB"'],
  ],
  [
    "access log policy unknown",
    { servingAccessLog: "debug" },
    ['servingAccessLog must be one of "all", "errors", "none", got "debug"'],
  ],
  [
    "access log policy in capitals",
    { servingAccessLog: "ERRORS" },
    ['servingAccessLog must be one of "all", "errors", "none", got "ERRORS"'],
  ],
  [
    "inference thread unknown",
    { servingInferenceThread: "workers" },
    ['servingInferenceThread must be one of "main", "worker", got "workers"'],
  ],
  [
    "drain delay",
    { drainDelaySeconds: 301 },
    ["drainDelaySeconds must be an integer from 0 to 300, got 301"],
  ],
  [
    "preStop delay",
    { preStopDelaySeconds: -5 },
    ["preStopDelaySeconds must be an integer from 0 to 300, got -5"],
  ],
  [
    "ALB access logs switch not a boolean",
    { albAccessLogs: "on" },
    ['albAccessLogs must be true or false, got "on"'],
  ],
  [
    "ALB access log retention of zero days",
    { albAccessLogRetentionDays: 0 },
    ["albAccessLogRetentionDays must be an integer from 1 to 3650, got 0"],
  ],
  [
    "ALB access log retention above ten years",
    { albAccessLogRetentionDays: "3651" },
    ["albAccessLogRetentionDays must be an integer from 1 to 3650, got 3651"],
  ],
  [
    "ALB access log retention with a unit",
    { albAccessLogRetentionDays: "90d" },
    ['albAccessLogRetentionDays must be an integer, got "90d"'],
  ],
  [
    "deregistration delay above the ALB limit",
    { deregistrationDelaySeconds: 4000 },
    ["deregistrationDelaySeconds must be an integer from 0 to 3600, got 4000"],
  ],
  // ---- issue 14 ----
  [
    "an accelerator that is not gpu or cpu",
    { "green.accelerator": "tpu" },
    ['green.accelerator must be "" (what the model\'s manifest asks for), "gpu" or "cpu", got "tpu"'],
  ],
  [
    "a blue accelerator that is not gpu or cpu",
    { "blue.accelerator": "GPU" },
    ['blue.accelerator must be "" (what the model\'s manifest asks for), "gpu" or "cpu", got "GPU"'],
  ],
  [
    "a green gpu color on a stack without GPU nodes",
    { gpuEnabled: "false", "green.accelerator": "gpu" },
    [
      'green.accelerator is "gpu" but gpuEnabled is false: the stack has no GPU nodes. Set green.accelerator to "cpu" or "", or gpuEnabled to true',
    ],
  ],
  [
    "a gpu color on a stack without GPU nodes",
    { gpuEnabled: "false", "blue.accelerator": "gpu" },
    [
      'blue.accelerator is "gpu" but gpuEnabled is false: the stack has no GPU nodes. Set blue.accelerator to "cpu" or "", or gpuEnabled to true',
    ],
  ],
  [
    "an unknown environment",
    { environment: "prod" },
    ['environment must be one of "dev", "production", got "prod"'],
  ],
  [
    "a preview source that is not a CIDR",
    { previewAllowedCidrs: ["10.0.0.1"] },
    [
      'previewAllowedCidrs entries must be IPv4 network CIDRs such as "203.0.113.0/24", got previewAllowedCidrs[0]="10.0.0.1"',
    ],
  ],
  [
    "more preview sources than an ALB rule takes",
    { previewAllowedCidrs: ["10.0.0.0/8", "192.168.0.0/16", "172.16.0.0/12", "203.0.113.0/24"] },
    [
      "previewAllowedCidrs must list at most 3 CIDRs (an ALB rule takes 5 condition values; the preview headers use 2), got 4",
    ],
  ],
  ...(
    [
      ["vpcCniAddonVersion", "1.20.4"],
      ["kubeProxyAddonVersion", "latest"],
      ["corednsAddonVersion", "v1.12"],
      ["metricsServerAddonVersion", "0.8.0-eksbuild.1"],
    ] as const
  ).map(([key, value]): [string, Record<string, unknown>, string[]] => [
    `a malformed ${key}`,
    { [key]: value },
    [`${key} must be "" or an EKS add-on version such as "v1.20.4-eksbuild.1", got ${JSON.stringify(value)}`],
  ]),
  [
    "a kube-proxy add-on of another Kubernetes minor",
    { kubeProxyAddonVersion: "v1.34.1-eksbuild.2" },
    [
      'kubeProxyAddonVersion must have clusterVersion\'s minor (kube-proxy follows the control plane), got "v1.34.1-eksbuild.2" with clusterVersion "1.35"',
    ],
  ],
  [
    "a CUDA package checksum that is not sha256 hex",
    { onnxruntimeCudaSha256: "ABC" },
    ['onnxruntimeCudaSha256 must be "" or 64 lowercase hex characters, got "ABC"'],
  ],
  [
    "a production stack without a certificate, with one live replica and floating add-ons",
    { environment: "production", "blue.replicas": 1 },
    [
      'certificateArn must be set when environment is "production": production traffic is served over HTTPS only. Fix: `pulumi config set certificateArn arn:aws:acm:<region>:<account>:certificate/<id>`',
      'blue.replicas must be at least 2 when environment is "production" (activeColor is blue): with one replica a node drain evicts it before its replacement is healthy in the ALB, got 1. Fix: `pulumi config set --path blue.replicas 2`',
      ...(["vpc-cni", "kube-proxy", "coredns", "metrics-server"] as const).map(
        (addon) =>
          `${{ "vpc-cni": "vpcCniAddonVersion", "kube-proxy": "kubeProxyAddonVersion", coredns: "corednsAddonVersion", "metrics-server": "metricsServerAddonVersion" }[addon]} must be pinned when environment is "production", so an add-on upgrade is a reviewed change. Find EKS's default: \`aws eks describe-addon-versions --addon-name ${addon} --kubernetes-version <clusterVersion> --query 'addons[].addonVersions[?compatibilities[?defaultVersion]].addonVersion' --output text\``,
      ),
    ],
  ],
  ...ROLLOUT_INVALID,
];

describe("config: the rollout policy", () => {
  it("a partial object keeps the defaults of the fields it leaves out", () => {
    const cfg = parseConfig({ ...BASE, rollout: { steps: [5, 25, 50], bakeSeconds: 120 } });
    assert.deepEqual(cfg.rollout, { ...DEFAULTS.rollout, steps: [5, 25, 50], bakeSeconds: 120 });
  });

  it("coerces the strings the CLI passes: a JSON object, --path values and flat keys", () => {
    const cfg = parseConfig({
      ...BASE,
      rollout: '{"maxErrorRate":"0.005","steps":["20"]}',
      "rollout.maxLatencyRatio": "1.25",
      "rollout.goldenTolerance": "1e-3",
      "rollout.stickySeconds": "60",
    });
    assert.deepEqual(cfg.rollout, {
      ...DEFAULTS.rollout,
      steps: [20],
      maxErrorRate: 0.005,
      maxLatencyRatio: 1.25,
      goldenTolerance: 0.001,
      stickySeconds: 60,
    });
  });

  it("accepts no steps (golden gate, then the flip) and the bounds of every field", () => {
    const low = parseConfig({
      ...BASE,
      rollout: {
        steps: [],
        bakeSeconds: 1,
        maxErrorRate: 0,
        maxErrorRateRatio: 1,
        maxLatencyRatio: 1,
        minRequests: 1,
        maxInconclusiveWindows: 0,
        goldenTolerance: 0,
        stickySeconds: 0,
      },
    });
    assert.deepEqual(low.rollout.steps, []);
    const high = parseConfig({
      ...BASE,
      rollout: {
        steps: [1, 99],
        bakeSeconds: 86400,
        maxErrorRate: 1,
        maxInconclusiveWindows: 100,
        stickySeconds: 604800,
      },
    });
    assert.deepEqual(
      [high.rollout.steps, high.rollout.bakeSeconds, high.rollout.maxErrorRate, high.rollout.stickySeconds],
      [[1, 99], 86400, 1, 604800],
    );
  });

  it("a stack file without a rollout key gets the policy defaults, deeply frozen", () => {
    const cfg = parseConfig(readStackConfig("dev"));
    assert.deepEqual(cfg.rollout, DEFAULTS.rollout);
    assert.ok(Object.isFrozen(cfg.rollout.steps));
  });
});

describe("config: validation table", () => {
  for (const [name, overrides, messages] of INVALID) {
    it(`rejects ${name}, naming the key and the value received`, () => {
      const err = errorOf(withBase(overrides));
      assert.deepEqual(
        err.issues.map((i) => i.message),
        messages,
      );
      assert.ok(err.message.includes(messages[0]), `message should include the issue: ${err.message}`);
      // Each issue is filed under a key, and its message names that key.
      for (const { key, message } of err.issues) {
        assert.ok(key !== "" && message.includes(key), `issue key ${JSON.stringify(key)}: ${message}`);
      }
    });
  }

  it("reports every problem at once, one line each", () => {
    const err = errorOf({ ...BASE, canaryPercent: 150, natGateways: "many", servingPort: 80 });
    assert.deepEqual(
      err.issues.map((i) => i.key),
      ["natGateways", "servingPort", "canaryPercent"],
    );
    assert.match(err.message, /^Invalid stack configuration \(3 problems\):\n {2}- natGateways/);
  });

  it("every rule of CONFIG_RULES is exercised by a case above", () => {
    const uncovered = CONFIG_RULES.map((rule, i) => ({ rule, i })).filter(
      ({ rule }) =>
        !INVALID.some(([, overrides, messages]) => {
          const { config } = coerceConfig(withBase(overrides));
          return rule.violated(config) && messages.includes(rule.message(config));
        }),
    );
    assert.deepEqual(
      uncovered.map(({ rule, i }) => `#${i} ${rule.key}`),
      [],
    );
  });
});

describe("config: production stacks (issue 14)", () => {
  it("a production stack with HTTPS, two live replicas and pinned add-ons parses", () => {
    const cfg = parseConfig(
      withBase({
        environment: "production",
        certificateArn: "arn:aws:acm:us-west-2:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        vpcCniAddonVersion: "v1.20.4-eksbuild.1",
        kubeProxyAddonVersion: "v1.35.0-eksbuild.2",
        corednsAddonVersion: "v1.12.4-eksbuild.1",
        metricsServerAddonVersion: "v0.8.0-eksbuild.1",
      }),
    );
    assert.equal(cfg.environment, "production");
    assert.equal(cfg.blue.replicas, 2);
  });
});

describe("config: formats", () => {
  const cidrs: Array<[string, boolean]> = [
    ["10.0.0.0/16", true],
    ["0.0.0.0/0", true],
    ["203.0.113.7/32", true],
    ["10.0.0.1/16", false],
    ["10.0.0.0/33", false],
    ["256.0.0.0/8", false],
    ["10.0.0/16", false],
    ["", false],
  ];
  for (const [value, ok] of cidrs) {
    it(`isCanonicalIpv4Cidr(${JSON.stringify(value)}) is ${ok}`, () =>
      assert.equal(isCanonicalIpv4Cidr(value), ok));
  }
  const gpuTypes: Array<[string, boolean]> = [
    ["g4dn.xlarge", true],
    ["g5.xlarge", true],
    ["g6e.12xlarge", true],
    ["gr6.4xlarge", true],
    ["p4d.24xlarge", true],
    ["p5.48xlarge", true],
    ["g5g.xlarge", false],
    ["g4ad.xlarge", false],
    ["m5.large", false],
    ["inf2.xlarge", false],
    ["g5", false],
  ];
  for (const [value, ok] of gpuTypes) {
    it(`isX86NvidiaInstanceType(${JSON.stringify(value)}) is ${ok}`, () =>
      assert.equal(isX86NvidiaInstanceType(value), ok));
  }
});

describe("config: Pulumi.yaml and the shipped stack", () => {
  const project = yaml.load(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as {
    name: string;
    runtime: { name: string; options: Record<string, unknown> };
    config: Record<
      string,
      { type?: string; items?: { type: string }; default: unknown; description: string }
    >;
  };

  it("names the project and the nodejs runtime with TypeScript", () => {
    assert.equal(project.name, "onnx-eks-serving");
    assert.equal(project.runtime.name, "nodejs");
    assert.equal(project.runtime.options.typescript, true);
  });

  it("declares exactly the keys of CONFIG_SCHEMA", () => {
    assert.deepEqual(
      Object.keys(project.config),
      CONFIG_SCHEMA.map((s) => s.key),
    );
  });

  for (const spec of CONFIG_SCHEMA) {
    it(`declares ${spec.key} with the same type, default and description as config.ts`, () => {
      const decl = project.config[spec.key];
      const expectedType = {
        string: "string",
        integer: "integer",
        boolean: "boolean",
        stringList: "array",
        color: undefined,
        rollout: undefined,
      }[spec.kind];
      assert.equal(decl.type, expectedType, `${spec.key}: type`);
      if (expectedType === "array") assert.deepEqual(decl.items, { type: "string" }, `${spec.key}: items`);
      assert.deepEqual(decl.default, spec.default, `${spec.key}: default`);
      assert.equal(decl.description, spec.description, `${spec.key}: description`);
    });
  }

  it("Pulumi.dev.yaml parses: us-west-2, a small GPU group, canary 0, blue serving 1.0.0", () => {
    const cfg = parseConfig(readStackConfig("dev"));
    assert.equal(cfg.region, "us-west-2");
    assert.equal(cfg.clusterVersion, "1.35");
    assert.equal(cfg.gpuEnabled, true);
    assert.deepEqual(cfg.gpuInstanceTypes, ["g5.xlarge"]);
    assert.deepEqual([cfg.gpuNodesMin, cfg.gpuNodesDesired, cfg.gpuNodesMax], [0, 0, 3]);
    assert.equal(cfg.natGateways, "single");
    assert.equal(cfg.activeColor, "blue");
    assert.equal(cfg.canaryPercent, 0);
    assert.deepEqual(cfg.blue, {
      modelVersion: "1.0.0",
      replicas: 1,
      maxReplicas: 2,
      image: "",
      accelerator: "",
      ...BATCHING_DEFAULTS,
    });
    assert.deepEqual(cfg.green, {
      modelVersion: "",
      replicas: 0,
      maxReplicas: 2,
      image: "",
      accelerator: "",
      ...BATCHING_DEFAULTS,
    });
    assert.deepEqual([cfg.servingAccessLog, cfg.servingInferenceThread], ["errors", "main"]);
  });
});
