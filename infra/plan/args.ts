/**
 * Command line of `npm run plan`:
 *
 *   npm run plan -- --set activeColor=green [--set key=value ...] [--base key=value ...]
 *                   [--stack dev] [--json]
 *
 * `--set` takes a config key as `pulumi config set` names it: a top-level key (`canaryPercent=10`),
 * a path into an object key (`green.modelVersion=1.1.0`, as with `pulumi config set --path`), or
 * `aws:region=...`. The project prefix (`onnx-eks-serving:`) is accepted and dropped. `--base`
 * takes the same form: a change already made, applied to both sides, so that the plan shows only
 * what the `--set` changes add (e.g. a flip once green is staged).
 */
import * as path from "node:path";

export interface PlanArgs {
  /** Stack whose `Pulumi.<stack>.yaml` is the baseline. Default: "dev". */
  readonly stack: string;
  /** Config changes, in command-line order; later ones win. */
  readonly overrides: Readonly<Record<string, unknown>>;
  /** Changes applied to the baseline and to the change alike (`--base`). Default: none. */
  readonly base: Readonly<Record<string, unknown>>;
  /** `--base-repo`: a checkout whose code is the baseline (absolute). Default: none. */
  readonly baseRepo?: string;
  /** Print the diff as JSON instead of text. Default: false. */
  readonly json: boolean;
  /** `--help` was given. */
  readonly help: boolean;
}

export class PlanUsageError extends Error {
  override name = "PlanUsageError";
}

export const USAGE = `Usage: npm run plan -- --set <key>=<value> [--set <key>=<value> ...] [--base <key>=<value> ...]
                     [--stack <name>] [--json]

Evaluates the Pulumi program offline (mock runtime, no credentials) with the stack's config and
again with the changes, and prints which resources and which input properties differ.

  --set key=value   a config change; key is a top-level key (activeColor, canaryPercent, ...),
                    a path into an object key (green.modelVersion, blue.replicas), or aws:region
                    (\`pulumi config set [--path] key value\` is --set key=value)
  --base key=value  a change already made (same form as --set), applied before and after, so
                    the plan shows only what the --set changes add
  --base-repo dir   another checkout whose code is the baseline (e.g. \`git worktree add ../base main\`):
                    the plan shows what this checkout's code changes do (a change under serving/
                    is a new image; only colors that follow the build change). --set is then optional
  --stack name      baseline stack config Pulumi.<name>.yaml (default: dev)
  --json            print the diff as JSON

Examples:
  npm run plan -- --set green.modelVersion=1.1.0 --set green.replicas=1
  npm run plan -- --base green.modelVersion=1.1.0 --base green.replicas=1 --set activeColor=green
  npm run plan -- --base green.modelVersion=1.1.0 --base green.replicas=1 --set canaryPercent=10`;

const KEY = /^(aws:region|[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*)$/;
const STACK = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * A value as `pulumi config set` would store it: top-level values stay strings (the CLI stores
 * strings; the program's config parser coerces them); path values are typed like YAML scalars
 * (`--path` stores `2` as a number and `true` as a boolean), everything else is a string.
 */
export function parseValue(key: string, value: string): unknown {
  if (!key.includes(".")) return value;
  if (value === "true") return true;
  if (value === "false") return false;
  if (/^-?(0|[1-9]\d*)$/.test(value)) return Number(value);
  return value;
}

/** Parses argv (without `node script`); throws PlanUsageError naming the bad argument. */
export function parsePlanArgs(argv: readonly string[], projectName: string): PlanArgs {
  let stack = "dev";
  let json = false;
  let help = false;
  let baseRepo: string | undefined;
  const overrides: Record<string, unknown> = {};
  const base: Record<string, unknown> = {};
  const next = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith("--")) throw new PlanUsageError(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? splitOnce(arg, "=") : [arg, undefined];
    switch (flag) {
      case "--set":
      case "--base": {
        const target = flag === "--set" ? overrides : base;
        const [key, value] = parseAssignment(flag, inline ?? next(i++, flag), projectName);
        delete target[key]; // keep command-line order when a key repeats
        target[key] = value;
        break;
      }
      case "--stack":
        stack = inline ?? next(i++, "--stack");
        if (!STACK.test(stack))
          throw new PlanUsageError(`--stack must be a stack name, got ${JSON.stringify(stack)}`);
        break;
      case "--base-repo":
        baseRepo = path.resolve(inline ?? next(i++, "--base-repo"));
        break;
      case "--json":
        json = true;
        break;
      case "--help":
      case "-h":
        help = true;
        break;
      default:
        throw new PlanUsageError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  if (!help && Object.keys(overrides).length === 0 && baseRepo === undefined) {
    throw new PlanUsageError("nothing to plan: give at least one --set key=value");
  }
  return { stack, overrides, base, json, help, ...(baseRepo !== undefined ? { baseRepo } : {}) };
}

/** `key=value` of a --set or --base: the key without project prefix, the value typed. */
function parseAssignment(flag: string, assignment: string, projectName: string): [string, unknown] {
  if (!assignment.includes("=")) {
    throw new PlanUsageError(`${flag} expects key=value, got ${JSON.stringify(assignment)}`);
  }
  const [rawKey, value] = splitOnce(assignment, "=");
  const key = rawKey.startsWith(`${projectName}:`) ? rawKey.slice(projectName.length + 1) : rawKey;
  if (!KEY.test(key)) {
    throw new PlanUsageError(
      `${flag} key must be a config key such as activeColor or green.modelVersion, got ${JSON.stringify(key)}`,
    );
  }
  return [key, parseValue(key, value)];
}

function splitOnce(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return [s.slice(0, i), s.slice(i + sep.length)];
}
