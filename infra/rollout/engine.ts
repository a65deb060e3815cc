/**
 * The rollout engine: walks traffic from the deployed routing to the committed one, in
 * Flagger's shape. Every decision comes from what the ports report (deployed routing, rollout
 * record, capacity, metrics), never from memory of an earlier run, so a killed run is finished
 * by the next one: it finds the record and rolls back.
 *
 * One run:
 * 1. Resume check: a rollout record means a previous run was killed mid-way; restore its
 *    starting routing, clear the record, report `recovered` (non-zero exit) and stop.
 * 2. Plan (plan.ts): noop, reroute, rollback or progressive.
 * 3. Pre-checks: the receiving color has a model version and Ready pods; it is scaled to at
 *    least the live color's Ready count before any weight moves. The old color is never
 *    scaled down here.
 * 4. Golden gate (progressive only): the version's golden set through the receiving color's
 *    own route; any mismatch aborts with no traffic moved.
 * 5. Record written, then each step: apply the weight, bake, analyse the receiving color
 *    against the live one on the same window (analysis.ts); inconclusive windows extend the
 *    bake up to policy.maxInconclusiveWindows, then the step fails safe.
 * 6. The flip (the committed routing), then the record is cleared.
 * Any failure after the record exists (a breached threshold, an error from a port, the abort
 * signal) restores the starting routing before the run returns; if even that fails, the
 * record stays so the next run retries the restore.
 */
import { analyseWindow, failSafe, type AnalysisFail, type AnalysisResult } from "./analysis";
import { compareGolden, type GoldenMismatch } from "./goldenCheck";
import { describeRollout, type ColorVersions, type PlannedStep, type RolloutPlan } from "./plan";
import type { RolloutPolicy } from "./policy";
import type { ColorWindow, RolloutPorts, RolloutRecord, Routing } from "./ports";
import type { Color } from "../traffic";

export type RolloutOutcome =
  /** The deployed routing already is the committed one. */
  | "noop"
  /** The committed routing is in effect. */
  | "succeeded"
  /** A pre-check failed; no weight moved. */
  | "precheck-failed"
  /** The golden gate or a step's analysis failed, or a port failed; the starting routing is back. */
  | "aborted"
  /** The abort signal (SIGINT/SIGTERM) stopped the run; the starting routing is back. */
  | "interrupted"
  /** A killed earlier run was found and its starting routing restored. */
  | "recovered"
  /** Restoring the starting routing failed: weights may be at an intermediate step. */
  | "restore-failed";

export interface RolloutInput {
  /** The committed routing: where the rollout ends. */
  readonly to: Routing;
  readonly policy: RolloutPolicy;
  /** Each color's model version ("" = none), as deployed. */
  readonly versions: ColorVersions;
  /** Aborting it interrupts the run, which restores the starting routing before it returns. */
  readonly signal?: AbortSignal;
  /** Progress lines, as they happen. Default: none. */
  readonly log?: (line: string) => void;
}

/** One analysis window of a step. */
export interface WindowReport {
  readonly start: string;
  readonly end: string;
  readonly receiving: ColorWindow;
  readonly live: ColorWindow;
  readonly result: AnalysisResult;
}

export interface StepReport {
  readonly percent: number;
  readonly routing: Routing;
  readonly windows: readonly WindowReport[];
  /** "incomplete": the run stopped during the step (a signal, or a port failed). */
  readonly outcome: "passed" | "failed" | "incomplete";
}

export interface GoldenReport {
  readonly version: string;
  /** Cases sent; 0 when the version has no golden set (the gate is then skipped, and says so). */
  readonly cases: number;
  readonly failedCases: number;
  readonly mismatches: readonly GoldenMismatch[];
}

/** Why a run did not reach the committed routing. */
export interface AbortReport {
  readonly phase: "precheck" | "golden" | "step" | "error" | "interrupt";
  /** The step's receiving share, for phase "step". */
  readonly stepPercent?: number;
  /** The breached analysis, for phase "step" when a threshold decided. */
  readonly analysis?: AnalysisFail;
  readonly reason: string;
}

export interface RolloutReport {
  readonly outcome: RolloutOutcome;
  readonly plan?: RolloutPlan;
  /** The record of the killed run this run undid (outcome "recovered"). */
  readonly recovered?: RolloutRecord;
  readonly golden?: GoldenReport;
  readonly steps: readonly StepReport[];
  readonly abort?: AbortReport;
  /** The routing in effect when the run returned, as far as the engine knows. */
  readonly finalRouting?: Routing;
  readonly startedAt: string;
  readonly endedAt: string;
}

/** The plan alone (dry runs, the PR preview comment): pure, no port is called. */
export { describeRollout } from "./plan";

class StepFailed extends Error {
  constructor(
    readonly abort: AbortReport,
    readonly outcome: RolloutOutcome = "aborted",
  ) {
    super(abort.reason);
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const show = (r: Routing): string => `${r.activeColor} live, canary ${r.canaryPercent}%`;

/**
 * Runs one rollout to the end (or back to its start) and reports what happened. Rejects only
 * before any weight moved (the record or the deployed routing could not be read, the routing is
 * invalid, the record could not be written); from then on every outcome is a report.
 */
export async function runRollout(ports: RolloutPorts, input: RolloutInput): Promise<RolloutReport> {
  const { clock, traffic, record } = ports;
  const log = input.log ?? (() => undefined);
  const startedAt = clock.now().toISOString();
  const steps: StepReport[] = [];
  const done = (r: Omit<RolloutReport, "startedAt" | "endedAt" | "steps">): RolloutReport => ({
    ...r,
    steps,
    startedAt,
    endedAt: clock.now().toISOString(),
  });

  // 1. A record left behind means a run was killed between steps: undo it first.
  const previous = await record.read();
  if (previous) {
    log(`a rollout started at ${previous.startedAt} was interrupted; restoring ${show(previous.from)}`);
    try {
      await traffic.apply(previous.from);
      await record.clear();
    } catch (err) {
      return done({
        outcome: "restore-failed",
        recovered: previous,
        abort: { phase: "error", reason: `restoring ${show(previous.from)} failed: ${message(err)}` },
      });
    }
    return done({
      outcome: "recovered",
      recovered: previous,
      finalRouting: previous.from,
      abort: {
        phase: "interrupt",
        reason:
          `a previous rollout (started ${previous.startedAt}, ${show(previous.from)} -> ${show(previous.to)}) ` +
          `was killed; its starting routing is restored. Run the rollout again to retry.`,
      },
    });
  }

  // 2. Plan from what is deployed.
  const from = await traffic.current();
  const plan = describeRollout(from, input.to, input.policy, input.versions);
  log(`deployed: ${show(from)}; committed: ${show(input.to)}; plan: ${plan.kind}`);
  if (plan.kind === "noop") return done({ outcome: "noop", plan, finalRouting: from });
  const interrupted = (): RolloutReport =>
    done({ outcome: "interrupted", plan, finalRouting: from, abort: interruptAbort() });
  /** Reroute and rollback: one move to the committed routing, nothing intermediate to record. */
  const applyAtOnce = async (): Promise<RolloutReport> => {
    log(`${plan.kind}: applying ${show(input.to)} at once`);
    try {
      await traffic.apply(input.to);
    } catch (err) {
      return done({
        outcome: "aborted",
        plan,
        finalRouting: from,
        abort: { phase: "error", reason: message(err) },
      });
    }
    return done({ outcome: "succeeded", plan, finalRouting: input.to });
  };
  if (plan.kind === "reroute") return applyAtOnce();

  // 3. Pre-checks: nothing has moved yet, so a failure needs no restore.
  const receiving = plan.receiving!;
  const live = plan.live!;
  try {
    await untilAborted(() => preCheck(ports, plan, log), input.signal);
  } catch (err) {
    if (input.signal?.aborted) return interrupted();
    return done({
      outcome: "precheck-failed",
      plan,
      finalRouting: from,
      abort: { phase: "precheck", reason: message(err) },
    });
  }
  if (input.signal?.aborted) return interrupted();

  // The known-good version: no golden set, no bake (see plan.ts).
  if (plan.kind === "rollback") return applyAtOnce();

  // 4. Golden gate, before any weight moves.
  let golden: GoldenReport;
  try {
    golden = await untilAborted(() => goldenGate(ports, plan, input.policy, log), input.signal);
  } catch (err) {
    if (input.signal?.aborted) return interrupted();
    return done({
      outcome: "aborted",
      plan,
      finalRouting: from,
      abort: { phase: "golden", reason: message(err) },
    });
  }
  if (golden.failedCases > 0) {
    const first = golden.mismatches[0];
    return done({
      outcome: "aborted",
      plan,
      golden,
      finalRouting: from,
      abort: {
        phase: "golden",
        reason:
          `golden set of ${plan.receivingVersion}: ${golden.failedCases} of ${golden.cases} cases differ ` +
          `(first: case ${first.caseIndex} ${first.output}[${first.index}] expected ${String(first.expected)}, ` +
          `got ${String(first.actual)}); no traffic moved`,
      },
    });
  }
  if (input.signal?.aborted) return { ...interrupted(), golden };

  // 5. Steps. From here on every exit restores `from` unless the committed routing is reached.
  await record.write({ from, to: input.to, startedAt });
  try {
    for (const step of plan.steps) {
      await runStep(ports, input, step, receiving, live, steps, log);
    }
    if (plan.final) {
      log(`all steps passed; applying ${show(plan.final)}`);
      await traffic.apply(plan.final);
    }
    await record.clear();
    return done({ outcome: "succeeded", plan, golden, finalRouting: input.to });
  } catch (err) {
    const failure =
      err instanceof StepFailed
        ? err
        : input.signal?.aborted
          ? new StepFailed(interruptAbort(), "interrupted")
          : new StepFailed({ phase: "error", reason: message(err) });
    log(`aborting: ${failure.abort.reason}; restoring ${show(from)}`);
    try {
      await traffic.apply(from);
      await record.clear();
    } catch (restoreErr) {
      return done({
        outcome: "restore-failed",
        plan,
        golden,
        abort: {
          ...failure.abort,
          reason: `${failure.abort.reason}; then restoring ${show(from)} failed: ${message(restoreErr)}`,
        },
      });
    }
    return done({ outcome: failure.outcome, plan, golden, finalRouting: from, abort: failure.abort });
  }

  function interruptAbort(): AbortReport {
    return { phase: "interrupt", reason: "interrupted by a signal" };
  }
}

/**
 * `work()`, or a rejection as soon as `signal` aborts; not started at all when it already has.
 * Used only before any weight moved, where leaving a scale-up or the golden requests to finish
 * on their own is harmless.
 */
function untilAborted<T>(start: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return start();
  if (signal.aborted) return Promise.reject(new Error("interrupted"));
  const work = start();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Error("interrupted"));
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

async function preCheck(ports: RolloutPorts, plan: RolloutPlan, log: (line: string) => void): Promise<void> {
  const receiving = plan.receiving!;
  const live = plan.live!;
  if (plan.receivingVersion === "") {
    throw new Error(`${receiving} has no model version: set ${receiving}.modelVersion and deploy it first`);
  }
  const ready = await ports.capacity.readyReplicas(receiving);
  if (ready < 1) {
    throw new Error(
      `${receiving} has no Ready pods (${ready}): deploy it (pulumi up) and let it become Ready first`,
    );
  }
  const liveReady = await ports.capacity.readyReplicas(live);
  if (ready < liveReady) {
    log(`scaling ${receiving} from ${ready} to at least ${liveReady} Ready pods (the live color's count)`);
    await ports.capacity.ensureAtLeast(receiving, liveReady);
    const after = await ports.capacity.readyReplicas(receiving);
    if (after < liveReady) {
      throw new Error(
        `${receiving} has ${after} Ready pods after scaling, fewer than ${live}'s ${liveReady}`,
      );
    }
  }
}

async function goldenGate(
  ports: RolloutPorts,
  plan: RolloutPlan,
  policy: RolloutPolicy,
  log: (line: string) => void,
): Promise<GoldenReport> {
  const version = plan.receivingVersion;
  const cases = await ports.golden.cases(version);
  if (cases.length === 0) {
    log(`golden gate: ${version} has no golden set; skipped`);
    return { version, cases: 0, failedCases: 0, mismatches: [] };
  }
  const answers = await ports.golden.send(plan.receiving!, cases);
  const verdict = compareGolden(cases, answers, policy.goldenTolerance);
  log(`golden gate: ${verdict.cases - verdict.failedCases}/${verdict.cases} cases match`);
  return { version, ...verdict };
}

async function runStep(
  ports: RolloutPorts,
  input: RolloutInput,
  step: PlannedStep,
  receiving: Color,
  live: Color,
  steps: StepReport[],
  log: (line: string) => void,
): Promise<void> {
  const { clock } = ports;
  const { policy } = input;
  const windows: WindowReport[] = [];
  const report: { -readonly [K in keyof StepReport]: StepReport[K] } = {
    percent: step.percent,
    routing: step.routing,
    windows,
    outcome: "incomplete",
  };
  steps.push(report);
  // A signal between steps must not move the weight one step further before the restore.
  input.signal?.throwIfAborted();
  log(`step ${step.percent}%: applying ${show(step.routing)}`);
  await ports.traffic.apply(step.routing);
  const start = clock.now();
  for (let inconclusive = 0; ;) {
    await clock.sleep(policy.bakeSeconds * 1000, input.signal);
    const end = clock.now();
    const metrics = await ports.metrics.window(start, end);
    const [r, l] = [metrics[receiving], metrics[live]];
    const result = analyseWindow(policy, r, l);
    windows.push({ start: start.toISOString(), end: end.toISOString(), receiving: r, live: l, result });
    log(
      `step ${step.percent}%: ${receiving} ${r.requests} req ${r.errors5xx} 5xx p99 ${r.p99Ms ?? "n/a"} ms; ` +
        `${live} ${l.requests} req ${l.errors5xx} 5xx p99 ${l.p99Ms ?? "n/a"} ms: ${result.outcome}`,
    );
    if (result.outcome === "pass") {
      report.outcome = "passed";
      return;
    }
    const analysis =
      result.outcome === "fail"
        ? result
        : ++inconclusive > policy.maxInconclusiveWindows
          ? failSafe(policy, r, l, windows.length)
          : undefined;
    if (analysis) {
      report.outcome = "failed";
      throw new StepFailed({
        phase: "step",
        stepPercent: step.percent,
        analysis,
        reason: `step ${step.percent}%: ${analysis.reason}`,
      });
    }
  }
}
