/**
 * The statistics of an experiment's verdict: a two-proportion z-test for accuracy, Welch's t-test
 * for means (each with a confidence interval for the difference), and the sample size per variant
 * needed to detect a given effect (power analysis). Distribution functions come from jstat; the
 * formulas are the textbook ones R implements, and the tests hold them to R's published outputs:
 *
 * - two proportions: R `prop.test(x, n, correct = FALSE)` (pooled z for the test, the unpooled
 *   Wald interval for the difference, as R reports);
 * - Welch: R `t.test(x, y)` (Welch-Satterthwaite degrees of freedom);
 * - sample size: R `power.prop.test` (normal approximation) and `power.t.test` (noncentral t,
 *   two-sided, `strict = FALSE`).
 */
import { jStat } from "jstat";

/** Result of a two-sample test of `b - a`. */
export interface TestResult {
  /** Estimate of the difference b - a. */
  readonly difference: number;
  /** Confidence interval for the difference at `confidence`. */
  readonly ci: readonly [number, number];
  readonly confidence: number;
  /** z or t statistic. */
  readonly statistic: number;
  /** Degrees of freedom (Welch); undefined for z. */
  readonly df?: number;
  /** Two-sided p-value. */
  readonly pValue: number;
}

const normalQuantile = (p: number): number => jStat.normal.inv(p, 0, 1);
const normalCdf = (x: number): number => jStat.normal.cdf(x, 0, 1);

/**
 * Two-proportion z-test of `x2/n2 - x1/n1` (two-sided, no continuity correction): the statistic
 * uses the pooled proportion (the null says they are equal), the interval the unpooled standard
 * error.
 */
export function twoProportionZTest(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
  confidence = 0.95,
): TestResult {
  if (n1 < 1 || n2 < 1) throw new RangeError(`each group needs at least one sample, got n1 ${n1}, n2 ${n2}`);
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const pooled = (x1 + x2) / (n1 + n2);
  const sePooled = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  const difference = p2 - p1;
  const statistic = sePooled === 0 ? 0 : difference / sePooled;
  const se = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  const q = normalQuantile(1 - (1 - confidence) / 2);
  return {
    difference,
    ci: [difference - q * se, difference + q * se],
    confidence,
    statistic,
    pValue: sePooled === 0 ? 1 : 2 * (1 - normalCdf(Math.abs(statistic))),
  };
}

/** Mean, sample variance (n - 1) and count of a sample, as Welch's test needs them. */
export interface Summary {
  readonly n: number;
  readonly mean: number;
  readonly variance: number;
}

export function summarize(values: readonly number[]): Summary {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  const variance = n > 1 ? values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1) : NaN;
  return { n, mean, variance };
}

/** Welch's t-test of `mean(b) - mean(a)` (two-sided, unequal variances). */
export function welchTTest(a: Summary, b: Summary, confidence = 0.95): TestResult {
  if (a.n < 2 || b.n < 2)
    throw new RangeError(`each group needs at least two samples, got ${a.n} and ${b.n}`);
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  const se = Math.sqrt(va + vb);
  const difference = b.mean - a.mean;
  const df = (va + vb) ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1));
  if (se === 0) {
    return {
      difference,
      ci: [difference, difference],
      confidence,
      statistic: 0,
      df: a.n + b.n - 2,
      pValue: difference === 0 ? 1 : 0,
    };
  }
  const statistic = difference / se;
  const q = jStat.studentt.inv(1 - (1 - confidence) / 2, df);
  return {
    difference,
    ci: [difference - q * se, difference + q * se],
    confidence,
    statistic,
    df,
    pValue: 2 * (1 - jStat.studentt.cdf(Math.abs(statistic), df)),
  };
}

/**
 * Samples per group for a two-sided two-proportion test to detect `p1` vs `p2` with `power` at
 * `alpha` (R's `power.prop.test`): n = ((z(1-a/2) sqrt(2 p(1-p)) + z(power) sqrt(p1 q1 + p2 q2)) / |p2 - p1|)^2,
 * p the mean of p1 and p2. Not rounded up.
 */
export function proportionSampleSize(p1: number, p2: number, alpha = 0.05, power = 0.8): number {
  if (!(p1 > 0 && p1 < 1 && p2 > 0 && p2 < 1) || p1 === p2) {
    throw new RangeError(`proportions must differ and lie strictly between 0 and 1, got ${p1} and ${p2}`);
  }
  const pbar = (p1 + p2) / 2;
  const numerator =
    normalQuantile(1 - alpha / 2) * Math.sqrt(2 * pbar * (1 - pbar)) +
    normalQuantile(power) * Math.sqrt(p1 * (1 - p1) + p2 * (1 - p2));
  return (numerator / Math.abs(p2 - p1)) ** 2;
}

/** Power of a two-sided two-sample t-test with `n` per group (R's `power.t.test`, strict = FALSE). */
export function tTestPower(n: number, delta: number, sd: number, alpha = 0.05): number {
  const df = 2 * (n - 1);
  const critical = jStat.studentt.inv(1 - alpha / 2, df);
  const ncp = Math.sqrt(n / 2) * (Math.abs(delta) / sd);
  return 1 - jStat.noncentralt.cdf(critical, df, ncp);
}

/** Samples per group for a two-sided two-sample t-test to detect `delta` with `power` (bisection on {@link tTestPower}). */
export function meanSampleSize(delta: number, sd: number, alpha = 0.05, power = 0.8): number {
  if (!(sd > 0) || delta === 0)
    throw new RangeError(`need sd > 0 and a non-zero effect, got sd ${sd}, delta ${delta}`);
  let lo = 2;
  let hi = 2;
  while (tTestPower(hi, delta, sd, alpha) < power) {
    hi *= 2;
    if (hi > 1e12) throw new RangeError(`the effect ${delta} is too small to detect with sd ${sd}`);
  }
  for (let i = 0; i < 200 && hi - lo > 1e-9; i++) {
    const mid = (lo + hi) / 2;
    if (tTestPower(mid, delta, sd, alpha) < power) lo = mid;
    else hi = mid;
  }
  return hi;
}
