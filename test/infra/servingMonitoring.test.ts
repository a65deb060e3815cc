import assert from "node:assert/strict";
import {
  dashboardBody,
  dashboardUrl,
  servingMonitoringArgProblems,
} from "../../infra/components/servingMonitoring";
import { evaluateStack, type RecordedResource, type StackEvaluation } from "../../infra/harness";
import { parseRolloutTargets } from "../../infra/rollout/aws/targets";
import { devStack, expectAt, STAGED_GREEN, stateString, T } from "./support/stacks";

const ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm";
const DASHBOARD = "aws:cloudwatch/dashboard:Dashboard";

/** The CloudWatch dimensions of a color in a stack: its target group on the serving ALB. */
function dimensionsOf(ev: StackEvaluation, color: string): { TargetGroup: string; LoadBalancer: string } {
  return {
    TargetGroup: stateString(ev.one(T.targetGroup, `serving-${color}`), "arnSuffix"),
    LoadBalancer: stateString(ev.one(T.alb, "serving"), "arnSuffix"),
  };
}

describe("servingMonitoring under mocks", () => {
  let dev: StackEvaluation;
  let tuned: StackEvaluation;
  before(async () => {
    dev = await devStack();
    tuned = await evaluateStack("dev", { rollout: { maxErrorRate: 0.002 }, alarmP99LatencyMs: "250" });
  });
  const alarm = (ev: StackEvaluation, color: string, what: string): RecordedResource =>
    ev.one(ALARM, `serving-monitoring-${color}-${what}`);

  it("creates three alarms per color and one dashboard, nothing else", () => {
    assert.deepEqual(
      dev
        .all(ALARM)
        .map((a) => a.name)
        .sort(),
      [
        "serving-monitoring-blue-5xx-rate",
        "serving-monitoring-blue-p99-latency",
        "serving-monitoring-blue-unhealthy-hosts",
        "serving-monitoring-green-5xx-rate",
        "serving-monitoring-green-p99-latency",
        "serving-monitoring-green-unhealthy-hosts",
      ],
    );
    assert.equal(dev.all(DASHBOARD).length, 1);
  });

  for (const color of ["blue", "green"]) {
    it(`${color}: the 5xx-rate alarm divides target 5xx by requests on its target group, at the rollout's maxErrorRate`, () => {
      const a = alarm(dev, color, "5xx-rate");
      const dimensions = dimensionsOf(dev, color);
      const metric = (metricName: string) => ({
        namespace: "AWS/ApplicationELB",
        metricName,
        dimensions,
        period: 60,
        stat: "Sum",
      });
      expectAt(a, "metricQueries", [
        { id: "errors", metric: metric("HTTPCode_Target_5XX_Count"), returnData: false },
        { id: "requests", metric: metric("RequestCount"), returnData: false },
        {
          id: "rate",
          expression: "FILL(errors, 0) / requests",
          label: `${color} 5xx rate`,
          returnData: true,
        },
      ]);
      expectAt(a, "threshold", 0.01);
      expectAt(a, "comparisonOperator", "GreaterThanThreshold");
      expectAt(a, "evaluationPeriods", 5);
      expectAt(a, "datapointsToAlarm", 3);
      expectAt(a, "treatMissingData", "notBreaching");
      expectAt(a, "name", `onnx-eks-serving-dev-${color}-5xx-rate`);
      // A metric-math alarm names no metric of its own.
      expectAt(a, "metricName", undefined);
    });

    it(`${color}: the latency alarm is p99 TargetResponseTime above alarmP99LatencyMs (in seconds)`, () => {
      const a = alarm(dev, color, "p99-latency");
      expectAt(a, "namespace", "AWS/ApplicationELB");
      expectAt(a, "metricName", "TargetResponseTime");
      expectAt(a, "dimensions", dimensionsOf(dev, color));
      expectAt(a, "extendedStatistic", "p99");
      expectAt(a, "statistic", undefined);
      expectAt(a, "threshold", 1);
      expectAt(a, "period", 60);
    });

    it(`${color}: the unhealthy-hosts alarm fires on any target failing its health check`, () => {
      const a = alarm(dev, color, "unhealthy-hosts");
      expectAt(a, "metricName", "UnHealthyHostCount");
      expectAt(a, "dimensions", dimensionsOf(dev, color));
      expectAt(a, "statistic", "Maximum");
      expectAt(a, "threshold", 0);
      expectAt(a, "comparisonOperator", "GreaterThanThreshold");
    });
  }

  it("thresholds follow rollout.maxErrorRate and alarmP99LatencyMs", () => {
    expectAt(alarm(tuned, "green", "5xx-rate"), "threshold", 0.002);
    expectAt(alarm(tuned, "blue", "p99-latency"), "threshold", 0.25);
  });

  it("the dashboard body is the pure rendering of both colors' dimensions and every alarm", () => {
    const d = dev.one(DASHBOARD);
    expectAt(d, "dashboardName", "onnx-eks-serving-dev");
    const alarmArns = ["blue", "green"].flatMap((c) =>
      ["5xx-rate", "p99-latency", "unhealthy-hosts"].map((w) => stateString(alarm(dev, c, w), "arn")),
    );
    assert.equal(
      d.inputs.dashboardBody,
      dashboardBody({
        region: "us-west-2",
        dimensions: { blue: dimensionsOf(dev, "blue"), green: dimensionsOf(dev, "green") },
        maxErrorRate: 0.01,
        p99LatencyMs: 1000,
        alarmArns,
      }),
    );
  });

  it("outputs the dashboard's console URL and the rollout targets", () => {
    assert.equal(
      dev.outputs.dashboardUrl,
      "https://us-west-2.console.aws.amazon.com/cloudwatch/home?region=us-west-2#dashboards:name=onnx-eks-serving-dev",
    );
    const targets = parseRolloutTargets(dev.outputs.rolloutTargets);
    const weighted = dev.one(T.rule, "serving-traffic-weighted");
    const blueDeployment = dev.one(T.deployment, "serving-blue");
    assert.deepEqual(targets.weightedRule, { id: weighted.state.arn, urn: weighted.urn });
    assert.equal(targets.previewRule.urn, dev.one(T.rule, "serving-traffic-preview").urn);
    assert.equal(targets.modelName, "churn");
    assert.equal(targets.namespace, "model-serving");
    assert.equal(targets.loadBalancerArnSuffix, dimensionsOf(dev, "blue").LoadBalancer);
    assert.deepEqual(targets.colors.blue.deployment, { id: "model-server-blue", urn: blueDeployment.urn });
    expectAt(blueDeployment, "metadata.name", "model-server-blue");
    assert.equal(targets.colors.blue.hpa?.urn, dev.one(T.hpa, "serving-blue-hpa").urn);
    assert.equal(targets.colors.blue.targetGroupArnSuffix, dimensionsOf(dev, "blue").TargetGroup);
    assert.equal(targets.colors.green.targetGroupArn, dev.one(T.targetGroup, "serving-green").state.arn);
    // green has no pods in the dev stack, hence no HPA.
    assert.equal(targets.colors.green.hpa, undefined);
  });

  it("a staged green exports its HPA too", async () => {
    const staged = await evaluateStack("dev", STAGED_GREEN);
    const targets = parseRolloutTargets(staged.outputs.rolloutTargets);
    assert.equal(targets.colors.green.hpa?.urn, staged.one(T.hpa, "serving-green-hpa").urn);
  });
});

describe("servingMonitoring: pure parts (no mocks)", () => {
  const ARGS = {
    region: "us-west-2",
    dashboardName: "serving",
    loadBalancerArnSuffix: "app/x/1",
    targetGroupArnSuffixes: { blue: "targetgroup/b/1", green: "targetgroup/g/2" },
  };

  const problems: ReadonlyArray<[string, Record<string, unknown>, string[]]> = [
    ["defaults", {}, []],
    [
      "dashboard name with a space",
      { dashboardName: "my board" },
      ['dashboardName must be 1-255 of [A-Za-z0-9_-], got "my board"'],
    ],
    ["error rate above 1", { maxErrorRate: 2 }, ["maxErrorRate must be from 0 to 1, got 2"]],
    ["p99 of zero", { p99LatencyMs: 0 }, ["p99LatencyMs must be above 0, got 0"]],
    [
      "period not a minute multiple",
      { periodSeconds: 90 },
      ["periodSeconds must be a positive multiple of 60, got 90"],
    ],
    [
      "more datapoints than evaluated",
      { evaluationPeriods: 2, datapointsToAlarm: 3 },
      ["datapointsToAlarm must be an integer from 1 to evaluationPeriods (2), got 3"],
    ],
  ];
  for (const [name, overrides, expected] of problems) {
    it(`argument check: ${name}`, () =>
      assert.deepEqual(servingMonitoringArgProblems({ ...ARGS, ...overrides }), expected));
  }

  it("dashboardUrl names the region twice and the dashboard", () =>
    assert.equal(
      dashboardUrl("eu-west-1", "a-b"),
      "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards:name=a-b",
    ));

  it("the dashboard graphs requests, 5xx rate, p99 and hosts for both colors, and the alarms", () => {
    const dims = {
      blue: { TargetGroup: "targetgroup/b/1", LoadBalancer: "app/x/1" },
      green: { TargetGroup: "targetgroup/g/2", LoadBalancer: "app/x/1" },
    };
    const body = JSON.parse(
      dashboardBody({
        region: "us-west-2",
        dimensions: dims,
        maxErrorRate: 0.05,
        p99LatencyMs: 500,
        alarmArns: ["a1"],
      }),
    ) as { widgets: { type: string; properties: Record<string, unknown> }[] };
    const titles = body.widgets.map((w) => w.properties.title);
    assert.deepEqual(titles, [
      "Requests per minute",
      "Target 5xx rate",
      "Target response time p99 (seconds)",
      "Healthy / unhealthy targets",
      "Alarms",
    ]);
    const [requests, rate, p99, hosts, alarms] = body.widgets;
    assert.deepEqual(requests.properties.metrics, [
      [
        "AWS/ApplicationELB",
        "RequestCount",
        "TargetGroup",
        "targetgroup/b/1",
        "LoadBalancer",
        "app/x/1",
        { stat: "Sum", label: "blue", color: "#1f77b4" },
      ],
      [
        "AWS/ApplicationELB",
        "RequestCount",
        "TargetGroup",
        "targetgroup/g/2",
        "LoadBalancer",
        "app/x/1",
        { stat: "Sum", label: "green", color: "#2ca02c" },
      ],
    ]);
    const expressions = (rate.properties.metrics as unknown[][])
      .filter((m) => typeof m[0] === "object")
      .map((m) => (m[0] as { expression: string }).expression);
    assert.deepEqual(expressions, [
      "FILL(errors_blue, 0) / requests_blue",
      "FILL(errors_green, 0) / requests_green",
    ]);
    assert.deepEqual(rate.properties.annotations, {
      horizontal: [{ label: "alarm (maxErrorRate)", value: 0.05 }],
    });
    assert.deepEqual(p99.properties.annotations, { horizontal: [{ label: "alarm (p99)", value: 0.5 }] });
    assert.deepEqual(
      (hosts.properties.metrics as unknown[][]).map((m) => [m[1], m[3]]),
      [
        ["HealthyHostCount", "targetgroup/b/1"],
        ["UnHealthyHostCount", "targetgroup/b/1"],
        ["HealthyHostCount", "targetgroup/g/2"],
        ["UnHealthyHostCount", "targetgroup/g/2"],
      ],
    );
    assert.equal(alarms.type, "alarm");
    assert.deepEqual(alarms.properties.alarms, ["a1"]);
  });
});
