/**
 * `npm run plan -- --set activeColor=green [--set key=value ...] [--base key=value ...] [--stack dev] [--json]`
 *
 * Exit codes: 0 the plan was computed (whatever it shows); 1 the change is refused by the
 * program (config validation or a traffic guard: what `pulumi preview` would report), or the
 * baseline does not evaluate; 2 bad command line.
 */
import { readProjectName } from "../harness/stackFiles";
import { PlanUsageError, parsePlanArgs, USAGE } from "./args";
import { PlanBaselineError, planChange, type PlanResult } from "./plan";
import { formatPlan } from "./report";

/** Where the CLI writes; the process's console by default. */
export interface PlanIo {
  readonly log: (text: string) => void;
  readonly error: (text: string) => void;
}

/** The plan as JSON: resources added/removed by type, name and URN; changes with their paths. */
export function planJson(plan: PlanResult): unknown {
  const { stack, overrides, baseOverrides, diff, outputs, warnings } = plan;
  const brief = (r: { type: string; name: string; urn: string }) => ({
    type: r.type,
    name: r.name,
    urn: r.urn,
  });
  return {
    stack,
    overrides,
    base: baseOverrides,
    added: diff.added.map(brief),
    removed: diff.removed.map(brief),
    changed: diff.changed,
    unchanged: diff.unchanged,
    outputs,
    warnings,
  };
}

/** Runs the command line; resolves to the exit code. */
export async function runPlanCli(argv: readonly string[], io: PlanIo = console): Promise<number> {
  let args;
  try {
    args = parsePlanArgs(argv, readProjectName());
  } catch (err) {
    if (!(err instanceof PlanUsageError)) throw err;
    io.error(`error: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    io.log(USAGE);
    return 0;
  }
  try {
    const plan = await planChange(args.stack, args.overrides, {
      baseOverrides: args.base,
      baseRepoRoot: args.baseRepo,
    });
    io.log(args.json ? JSON.stringify(planJson(plan), null, 2) : formatPlan(plan));
    return 0;
  } catch (err) {
    if (err instanceof PlanBaselineError) {
      io.error(`error: ${err.message}`);
      return 1;
    }
    // Whatever the program throws (ConfigError, TrafficError, a component's argument check)
    // fails `pulumi preview` the same way.
    const e = err instanceof Error ? err : new Error(String(err));
    io.error(
      `The change is refused; \`pulumi preview\` would fail the same way:\n\n${e.name}: ${e.message}\n\n` +
        "To plan the change together with its fix, add the fix to the command: " +
        "`pulumi config set [--path] <key> <value>` is `--set <key>=<value>`.",
    );
    return 1;
  }
}

if (require.main === module) {
  runPlanCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
