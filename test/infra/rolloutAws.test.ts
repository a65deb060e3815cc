/**
 * The rollout's AWS adapters: the Automation API calls through the one thin port, the ELBv2 and
 * CloudWatch calls against the SDK's response shapes (typed as the SDK's outputs, so a renamed
 * field fails to compile), the registry and the record against a real S3-compatible server, and
 * the golden set against the real model server on loopback.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import {
  GetMetricDataCommand,
  type GetMetricDataCommandOutput,
  type MetricDataResult,
} from "@aws-sdk/client-cloudwatch";
import {
  DescribeRulesCommand,
  type DescribeRulesCommandOutput,
  DescribeTargetHealthCommand,
  type DescribeTargetHealthCommandOutput,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { AwsCapacity, CapacityError, floorConfig } from "../../infra/rollout/aws/capacity";
import { AwsGolden, GoldenRouteError, outputsOf, previewHeaders } from "../../infra/rollout/aws/golden";
import { portsFor } from "../../infra/rollout/aws/index";
import {
  CloudWatchMetrics,
  mergeResults,
  metricDataQueries,
  parseMetricData,
  windowPeriodSeconds,
} from "../../infra/rollout/aws/metrics";
import { parseRolloutRecord, S3RolloutRecord } from "../../infra/rollout/aws/record";
import {
  automationDriver,
  type AutomationStack,
  type StackDriver,
} from "../../infra/rollout/aws/stackDriver";
import { parseRolloutTargets, type RolloutTargets } from "../../infra/rollout/aws/targets";
import {
  AwsTraffic,
  routingFromRules,
  TrafficVerificationError,
  type Elbv2Sender,
} from "../../infra/rollout/aws/traffic";
import type { Clock, GoldenCase, Routing } from "../../infra/rollout/ports";
import { formatGoldenSet } from "../../serving/src/model/golden";
import { startS3Server, type S3TestServer } from "../support/s3Server";
import { softmax2, startTestServer, type TestServer } from "../serving/helpers";

const ARN = "arn:aws:elasticloadbalancing:us-west-2:123456789012";
const TG = {
  blue: `${ARN}:targetgroup/serving-blue-b71/b7167eb9056da053`,
  green: `${ARN}:targetgroup/serving-green-d87/d87fc9967ef540c5`,
};
const TARGETS: RolloutTargets = {
  modelName: "test-model",
  namespace: "model-serving",
  loadBalancerArnSuffix: "app/serving-058/058c9f4756caae1a",
  weightedRule: {
    id: `${ARN}:listener-rule/app/serving-058/058c9f4756caae1a/aa/weighted`,
    urn: "urn:pulumi:dev::onnx-eks-serving::onnx-eks-serving:traffic:TrafficRouter$aws:lb/listenerRule:ListenerRule::serving-traffic-weighted",
  },
  previewRule: {
    id: `${ARN}:listener-rule/app/serving-058/058c9f4756caae1a/aa/preview`,
    urn: "urn:pulumi:dev::onnx-eks-serving::onnx-eks-serving:traffic:TrafficRouter$aws:lb/listenerRule:ListenerRule::serving-traffic-preview",
  },
  colors: {
    blue: {
      targetGroupArn: TG.blue,
      targetGroupArnSuffix: "targetgroup/serving-blue-b71/b7167eb9056da053",
      deployment: { id: "model-server-blue", urn: "urn:deployment-blue" },
      hpa: { id: "model-server-blue", urn: "urn:hpa-blue" },
    },
    green: {
      targetGroupArn: TG.green,
      targetGroupArnSuffix: "targetgroup/serving-green-d87/d87fc9967ef540c5",
      deployment: { id: "model-server-green", urn: "urn:deployment-green" },
      hpa: { id: "model-server-green", urn: "urn:hpa-green" },
    },
  },
};

/** DescribeRules as the ALB answers it for our two rules (a weighted forward, a one-group forward). */
function describeRules(
  weights: { blue: number; green: number },
  preview: "blue" | "green",
): DescribeRulesCommandOutput {
  return {
    $metadata: { httpStatusCode: 200, requestId: "5f5bd3f3-0000-4000-8000-000000000001" },
    Rules: [
      {
        RuleArn: TARGETS.weightedRule.id,
        Priority: "1000",
        Conditions: [{ Field: "path-pattern", Values: ["/*"], PathPatternConfig: { Values: ["/*"] } }],
        Actions: [
          {
            Type: "forward",
            Order: 1,
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: TG.blue, Weight: weights.blue },
                { TargetGroupArn: TG.green, Weight: weights.green },
              ],
              TargetGroupStickinessConfig: { Enabled: false },
            },
          },
        ],
        IsDefault: false,
      },
      {
        RuleArn: TARGETS.previewRule.id,
        Priority: "10",
        Conditions: [
          {
            Field: "http-header",
            HttpHeaderConfig: { HttpHeaderName: "X-Serving-Color", Values: ["preview"] },
          },
        ],
        Actions: [
          {
            Type: "forward",
            Order: 1,
            TargetGroupArn: TG[preview],
            ForwardConfig: {
              TargetGroups: [{ TargetGroupArn: TG[preview], Weight: 1 }],
              TargetGroupStickinessConfig: { Enabled: false },
            },
          },
        ],
        IsDefault: false,
      },
    ],
  };
}

/** DescribeTargetHealth as the ALB answers it: pods by IP, in every state a rollout sees. */
function targetHealth(states: string[]): DescribeTargetHealthCommandOutput {
  return {
    $metadata: { httpStatusCode: 200 },
    TargetHealthDescriptions: states.map((state, i) => ({
      Target: { Id: `10.0.1.${10 + i}`, Port: 8080, AvailabilityZone: "us-west-2a" },
      HealthCheckPort: "8080",
      TargetHealth:
        state === "healthy"
          ? { State: "healthy" }
          : {
              State: state as "initial",
              Reason: "Elb.RegistrationInProgress",
              Description: "Target registration is in progress",
            },
    })),
  };
}

/** A StackDriver that records every call. */
class RecordingDriver implements StackDriver {
  readonly calls: unknown[][] = [];
  constructor(
    private readonly cfg: Record<string, string> = { "aws:region": "us-west-2" },
    private readonly outs: Record<string, { value: unknown; secret: boolean }> = {},
  ) {}
  async outputs() {
    return this.outs;
  }
  async config() {
    return this.cfg;
  }
  async setConfig(values: Readonly<Record<string, string>>) {
    this.calls.push(["setConfig", { ...values }]);
  }
  async up(targets: readonly string[], message: string) {
    this.calls.push(["up", [...targets], message]);
  }
}

/** ELBv2 answers in sequence per command type. */
function fakeElbv2(answers: {
  rules?: DescribeRulesCommandOutput[];
  health?: DescribeTargetHealthCommandOutput[];
}): Elbv2Sender & { sent: unknown[] } {
  const sent: unknown[] = [];
  const next = <T>(list: T[] | undefined, what: string): T => {
    if (!list || list.length === 0) throw new Error(`no more ${what} answers`);
    return list.length > 1 ? (list.shift() as T) : list[0];
  };
  return {
    sent,
    send: (async (command: DescribeRulesCommand | DescribeTargetHealthCommand) => {
      sent.push(command.input);
      if (command instanceof DescribeRulesCommand) return next(answers.rules, "DescribeRules");
      return next(answers.health, "DescribeTargetHealth");
    }) as Elbv2Sender["send"],
  };
}

describe("rollout on AWS: the Automation API port", () => {
  function fakeStack(): AutomationStack & { calls: unknown[][] } {
    const calls: unknown[][] = [];
    return {
      calls,
      outputs: async () => ({
        url: { value: "http://alb", secret: false },
        previewHeader: { value: "X: y", secret: true },
      }),
      getAllConfig: async () => ({
        "aws:region": { value: "us-west-2", secret: false },
        "onnx-eks-serving:activeColor": { value: "blue", secret: false },
        "onnx-eks-serving:green": { value: '{"replicas":1}', secret: false },
        "aws:profile": { value: "ci", secret: false },
      }),
      setAllConfig: async (config, path) => {
        calls.push(["setAllConfig", config, path]);
      },
      up: async (opts) => {
        calls.push(["up", { ...opts, onOutput: typeof opts?.onOutput }]);
        return {} as Awaited<ReturnType<AutomationStack["up"]>>;
      },
    };
  }

  it("sets config keys in the project namespace with path syntax", async () => {
    const stack = fakeStack();
    await automationDriver(stack).setConfig({ activeColor: "green", "green.replicas": "3" });
    assert.deepEqual(stack.calls, [
      [
        "setAllConfig",
        {
          "onnx-eks-serving:activeColor": { value: "green" },
          "onnx-eks-serving:green.replicas": { value: "3" },
        },
        true,
      ],
    ]);
  });

  it("runs up on exactly the named resources, never their dependents", async () => {
    const stack = fakeStack();
    await automationDriver(stack).up(["urn:a", "urn:b"], "rollout: step");
    assert.deepEqual(stack.calls, [
      [
        "up",
        {
          target: ["urn:a", "urn:b"],
          targetDependents: false,
          message: "rollout: step",
          onOutput: "function",
        },
      ],
    ]);
  });

  it("refuses an up that names no resource (it would update the whole stack)", async () => {
    await assert.rejects(automationDriver(fakeStack()).up([], "x"), /refusing an untargeted up/);
  });

  it("reads config as the program does (namespace stripped, aws:region kept, other namespaces left out) and outputs with their secret flag", async () => {
    const driver = automationDriver(fakeStack());
    assert.deepEqual(await driver.config(), {
      "aws:region": "us-west-2",
      activeColor: "blue",
      green: '{"replicas":1}',
    });
    assert.deepEqual((await driver.outputs()).previewHeader, { value: "X: y", secret: true });
  });
});

describe("rollout on AWS: traffic (targeted up, then DescribeRules until the weights show)", () => {
  const table: ReadonlyArray<[string, { blue: number; green: number }, "blue" | "green", Routing]> = [
    ["blue live", { blue: 100, green: 0 }, "green", { activeColor: "blue", canaryPercent: 0 }],
    ["10% canary to green", { blue: 90, green: 10 }, "green", { activeColor: "blue", canaryPercent: 10 }],
    ["flipped to green", { blue: 0, green: 100 }, "blue", { activeColor: "green", canaryPercent: 0 }],
    ["50% back to blue", { blue: 50, green: 50 }, "blue", { activeColor: "green", canaryPercent: 50 }],
  ];
  for (const [name, weights, preview, routing] of table) {
    it(`routingFromRules: ${name}`, () => {
      const [w, p] = describeRules(weights, preview).Rules!;
      assert.deepEqual(routingFromRules(w, p, TARGETS), routing);
    });
  }

  it("routingFromRules refuses a preview rule that reaches no target group of the stack", () => {
    const [w, p] = describeRules({ blue: 100, green: 0 }, "green").Rules!;
    const other = { ...p, Actions: [{ Type: "forward" as const, TargetGroupArn: `${ARN}:targetgroup/x/1` }] };
    assert.throws(() => routingFromRules(w, other, TARGETS), TrafficVerificationError);
  });

  it("current() asks DescribeRules for the two rule ARNs", async () => {
    const elbv2 = fakeElbv2({ rules: [describeRules({ blue: 90, green: 10 }, "green")] });
    const traffic = new AwsTraffic({ driver: new RecordingDriver(), elbv2, targets: TARGETS });
    assert.deepEqual(await traffic.current(), { activeColor: "blue", canaryPercent: 10 });
    assert.deepEqual(elbv2.sent, [{ RuleArns: [TARGETS.weightedRule.id, TARGETS.previewRule.id] }]);
  });

  it("apply() sets activeColor and canaryPercent, ups only the two rules, and waits until the ALB shows them", async () => {
    const driver = new RecordingDriver();
    // The first read still shows the old weights (ELBv2 is eventually consistent).
    const elbv2 = fakeElbv2({
      rules: [
        describeRules({ blue: 100, green: 0 }, "green"),
        describeRules({ blue: 50, green: 50 }, "green"),
      ],
    });
    const sleeps: number[] = [];
    const traffic = new AwsTraffic({
      driver,
      elbv2,
      targets: TARGETS,
      sleep: async (ms) => void sleeps.push(ms),
    });
    await traffic.apply({ activeColor: "blue", canaryPercent: 50 });
    assert.deepEqual(driver.calls, [
      ["setConfig", { activeColor: "blue", canaryPercent: "50" }],
      ["up", [TARGETS.weightedRule.urn, TARGETS.previewRule.urn], "rollout: blue live, 50% to green"],
    ]);
    assert.equal(elbv2.sent.length, 2);
    assert.deepEqual(sleeps, [3000]);
  });

  describe("with gRPC rules (a certificate)", () => {
    const GRPC_TG = {
      blue: `${ARN}:targetgroup/serving-blue-grpc-1/1111111111111111`,
      green: `${ARN}:targetgroup/serving-green-grpc-2/2222222222222222`,
    };
    const WITH_GRPC: RolloutTargets = {
      ...TARGETS,
      grpc: {
        weightedRule: { id: `${TARGETS.weightedRule.id}-grpc`, urn: "urn:grpc-weighted" },
        previewRule: { id: `${TARGETS.previewRule.id}-grpc`, urn: "urn:grpc-preview" },
        targetGroupArns: GRPC_TG,
      },
    };
    /** The four rules: HTTP as given, gRPC with its own weights and preview color. */
    function describeFour(
      http: { blue: number; green: number },
      grpc: { blue: number; green: number },
      preview: "blue" | "green",
    ): DescribeRulesCommandOutput {
      const [w, p] = describeRules(http, preview).Rules!;
      const gw = {
        ...w,
        RuleArn: WITH_GRPC.grpc!.weightedRule.id,
        Actions: [
          {
            Type: "forward" as const,
            ForwardConfig: {
              TargetGroups: [
                { TargetGroupArn: GRPC_TG.blue, Weight: grpc.blue },
                { TargetGroupArn: GRPC_TG.green, Weight: grpc.green },
              ],
            },
          },
        ],
      };
      const gp = {
        ...p,
        RuleArn: WITH_GRPC.grpc!.previewRule.id,
        Actions: [{ Type: "forward" as const, TargetGroupArn: GRPC_TG[preview] }],
      };
      return { $metadata: {}, Rules: [w, p, gw, gp] };
    }

    it("apply() ups the HTTP and gRPC rules together and waits until both protocols route alike", async () => {
      const driver = new RecordingDriver();
      const elbv2 = fakeElbv2({
        rules: [
          describeFour({ blue: 90, green: 10 }, { blue: 100, green: 0 }, "green"), // gRPC not there yet
          describeFour({ blue: 90, green: 10 }, { blue: 90, green: 10 }, "green"),
        ],
      });
      const traffic = new AwsTraffic({ driver, elbv2, targets: WITH_GRPC, sleep: async () => undefined });
      await traffic.apply({ activeColor: "blue", canaryPercent: 10 });
      assert.deepEqual(driver.calls[1], [
        "up",
        [TARGETS.weightedRule.urn, TARGETS.previewRule.urn, "urn:grpc-weighted", "urn:grpc-preview"],
        "rollout: blue live, 10% to green",
      ]);
      assert.equal(elbv2.sent.length, 2);
      assert.deepEqual(elbv2.sent[0], {
        RuleArns: [
          TARGETS.weightedRule.id,
          TARGETS.previewRule.id,
          WITH_GRPC.grpc!.weightedRule.id,
          WITH_GRPC.grpc!.previewRule.id,
        ],
      });
    });

    it("current() refuses a routing where gRPC and HTTP differ, naming both", async () => {
      const elbv2 = fakeElbv2({
        rules: [describeFour({ blue: 0, green: 100 }, { blue: 100, green: 0 }, "blue")],
      });
      const traffic = new AwsTraffic({ driver: new RecordingDriver(), elbv2, targets: WITH_GRPC });
      await assert.rejects(
        traffic.current(),
        (e: Error) =>
          e instanceof TrafficVerificationError &&
          e.message ===
            'the gRPC rules route {"activeColor":"green","canaryPercent":100} but the HTTP rules ' +
              '{"activeColor":"green","canaryPercent":0}',
      );
    });
  });

  it("apply() rejects when the weights never show, naming what was seen", async () => {
    const elbv2 = fakeElbv2({ rules: [describeRules({ blue: 100, green: 0 }, "green")] });
    const traffic = new AwsTraffic({
      driver: new RecordingDriver(),
      elbv2,
      targets: TARGETS,
      verifyAttempts: 3,
      sleep: async () => undefined,
    });
    await assert.rejects(
      traffic.apply({ activeColor: "green", canaryPercent: 0 }),
      (e: Error) =>
        e instanceof TrafficVerificationError &&
        e.message ===
          'the listener rules did not take the routing {"activeColor":"green","canaryPercent":0} after 3 reads ' +
            '(last seen {"activeColor":"blue","canaryPercent":0})',
    );
    assert.equal(elbv2.sent.length, 3);
  });
});

describe("rollout on AWS: CloudWatch metrics", () => {
  const start = new Date("2026-12-02T05:00:00.000Z");
  const end = new Date("2026-12-02T05:05:00.000Z");
  const at = (minute: number) => new Date(start.getTime() + minute * 60_000);

  /** GetMetricData as CloudWatch answers a 5-minute window: one datapoint per Sum/p99 series, per-minute healthy hosts. */
  function recorded(): GetMetricDataCommandOutput {
    const result = (
      Id: string,
      Values: number[],
      Timestamps = [start],
      StatusCode: MetricDataResult["StatusCode"] = "Complete",
    ): MetricDataResult => ({
      Id,
      Label: Id,
      Timestamps,
      Values,
      StatusCode,
    });
    return {
      $metadata: { httpStatusCode: 200 },
      MetricDataResults: [
        result("blue_requests", [4500]),
        result("blue_errors", [9]),
        result("blue_p99", [0.042]),
        result("blue_healthy", [2, 2, 3, 3, 3], [0, 1, 2, 3, 4].map(at)),
        result("green_requests", [500]),
        // No 5xx in the window: CloudWatch returns the series with no datapoint.
        result("green_errors", [], []),
        result("green_p99", [0.051]),
        // Newest first (ScanBy TimestampDescending): the parser keeps the latest whatever the order.
        result("green_healthy", [3, 2, 1], [at(4), at(3), at(2)]),
      ],
      Messages: [],
    };
  }

  it("windowPeriodSeconds rounds the window up to whole minutes, at least one", () => {
    assert.equal(windowPeriodSeconds(start, end), 300);
    assert.equal(windowPeriodSeconds(start, new Date(start.getTime() + 301_000)), 360);
    assert.equal(windowPeriodSeconds(start, new Date(start.getTime() + 5_000)), 60);
    assert.throws(() => windowPeriodSeconds(end, start), /is not after its start/);
  });

  it("queries the four ALB series per color on its target group and load balancer", () => {
    const queries = metricDataQueries(TARGETS, 300);
    assert.deepEqual(
      queries.map((q) => [q.Id, q.MetricStat?.Metric?.MetricName, q.MetricStat?.Stat, q.MetricStat?.Period]),
      [
        ["blue_requests", "RequestCount", "Sum", 300],
        ["blue_errors", "HTTPCode_Target_5XX_Count", "Sum", 300],
        ["blue_p99", "TargetResponseTime", "p99", 300],
        ["blue_healthy", "HealthyHostCount", "Minimum", 60],
        ["green_requests", "RequestCount", "Sum", 300],
        ["green_errors", "HTTPCode_Target_5XX_Count", "Sum", 300],
        ["green_p99", "TargetResponseTime", "p99", 300],
        ["green_healthy", "HealthyHostCount", "Minimum", 60],
      ],
    );
    assert.deepEqual(queries[4].MetricStat?.Metric, {
      Namespace: "AWS/ApplicationELB",
      MetricName: "RequestCount",
      Dimensions: [
        { Name: "TargetGroup", Value: "targetgroup/serving-green-d87/d87fc9967ef540c5" },
        { Name: "LoadBalancer", Value: "app/serving-058/058c9f4756caae1a" },
      ],
    });
    assert.ok(queries.every((q) => q.ReturnData === true && /^[a-z][a-zA-Z0-9_]*$/.test(q.Id ?? "")));
  });

  it("parses a recorded response: sums, p99 in ms, the latest healthy-hosts value", () => {
    assert.deepEqual(parseMetricData(mergeResults([recorded().MetricDataResults!])), {
      blue: { requests: 4500, errors5xx: 9, p99Ms: 42, healthyHosts: 3 },
      green: { requests: 500, errors5xx: 0, p99Ms: 51, healthyHosts: 3 },
    });
  });

  it("a color without requests has no p99, and no healthy-hosts value when CloudWatch has none", () => {
    const empty: MetricDataResult[] = ["requests", "errors", "p99", "healthy"].map((k) => ({
      Id: `green_${k}`,
      Timestamps: [],
      Values: [],
      StatusCode: "Complete",
    }));
    assert.deepEqual(parseMetricData(mergeResults([empty])).green, {
      requests: 0,
      errors5xx: 0,
      p99Ms: undefined,
    });
  });

  it("merges paginated results (PartialData then the rest) and keeps the worse p99 of two periods", () => {
    const page1: MetricDataResult[] = [
      { Id: "blue_requests", Timestamps: [at(0)], Values: [100], StatusCode: "PartialData" },
      { Id: "blue_p99", Timestamps: [at(0)], Values: [0.02], StatusCode: "PartialData" },
    ];
    const page2: MetricDataResult[] = [
      { Id: "blue_requests", Timestamps: [at(5)], Values: [50], StatusCode: "Complete" },
      { Id: "blue_p99", Timestamps: [at(5)], Values: [0.03], StatusCode: "Complete" },
    ];
    const blue = parseMetricData(mergeResults([page1, page2])).blue;
    assert.equal(blue.requests, 150);
    assert.equal(blue.p99Ms, 30);
  });

  it("an InternalError or Forbidden result fails the read, naming the query and CloudWatch's message", () => {
    assert.throws(
      () =>
        mergeResults([
          [
            {
              Id: "green_p99",
              StatusCode: "Forbidden",
              Messages: [{ Code: "Forbidden", Value: "not authorized" }],
            },
          ],
        ]),
      /^MetricsError: CloudWatch answered Forbidden for green_p99 \(Forbidden: not authorized\)$/,
    );
  });

  it("window() waits for CloudWatch's ingestion delay, then pages through GetMetricData", async () => {
    const sent: unknown[] = [];
    const pages = [
      { ...recorded(), NextToken: "page-2" },
      { $metadata: {}, MetricDataResults: [{ Id: "blue_requests", Timestamps: [at(5)], Values: [500] }] },
    ];
    let now = end.getTime() + 10_000;
    const sleeps: number[] = [];
    const metrics = new CloudWatchMetrics({
      cloudwatch: {
        send: async (command: GetMetricDataCommand) => {
          sent.push(command.input);
          return pages.shift()!;
        },
      },
      targets: TARGETS,
      now: () => new Date(now),
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    });
    const w = await metrics.window(start, end);
    assert.deepEqual(sleeps, [80_000]);
    assert.equal(w.blue.requests, 5000);
    assert.equal(sent.length, 2);
    const first = sent[0] as { StartTime: Date; EndTime: Date; NextToken?: string; ScanBy: string };
    assert.deepEqual(
      [first.StartTime, first.EndTime, first.NextToken, first.ScanBy],
      [start, end, undefined, "TimestampAscending"],
    );
    assert.equal((sent[1] as { NextToken: string }).NextToken, "page-2");
  });
});

describe("rollout on AWS: capacity from target health, the floor through stack config", () => {
  const config = {
    "aws:region": "us-west-2",
    activeColor: "blue",
    blue: '{"modelVersion":"1.0.0","replicas":3,"maxReplicas":4}',
    green: '{"modelVersion":"1.1.0","replicas":1,"maxReplicas":2}',
  };

  it("readyReplicas counts only healthy targets of the color's target group", async () => {
    const elbv2 = fakeElbv2({
      health: [targetHealth(["healthy", "initial", "healthy", "draining", "unhealthy"])],
    });
    const capacity = new AwsCapacity({ driver: new RecordingDriver(config), elbv2, targets: TARGETS });
    assert.equal(await capacity.readyReplicas("green"), 2);
    assert.deepEqual(elbv2.sent, [{ TargetGroupArn: TG.green }]);
  });

  const floors: ReadonlyArray<
    [string, { replicas: number; maxReplicas: number }, number, Record<string, string>]
  > = [
    ["already enough", { replicas: 3, maxReplicas: 4 }, 2, {}],
    ["raise within the ceiling", { replicas: 1, maxReplicas: 4 }, 3, { "green.replicas": "3" }],
    [
      "raise past the ceiling",
      { replicas: 1, maxReplicas: 2 },
      3,
      { "green.replicas": "3", "green.maxReplicas": "3" },
    ],
  ];
  for (const [name, current, wanted, expected] of floors) {
    it(`floorConfig: ${name}`, () => assert.deepEqual(floorConfig("green", current, wanted), expected));
  }

  it("ensureAtLeast raises green's floor, ups only its Deployment and HPA, then waits for healthy targets", async () => {
    const driver = new RecordingDriver(config);
    const elbv2 = fakeElbv2({
      health: [
        targetHealth(["healthy"]),
        targetHealth(["healthy", "initial", "initial"]),
        targetHealth(["healthy", "healthy", "healthy"]),
      ],
    });
    let now = 0;
    const capacity = new AwsCapacity({
      driver,
      elbv2,
      targets: TARGETS,
      now: () => new Date(now),
      sleep: async (ms) => void (now += ms),
    });
    await capacity.ensureAtLeast("green", 3);
    assert.deepEqual(driver.calls, [
      ["setConfig", { "green.replicas": "3", "green.maxReplicas": "3" }],
      [
        "up",
        ["urn:deployment-green", "urn:hpa-green"],
        "rollout: green floor raised to 3 replicas before traffic moves",
      ],
    ]);
    assert.equal(elbv2.sent.length, 3);
    assert.equal(now, 20_000);
  });

  it("ensureAtLeast with a floor already high enough changes nothing and only checks readiness", async () => {
    const driver = new RecordingDriver(config);
    const capacity = new AwsCapacity({
      driver,
      elbv2: fakeElbv2({ health: [targetHealth(["healthy", "healthy"])] }),
      targets: TARGETS,
    });
    await capacity.ensureAtLeast("blue", 2);
    assert.deepEqual(driver.calls, []);
  });

  it("ensureAtLeast gives up after its timeout, naming the healthy count", async () => {
    let now = 0;
    const capacity = new AwsCapacity({
      driver: new RecordingDriver(config),
      elbv2: fakeElbv2({ health: [targetHealth(["healthy", "unhealthy"])] }),
      targets: TARGETS,
      readyTimeoutMs: 60_000,
      now: () => new Date(now),
      sleep: async (ms) => void (now += ms),
    });
    await assert.rejects(
      capacity.ensureAtLeast("green", 1 + 1),
      (e: Error) =>
        e instanceof CapacityError &&
        e.message === "green has 1 healthy targets, not the 2 it needs before traffic moves (waited 60 s)",
    );
  });
});

describe("rollout on AWS: golden set and record on a loopback S3 server, golden requests to the real server", () => {
  const BUCKET = "models-rollout-test";
  let s3: S3TestServer;
  let client: S3Client;
  let server: TestServer;
  let url: string;
  const seen: { path: string; preview?: string }[] = [];
  const CASES: GoldenCase[] = [
    {
      request: { inputs: [{ name: "input", datatype: "FP32", shape: [1, 2], data: [1, 1] }] },
      expected: { probabilities: [0.5, 0.5], label: [0] },
    },
    {
      request: { inputs: [{ name: "input", datatype: "FP32", shape: [1, 2], data: [0, 2] }] },
      expected: { probabilities: softmax2(0, 2), label: [1] },
    },
  ];

  before(async () => {
    s3 = await startS3Server({ buckets: [BUCKET] });
    client = s3.client();
    server = await startTestServer();
    server.app.addHook("onRequest", async (req) => {
      seen.push({ path: req.url, preview: req.headers["x-serving-color"] as string | undefined });
    });
    await server.app.listen({ host: "127.0.0.1", port: 0 });
    url = `http://127.0.0.1:${(server.app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await server?.close();
    await s3?.stop();
  });

  const golden = (previewColor: "blue" | "green" = "green") =>
    new AwsGolden({
      s3: client,
      bucket: BUCKET,
      modelName: "test-model",
      url: url + "/",
      headers: previewHeaders("X-Serving-Color: preview"),
      previewColor: async () => previewColor,
    });

  it("previewHeaders reads `Name: value` or an object of headers, and refuses anything else", () => {
    assert.deepEqual(previewHeaders("X-Serving-Color: preview"), { "X-Serving-Color": "preview" });
    assert.deepEqual(previewHeaders({ "X-Preview-Token": "s3cr3t" }), { "X-Preview-Token": "s3cr3t" });
    assert.throws(() => previewHeaders(undefined), GoldenRouteError);
    assert.throws(() => previewHeaders("no colon"), GoldenRouteError);
  });

  it("cases() reads golden.jsonl beside the version's model; a version without one has none", async () => {
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "models/test-model/1.1.0/golden.jsonl",
        Body: formatGoldenSet(CASES),
      }),
    );
    assert.deepEqual(await golden().cases("1.1.0"), CASES);
    assert.deepEqual(await golden().cases("1.0.0"), []);
  });

  it("cases() names the object and the line of a malformed golden set", async () => {
    await client.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: "models/test-model/1.2.0/golden.jsonl",
        Body: '{"request":{}}\n',
      }),
    );
    await assert.rejects(
      golden().cases("1.2.0"),
      new RegExp(
        `^Error: s3://${BUCKET}/models/test-model/1.2.0/golden.jsonl: golden set line 1: "expected"`,
      ),
    );
  });

  it("send() POSTs each case with the preview header to /v2/models/<name>/infer and returns the outputs", async () => {
    seen.length = 0;
    const answers = await golden().send("green", CASES);
    assert.deepEqual(seen, [
      { path: "/v2/models/test-model/infer", preview: "preview" },
      { path: "/v2/models/test-model/infer", preview: "preview" },
    ]);
    assert.deepEqual(
      answers.map((a) => [a.status, a.outputs.label]),
      [
        [200, [0]],
        [200, [1]],
      ],
    );
    const [p0, p1] = [
      answers[0].outputs.probabilities as number[],
      answers[1].outputs.probabilities as number[],
    ];
    assert.deepEqual(p0, [0.5, 0.5]);
    assert.ok(Math.abs(p1[1] - softmax2(0, 2)[1]) < 1e-6, `probabilities ${JSON.stringify(p1)}`);
  });

  it("send() reports a refused request by its status with no outputs", async () => {
    const answers = await golden().send("green", [{ request: { inputs: [] }, expected: { label: [0] } }]);
    assert.equal(answers[0].status, 400);
    assert.deepEqual(answers[0].outputs, {});
  });

  it("send() refuses a color the preview route does not reach, sending nothing", async () => {
    seen.length = 0;
    await assert.rejects(golden("blue").send("green", CASES), /the preview route reaches blue, not green/);
    assert.deepEqual(seen, []);
  });

  it("outputsOf flattens OIP output data by name", () =>
    assert.deepEqual(
      outputsOf({
        outputs: [
          { name: "p", data: [[1, 2], [3]] },
          { name: "l", data: [0] },
        ],
      }),
      {
        p: [1, 2, 3],
        l: [0],
      },
    ));

  it("the record round-trips through rollouts/<stack>.json and clears", async () => {
    const record = new S3RolloutRecord({ s3: client, bucket: BUCKET, stack: "dev" });
    assert.equal(await record.read(), undefined);
    const r = {
      from: { activeColor: "blue" as const, canaryPercent: 0 },
      to: { activeColor: "green" as const, canaryPercent: 0 },
      startedAt: "2026-12-02T05:00:00.000Z",
    };
    await record.write(r);
    assert.deepEqual(await record.read(), r);
    await record.clear();
    assert.equal(await record.read(), undefined);
  });

  it("a malformed record fails naming the field", () => {
    assert.throws(
      () =>
        parseRolloutRecord(
          '{"from":{"activeColor":"red","canaryPercent":0},"to":{},"startedAt":"2026-12-02T05:00:00Z"}',
          "s3://b/rollouts/dev.json",
        ),
      /s3:\/\/b\/rollouts\/dev\.json: from must be \{activeColor/,
    );
  });

  it("portsFor assembles the ports from the stack outputs; a stack without rolloutTargets says to run pulumi up", async () => {
    const outputs = {
      rolloutTargets: { value: TARGETS, secret: false },
      modelBucketName: { value: BUCKET, secret: false },
      url: { value: url, secret: false },
      previewHeader: { value: "X-Serving-Color: preview", secret: true },
    };
    const clock: Clock = { now: () => new Date(), sleep: async () => undefined };
    const elbv2 = fakeElbv2({ rules: [describeRules({ blue: 100, green: 0 }, "green")] });
    const ports = await portsFor("dev", {
      driver: new RecordingDriver(undefined, outputs),
      elbv2,
      cloudwatch: { send: async () => ({ MetricDataResults: [] }) },
      s3: client,
      clock,
    });
    assert.deepEqual(await ports.traffic.current(), { activeColor: "blue", canaryPercent: 0 });
    assert.deepEqual(await ports.golden.cases("1.1.0"), CASES);
    // The golden port asks the listener which color the preview route reaches (green, the standby).
    assert.equal((await ports.golden.send("green", CASES.slice(0, 1)))[0].status, 200);
    assert.equal(ports.clock, clock);
    await assert.rejects(
      portsFor("dev", {
        driver: new RecordingDriver(),
        elbv2,
        cloudwatch: { send: async () => ({}) },
        s3: client,
        clock,
      }),
      /the stack has no rolloutTargets output: it was deployed before the rollout existed/,
    );
    assert.deepEqual(parseRolloutTargets(JSON.parse(JSON.stringify(TARGETS))), TARGETS);
  });
});
