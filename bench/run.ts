/**
 * `npm run bench`: the server's throughput and latency against this machine's own ceilings, in
 * one run, with the targets of issue 7 checked (PASS/FAIL).
 *
 * - churn.ts: the bundled churn model over POST /predict at concurrency 1, 16, 64, next to the
 *   HTTP floor (bare node:http parsing the same JSON) and the inference ceiling (in-process
 *   session.run, batch 1);
 * - mlp.ts: a compute-heavy MLP generated here, served with dynamic batching on and off (and
 *   session.run on the main thread or a worker thread), against in-process batch-64 session.run;
 * - startup.ts: start-to-ready of the real server process with the bundled model, broken down;
 * - grpc.ts: the churn model through the Open Inference Protocol, REST JSON beside gRPC ModelInfer,
 *   on one server at c=64.
 *
 * Servers run as child processes (`node dist/serving/src/main.js`, as in the image, compiled
 * first); autocannon runs in this process. Nothing is pinned: the server under test and the load
 * generator share the cores, and every row shows the CPU each side used — and what any other job
 * on the machine used meanwhile (a disturbed row is re-measured, up to 3 times).
 *
 * - churnWrk.ts: the churn server's CPU per request against the floor's under wrk (when installed);
 * - overload.ts: goodput, refusal cost, admitted p99 and probe latency at 1x, 3x, 10x the queue.
 *
 *   npm run bench [-- --duration 5 --warmup 1 --starts 3 --only churn,wrk,overload,mlp,startup,grpc
 *                     --server-env KEY=VALUE ... --max-others 0.25 --json results.json
 *                     --server-cpus 1]   (servers under `taskset -c 1`; run the bench under `taskset -c 0`)
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { churnSection } from "./churn";
import { grpcSection } from "./grpc";
import { churnWrkSection } from "./churnWrk";
import { overloadSection } from "./overload";
import { BenchContext, type BenchOptions, type Verdict } from "./context";
import { mlpSection } from "./mlp";
import { int, table, verdict } from "./report";
import { compileServer, pinServers } from "./serverProcess";
import { startupSection } from "./startup";

const SECTIONS = ["churn", "wrk", "overload", "mlp", "startup", "grpc"] as const;

function parseOptions(): BenchOptions {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
      starts: { type: "string", default: "3" },
      only: { type: "string", default: SECTIONS.join(",") },
      "server-env": { type: "string", multiple: true, default: [] },
      "max-others": { type: "string", default: "0.25" },
      json: { type: "string" },
      "server-cpus": { type: "string" },
    },
  });
  const number = (name: string, raw: string, min: number): number => {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n) || n < min) {
      throw new Error(`--${name} must be a number >= ${min}, got ${JSON.stringify(raw)}`);
    }
    return n;
  };
  const serverEnv: Record<string, string> = {};
  for (const pair of values["server-env"]) {
    const eq = pair.indexOf("=");
    if (eq < 1) throw new Error(`--server-env must be KEY=VALUE, got ${JSON.stringify(pair)}`);
    serverEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const only = new Set(values.only.split(",").map((s) => s.trim()));
  for (const section of only) {
    if (!(SECTIONS as readonly string[]).includes(section)) {
      throw new Error(
        `--only takes ${SECTIONS.join(", ")} (comma-separated), got ${JSON.stringify(section)}`,
      );
    }
  }
  return {
    duration: number("duration", values.duration, 1),
    warmup: number("warmup", values.warmup, 0),
    starts: Math.round(number("starts", values.starts, 1)),
    only,
    serverEnv,
    maxOthersCores: number("max-others", values["max-others"], 0),
    ...(values.json ? { json: values.json } : {}),
    ...(values["server-cpus"] ? { serverCpus: values["server-cpus"] } : {}),
  };
}

function machine() {
  let cpu = cpus()[0]?.model ?? "unknown";
  try {
    const line = execFileSync("lscpu", { encoding: "utf8" })
      .split("\n")
      .find((l) => l.startsWith("Model name:"));
    if (line) cpu = line.slice("Model name:".length).trim();
  } catch {
    // no lscpu: os.cpus() named the model already
  }
  const version = (pkg: string): string =>
    (JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), "utf8")) as { version: string }).version;
  return {
    // cpus(), not availableParallelism(): the bench itself may run under taskset.
    cores: cpus().length,
    cpu,
    node: process.version,
    onnxruntime: version("onnxruntime-node"),
    fastify: version("fastify"),
    autocannon: version("autocannon"),
    platform: `${process.platform} ${process.arch}`,
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

async function main(): Promise<void> {
  const options = parseOptions();
  const m = machine();
  console.log(`# Serving benchmark, ${new Date().toISOString()}\n`);
  console.log(
    `Machine: ${m.cores} cores (${m.cpu}), Node ${m.node}, onnxruntime-node ${m.onnxruntime}, fastify ${m.fastify}, ` +
      `${m.platform}; load average at start ${m.loadavg.join(" ")}.`,
  );
  console.log(
    `Load: autocannon ${m.autocannon} in the bench process, closed loop (one request in flight per connection), ` +
      `${options.warmup} s warm-up + ${options.duration} s measured per row; servers are child processes. ` +
      (options.serverCpus
        ? `Servers pinned to CPU ${options.serverCpus} (taskset); the load generator runs wherever the bench was started. `
        : `Nothing is pinned: the ${m.cores} cores are shared by the server under test and the load generator. `) +
      `CPU columns are cores used by the server, by the load generator and by any other process meanwhile ` +
      `(a row disturbed by more than ${options.maxOthersCores} cores of other work is re-measured, up to 3 times).\n`,
  );

  if (options.serverCpus) {
    pinServers(options.serverCpus);
    console.log(
      `Pinned: servers (model server and HTTP floor) run under \`taskset -c ${options.serverCpus}\`; run the bench ` +
        "itself under taskset on the other cores to keep the load generator off them.\n",
    );
  }
  const work = await mkdtemp(join(tmpdir(), "serving-bench-"));
  const ctx = new BenchContext(options, work);
  const out: Record<string, unknown> = { machine: m, options: { ...options, only: [...options.only] } };
  const verdicts: Verdict[] = [];
  try {
    process.stdout.write("compiling the server (tsc -p serving/tsconfig.build.json) ... ");
    console.log(`${int(await compileServer())} ms\n`);
    if (options.only.has("churn")) {
      const churn = await churnSection(ctx);
      verdicts.push(...churn.verdicts);
      out.churn = churn;
    }
    if (options.only.has("wrk")) {
      const wrk = await churnWrkSection(ctx);
      verdicts.push(...wrk.verdicts);
      out.churnWrk = wrk;
    }
    if (options.only.has("overload")) {
      const overload = await overloadSection(ctx);
      verdicts.push(...overload.verdicts);
      out.overload = overload;
    }
    if (options.only.has("mlp")) {
      const mlp = await mlpSection(ctx);
      verdicts.push(...mlp.verdicts);
      out.mlp = mlp;
    }
    if (options.only.has("startup")) {
      const startup = await startupSection(ctx);
      verdicts.push(...startup.verdicts);
      out.startup = startup.results;
    }
    if (options.only.has("grpc")) out.grpc = await grpcSection(ctx);
    const rows = [
      ...((out.churn as { floor: LoadLike[]; served: LoadLike[] } | undefined)?.floor ?? []),
      ...((out.churn as { served: LoadLike[] } | undefined)?.served ?? []),
      ...((out.mlp as { rows: LoadLike[]; floor: LoadLike } | undefined)?.rows ?? []),
      ...(out.grpc ? [(out.grpc as { rest: LoadLike }).rest, (out.grpc as { grpc: LoadLike }).grpc] : []),
    ];
    const failures = rows.reduce((n, r) => n + r.errors + r.non2xx, 0);
    verdicts.push({
      target: "no errors and no non-2xx responses in any load row",
      measured: String(failures),
      ok: failures === 0,
    });
    console.log("## Targets\n");
    console.log(
      table(
        ["target", "measured", "result"],
        verdicts.map((v) => [v.target, v.measured, verdict(v.ok)]),
      ),
    );
    out.verdicts = verdicts;
    if (options.json) await writeFile(options.json, `${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

type LoadLike = { readonly errors: number; readonly non2xx: number };

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
