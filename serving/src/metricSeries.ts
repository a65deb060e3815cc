/**
 * Counters and histograms for the per-request path, exposed through a prom-client Registry.
 *
 * prom-client's `inc(labels)` / `observe(labels, v)` rebuild a hash string from the label object
 * on every call, and a histogram also turns each float bucket bound into a property name. Under
 * wrk load on the churn model (c=64), V8's CPU profile put prom-client at about 3.5% of the
 * server's busy time for the three observations a request makes; with these, under 0.3%
 * (bench/README.md, "Series metrics"). Here a label set is resolved once
 * into a series handle (callers cache handles for the label sets they use), so recording is an
 * increment, or a bucket search and three increments. The registry reads these metrics through
 * the `get()` interface it reads prom-client's own with, so `/metrics` is unchanged.
 */
import type { Registry } from "prom-client";

/** One exposition line as prom-client's Registry reads it. */
interface ExportedValue {
  readonly labels: Readonly<Record<string, string | number>>;
  readonly value: number;
  /** Default: the metric's name. */
  readonly metricName?: string;
}

/**
 * A metric as prom-client's Registry reads it at scrape time (the runtime interface; its typings
 * declare `type` as a numeric enum, while the registry writes the string into `# TYPE`).
 */
interface ExportedMetric {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "histogram";
  readonly aggregator: "sum";
  readonly values: readonly ExportedValue[];
}

/** What both kinds are built from. */
export interface SeriesMetricConfig<L extends string> {
  /** Metric name (the exposition adds `_bucket`, `_sum`, `_count` to a histogram's). */
  readonly name: string;
  readonly help: string;
  /** Label names, in the order the exposition writes them. */
  readonly labelNames: readonly L[];
  /** Registries to register with. Default: none. */
  readonly registers?: readonly Registry[];
}

type Labels<L extends string> = Readonly<Record<L, string | number>>;

/** A metric whose label sets resolve to cached series. */
abstract class SeriesMetric<L extends string, S> {
  readonly name: string;
  readonly help: string;
  abstract readonly type: "counter" | "histogram";
  readonly aggregator = "sum" as const;
  protected readonly labelNames: readonly L[];
  private readonly series = new Map<string, { labels: Record<string, string>; series: S }>();

  constructor(config: SeriesMetricConfig<L>) {
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames;
    for (const registry of config.registers ?? []) registry.registerMetric(this as never);
  }

  /** The series of one label set, created at first use. Resolve once and keep it on hot paths. */
  labels(labels: Labels<L>): S {
    let key = "";
    for (const name of this.labelNames) {
      const value = labels[name];
      if (value === undefined) throw new Error(`metric ${this.name}: label "${name}" is missing`);
      key += `${value}\u0000`;
    }
    let entry = this.series.get(key);
    if (!entry) {
      const ordered: Record<string, string> = {};
      for (const name of this.labelNames) ordered[name] = String(labels[name]);
      entry = { labels: ordered, series: this.createSeries() };
      this.series.set(key, entry);
    }
    return entry.series;
  }

  /** Forgets every series (prom-client's `reset`; the registry's `resetMetrics` calls it). */
  reset(): void {
    this.series.clear();
  }

  /** What the registry exposes (prom-client's metric interface). */
  async get(): Promise<ExportedMetric> {
    const values: ExportedValue[] = [];
    for (const { labels, series } of this.series.values()) this.export(labels, series, values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  protected abstract createSeries(): S;
  protected abstract export(labels: Record<string, string>, series: S, into: ExportedValue[]): void;
}

/** One label set of a {@link SeriesCounter}. */
export interface CounterSeries {
  /** Adds `value` (default 1). */
  inc(value?: number): void;
}

/** A Prometheus counter whose label sets resolve to cached {@link CounterSeries}. */
export class SeriesCounter<L extends string> extends SeriesMetric<L, CounterSeries & { value: number }> {
  readonly type = "counter";

  /** Adds `value` (default 1) to a label set's series (resolving it each call: not for hot paths). */
  inc(labels: Labels<L>, value = 1): void {
    this.labels(labels).inc(value);
  }

  protected createSeries(): CounterSeries & { value: number } {
    const series = {
      value: 0,
      inc(value = 1) {
        if (!(value >= 0) || !Number.isFinite(value)) throw new Error(`a counter cannot add ${value}`);
        series.value += value;
      },
    };
    return series;
  }

  protected export(labels: Record<string, string>, series: { value: number }, into: ExportedValue[]): void {
    into.push({ labels, value: series.value });
  }
}

/** One label set of a {@link SeriesHistogram}. */
export interface HistogramSeries {
  observe(value: number): void;
}

/** What a histogram series holds: its bucket counts, sum and count. */
type HistogramState = HistogramSeries & { counts: Float64Array; sum: number; count: number };

/** A Prometheus histogram whose label sets resolve to cached {@link HistogramSeries}. */
export class SeriesHistogram<L extends string> extends SeriesMetric<L, HistogramState> {
  readonly type = "histogram";
  private readonly bounds: Float64Array;

  constructor(
    config: SeriesMetricConfig<L> & {
      /** Bucket upper bounds (sorted here; +Inf is implied). */ readonly buckets: readonly number[];
    },
  ) {
    super(config);
    const sorted = [...config.buckets].sort((a, b) => a - b);
    if (sorted.some((b, i) => !Number.isFinite(b) || (i > 0 && b === sorted[i - 1]))) {
      throw new Error(`metric ${config.name}: buckets must be distinct finite numbers`);
    }
    this.bounds = Float64Array.from(sorted);
  }

  /** Observes `value` in a label set's series (resolving it each call: not for hot paths). */
  observe(labels: Labels<L>, value: number): void {
    this.labels(labels).observe(value);
  }

  protected createSeries(): HistogramState {
    const bounds = this.bounds;
    const name = this.name;
    const series: HistogramState = {
      // counts[i]: observations in (bounds[i-1], bounds[i]]; the last slot is above every bound.
      counts: new Float64Array(bounds.length + 1),
      sum: 0,
      count: 0,
      observe(value: number) {
        if (!Number.isFinite(value)) throw new TypeError(`metric ${name}: cannot observe ${value}`);
        let i = 0;
        while (i < bounds.length && value > bounds[i]) i++;
        series.counts[i]++;
        series.sum += value;
        series.count++;
      },
    };
    return series;
  }

  protected export(labels: Record<string, string>, series: HistogramState, into: ExportedValue[]): void {
    const { counts, sum, count } = series;
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += counts[i];
      into.push({
        metricName: `${this.name}_bucket`,
        labels: { le: this.bounds[i], ...labels },
        value: cumulative,
      });
    }
    into.push({ metricName: `${this.name}_bucket`, labels: { le: "+Inf", ...labels }, value: count });
    into.push({ metricName: `${this.name}_sum`, labels, value: sum });
    into.push({ metricName: `${this.name}_count`, labels, value: count });
  }
}
