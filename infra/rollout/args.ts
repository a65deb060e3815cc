/**
 * Command line of `npm run rollout` (pure, table-tested).
 */
import { parseArgs } from "node:util";
import { isColor, otherColor, type Color } from "../traffic";
import type { Routing } from "./ports";

export const USAGE = `Usage: npm run rollout -- [--stack <name> | --local] [--dry-run] [--json]
         local only: [--to blue|green] [--canary <percent>] [--bake-seconds <s>]
                     [--min-requests <n>] [--state-dir <dir>]

Walks traffic from the deployed routing to the committed one (Pulumi.<stack>.yaml: activeColor,
canaryPercent, the rollout policy): pre-checks, golden set, then each step baked and analysed
against the live color; any breach restores the starting routing.

  --stack <name>      the AWS stack to drive (default: dev)
  --local             drive the local pair of \`npm run local\` instead
  --dry-run           print the plan (from, to, steps, thresholds, golden set); change nothing
  --json              print the report as JSON
  --to <color>        local: the color to roll out (default: the stack file's routing)
  --canary <percent>  local: stop at this share for the receiving color (--to's, or the standby)
  --bake-seconds <s>  local: bake per step (default 10, not the stack policy's)
  --min-requests <n>  local: requests a window needs (default 20, not the stack policy's)
  --state-dir <dir>   local: where \`npm run local\` keeps its state
                      (default: $TMPDIR/onnx-eks-serving-local, or $LOCAL_STATE_DIR)

Exit codes:
  0  done, or nothing to do
  1  aborted by the golden set, a step's analysis or a failed apply; starting routing restored
  2  bad command line or config, or the stack / local pair not reachable; nothing changed
  3  a pre-check failed; nothing moved
  4  interrupted (SIGINT/SIGTERM); starting routing restored
  5  a killed earlier run was found and its starting routing restored; run again to roll out
  6  restoring the starting routing failed: routing unknown; the record is kept and the next
     run retries the restore`;

/** Local defaults: a laptop's load is smaller than production's, and nobody waits 5 minutes a step. */
export const LOCAL_BAKE_SECONDS = 10;
export const LOCAL_MIN_REQUESTS = 20;

export interface RolloutArgs {
  readonly help: boolean;
  /** Default "dev". */
  readonly stack: string;
  readonly local: boolean;
  readonly dryRun: boolean;
  readonly json: boolean;
  readonly toColor?: Color;
  readonly canary?: number;
  readonly bakeSeconds?: number;
  readonly minRequests?: number;
  readonly stateDir?: string;
}

export class RolloutUsageError extends Error {
  override name = "RolloutUsageError";
}

function integer(flag: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new RolloutUsageError(
      `${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return Number(raw);
}

export function parseRolloutArgs(argv: readonly string[]): RolloutArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: "boolean", short: "h" },
        stack: { type: "string" },
        local: { type: "boolean" },
        "dry-run": { type: "boolean" },
        json: { type: "boolean" },
        to: { type: "string" },
        canary: { type: "string" },
        "bake-seconds": { type: "string" },
        "min-requests": { type: "string" },
        "state-dir": { type: "string" },
      },
    });
  } catch (err) {
    throw new RolloutUsageError((err as Error).message);
  }
  const v = parsed.values;
  const local = v.local ?? false;
  if (local && v.stack !== undefined) throw new RolloutUsageError("--local and --stack exclude each other");
  if (v.to !== undefined && !isColor(v.to)) {
    throw new RolloutUsageError(`--to must be blue or green, got ${JSON.stringify(v.to)}`);
  }
  const localOnly = ["to", "canary", "bake-seconds", "min-requests", "state-dir"] as const;
  const given = localOnly.filter((k) => v[k] !== undefined);
  if (!local && given.length > 0) {
    throw new RolloutUsageError(
      `--${given[0]} is for --local only: on a stack, the committed config (Git) is the target and the policy`,
    );
  }
  return {
    help: v.help ?? false,
    stack: v.stack ?? "dev",
    local,
    dryRun: v["dry-run"] ?? false,
    json: v.json ?? false,
    ...(v.to !== undefined ? { toColor: v.to as Color } : {}),
    ...(v.canary !== undefined ? { canary: integer("--canary", v.canary, 0, 100) } : {}),
    ...(v["bake-seconds"] !== undefined
      ? { bakeSeconds: integer("--bake-seconds", v["bake-seconds"], 1, 86400) }
      : {}),
    ...(v["min-requests"] !== undefined
      ? { minRequests: integer("--min-requests", v["min-requests"], 1, 1_000_000) }
      : {}),
    ...(v["state-dir"] !== undefined ? { stateDir: v["state-dir"] } : {}),
  };
}

/**
 * The routing `--to` / `--canary` ask for, from the deployed one:
 * - `--to X`: X takes all traffic (X live, canary 0);
 * - `--to X --canary N`: X takes N% as the canary (the other color stays live);
 * - `--canary N`: the deployed standby takes N%.
 * Undefined when neither flag is given.
 */
export function targetFromFlags(
  current: Routing,
  toColor: Color | undefined,
  canary: number | undefined,
): Routing | undefined {
  if (toColor === undefined && canary === undefined) return undefined;
  if (canary === undefined) return { activeColor: toColor!, canaryPercent: 0 };
  const receiving = toColor ?? otherColor(current.activeColor);
  return { activeColor: otherColor(receiving), canaryPercent: canary };
}
