import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { COLORS, type Color } from "../traffic";

/** CloudWatch namespace of the ALB's metrics. */
export const ALB_NAMESPACE = "AWS/ApplicationELB";

/** The CloudWatch dimensions of one color: its target group on this load balancer. */
export interface ColorDimensions {
  /** `targetgroup/<name>/<id>` (the target group's ARN suffix). */
  readonly TargetGroup: string;
  /** `app/<name>/<id>` (the load balancer's ARN suffix). */
  readonly LoadBalancer: string;
}

export interface ServingMonitoringArgs {
  /** Region of the load balancer (dashboard widgets and the console URL name it). */
  readonly region: string;
  /** CloudWatch dashboard name, unique in the account and region ([A-Za-z0-9_-], 1-255). */
  readonly dashboardName: string;
  /** The ALB's ARN suffix (`app/<name>/<id>`), the `LoadBalancer` dimension. */
  readonly loadBalancerArnSuffix: pulumi.Input<string>;
  /** Each color's target group ARN suffix (`targetgroup/<name>/<id>`), the `TargetGroup` dimension. */
  readonly targetGroupArnSuffixes: Readonly<Record<Color, pulumi.Input<string>>>;
  /**
   * 5xx rate (5xx / requests, 0-1) above which a color's error alarm fires; the stack passes the
   * rollout policy's `maxErrorRate`, so the alarm and the rollout's analysis agree. Default 0.01.
   */
  readonly maxErrorRate?: number;
  /** p99 target response time (ms) above which a color's latency alarm fires. Default 1000. */
  readonly p99LatencyMs?: number;
  /** Seconds per alarm datapoint (a multiple of 60: the ALB publishes per minute). Default 60. */
  readonly periodSeconds?: number;
  /** Datapoints each alarm evaluates. Default 5. */
  readonly evaluationPeriods?: number;
  /** Of those, how many must breach for the alarm to fire (1..evaluationPeriods). Default 3. */
  readonly datapointsToAlarm?: number;
  /** ARNs (e.g. an SNS topic) notified when an alarm fires or recovers. Default: none. */
  readonly alarmActions?: pulumi.Input<pulumi.Input<string>[]>;
  /** Tags for the alarms. Default: none. */
  readonly tags?: Readonly<Record<string, string>>;
}

/** One color's alarms. */
export interface ColorAlarms {
  /** HTTPCode_Target_5XX_Count / RequestCount above maxErrorRate. */
  readonly errorRate: aws.cloudwatch.MetricAlarm;
  /** TargetResponseTime p99 above p99LatencyMs. */
  readonly latency: aws.cloudwatch.MetricAlarm;
  /** UnHealthyHostCount above 0: a registered pod fails the ALB's health check. */
  readonly unhealthyHosts: aws.cloudwatch.MetricAlarm;
}

/** Checks the arguments before anything is created; each message names the argument. */
export function servingMonitoringArgProblems(args: ServingMonitoringArgs): string[] {
  const p: string[] = [];
  if (!/^[A-Za-z0-9_-]{1,255}$/.test(args.dashboardName)) {
    p.push(`dashboardName must be 1-255 of [A-Za-z0-9_-], got ${JSON.stringify(args.dashboardName)}`);
  }
  const rate = args.maxErrorRate ?? 0.01;
  if (!(rate >= 0 && rate <= 1)) p.push(`maxErrorRate must be from 0 to 1, got ${rate}`);
  const p99 = args.p99LatencyMs ?? 1000;
  if (!(p99 > 0)) p.push(`p99LatencyMs must be above 0, got ${p99}`);
  const period = args.periodSeconds ?? 60;
  if (!Number.isInteger(period) || period <= 0 || period % 60 !== 0) {
    p.push(`periodSeconds must be a positive multiple of 60, got ${period}`);
  }
  const evaluations = args.evaluationPeriods ?? 5;
  const datapoints = args.datapointsToAlarm ?? 3;
  if (!Number.isInteger(evaluations) || evaluations < 1) {
    p.push(`evaluationPeriods must be an integer >= 1, got ${evaluations}`);
  }
  if (!Number.isInteger(datapoints) || datapoints < 1 || datapoints > evaluations) {
    p.push(
      `datapointsToAlarm must be an integer from 1 to evaluationPeriods (${evaluations}), got ${datapoints}`,
    );
  }
  return p;
}

/** `https://<region>.console.aws.amazon.com/cloudwatch/home?region=<region>#dashboards:name=<name>`. */
export function dashboardUrl(region: string, name: string): string {
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=${name}`;
}

/** What the dashboard shows; resolved values, so the body is a pure function of them. */
export interface DashboardSpec {
  readonly region: string;
  readonly dimensions: Readonly<Record<Color, ColorDimensions>>;
  readonly maxErrorRate: number;
  readonly p99LatencyMs: number;
  /** ARNs of every alarm, shown in an alarm-status widget. */
  readonly alarmArns: readonly string[];
}

/** A metric line of a dashboard widget: namespace, metric, dimension pairs, then options. */
function metricLine(metric: string, d: ColorDimensions, options: Record<string, unknown>): unknown[] {
  return [ALB_NAMESPACE, metric, "TargetGroup", d.TargetGroup, "LoadBalancer", d.LoadBalancer, options];
}

const COLOR_HEX: Readonly<Record<Color, string>> = { blue: "#1f77b4", green: "#2ca02c" };

/**
 * The dashboard body (CloudWatch dashboard JSON): per color, requests, 5xx rate, p99 latency and
 * healthy/unhealthy hosts, each graph with both colors side by side, plus the alarms' states.
 */
export function dashboardBody(spec: DashboardSpec): string {
  const graph = (
    title: string,
    y: number,
    x: number,
    metrics: unknown[],
    extra: Record<string, unknown> = {},
  ) => ({
    type: "metric",
    x,
    y,
    width: 12,
    height: 6,
    properties: {
      title,
      region: spec.region,
      view: "timeSeries",
      stacked: false,
      period: 60,
      metrics,
      ...extra,
    },
  });
  const perColor = (build: (c: Color, d: ColorDimensions) => unknown[][]): unknown[] =>
    COLORS.flatMap((c) => build(c, spec.dimensions[c]));
  const widgets = [
    graph(
      "Requests per minute",
      0,
      0,
      perColor((c, d) => [metricLine("RequestCount", d, { stat: "Sum", label: c, color: COLOR_HEX[c] })]),
    ),
    graph(
      "Target 5xx rate",
      0,
      12,
      perColor((c, d) => [
        metricLine("HTTPCode_Target_5XX_Count", d, { stat: "Sum", id: `errors_${c}`, visible: false }),
        metricLine("RequestCount", d, { stat: "Sum", id: `requests_${c}`, visible: false }),
        [
          {
            expression: `FILL(errors_${c}, 0) / requests_${c}`,
            label: c,
            id: `rate_${c}`,
            color: COLOR_HEX[c],
          },
        ],
      ]),
      {
        yAxis: { left: { min: 0 } },
        annotations: { horizontal: [{ label: "alarm (maxErrorRate)", value: spec.maxErrorRate }] },
      },
    ),
    graph(
      "Target response time p99 (seconds)",
      6,
      0,
      perColor((c, d) => [
        metricLine("TargetResponseTime", d, { stat: "p99", label: c, color: COLOR_HEX[c] }),
      ]),
      {
        yAxis: { left: { min: 0 } },
        annotations: { horizontal: [{ label: "alarm (p99)", value: spec.p99LatencyMs / 1000 }] },
      },
    ),
    graph(
      "Healthy / unhealthy targets",
      6,
      12,
      perColor((c, d) => [
        metricLine("HealthyHostCount", d, { stat: "Minimum", label: `${c} healthy`, color: COLOR_HEX[c] }),
        metricLine("UnHealthyHostCount", d, { stat: "Maximum", label: `${c} unhealthy`, color: "#d62728" }),
      ]),
      { yAxis: { left: { min: 0 } } },
    ),
    {
      type: "alarm",
      x: 0,
      y: 12,
      width: 24,
      height: 3,
      properties: { title: "Alarms", alarms: [...spec.alarmArns] },
    },
  ];
  return JSON.stringify({ widgets });
}

/**
 * Per color, CloudWatch alarms on what the ALB already measures for its target group (5xx
 * rate, p99 latency, unhealthy targets), and one dashboard graphing both colors side by side.
 * Nothing here depends on which color is live or on the weights: a flip never touches it.
 */
export class ServingMonitoring extends pulumi.ComponentResource {
  public readonly alarms: Readonly<Record<Color, ColorAlarms>>;
  public readonly dashboard: aws.cloudwatch.Dashboard;
  /** Console address of the dashboard. */
  public readonly dashboardUrl: string;
  /** Each color's CloudWatch dimensions (what the rollout's metric queries use too). */
  public readonly dimensions: pulumi.Output<Record<Color, ColorDimensions>>;

  constructor(name: string, args: ServingMonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("onnx-eks-serving:monitoring:ServingMonitoring", name, {}, opts);
    const problems = servingMonitoringArgProblems(args);
    if (problems.length > 0) throw new Error(`ServingMonitoring ${name}: ${problems.join("; ")}`);

    const maxErrorRate = args.maxErrorRate ?? 0.01;
    const p99LatencyMs = args.p99LatencyMs ?? 1000;
    const period = args.periodSeconds ?? 60;
    const common = {
      evaluationPeriods: args.evaluationPeriods ?? 5,
      datapointsToAlarm: args.datapointsToAlarm ?? 3,
      comparisonOperator: "GreaterThanThreshold",
      // No requests is no evidence of a fault (a standby color takes none).
      treatMissingData: "notBreaching",
      alarmActions: args.alarmActions ?? [],
      okActions: args.alarmActions ?? [],
      tags: { ...args.tags },
    };
    const parent = { parent: this };

    const alarms = {} as Record<Color, ColorAlarms>;
    for (const color of COLORS) {
      const dimensions = {
        TargetGroup: args.targetGroupArnSuffixes[color],
        LoadBalancer: args.loadBalancerArnSuffix,
      };
      const metric = (metricName: string) => ({
        namespace: ALB_NAMESPACE,
        metricName,
        dimensions,
        period,
        stat: "Sum",
      });
      const alarmName = (what: string) => `${args.dashboardName}-${color}-${what}`;
      alarms[color] = {
        errorRate: new aws.cloudwatch.MetricAlarm(
          `${name}-${color}-5xx-rate`,
          {
            ...common,
            name: alarmName("5xx-rate"),
            alarmDescription:
              `${color}: share of requests its targets answer with a 5xx above ${maxErrorRate} ` +
              `(the rollout policy's maxErrorRate) in ${common.datapointsToAlarm} of ${common.evaluationPeriods} minutes`,
            threshold: maxErrorRate,
            metricQueries: [
              { id: "errors", metric: metric("HTTPCode_Target_5XX_Count"), returnData: false },
              { id: "requests", metric: metric("RequestCount"), returnData: false },
              // The ALB publishes no 5xx datapoint for a minute without 5xx: that minute is 0.
              {
                id: "rate",
                expression: "FILL(errors, 0) / requests",
                label: `${color} 5xx rate`,
                returnData: true,
              },
            ],
          },
          parent,
        ),
        latency: new aws.cloudwatch.MetricAlarm(
          `${name}-${color}-p99-latency`,
          {
            ...common,
            name: alarmName("p99-latency"),
            alarmDescription: `${color}: p99 target response time above ${p99LatencyMs} ms`,
            namespace: ALB_NAMESPACE,
            metricName: "TargetResponseTime",
            dimensions,
            period,
            extendedStatistic: "p99",
            threshold: p99LatencyMs / 1000,
          },
          parent,
        ),
        unhealthyHosts: new aws.cloudwatch.MetricAlarm(
          `${name}-${color}-unhealthy-hosts`,
          {
            ...common,
            name: alarmName("unhealthy-hosts"),
            alarmDescription: `${color}: a registered pod fails the load balancer's health check (GET /ready)`,
            namespace: ALB_NAMESPACE,
            metricName: "UnHealthyHostCount",
            dimensions,
            period,
            statistic: "Maximum",
            threshold: 0,
          },
          parent,
        ),
      };
    }
    this.alarms = alarms;

    this.dimensions = pulumi
      .all([args.loadBalancerArnSuffix, args.targetGroupArnSuffixes.blue, args.targetGroupArnSuffixes.green])
      .apply(([lb, blue, green]) => ({
        blue: { TargetGroup: blue, LoadBalancer: lb },
        green: { TargetGroup: green, LoadBalancer: lb },
      }));
    const alarmArns = COLORS.flatMap((c) => Object.values(alarms[c]).map((a) => a.arn));
    this.dashboard = new aws.cloudwatch.Dashboard(
      `${name}-dashboard`,
      {
        dashboardName: args.dashboardName,
        dashboardBody: pulumi
          .all([this.dimensions, pulumi.all(alarmArns)])
          .apply(([dimensions, arns]) =>
            dashboardBody({ region: args.region, dimensions, maxErrorRate, p99LatencyMs, alarmArns: arns }),
          ),
      },
      parent,
    );
    this.dashboardUrl = dashboardUrl(args.region, args.dashboardName);

    this.registerOutputs({ dashboardUrl: this.dashboardUrl, dimensions: this.dimensions });
  }
}
