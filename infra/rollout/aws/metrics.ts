/**
 * The metrics port on AWS: what the ALB already measures per target group (per color), read with
 * CloudWatch GetMetricData. No agent, no scraping. The query builder and the response parser are
 * pure functions, tested against the SDK's response shapes.
 *
 * One window is one period: requests and 5xx are Sums over the whole window and p99 is the
 * percentile of the whole window (not an average of per-minute p99s). Healthy targets are read
 * per minute and the last minute's minimum is kept (the state at the end of the window).
 */
import {
  GetMetricDataCommand,
  type GetMetricDataCommandOutput,
  type MetricDataQuery,
  type MetricDataResult,
} from "@aws-sdk/client-cloudwatch";
import { COLORS, type Color } from "../../traffic";
import type { ColorWindow, MetricsPort } from "../ports";
import type { RolloutTargets } from "./targets";

const NAMESPACE = "AWS/ApplicationELB";

/** The CloudWatch client call the adapter makes (`CloudWatchClient` has it). */
export interface CloudWatchSender {
  send(
    command: GetMetricDataCommand,
  ): Promise<Pick<GetMetricDataCommandOutput, "MetricDataResults" | "NextToken">>;
}

export class MetricsError extends Error {
  override name = "MetricsError";
}

/** What is read per color: query id suffix, metric, statistic. */
const SERIES = [
  { key: "requests", metric: "RequestCount", stat: "Sum" },
  { key: "errors", metric: "HTTPCode_Target_5XX_Count", stat: "Sum" },
  { key: "p99", metric: "TargetResponseTime", stat: "p99" },
  { key: "healthy", metric: "HealthyHostCount", stat: "Minimum" },
] as const;
type SeriesKey = (typeof SERIES)[number]["key"];

/** The window's length rounded up to whole minutes (CloudWatch periods are multiples of 60 s). */
export function windowPeriodSeconds(start: Date, end: Date): number {
  const seconds = (end.getTime() - start.getTime()) / 1000;
  if (!(seconds > 0))
    throw new MetricsError(`window end ${end.toISOString()} is not after its start ${start.toISOString()}`);
  return Math.max(60, Math.ceil(seconds / 60) * 60);
}

/** The GetMetricData queries for both colors over a window of `periodSeconds`. */
export function metricDataQueries(targets: RolloutTargets, periodSeconds: number): MetricDataQuery[] {
  return COLORS.flatMap((color) =>
    SERIES.map((s): MetricDataQuery => ({
      Id: `${color}_${s.key}`,
      Label: `${color} ${s.metric} ${s.stat}`,
      MetricStat: {
        Metric: {
          Namespace: NAMESPACE,
          MetricName: s.metric,
          Dimensions: [
            { Name: "TargetGroup", Value: targets.colors[color].targetGroupArnSuffix },
            { Name: "LoadBalancer", Value: targets.loadBalancerArnSuffix },
          ],
        },
        // Healthy targets per minute, so the last minute says how the window ended.
        Period: s.key === "healthy" ? 60 : periodSeconds,
        Stat: s.stat,
      },
      ReturnData: true,
    })),
  );
}

/** Merges paginated results by query id (values of later pages appended). */
export function mergeResults(pages: readonly (readonly MetricDataResult[])[]): Map<string, MetricDataResult> {
  const merged = new Map<string, MetricDataResult>();
  for (const page of pages) {
    for (const r of page) {
      if (r.StatusCode === "InternalError" || r.StatusCode === "Forbidden") {
        const why = (r.Messages ?? []).map((m) => `${m.Code}: ${m.Value}`).join("; ");
        throw new MetricsError(`CloudWatch answered ${r.StatusCode} for ${r.Id}${why ? ` (${why})` : ""}`);
      }
      const id = r.Id ?? "";
      const prev = merged.get(id);
      merged.set(id, {
        ...r,
        Timestamps: [...(prev?.Timestamps ?? []), ...(r.Timestamps ?? [])],
        Values: [...(prev?.Values ?? []), ...(r.Values ?? [])],
      });
    }
  }
  return merged;
}

/** Turns the (merged) results into each color's window. */
export function parseMetricData(results: ReadonlyMap<string, MetricDataResult>): Record<Color, ColorWindow> {
  const values = (color: Color, key: SeriesKey): number[] => results.get(`${color}_${key}`)?.Values ?? [];
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const out = {} as Record<Color, ColorWindow>;
  for (const color of COLORS) {
    const requests = sum(values(color, "requests"));
    const p99s = values(color, "p99");
    const healthy = results.get(`${color}_healthy`);
    // The latest healthy-hosts datapoint, whatever order CloudWatch returned them in.
    let latest: number | undefined;
    let latestAt = -Infinity;
    (healthy?.Timestamps ?? []).forEach((t, i) => {
      if (t.getTime() > latestAt && healthy?.Values?.[i] !== undefined) {
        latestAt = t.getTime();
        latest = healthy.Values[i];
      }
    });
    out[color] = {
      requests,
      errors5xx: sum(values(color, "errors")),
      // A window split over two periods keeps the worse p99 (seconds -> ms).
      p99Ms: requests > 0 && p99s.length > 0 ? Math.max(...p99s) * 1000 : undefined,
      ...(latest !== undefined ? { healthyHosts: latest } : {}),
    };
  }
  return out;
}

/** Options of {@link CloudWatchMetrics}. */
export interface CloudWatchMetricsOptions {
  readonly cloudwatch: CloudWatchSender;
  readonly targets: RolloutTargets;
  /**
   * How long after a window ends its datapoints are complete: the ALB publishes per minute and
   * CloudWatch needs a little longer. `window` waits until `end` + this before reading. Default 90000.
   */
  readonly ingestionDelayMs?: number;
  /** Clock (tests pass a fake). Default: wall time and a timer. */
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
}

export class CloudWatchMetrics implements MetricsPort {
  constructor(private readonly opts: CloudWatchMetricsOptions) {}

  async window(start: Date, end: Date): Promise<Readonly<Record<Color, ColorWindow>>> {
    const period = windowPeriodSeconds(start, end);
    const now = this.opts.now ?? (() => new Date());
    const sleep = this.opts.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
    const wait = end.getTime() + (this.opts.ingestionDelayMs ?? 90_000) - now().getTime();
    if (wait > 0) await sleep(wait);
    const queries = metricDataQueries(this.opts.targets, period);
    const pages: MetricDataResult[][] = [];
    let token: string | undefined;
    do {
      const out = await this.opts.cloudwatch.send(
        new GetMetricDataCommand({
          MetricDataQueries: queries,
          StartTime: start,
          EndTime: end,
          ScanBy: "TimestampAscending",
          NextToken: token,
        }),
      );
      pages.push(out.MetricDataResults ?? []);
      token = out.NextToken;
    } while (token);
    return parseMetricData(mergeResults(pages));
  }
}
