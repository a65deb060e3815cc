/**
 * An offline plan of a config change: the program is evaluated under the one mock harness with
 * the stack's config and again with the change; the two recordings are diffed.
 */
import { evaluateStack, type StackEvaluation } from "../harness";
import { diffResources } from "./diff";
import { diffOutputs, formatAssignments, planWarnings, type PlanReport } from "./report";

/** The stack's current config does not evaluate: nothing can be planned against it. */
export class PlanBaselineError extends Error {
  override name = "PlanBaselineError";
}

export interface PlanOptions {
  /**
   * Changes applied to both evaluations, i.e. to the baseline (for example a green color that is
   * already staged). Default: none; the baseline is `Pulumi.<stack>.yaml` as it is.
   */
  readonly baseOverrides?: Readonly<Record<string, unknown>>;
  /**
   * Another checkout (absolute path) whose code is the baseline, e.g. `git worktree add /tmp/base
   * main`: the plan then shows what the code changes of this checkout do (a change under serving/
   * is a new image build). Default: this checkout on both sides.
   */
  readonly baseRepoRoot?: string;
  /** The checkout evaluated after the change. Default: this repository. */
  readonly repoRoot?: string;
}

export interface PlanResult extends PlanReport {
  readonly before: StackEvaluation;
  readonly after: StackEvaluation;
}

/**
 * Plans `overrides` against stack `stack`'s config. Both evaluations run under the same stack
 * name, so URNs match and only what the change caused differs.
 * @throws PlanBaselineError when the baseline itself does not evaluate; otherwise the config or
 *   guard error the change causes (as `pulumi preview` would fail).
 */
export async function planChange(
  stack: string,
  overrides: Readonly<Record<string, unknown>>,
  options: PlanOptions = {},
): Promise<PlanResult> {
  const base = options.baseOverrides ?? {};
  let before: StackEvaluation;
  try {
    before = await evaluateStack(stack, base, { stack, repoRoot: options.baseRepoRoot ?? options.repoRoot });
  } catch (err) {
    const e = err as Error;
    const withBase = Object.keys(base).length > 0 ? ` with ${formatAssignments(base)}` : "";
    throw new PlanBaselineError(
      `stack "${stack}"'s current config${withBase} does not evaluate: ${e.name}: ${e.message}`,
    );
  }
  const after = await evaluateStack(stack, { ...base, ...overrides }, { stack, repoRoot: options.repoRoot });
  const diff = diffResources(before.resources, after.resources);
  const weights = after.outputs.weights as Record<string, unknown> | undefined;
  return {
    stack,
    overrides,
    baseOverrides: base,
    diff,
    outputs: diffOutputs(before.outputs, after.outputs),
    warnings: planWarnings(diff, after.resources, weights),
    before,
    after,
  };
}
