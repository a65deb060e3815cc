/**
 * Overload: the churn model with MAX_QUEUE_SIZE=64 under 1x, 3x and 10x the connections its
 * queue holds (closed loop: a refused client asks again at once, the harshest case). Shedding
 * exists to protect goodput, so the targets are: successful req/s at 3x and 10x >= 80% of the
 * c=64 figure of the same run; a refusal costs little (CPU per 503); p99 of the admitted
 * requests stays bounded; /health and /ready answer within 50 ms throughout (probed every
 * 100 ms on fresh connections, as kubelet does, from a process of their own). The server runs
 * with a probe listener (PROBE_PORT), as the stack's pods do, and the target is judged there,
 * where the kubelet's probes go; the same probes on the serving port (where the ALB's health
 * check goes) are shown beside it.
 *
 * autocannon is the generator here, because it reports each response's status and time, so the
 * admitted requests' latency is measured apart from the refusals'.
 */
import { join } from "node:path";
import { spawn } from "node:child_process";
import autocannon from "autocannon";
import { CHURN_BODY } from "./churn";
import { checkPrediction, describeEnv, type BenchContext, type Verdict } from "./context";
import { startCpuWindow, type CpuUsage } from "./cpuMonitor";
import { percentile } from "./load";
import { fixed, int, pct, table } from "./report";
import { freePort, startModelServer } from "./serverProcess";

/** The queue size of the overload rows and the multiples of it loaded. */
export const OVERLOAD_QUEUE = 64;
export const OVERLOAD_MULTIPLES = [1, 3, 10] as const;
export const OVERLOAD_TARGETS = { goodputOfC64: 0.8, probeMs: 50 } as const;

export interface OverloadRow {
  readonly connections: number;
  readonly seconds: number;
  readonly ok: number;
  readonly refused: number;
  readonly other: number;
  readonly errors: number;
  readonly okPerSecond: number;
  readonly refusedPerSecond: number;
  readonly okP50Ms: number;
  readonly okP99Ms: number;
  readonly cpu?: CpuUsage;
  /** Slowest /health and /ready answer on PROBE_PORT while loaded, ms; probes that failed or took > 1 s. */
  readonly probeMaxMs: number;
  readonly probeFailures: number;
  readonly probes: number;
  /** The same probes sent to the serving port. */
  readonly servingPort: ProbeFigures;
}

interface ProbeFigures {
  readonly probeMaxMs: number;
  readonly probeFailures: number;
  readonly probes: number;
}

export interface OverloadResult {
  readonly env: Readonly<Record<string, string>>;
  readonly rows: readonly OverloadRow[];
  /** Estimated server CPU per 503: CPU beyond what the answered requests cost at c=64, per refusal. */
  readonly cpuPerRefusalUs: readonly (number | undefined)[];
  readonly verdicts: readonly Verdict[];
}

export async function overloadSection(ctx: BenchContext): Promise<OverloadResult> {
  const env: Record<string, string> = {
    LOG_LEVEL: "info",
    MAX_QUEUE_SIZE: String(OVERLOAD_QUEUE),
    PROBE_PORT: String(await freePort()),
    ...ctx.options.serverEnv,
  };
  const probeUrl = `http://127.0.0.1:${env.PROBE_PORT}`;
  const server = await startModelServer({ launcher: "node", env, logFile: join(ctx.work, "overload.log") });
  const rows: OverloadRow[] = [];
  try {
    await checkPrediction(server.url, CHURN_BODY, 2);
    for (const multiple of OVERLOAD_MULTIPLES) {
      const connections = OVERLOAD_QUEUE * multiple;
      await load(server.url, probeUrl, connections, ctx.options.warmup, undefined); // warm-up, unrecorded
      rows.push(await load(server.url, probeUrl, connections, ctx.options.duration, server.pid));
    }
  } finally {
    await server.stop();
  }

  const base = rows[0];
  const okCpu = base.cpu ? (base.cpu.server * base.seconds) / Math.max(1, base.ok) : undefined;
  const cpuPerRefusalUs = rows.map((r) =>
    r.cpu && okCpu !== undefined && r.refused > 0
      ? (Math.max(0, r.cpu.server * r.seconds - r.ok * okCpu) / r.refused) * 1e6
      : undefined,
  );

  console.log(`## Overload (churn model, MAX_QUEUE_SIZE=${OVERLOAD_QUEUE})\n`);
  console.log(
    `Server: \`node dist/serving/src/main.js\`, ${describeEnv(env)}. Generator: autocannon (per-response status ` +
      "and time, so admitted latency is measured apart from refusals), closed loop: a refused connection asks again at once. " +
      "Probes: GET /health and /ready every 100 ms on fresh connections, to PROBE_PORT (where the stack's kubelet probes go) " +
      "and, separately, to the serving port (where the ALB's health check goes).\n",
  );
  console.log(
    table(
      [
        "conn",
        "x queue",
        "200/s",
        "503/s",
        "of c=64 200/s",
        "200 p50 ms",
        "200 p99 ms",
        "other",
        "errors",
        "CPU server",
        "CPU loadgen",
        "CPU others",
        "server µs per 503 (est.)",
        "probe max ms",
        "probe fails",
        "serving port: probe max ms",
        "fails",
      ],
      rows.map((r, i) => [
        String(r.connections),
        `${r.connections / OVERLOAD_QUEUE}x`,
        int(r.okPerSecond),
        int(r.refusedPerSecond),
        pct(r.okPerSecond / base.okPerSecond),
        fixed(r.okP50Ms),
        fixed(r.okP99Ms),
        String(r.other),
        String(r.errors),
        r.cpu ? fixed(r.cpu.server) : "—",
        r.cpu ? fixed(r.cpu.generator) : "—",
        r.cpu ? fixed(r.cpu.others) : "—",
        cpuPerRefusalUs[i] === undefined
          ? "—"
          : cpuPerRefusalUs[i]! > 0
            ? int(cpuPerRefusalUs[i]!)
            : "< noise",
        fixed(r.probeMaxMs),
        `${r.probeFailures}/${r.probes}`,
        fixed(r.servingPort.probeMaxMs),
        `${r.servingPort.probeFailures}/${r.servingPort.probes}`,
      ]),
    ),
  );
  console.log(
    "\nserver µs per 503 (est.) = (server CPU of the row - its 200s x the CPU per 200 at c=64) / its 503s " +
      '("< noise" when the row used no more CPU than its 200s explain).\n',
  );

  const verdicts: Verdict[] = [];
  for (const r of rows.slice(1)) {
    const x = r.connections / OVERLOAD_QUEUE;
    verdicts.push({
      target: `overload ${x}x queue (c=${r.connections}): 200/s >= ${pct(OVERLOAD_TARGETS.goodputOfC64)} of c=64`,
      measured: `${int(r.okPerSecond)} / ${int(base.okPerSecond)} = ${pct(r.okPerSecond / base.okPerSecond)}`,
      ok: r.okPerSecond >= OVERLOAD_TARGETS.goodputOfC64 * base.okPerSecond,
    });
  }
  const probeMax = Math.max(...rows.map((r) => r.probeMaxMs));
  const probeFails = rows.reduce((n, r) => n + r.probeFailures, 0);
  verdicts.push({
    target: `overload: /health and /ready (PROBE_PORT) within ${OVERLOAD_TARGETS.probeMs} ms throughout`,
    measured: `slowest ${fixed(probeMax)} ms, ${probeFails} failed`,
    ok: probeMax <= OVERLOAD_TARGETS.probeMs && probeFails === 0,
  });
  return { env, rows, cpuPerRefusalUs, verdicts };
}

async function load(
  url: string,
  probeUrl: string,
  connections: number,
  seconds: number,
  pid: number | undefined,
): Promise<OverloadRow> {
  const okLatencies: number[] = [];
  let refused = 0;
  let other = 0;
  const probe = startProbes(probeUrl);
  const servingPortProbe = startProbes(url);
  const endCpu = pid !== undefined ? startCpuWindow([pid]) : () => undefined;
  const started = performance.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${url}/predict`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: CHURN_BODY,
        connections,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
      },
      (err: unknown, res: autocannon.Result) => (err ? reject(err as Error) : resolve(res)),
    );
    instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status === 200) okLatencies.push(ms);
      else if (status === 503) refused++;
      else other++;
    });
  });
  const cpu = endCpu();
  const elapsed = cpu?.seconds ?? (performance.now() - started) / 1000;
  const probes = await probe.stop();
  const servingPort = await servingPortProbe.stop();
  okLatencies.sort((a, b) => a - b);
  return {
    connections,
    seconds: elapsed,
    ok: okLatencies.length,
    refused,
    other,
    errors: result.errors + result.timeouts,
    okPerSecond: okLatencies.length / elapsed,
    refusedPerSecond: refused / elapsed,
    okP50Ms: percentile(okLatencies, 0.5),
    okP99Ms: percentile(okLatencies, 0.99),
    ...(cpu ? { cpu } : {}),
    ...probes,
    servingPort,
  };
}

/**
 * Probes the server from a process of its own (bench/prober.ts: GET /health and /ready
 * alternately every 100 ms, each on a new connection), so a probe's time is the server's, not
 * this process's event loop busy with the load generator.
 */
function startProbes(url: string): { stop(): Promise<ProbeFigures> } {
  const child = spawn(
    process.execPath,
    ["--require", require.resolve("tsx/cjs"), join(__dirname, "prober.ts"), url],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  let output = "";
  child.stdout.on("data", (chunk) => (output += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  return {
    stop: async () => {
      child.stdin.end();
      const code = await exited;
      if (code !== 0) throw new Error(`bench/prober.ts exited with ${code}: ${output}`);
      return JSON.parse(output) as ProbeFigures;
    },
  };
}
