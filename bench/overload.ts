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
 * The goodput ratios compare slices taken next to each other: rounds of one slice per multiple
 * (1x 3x 10x, then 10x 3x 1x, ...), each ratio taken within its round, the median judged. Rows
 * measured one after the other saw this VM's drift (2x within minutes) as much as the server.
 *
 * autocannon is the generator here, because it reports each response's status and time, so the
 * admitted requests' latency is measured apart from the refusals'.
 */
import { setPriority } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import autocannon from "autocannon";
import { CHURN_BODY } from "./churn";
import { checkPrediction, describeEnv, type BenchContext, type Verdict } from "./context";
import { startCpuWindow, type CpuUsage } from "./cpuMonitor";
import { percentile } from "./load";
import { fixed, int, median, pct, range, table } from "./report";
import { freePort, startModelServer } from "./serverProcess";

/** The queue size of the overload rows and the multiples of it loaded. */
export const OVERLOAD_QUEUE = 64;
export const OVERLOAD_MULTIPLES = [1, 3, 10] as const;
export const OVERLOAD_TARGETS = { goodputOfC64: 0.8, probeMs: 50 } as const;
/** Rounds of one slice per multiple; each slice lasts half of --duration, at least 2 s. */
const ROUNDS = 4;
/** Nice value of the prober processes when the bench may raise their priority (as root). */
const PROBER_PRIORITY = -10;
/** The nice value the probers got (0 when raising it was not allowed). */
let proberPriority = 0;
/** Seconds at the start of each slice that are loaded and probed but not counted. */
const SETTLE_SECONDS = 1;

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
  /** For each multiple above 1x: its 200/s over the 1x slice's of the same round, per round. */
  readonly goodputRatios: Readonly<Record<string, readonly number[]>>;
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
  const slices = new Map<number, Slice[]>(OVERLOAD_MULTIPLES.map((m) => [m, []]));
  const sliceSeconds = Math.max(2, Math.round(ctx.options.duration / 2));
  try {
    await checkPrediction(server.url, CHURN_BODY, 2);
    for (const multiple of OVERLOAD_MULTIPLES) {
      await load(server.url, probeUrl, OVERLOAD_QUEUE * multiple, ctx.options.warmup, undefined); // warm-up
    }
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? OVERLOAD_MULTIPLES : [...OVERLOAD_MULTIPLES].reverse();
      for (const multiple of order) {
        slices
          .get(multiple)!
          .push(await load(server.url, probeUrl, OVERLOAD_QUEUE * multiple, sliceSeconds, server.pid));
      }
    }
  } finally {
    await server.stop();
  }
  const rows = OVERLOAD_MULTIPLES.map((m) => pool(slices.get(m)!));
  const goodputRatios = Object.fromEntries(
    OVERLOAD_MULTIPLES.slice(1).map((m) => [
      `${m}x`,
      slices.get(m)!.map((slice, round) => slice.row.okPerSecond / slices.get(1)![round].row.okPerSecond),
    ]),
  );

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
      "and, separately, to the serving port (where the ALB's health check goes). " +
      `Each row pools ${ROUNDS} slices of ${sliceSeconds} s, taken in rounds (one slice per multiple, alternating the order), ` +
      `each on fresh connections whose first ${SETTLE_SECONDS} s (the connection storm) is probed but not counted. ` +
      `Probers ran at nice ${proberPriority}${proberPriority === 0 ? " (raising their priority needs root)" : ""}.\n`,
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
    const ratios = goodputRatios[`${x}x`];
    const ratio = median(ratios);
    console.log(
      `${x}x: 200/s over the 1x slice of the same round, by round: ${ratios.map(pct).join(", ")}; ` +
        `median ${pct(ratio)} (range ${range(ratios, pct)}, pooled ${pct(r.okPerSecond / base.okPerSecond)}).`,
    );
    verdicts.push({
      target: `overload ${x}x queue (c=${r.connections}): 200/s >= ${pct(OVERLOAD_TARGETS.goodputOfC64)} of c=64`,
      measured: `${pct(ratio)} (median of ${ratios.length} rounds; pooled ${int(r.okPerSecond)} / ${int(base.okPerSecond)})`,
      ok: ratio >= OVERLOAD_TARGETS.goodputOfC64,
    });
  }
  console.log("");
  const probeMax = Math.max(...rows.map((r) => r.probeMaxMs));
  const probeFails = rows.reduce((n, r) => n + r.probeFailures, 0);
  verdicts.push({
    target: `overload: /health and /ready (PROBE_PORT) within ${OVERLOAD_TARGETS.probeMs} ms throughout`,
    measured: `slowest ${fixed(probeMax)} ms, ${probeFails} failed`,
    ok: probeMax <= OVERLOAD_TARGETS.probeMs && probeFails === 0,
  });
  return { env, rows, cpuPerRefusalUs, goodputRatios, verdicts };
}

async function load(
  url: string,
  probeUrl: string,
  connections: number,
  seconds: number,
  pid: number | undefined,
): Promise<Slice> {
  const okLatencies: number[] = [];
  let refused = 0;
  let other = 0;
  const probe = startProbes(probeUrl);
  const servingPortProbe = startProbes(url);
  // Each slice opens its connections anew; the first second (the connection storm, autocannon's
  // own ramp) is probed but not counted: a load balancer keeps its connections to a pod open.
  let measuring = false;
  let started = performance.now();
  let endCpu: () => CpuUsage | undefined = () => undefined;
  const settle = setTimeout(() => {
    measuring = true;
    started = performance.now();
    if (pid !== undefined) endCpu = startCpuWindow([pid]);
  }, SETTLE_SECONDS * 1000);
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${url}/predict`,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: CHURN_BODY,
        connections,
        pipelining: 1,
        duration: seconds + SETTLE_SECONDS,
        timeout: 10,
      },
      (err: unknown, res: autocannon.Result) => (err ? reject(err as Error) : resolve(res)),
    );
    instance.on("response", (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (!measuring) return;
      if (status === 200) okLatencies.push(ms);
      else if (status === 503) refused++;
      else other++;
    });
  });
  clearTimeout(settle);
  const cpu = endCpu();
  const elapsed = cpu?.seconds ?? (performance.now() - started) / 1000;
  const probes = await probe.stop();
  const servingPort = await servingPortProbe.stop();
  okLatencies.sort((a, b) => a - b);
  return {
    okLatencies,
    row: {
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
    },
  };
}

/** One measured slice: its row and every answered request's latency (to pool percentiles). */
interface Slice {
  readonly row: OverloadRow;
  readonly okLatencies: readonly number[];
}

/** The slices of one multiple as one row: counts and times summed, percentiles over all, worst probe. */
function pool(slices: readonly Slice[]): OverloadRow {
  const rows = slices.map((s) => s.row);
  const sum = (pick: (r: OverloadRow) => number) => rows.reduce((n, r) => n + pick(r), 0);
  const seconds = sum((r) => r.seconds);
  const latencies = slices.flatMap((s) => s.okLatencies).sort((a, b) => a - b);
  const weighted = (pick: (c: CpuUsage) => number) =>
    sum((r) => (r.cpu ? pick(r.cpu) * r.seconds : 0)) / seconds;
  const probes = (pick: (r: OverloadRow) => ProbeFigures): ProbeFigures => ({
    probeMaxMs: Math.max(...rows.map((r) => pick(r).probeMaxMs)),
    probeFailures: rows.reduce((n, r) => n + pick(r).probeFailures, 0),
    probes: rows.reduce((n, r) => n + pick(r).probes, 0),
  });
  return {
    connections: rows[0].connections,
    seconds,
    ok: sum((r) => r.ok),
    refused: sum((r) => r.refused),
    other: sum((r) => r.other),
    errors: sum((r) => r.errors),
    okPerSecond: sum((r) => r.ok) / seconds,
    refusedPerSecond: sum((r) => r.refused) / seconds,
    okP50Ms: percentile(latencies, 0.5),
    okP99Ms: percentile(latencies, 0.99),
    ...(rows.every((r) => r.cpu)
      ? {
          cpu: {
            server: weighted((c) => c.server),
            generator: weighted((c) => c.generator),
            others: weighted((c) => c.others),
            seconds,
          },
        }
      : {}),
    ...probes((r) => r),
    servingPort: probes((r) => r.servingPort),
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
  // The kubelet runs with CPU reserved for it (kube-reserved); the prober shares its core with the
  // load generator instead, so it gets a higher priority where allowed (as root), and the probe
  // times are the server's rather than the time the prober waited to be scheduled.
  try {
    setPriority(child.pid!, PROBER_PRIORITY);
    proberPriority = PROBER_PRIORITY;
  } catch {
    proberPriority = 0;
  }
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
