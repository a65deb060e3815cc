/**
 * The verdict of an experiment from its records: join each outcome to its prediction (by
 * prediction id and row, or by key hash and the prediction nearest its timestamp), score it per
 * variant (correct or not for a label, the value for a number), test the difference, and
 * recommend only with both significance and the minimum sample size fixed up front by a power
 * analysis. Predictions made without an assignment key are not samples and are counted apart.
 */
import type { Variant } from "../../src/experiment/assignment";
import type { ExperimentRecord, OutcomeRecord, PredictionRecord } from "../../src/experiment/records";
import {
  meanSampleSize,
  proportionSampleSize,
  summarize,
  twoProportionZTest,
  welchTTest,
  type TestResult,
} from "./stats";

export type Metric = "accuracy" | "mean";

export interface AnalysisOptions {
  /** "accuracy" (label outcomes) or "mean" (value outcomes). Default: the kind the outcomes carry. */
  readonly metric?: Metric;
  /** Significance level. Default: 0.05. */
  readonly alpha?: number;
  /** Power of the minimum-sample-size calculation. Default: 0.8. */
  readonly power?: number;
  /** Smallest difference worth detecting (accuracy points, or units of the value). Required. */
  readonly minEffect: number;
  /** Control accuracy the sample size assumes. Default: the control's observed accuracy. */
  readonly baseline?: number;
  /** Standard deviation of the value the sample size assumes. Default: the pooled observed one. */
  readonly sd?: number;
  /** Whether a larger ("max") or smaller ("min") mean is better. Default: "max". */
  readonly goal?: "max" | "min";
  /** Longest distance between an outcome's timestamp and its prediction, by key, in ms. Default: 300000. */
  readonly joinWindowMs?: number;
}

export interface VariantResult {
  readonly variant: Variant;
  /** Model versions that answered this variant's samples. */
  readonly versions: readonly string[];
  /** Scored outcomes (samples). */
  readonly n: number;
  /** Accuracy, or the mean value. */
  readonly value: number;
}

export type Verdict =
  "treatment_better" | "control_better" | "not_significant" | "insufficient_sample" | "no_data";

export interface Analysis {
  readonly experiment: string;
  readonly metric: Metric;
  readonly test: "two-proportion z-test" | "Welch's t-test";
  readonly alpha: number;
  readonly power: number;
  readonly counts: {
    readonly predictions: number;
    /** Predictions made without an assignment key (sent to control, not samples). */
    readonly unassigned: number;
    readonly outcomes: number;
    /** Outcomes whose prediction was not found. */
    readonly unmatched: number;
    /** Outcomes of predictions made without an assignment key (not samples). */
    readonly unassignedOutcomes: number;
    /** Label outcomes whose prediction recorded no predicted label (e.g. OIP). */
    readonly unscorable: number;
    /** Further outcomes for a prediction row already scored (the first is kept). */
    readonly duplicates: number;
    /** Outcomes of the other kind than the metric (labels when scoring means, or values). */
    readonly otherKind: number;
  };
  readonly control: VariantResult;
  readonly treatment: VariantResult;
  /** treatment - control, with its confidence interval; absent without enough data. */
  readonly result?: TestResult;
  /** Samples each variant needs (power analysis), and what it assumed. */
  readonly minSamplePerVariant?: number;
  readonly sampleSizeBasis: string;
  readonly verdict: Verdict;
  readonly recommendation: string;
}

export class AnalysisError extends Error {
  override name = "AnalysisError";
}

export function analyze(
  experiment: string,
  records: readonly ExperimentRecord[],
  options: AnalysisOptions,
): Analysis {
  const alpha = options.alpha ?? 0.05;
  const power = options.power ?? 0.8;
  const window = options.joinWindowMs ?? 300_000;
  if (!(options.minEffect > 0))
    throw new AnalysisError(`--min-effect must be a positive number, got ${options.minEffect}`);
  const mine = records.filter((r) => r.experiment === experiment);
  const predictions = mine.filter((r): r is PredictionRecord => r.kind === "prediction");
  const outcomes = mine.filter((r): r is OutcomeRecord => r.kind === "outcome");
  const labelled = outcomes.filter((o) => o.label !== undefined).length;
  const metric: Metric = options.metric ?? (labelled >= outcomes.length - labelled ? "accuracy" : "mean");

  const byId = new Map(predictions.map((p) => [p.id, p]));
  const byKey = new Map<string, PredictionRecord[]>();
  for (const p of predictions) {
    if (p.key_hash === undefined) continue;
    const list = byKey.get(p.key_hash) ?? [];
    list.push(p);
    byKey.set(p.key_hash, list);
  }
  const nearest = (o: OutcomeRecord): PredictionRecord | undefined => {
    const at = Date.parse(o.timestamp ?? "");
    let best: PredictionRecord | undefined;
    let distance = Infinity;
    for (const p of byKey.get(o.key_hash ?? "") ?? []) {
      const d = Math.abs(Date.parse(p.time) - at);
      if (d <= window && d < distance) [best, distance] = [p, d];
    }
    return best;
  };

  const counts = {
    predictions: predictions.length,
    unassigned: 0,
    outcomes: outcomes.length,
    unmatched: 0,
    unassignedOutcomes: 0,
    unscorable: 0,
    duplicates: 0,
    otherKind: 0,
  };
  counts.unassigned = predictions.filter((p) => !p.assigned).length;
  const samples: Record<Variant, number[]> = { control: [], treatment: [] };
  const versions: Record<Variant, Set<string>> = { control: new Set(), treatment: new Set() };
  const scored = new Set<string>();
  for (const o of outcomes) {
    if ((metric === "accuracy") !== (o.label !== undefined)) {
      counts.otherKind++;
      continue;
    }
    const p = o.prediction_id !== undefined ? byId.get(o.prediction_id) : nearest(o);
    if (!p) {
      counts.unmatched++;
      continue;
    }
    if (!p.assigned) {
      counts.unassignedOutcomes++;
      continue;
    }
    const row = o.prediction_id !== undefined ? (o.row ?? 0) : 0;
    const id = `${p.id}#${row}`;
    if (scored.has(id)) {
      counts.duplicates++;
      continue;
    }
    let score: number;
    if (metric === "accuracy") {
      const predicted = p.predictions?.[row];
      if (predicted === undefined) {
        counts.unscorable++;
        continue;
      }
      score = String(predicted) === String(o.label) ? 1 : 0;
    } else {
      score = o.value as number;
    }
    scored.add(id);
    samples[p.variant].push(score);
    versions[p.variant].add(p.model_version);
  }

  const summary = (v: Variant): VariantResult => {
    const s = samples[v];
    return {
      variant: v,
      versions: [...versions[v]].sort(),
      n: s.length,
      value: s.length ? s.reduce((a, b) => a + b, 0) / s.length : NaN,
    };
  };
  const control = summary("control");
  const treatment = summary("treatment");
  const base = { experiment, metric, alpha, power, counts, control, treatment } as const;
  const test = metric === "accuracy" ? "two-proportion z-test" : "Welch's t-test";

  const minimum =
    metric === "accuracy"
      ? accuracySampleSize(control, options, alpha, power)
      : meanSampleSizeOf(samples, options, alpha, power);
  const enough =
    metric === "accuracy" ? control.n >= 1 && treatment.n >= 1 : control.n >= 2 && treatment.n >= 2;
  if (!enough) {
    return {
      ...base,
      test,
      ...minimum,
      verdict: "no_data",
      recommendation: `not enough outcomes to test (control ${control.n}, treatment ${treatment.n}); keep the experiment running`,
    };
  }
  const result =
    metric === "accuracy"
      ? twoProportionZTest(sum(samples.control), control.n, sum(samples.treatment), treatment.n, 1 - alpha)
      : welchTTest(summarize(samples.control), summarize(samples.treatment), 1 - alpha);
  const better = options.goal === "min" ? result.difference < 0 : result.difference > 0;
  const significant = result.pValue < alpha;
  const sampled =
    minimum.minSamplePerVariant !== undefined &&
    Math.min(control.n, treatment.n) >= minimum.minSamplePerVariant;
  const need = minimum.minSamplePerVariant;
  let verdict: Verdict;
  let recommendation: string;
  if (!significant) {
    verdict = "not_significant";
    recommendation =
      `not significant (p = ${fmtP(result.pValue)} >= ${alpha}): no difference shown; ` +
      (need !== undefined && !sampled
        ? `keep running until each variant has ${need} outcomes (control ${control.n}, treatment ${treatment.n})`
        : `the minimum sample is reached, so any difference is likely below ${options.minEffect}; keep control`);
  } else if (!sampled) {
    verdict = "insufficient_sample";
    recommendation =
      `significant (p = ${fmtP(result.pValue)}) but below the minimum sample of ${need ?? "?"} per variant ` +
      `(control ${control.n}, treatment ${treatment.n}): keep running; deciding early inflates false positives`;
  } else if (better) {
    verdict = "treatment_better";
    recommendation = `treatment is better (p = ${fmtP(result.pValue)} < ${alpha}, each variant >= ${need} outcomes): promote ${treatment.versions.join(", ")}`;
  } else {
    verdict = "control_better";
    recommendation = `control is better (p = ${fmtP(result.pValue)} < ${alpha}, each variant >= ${need} outcomes): keep ${control.versions.join(", ")} and end the experiment`;
  }
  return { ...base, test, result, ...minimum, verdict, recommendation };
}

function accuracySampleSize(control: VariantResult, o: AnalysisOptions, alpha: number, power: number) {
  const observed = o.baseline === undefined;
  const p1 = o.baseline ?? control.value;
  if (!(p1 > 0 && p1 < 1)) {
    return { sampleSizeBasis: `no baseline accuracy yet (pass --baseline): control accuracy is ${fmt(p1)}` };
  }
  // The harder direction of the two: detecting a change toward 0.5 needs more samples.
  const up = p1 + o.minEffect < 1 ? proportionSampleSize(p1, p1 + o.minEffect, alpha, power) : 0;
  const down = p1 - o.minEffect > 0 ? proportionSampleSize(p1, p1 - o.minEffect, alpha, power) : 0;
  const n = Math.ceil(Math.max(up, down));
  return {
    minSamplePerVariant: n,
    sampleSizeBasis:
      `to detect ±${o.minEffect} from a baseline accuracy of ${fmt(p1)}${observed ? " (the control's observed accuracy; pass --baseline to fix it up front)" : ""}` +
      ` at alpha ${alpha} with power ${power}`,
  };
}

function meanSampleSizeOf(
  samples: Record<Variant, number[]>,
  o: AnalysisOptions,
  alpha: number,
  power: number,
) {
  const observed = o.sd === undefined;
  let sd = o.sd;
  if (sd === undefined) {
    const a = summarize(samples.control);
    const b = summarize(samples.treatment);
    if (a.n < 2 || b.n < 2) return { sampleSizeBasis: "no standard deviation yet (pass --sd)" };
    sd = Math.sqrt(((a.n - 1) * a.variance + (b.n - 1) * b.variance) / (a.n + b.n - 2));
  }
  if (!(sd > 0)) return { sampleSizeBasis: `standard deviation ${fmt(sd)}: every value is the same` };
  return {
    minSamplePerVariant: Math.ceil(meanSampleSize(o.minEffect, sd, alpha, power)),
    sampleSizeBasis:
      `to detect ±${o.minEffect} with a standard deviation of ${fmt(sd)}${observed ? " (pooled from the data; pass --sd to fix it up front)" : ""}` +
      ` at alpha ${alpha} with power ${power}`,
  };
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));
/** A p-value for text: 4 significant digits, scientific when tiny. */
export function fmtP(p: number): string {
  return p < 0.0001 ? p.toExponential(2) : p.toFixed(4);
}
