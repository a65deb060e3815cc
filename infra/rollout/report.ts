/**
 * Text for people: the plan (`--dry-run`, the PR preview comment) and the end-of-run report
 * (step, metric, threshold, both colors' values), plus the CLI's exit codes. Pure.
 */
import { LATENCY_FLOOR_MS } from "./analysis";
import type { RolloutOutcome, RolloutReport } from "./engine";
import type { RolloutPlan } from "./plan";
import type { RolloutPolicy } from "./policy";
import type { Routing } from "./ports";

/** `npm run rollout` exit codes, by outcome (documented in README.md). */
export const EXIT_CODES: Readonly<Record<RolloutOutcome, number>> = {
  noop: 0,
  succeeded: 0,
  aborted: 1,
  "precheck-failed": 3,
  interrupted: 4,
  recovered: 5,
  "restore-failed": 6,
};

/** Exit code for a usage or configuration error (nothing was read or changed). */
export const USAGE_EXIT_CODE = 2;

const routing = (r: Routing): string =>
  r.canaryPercent === 0
    ? `${r.activeColor} 100%`
    : `${r.activeColor} live, ${r.canaryPercent}% to the standby`;

const pct = (x: number): string => `${+(x * 100).toFixed(4)}%`;

/** The plan as Markdown-friendly lines: from, to, steps, thresholds, golden set. */
export function formatPlan(plan: RolloutPlan, policy: RolloutPolicy): string {
  const lines = [`Rollout plan: ${plan.kind}`, `- from: ${routing(plan.from)}`, `- to: ${routing(plan.to)}`];
  if (plan.receiving) {
    lines.push(
      `- receiving: ${plan.receiving} (${plan.receivingVersion || "no model version"}), ` +
        `live: ${plan.live} (${plan.liveVersion || "no model version"})`,
    );
  }
  switch (plan.kind) {
    case "noop":
      lines.push("- nothing to do: the deployed routing is the committed one");
      break;
    case "reroute":
      lines.push("- weights unchanged; applied at once (only the preview route's color changes)");
      break;
    case "rollback":
      lines.push(
        `- rollback to an older version: capacity check, then applied at once (no golden gate, no bake)`,
      );
      break;
    case "progressive": {
      const steps = plan.steps.map((s) => `${s.percent}%`);
      if (plan.final) steps.push(`flip to ${routing(plan.final)}`);
      lines.push(
        `- golden set of ${plan.receivingVersion} through the ${plan.receiving} route, tolerance ${policy.goldenTolerance}`,
        `- steps: ${steps.join(" -> ") || "none"}; each bakes ${policy.bakeSeconds} s`,
        `- abort when, on a step's window: 5xx rate > ${pct(policy.maxErrorRate)}; ` +
          `5xx rate > ${policy.maxErrorRateRatio}x live (when live > 0); ` +
          `p99 > ${policy.maxLatencyRatio}x live (each floored at ${LATENCY_FLOOR_MS} ms); ` +
          `fewer than ${policy.minRequests} requests after ${policy.maxInconclusiveWindows + 1} window(s) (fail safe)`,
      );
      break;
    }
  }
  return lines.join("\n");
}

const val = (x: number | undefined): string => (x === undefined ? "n/a" : String(x));

/** The end-of-run report. */
export function formatReport(report: RolloutReport): string {
  const lines = [`Rollout ${report.outcome} (exit ${EXIT_CODES[report.outcome]})`];
  if (report.plan)
    lines.push(`- ${report.plan.kind}: ${routing(report.plan.from)} -> ${routing(report.plan.to)}`);
  if (report.recovered) {
    lines.push(
      `- previous run: ${routing(report.recovered.from)} -> ${routing(report.recovered.to)}, started ${report.recovered.startedAt}`,
    );
  }
  if (report.golden) {
    const g = report.golden;
    lines.push(
      g.cases === 0
        ? `- golden set: ${g.version} has none (gate skipped)`
        : `- golden set of ${g.version}: ${g.cases - g.failedCases}/${g.cases} cases match`,
    );
    for (const m of g.mismatches) {
      const at = m.output === "" ? `case ${m.caseIndex}` : `case ${m.caseIndex} ${m.output}[${m.index}]`;
      lines.push(
        `  - ${at}: expected ${JSON.stringify(m.expected)}, got ${JSON.stringify(m.actual)} (${m.reason})`,
      );
    }
  }
  for (const s of report.steps) {
    const last = s.windows[s.windows.length - 1];
    const detail = last
      ? `; last window: receiving ${last.receiving.requests} req, ${last.receiving.errors5xx} 5xx, p99 ${val(last.receiving.p99Ms)} ms; ` +
        `live ${last.live.requests} req, ${last.live.errors5xx} 5xx, p99 ${val(last.live.p99Ms)} ms`
      : "";
    lines.push(`- step ${s.percent}%: ${s.outcome} after ${s.windows.length} window(s)${detail}`);
  }
  if (report.abort) {
    const a = report.abort;
    lines.push(
      `- stopped at ${a.phase}${a.stepPercent !== undefined ? ` (step ${a.stepPercent}%)` : ""}: ${a.reason}`,
    );
    if (a.analysis) {
      lines.push(
        `  metric ${a.analysis.metric}: observed ${a.analysis.observed}, threshold ${a.analysis.threshold}; ` +
          `receiving ${val(a.analysis.receiving)}, live ${val(a.analysis.live)}`,
      );
    }
  }
  if (report.finalRouting) lines.push(`- routing now: ${routing(report.finalRouting)}`);
  else
    lines.push(
      `- routing now: UNKNOWN (restore failed); the record is kept and the next run retries the restore`,
    );
  return lines.join("\n");
}
