/**
 * `npm run rollout`: walks the deployed routing to the committed one (see engine.ts), on the
 * AWS stack (`--stack`, default dev) or on the local pair (`--local`). Usage and exit codes:
 * args.ts USAGE (and README.md).
 *
 * SIGINT/SIGTERM abort the run: the engine restores the starting routing before the process
 * exits. A second signal exits at once; the rollout record then stays, and the next run rolls
 * back from it.
 */
import { localPorts, localState } from "../local/ports";
import { defaultLocalStateDir, readLocalAddress } from "../local/stateDir";
import { REPO_ROOT } from "../paths";
import { COLORS } from "../traffic";
import {
  LOCAL_BAKE_SECONDS,
  LOCAL_MIN_REQUESTS,
  parseRolloutArgs,
  RolloutUsageError,
  targetFromFlags,
  USAGE,
  type RolloutArgs,
} from "./args";
import { runRollout, type RolloutReport } from "./engine";
import { describeRollout, type ColorVersions } from "./plan";
import type { RolloutPolicy } from "./policy";
import type { RolloutPorts, RolloutRecord, Routing } from "./ports";
import { EXIT_CODES, formatPlan, formatReport, USAGE_EXIT_CODE } from "./report";
import { readCommittedTarget } from "./target";

export interface RolloutIo {
  /** The report (stdout). */
  readonly log: (text: string) => void;
  /** Progress and errors (stderr). */
  readonly error: (text: string) => void;
}

/** What one invocation drives: its ports and the target, policy and versions. */
export interface RolloutSetup {
  readonly ports: RolloutPorts;
  readonly to: Routing;
  readonly policy: RolloutPolicy;
  readonly versions: ColorVersions;
}

/** Resolves the ports and target for the parsed arguments (AWS or local). */
export async function setUp(args: RolloutArgs): Promise<RolloutSetup> {
  const committed = readCommittedTarget(args.stack);
  if (!args.local) {
    const { connectAws } = await import("./aws");
    const ports = await connectAws({ stack: args.stack, workDir: REPO_ROOT });
    return { ports, to: committed.to, policy: committed.policy, versions: committed.versions };
  }
  const stateDir = args.stateDir ?? defaultLocalStateDir();
  const { adminUrl } = await readLocalAddress(stateDir);
  const ports = await localPorts({ adminUrl, stateDir });
  const state = await localState(adminUrl);
  const versions = Object.fromEntries(COLORS.map((c) => [c, state.colors[c].modelVersion])) as ColorVersions;
  const to = targetFromFlags(await ports.traffic.current(), args.toColor, args.canary) ?? committed.to;
  const policy: RolloutPolicy = {
    ...committed.policy,
    bakeSeconds: args.bakeSeconds ?? LOCAL_BAKE_SECONDS,
    minRequests: args.minRequests ?? LOCAL_MIN_REQUESTS,
  };
  return { ports, to, policy, versions };
}

function reportJson(report: RolloutReport): unknown {
  return { ...report, exitCode: EXIT_CODES[report.outcome] };
}

/** Runs the command line; resolves to the exit code. */
export async function runRolloutCli(
  argv: readonly string[],
  io: RolloutIo = { log: (t) => console.log(t), error: (t) => console.error(t) },
  signal?: AbortSignal,
): Promise<number> {
  let args: RolloutArgs;
  try {
    args = parseRolloutArgs(argv);
  } catch (err) {
    if (!(err instanceof RolloutUsageError)) throw err;
    io.error(`error: ${err.message}\n\n${USAGE}`);
    return USAGE_EXIT_CODE;
  }
  if (args.help) {
    io.log(USAGE);
    return 0;
  }
  let setup: RolloutSetup;
  try {
    setup = await setUp(args);
  } catch (err) {
    io.error(`error: ${(err as Error).message}`);
    return USAGE_EXIT_CODE;
  }
  const { ports, to, policy, versions } = setup;
  let report: RolloutReport;
  try {
    if (args.dryRun) {
      const [from, record] = await Promise.all([ports.traffic.current(), ports.record.read()]);
      const plan = describeRollout(from, to, policy, versions);
      io.log(
        args.json
          ? JSON.stringify({ plan, policy, record }, null, 2)
          : formatDryRun(formatPlan(plan, policy), record),
      );
      return 0;
    }
    report = await runRollout(ports, { to, policy, versions, signal, log: (line) => io.error(line) });
  } catch (err) {
    // A dry run changes nothing, and runRollout only throws before it moved anything (reading
    // the record or the routing, planning, writing the record); everything later is a report.
    io.error(`error: ${(err as Error).message}; nothing changed`);
    return USAGE_EXIT_CODE;
  }
  io.log(args.json ? JSON.stringify(reportJson(report), null, 2) : formatReport(report));
  return EXIT_CODES[report.outcome];
}

function formatDryRun(plan: string, record: RolloutRecord | undefined): string {
  if (!record) return plan;
  return (
    `${plan}\n- NOTE: a rollout record from ${record.startedAt} exists (a run was killed); ` +
    `the next run restores ${record.from.activeColor} live, canary ${record.from.canaryPercent}% first`
  );
}

if (require.main === module) {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (++signals === 1) {
      console.error(
        `${sig}: stopping the rollout and restoring the starting routing (again to exit at once)`,
      );
      controller.abort(new Error(sig));
      return;
    }
    console.error(`${sig} again: exiting now; the next \`npm run rollout\` rolls back from the record`);
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  runRolloutCli(process.argv.slice(2), undefined, controller.signal).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
