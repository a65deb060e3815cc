/**
 * wrk (a C load generator) as the bench's load generator where its own CPU would skew a ratio:
 * autocannon runs in Node and spends about as much CPU per request as a small Node server, so
 * on a 2-core machine it starves whichever server it loads less evenly. wrk is used when it is
 * installed (`apt-get install -y wrk`); sections say which generator ran.
 */
import { execFile, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startCpuWindow, type CpuUsage } from "./cpuMonitor";

/** wrk's version line, or undefined when wrk is not installed. */
export function wrkVersion(): string | undefined {
  const run = spawnSync("wrk", ["--version"], { encoding: "utf8" });
  if (run.error) return undefined; // not installed
  const banner = `${run.stdout}${run.stderr}`.split("\n")[0].trim();
  return /^wrk /.test(banner) ? banner.replace(/ Copyright.*/, "") : undefined;
}

/** Arguments of {@link runWrk}. */
export interface WrkArgs {
  readonly url: string;
  readonly body: string;
  /** The server's process id, whose CPU is measured over the run. */
  readonly pid: number;
  readonly connections: number;
  readonly seconds: number;
  /** wrk threads. Default: 2. */
  readonly threads?: number;
  /** Directory for the Lua script. */
  readonly work: string;
}

/** What one wrk run measured. */
export interface WrkResult {
  readonly connections: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly socketErrors: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpu?: CpuUsage;
  /** Server CPU µs per request. */
  readonly serverCpuUsPerRequest?: number;
}

/** Runs wrk POSTing `body` (closed loop, keep-alive) and measures the server's CPU meanwhile. */
export async function runWrk(args: WrkArgs): Promise<WrkResult> {
  const script = join(args.work, "post.lua");
  writeFileSync(
    script,
    `wrk.method = "POST"\nwrk.body = ${JSON.stringify(args.body)}\nwrk.headers["Content-Type"] = "application/json"\n`,
  );
  const endCpu = startCpuWindow([args.pid]);
  const out = await new Promise<string>((resolve, reject) => {
    execFile(
      "wrk",
      [
        `-t${args.threads ?? 2}`,
        `-c${args.connections}`,
        `-d${args.seconds}s`,
        "--latency",
        "-s",
        script,
        args.url,
      ],
      { maxBuffer: 1 << 20 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    );
  });
  const cpu = endCpu();
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
  const ms = (label: string) => {
    const m = new RegExp(`^\\s+${label}\\s+([\\d.]+)(us|ms|s)`, "m").exec(out);
    if (!m) return 0;
    return Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1);
  };
  const requests = num(/(\d+) requests in/);
  const seconds = num(/requests in ([\d.]+)s/) || args.seconds;
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    connections: args.connections,
    requests,
    non2xx: num(/Non-2xx or 3xx responses: (\d+)/),
    socketErrors: socket ? socket.slice(1).reduce((n, v) => n + Number(v), 0) : 0,
    seconds,
    requestsPerSecond: requests / seconds,
    p50Ms: ms("50%"),
    p99Ms: ms("99%"),
    ...(cpu ? { cpu, serverCpuUsPerRequest: (cpu.server * cpu.seconds * 1e6) / Math.max(1, requests) } : {}),
  };
}
