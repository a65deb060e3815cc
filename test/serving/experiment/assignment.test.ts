import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { assignVariant, BUCKETS, bucketOf, keyHash } from "../../../serving/src/experiment/assignment";

const KEYS = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);

describe("experiment assignment", () => {
  it("is the documented hash: first 64 bits of sha256(name 0x00 key), scaled to 10000 buckets", () => {
    const digest = createHash("sha256").update(Buffer.from("ranker\u0000user-42", "utf8")).digest();
    const expected = Number((digest.readBigUInt64BE(0) * 10_000n) >> 64n);
    assert.equal(bucketOf("ranker", "user-42"), expected);
    assert.equal(keyHash("ranker", "user-42"), digest.subarray(0, 16).toString("hex"));
  });

  it("gives the same key the same variant every time, over 10k keys (recomputed from scratch)", () => {
    const first = KEYS.map((k) => assignVariant("ranker-v2", k, 30));
    const again = [...KEYS]
      .reverse()
      .map((k) => assignVariant("ranker-v2", k, 30))
      .reverse();
    assert.deepEqual(again, first);
  });

  for (const percent of [1, 10, 30, 50, 90]) {
    it(`splits 10k keys within binomial bounds of ${percent}% (4 standard deviations)`, () => {
      const n = KEYS.length;
      const treated = KEYS.filter((k) => assignVariant("ranker-v2", k, percent) === "treatment").length;
      const p = percent / 100;
      const sd = Math.sqrt(n * p * (1 - p));
      assert.ok(
        Math.abs(treated - n * p) <= 4 * sd,
        `${treated} of ${n} in treatment; expected ${n * p} ± ${(4 * sd).toFixed(1)}`,
      );
    });
  }

  it("spreads buckets uniformly (chi-square over 10 deciles below the 0.999 critical value 27.88)", () => {
    const counts = new Array<number>(10).fill(0);
    for (const k of KEYS) counts[Math.floor((bucketOf("ranker-v2", k) * 10) / BUCKETS)]++;
    const expected = KEYS.length / 10;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    assert.ok(chi2 < 27.88, `chi-square ${chi2.toFixed(2)} for ${JSON.stringify(counts)}`);
  });

  it("widening the treatment share only moves control keys into treatment (monotone ramp)", () => {
    for (const k of KEYS.slice(0, 2000)) {
      if (assignVariant("ranker-v2", k, 10) === "treatment")
        assert.equal(assignVariant("ranker-v2", k, 50), "treatment");
    }
  });

  it("assigns independently per experiment: the same user may differ between experiments", () => {
    const a = KEYS.map((k) => assignVariant("exp-a", k, 50));
    const b = KEYS.map((k) => assignVariant("exp-b", k, 50));
    const agree = a.filter((v, i) => v === b[i]).length;
    // Independent halves agree on ~50% of keys: 5000 ± 4 sd (sd = 50).
    assert.ok(Math.abs(agree - 5000) <= 200, `${agree} of 10000 agree`);
  });
});
