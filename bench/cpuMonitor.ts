/**
 * How much CPU the measured processes used, and how much everything else on the machine used,
 * over a window — from /proc, so a figure disturbed by another job on the machine shows it.
 * Linux only; elsewhere every reading is undefined.
 */
import { readFileSync } from "node:fs";

/** CPU use over a window, in cores (1.0 = one core fully busy). */
export interface CpuUsage {
  /** The server processes being watched. */
  readonly server: number;
  /** This process (the load generator). */
  readonly generator: number;
  /** Every other process on the machine. */
  readonly others: number;
  /** Length of the window, seconds. */
  readonly seconds: number;
}

const TICKS_PER_SECOND = 100; // USER_HZ; 100 on every mainstream Linux build

/** Starts a window over the server processes `serverPids`; call the returned function to end it. */
export function startCpuWindow(serverPids: readonly number[]): () => CpuUsage | undefined {
  const start = snapshot(serverPids);
  const started = performance.now();
  return () => {
    const end = snapshot(serverPids);
    if (!start || !end) return undefined;
    const seconds = (performance.now() - started) / 1000;
    const cores = (ticks: number) => ticks / TICKS_PER_SECOND / seconds;
    const server = cores(end.server - start.server);
    const generator = cores(end.self - start.self);
    const busy = cores(end.busy - start.busy);
    return { server, generator, others: Math.max(0, busy - server - generator), seconds };
  };
}

function snapshot(pids: readonly number[]): { busy: number; server: number; self: number } | undefined {
  try {
    // cpu  user nice system idle iowait irq softirq steal ...
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const busy = fields.reduce((a, b) => a + b, 0) - fields[3] - fields[4];
    let server = 0;
    for (const pid of pids) server += processTicks(pid);
    return { busy, server, self: processTicks(process.pid) };
  } catch {
    return undefined;
  }
}

/** utime + stime of a process (all its threads). */
function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name may contain spaces: fields start after the closing parenthesis
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return 0; // exited
  }
}

/** Options of {@link waitForQuiet}. */
export interface QuietArgs {
  /** The machine counts as quiet while other processes use at most this many cores. */
  readonly maxOthersCores: number;
  /** Our own server processes (excluded from "others"). */
  readonly serverPids: readonly number[];
  /** Length of one sample, ms. Default: 500. */
  readonly sampleMs?: number;
  /** Give up after this long and return false. Default: 60000. */
  readonly timeoutMs?: number;
}

/**
 * Waits until processes other than ours use at most `maxOthersCores` over one sample; false if
 * that did not happen within the timeout (or /proc is unavailable). Other jobs on a shared
 * machine otherwise decide the numbers.
 */
export async function waitForQuiet(args: QuietArgs): Promise<boolean> {
  const deadline = performance.now() + (args.timeoutMs ?? 60_000);
  do {
    const end = startCpuWindow(args.serverPids);
    await new Promise((r) => setTimeout(r, args.sampleMs ?? 500));
    const usage = end();
    if (!usage) return false;
    if (usage.others <= args.maxOthersCores) return true;
  } while (performance.now() < deadline);
  return false;
}
