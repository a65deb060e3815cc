/**
 * The statistics against published worked examples (R output as printed in the cited pages),
 * to 4 decimals or every digit printed.
 */
import assert from "node:assert/strict";
import {
  meanSampleSize,
  proportionSampleSize,
  summarize,
  tTestPower,
  twoProportionZTest,
  welchTTest,
} from "../../../serving/cli/experiment/stats";

/** |actual - expected| within half a unit of the `decimals`-th decimal (at least 4 everywhere). */
function near(actual: number, expected: number, decimals: number, what: string): void {
  const tolerance = 0.5 * 10 ** -decimals;
  assert.ok(
    Math.abs(actual - expected) <= tolerance,
    `${what}: expected ${expected} (to ${decimals} decimals), got ${actual}`,
  );
}

describe("experiment statistics (published worked examples)", () => {
  it("two-proportion z-test: 179/300 vs 203/400 (Gustavus Adolphus College MCS 142, R prop.test correct = FALSE)", () => {
    // http://homepages.gac.edu/~anienow2/MCS_142/R/R-2-prop.html:
    // X-squared = 5.4979, df = 1, p-value = 0.01904; 95% CI 0.01512659 0.16320674;
    // prop 1 0.5966667, prop 2 0.5075000. R reports prop 1 - prop 2; we test b - a, so a = group 2.
    const r = twoProportionZTest(203, 400, 179, 300);
    near(r.statistic ** 2, 5.4979, 4, "X-squared = z^2");
    near(r.pValue, 0.01904, 5, "p-value");
    near(r.ci[0], 0.01512659, 8, "CI low");
    near(r.ci[1], 0.16320674, 8, "CI high");
    near(r.difference, 0.5966667 - 0.5075, 7, "difference");
  });

  it("Welch's t-test: exam scores with guides A and B (finnstats / Statology, R t.test)", () => {
    // https://finnstats.com/unequal-variance-t-test-in-r-welchs-t-test: t = 2.1245, df = 21.914,
    // p-value = 0.04515, 95% CI 0.2046142 17.1287192, means 84.50000 75.83333.
    const a = [80, 75, 78, 99, 91, 71, 72, 88, 82, 81, 99, 98];
    const b = [54, 85, 61, 75, 80, 88, 77, 76, 74, 76, 83, 81];
    const r = welchTTest(summarize(b), summarize(a));
    near(r.statistic, 2.1245, 4, "t");
    near(r.df!, 21.914, 3, "df");
    near(r.pValue, 0.04515, 5, "p-value");
    near(r.ci[0], 0.2046142, 6, "CI low");
    near(r.ci[1], 17.1287192, 6, "CI high"); // jstat's t quantile differs from R's qt in the 8th digit
  });

  it("Welch's t-test: ts1 vs ts2 (R t.test output quoted on Cross Validated / boxhoidap)", () => {
    // t = -1.8325, df = 17.9, p-value = 0.08356, 95% CI -2.1469104 0.1469104, means 10.4 and 11.4.
    const ts1 = [11, 9, 10, 11, 10, 12, 9, 11, 12, 9];
    const ts2 = [11, 13, 10, 13, 12, 9, 11, 12, 12, 11];
    const r = welchTTest(summarize(ts2), summarize(ts1));
    near(r.statistic, -1.8325, 4, "t");
    near(r.df!, 17.9, 1, "df");
    near(r.pValue, 0.08356, 5, "p-value");
    near(r.ci[0], -2.1469104, 7, "CI low");
    near(r.ci[1], 0.1469104, 7, "CI high");
  });

  it("sample size for proportions: R power.prop.test(p1 = .50, p2 = .75, power = .90) => n = 76.7", () => {
    // R documentation of power.prop.test, Examples.
    near(proportionSampleSize(0.5, 0.75, 0.05, 0.9), 76.7, 1, "n");
    near(proportionSampleSize(0.75, 0.5, 0.05, 0.9), 76.7, 1, "n, either order");
  });

  it("power and sample size for means: R power.t.test(n = 20, delta = 1) => power 0.869; (power = .90, delta = 1) => n 22.02", () => {
    // R documentation of power.t.test, Examples (two-sample, sd 1, sig.level 0.05).
    near(tTestPower(20, 1, 1), 0.869, 3, "power");
    near(meanSampleSize(1, 1, 0.05, 0.9), 22.02, 2, "n");
  });

  it("refuses inputs it cannot test, saying why", () => {
    assert.throws(
      () => twoProportionZTest(0, 0, 1, 2),
      /each group needs at least one sample, got n1 0, n2 2/,
    );
    assert.throws(() => welchTTest(summarize([1]), summarize([1, 2])), /at least two samples, got 1 and 2/);
    assert.throws(() => proportionSampleSize(0.5, 0.5), /must differ/);
  });
});
