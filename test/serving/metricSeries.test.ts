/**
 * The series metrics expose exactly what prom-client's own would for the same observations: the
 * scrape text of both, fed the same values, is compared byte for byte.
 */
import assert from "node:assert/strict";
import { Counter, Histogram, Registry } from "prom-client";
import { SeriesCounter, SeriesHistogram } from "../../serving/src/metricSeries";

const BUCKETS = [0.001, 0.005, 0.01, 0.1, 1];
const OBSERVED = [0, 0.001, 0.0010001, 0.004, 0.005, 0.05, 0.1, 0.99, 1, 1.5, 250];

function both() {
  const reference = new Registry();
  const series = new Registry();
  const config = { name: "t_request_duration_seconds", help: "Latency.", buckets: BUCKETS };
  const labelNames = ["route", "method", "status"] as const;
  return {
    reference,
    series,
    refHistogram: new Histogram({
      ...config,
      labelNames: ["route", "method"] as const,
      registers: [reference],
    }),
    histogram: new SeriesHistogram({
      ...config,
      labelNames: ["route", "method"] as const,
      registers: [series],
    }),
    refCounter: new Counter({
      name: "t_requests_total",
      help: "Requests.",
      labelNames,
      registers: [reference],
    }),
    counter: new SeriesCounter({
      name: "t_requests_total",
      help: "Requests.",
      labelNames,
      registers: [series],
    }),
  };
}

describe("series metrics", () => {
  it("scrape exactly as prom-client's Histogram and Counter for the same observations", async () => {
    const m = both();
    for (const [i, v] of OBSERVED.entries()) {
      const route = i % 3 === 0 ? "/predict" : "/v2/models/:name/infer";
      m.refHistogram.observe({ route, method: "POST" }, v);
      m.histogram.labels({ route, method: "POST" }).observe(v);
      m.refCounter.inc({ route, method: "POST", status: i % 2 ? "200" : "503" });
      m.counter.labels({ route, method: "POST", status: i % 2 ? 200 : 503 }).inc();
    }
    m.refCounter.inc({ route: "/predict", method: "GET", status: "404" }, 3);
    m.counter.inc({ route: "/predict", method: "GET", status: "404" }, 3);
    const expected = await m.reference.metrics();
    assert.equal(await m.series.metrics(), expected);
    // The boundaries: `le` is inclusive (0.001 counts in le="0.001", 0.0010001 does not; 0.005
    // does in le="0.005"), and values above every bound count only in +Inf.
    const infer = 'route="/v2/models/:name/infer",method="POST"';
    for (const line of [
      `t_request_duration_seconds_bucket{le="0.001",${infer}} 1\n`,
      `t_request_duration_seconds_bucket{le="0.005",${infer}} 3\n`,
      `t_request_duration_seconds_bucket{le="1",${infer}} 6\n`,
      `t_request_duration_seconds_bucket{le="+Inf",${infer}} 7\n`,
    ]) {
      assert.ok(expected.includes(line), line);
    }
  });

  it("resolves a label set to one series, however its values are spelled", () => {
    const { counter, histogram } = both();
    assert.equal(
      counter.labels({ route: "/r", method: "POST", status: 200 }),
      counter.labels({ route: "/r", method: "POST", status: "200" }),
    );
    assert.notEqual(
      histogram.labels({ route: "/r", method: "POST" }),
      histogram.labels({ route: "/r", method: "GET" }),
    );
  });

  it("refuses what Prometheus cannot represent, naming the metric", () => {
    const { counter, histogram } = both();
    assert.throws(() => counter.labels({ route: "/r", method: "POST", status: 200 }).inc(-1), {
      message: "a counter cannot add -1",
    });
    assert.throws(() => histogram.labels({ route: "/r", method: "POST" }).observe(Number.NaN), {
      message: "metric t_request_duration_seconds: cannot observe NaN",
    });
    assert.throws(() => histogram.labels({ route: "/r" } as never), {
      message: 'metric t_request_duration_seconds: label "method" is missing',
    });
    assert.throws(() => new SeriesHistogram({ name: "t_h", help: "h", labelNames: [], buckets: [1, 1] }), {
      message: "metric t_h: buckets must be distinct finite numbers",
    });
  });

  it("forgets every series on reset, as the registry's resetMetrics asks", async () => {
    const m = both();
    m.counter.inc({ route: "/r", method: "POST", status: 200 });
    m.series.resetMetrics();
    assert.equal(await m.series.metrics(), (await m.reference.metrics()).replace(/\n$/, "\n"));
    assert.equal((await m.counter.get()).values.length, 0);
  });
});
