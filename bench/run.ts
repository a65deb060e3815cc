/**
 * `npm run bench`: the server's throughput and latency against this machine's own ceilings, in
 * one run, with the issue's targets checked.
 *
 * - the bundled churn model over POST /predict at concurrency 1, 16, 64, next to the HTTP floor
 *   (a bare node:http server parsing the same JSON) and the inference ceiling (session.run in
 *   process, batch 1);
 * - a compute-heavy MLP generated here (64->1024->1024->1024->2, dynamic batch) served with
 *   dynamic batching on and off at concurrency 64, against in-process batch-64 session.run;
 * - start-to-ready of the real server process with the bundled model, broken down.
 *
 * Servers run as child processes (the container's `node dist/serving/src/main.js`, compiled
 * first); autocannon runs in this process. Nothing is pinned: the cores are shared by the server
 * under test and the load generator, and every row shows how much CPU each side used.
 *
 *   npm run bench [-- --duration 5 --warmup 1 --starts 3 --only churn,mlp,startup
 *                     --server-env KEY=VALUE ... --json results.json]
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { mlpModel } from "../serving/tools/models";
import { writeModelVersion } from "../serving/tools/modelRepository";
import { measureSessionRun, type SessionRunResult } from "./ceiling";
import { runLoad, type LoadResult } from "./load";
import { fixed, int, pct, table, verdict } from "./report";
import {
  compileServer,
  REPO,
  startFloorServer,
  startModelServer,
  type Launcher,
  type ModelServer,
} from "./serverProcess";
import { measureStartup, type StartupResult } from "./startup";

const CONCURRENCY = [1, 16, 64] as const;
const CHURN_DIR = join(REPO, "serving", "models", "churn", "1.0.0");
const CHURN_BODY = JSON.stringify({ features: [0.42, -1.37, 0.88, 1.05] });
const MLP = { features: 64, hidden: 1024, layers: 3, classes: 2 } as const;
const MLP_BODY = JSON.stringify({
  features: Array.from({ length: MLP.features }, (_, i) => Math.round(Math.sin(i + 1) * 1000) / 1000),
});

/** The issue's targets. */
const TARGETS = {
  servedOverFloor: 0.5,
  p99Ms: 5,
  batchedOverInProcess: 0.7,
  readyMs: 1000,
} as const;

interface Options {
  readonly duration: number;
  readonly warmup: number;
  readonly starts: number;
  readonly only: ReadonlySet<string>;
  readonly serverEnv: Readonly<Record<string, string>>;
  readonly json?: string;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "5" },
      warmup: { type: "string", default: "1" },
      starts: { type: "string", default: "3" },
      only: { type: "string", default: "churn,mlp,startup" },
      "server-env": { type: "string", multiple: true, default: [] },
      json: { type: "string" },
    },
  });
  const positive = (name: string, raw: string): number => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${raw}`);
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
    if (!["churn", "mlp", "startup"].includes(section))
      throw new Error(`--only takes churn, mlp and/or startup, got ${JSON.stringify(section)}`);
  }
  return {
    duration: positive("duration", values.duration),
    warmup: Number(values.warmup),
    starts: Math.round(positive("starts", values.starts)),
    only,
    serverEnv,
    ...(values.json ? { json: values.json } : {}),
  };
}

/** One load row of the output. */
interface Row {
  readonly name: string;
  readonly result: LoadResult;
}

async function main(): Promise<void> {
  const opts = options();
  const work = await mkdtemp(join(tmpdir(), "serving-bench-"));
  const out: Record<string, unknown> = { machine: machine(), options: { ...opts, only: [...opts.only] } };
  const verdicts: Array<{ target: string; measured: string; ok: boolean }> = [];
  const load = (url: string, body: string, connections: number, pid: number) =>
    runLoad({
      url,
      body,
      connections,
      durationSeconds: opts.duration,
      warmupSeconds: opts.warmup,
      serverPids: [pid],
    });

  try {
    printHeader(opts);
    process.stdout.write("compiling the server (tsc -p serving/tsconfig.build.json) ... ");
    const compileMs = await compileServer();
    console.log(`${int(compileMs)} ms\n`);

    if (opts.only.has("churn")) {
      // --- HTTP floor -------------------------------------------------------------------------
      const rows: Row[] = [];
      const floor = await startFloorServer();
      try {
        for (const c of CONCURRENCY) {
          rows.push({
            name: "HTTP floor (bare node:http)",
            result: await load(floor.url, CHURN_BODY, c, floor.pid),
          });
        }
      } finally {
        await floor.stop();
      }
      // --- churn served -----------------------------------------------------------------------
      const env: Record<string, string> = { LOG_LEVEL: "info", ...opts.serverEnv };
      const server = await startModelServer({ launcher: "node", env, logFile: join(work, "churn.log") });
      let answered = 0;
      let logged = 0;
      try {
        await checkPrediction(server, CHURN_BODY);
        for (const c of CONCURRENCY) {
          rows.push({
            name: "served: POST /predict (churn)",
            result: await load(`${server.url}/predict`, CHURN_BODY, c, server.pid),
          });
        }
        answered = (await scrape(server.url)).predictRequests;
      } finally {
        await server.stop();
        logged = await countRequestLogs(join(work, "churn.log"));
      }
      // --- inference ceiling --------------------------------------------------------------------
      const ceiling = await measureSessionRun({
        modelPath: join(CHURN_DIR, "model.onnx"),
        input: "input",
        features: 4,
        batch: 1,
        seconds: 2,
        intraOpThreads: Number(env.INTRA_OP_THREADS ?? 0),
      });

      console.log(
        `## Churn model (bundled, 1.0.0) over POST /predict\n\nServer: \`node dist/serving/src/main.js\`, ${describeEnv(env)}.\n`,
      );
      console.log(loadTable(rows));
      const floorAt = (c: number) =>
        rows.find((r) => r.name.startsWith("HTTP") && r.result.connections === c)!;
      const servedAt = (c: number) =>
        rows.find((r) => r.name.startsWith("served") && r.result.connections === c)!;
      console.log(
        `\nserved req/s as a fraction of the HTTP floor: ${CONCURRENCY.map(
          (c) => `c=${c} ${pct(servedAt(c).result.requestsPerSecond / floorAt(c).result.requestsPerSecond)}`,
        ).join(", ")}`,
      );
      console.log(
        `inference ceiling (in-process session.run, batch 1): ${int(ceiling.runsPerSecond)} runs/s ` +
          `(${fixed(ceiling.runMs * 1000, 1)} µs/run); served req/s at c=64 is ${pct(
            servedAt(64).result.requestsPerSecond / ceiling.runsPerSecond,
          )} of it`,
      );
      console.log(
        `access log: ${int(logged)} "request completed" lines for ${int(answered)} /predict requests answered ` +
          `(LOG_LEVEL=${env.LOG_LEVEL})\n`,
      );
      const s64 = servedAt(64).result;
      const ratio = s64.requestsPerSecond / floorAt(64).result.requestsPerSecond;
      verdicts.push({
        target: `churn c=64: served req/s >= ${pct(TARGETS.servedOverFloor)} of the HTTP floor`,
        measured: `${int(s64.requestsPerSecond)} / ${int(floorAt(64).result.requestsPerSecond)} = ${pct(ratio)}`,
        ok: ratio >= TARGETS.servedOverFloor,
      });
      verdicts.push({
        target: `churn c=64: p99 <= ${TARGETS.p99Ms} ms`,
        measured: `${fixed(s64.p99Ms)} ms (HTTP floor: ${fixed(floorAt(64).result.p99Ms)} ms)`,
        ok: s64.p99Ms <= TARGETS.p99Ms,
      });
      out.churn = { env, rows, ceiling, answered, logged };
    }

    if (opts.only.has("mlp")) {
      const { dir } = await writeModelVersion({
        root: join(work, "models"),
        name: "mlp",
        model: mlpModel(MLP),
      });
      const modelPath = join(dir, "model.onnx");
      const threads = Number(opts.serverEnv.INTRA_OP_THREADS ?? 0);
      const inProcess: SessionRunResult[] = [];
      for (const batch of [1, 64]) {
        inProcess.push(
          await measureSessionRun({
            modelPath,
            input: "input",
            features: MLP.features,
            batch,
            seconds: 2,
            intraOpThreads: threads,
          }),
        );
      }
      const batch64 = inProcess[1].rowsPerSecond;
      const variants: Array<{ name: string; env: Record<string, string> }> = [
        { name: "batching on", env: { MAX_BATCH_SIZE: "64", MAX_BATCH_DELAY_MS: "2" } },
        { name: "batching off", env: { MAX_BATCH_SIZE: "1" } },
      ];
      const rows: Array<Row & { meanBatch: number; env: Record<string, string> }> = [];
      for (const v of variants) {
        const env = { LOG_LEVEL: "info", MODEL_URI: dir, ...v.env, ...opts.serverEnv };
        const server = await startModelServer({
          launcher: "node",
          env,
          logFile: join(work, `mlp-${v.name}.log`),
        });
        try {
          await checkPrediction(server, MLP_BODY);
          const result = await load(`${server.url}/predict`, MLP_BODY, 64, server.pid);
          const metrics = await scrape(server.url);
          rows.push({ name: `${v.name}: ${describeEnv(v.env)}`, result, meanBatch: metrics.meanBatch, env });
        } finally {
          await server.stop();
        }
      }
      console.log(
        `## Compute-heavy MLP ${MLP.features}->${MLP.hidden}->${MLP.hidden}->${MLP.hidden}->${MLP.classes} ` +
          `(dynamic batch) over POST /predict, concurrency 64\n`,
      );
      console.log(
        table(
          [
            "server",
            "rows/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "non-2xx",
            "mean batch",
            "of in-process b64",
            ...CPU_HEADER,
          ],
          rows.map((r) => [
            r.name,
            int(r.result.requestsPerSecond),
            fixed(r.result.p50Ms),
            fixed(r.result.p99Ms),
            String(r.result.errors),
            String(r.result.non2xx),
            fixed(r.meanBatch, 1),
            pct(r.result.requestsPerSecond / batch64),
            ...cpuCells(r.result),
          ]),
        ),
      );
      console.log(
        `\nin-process session.run (no HTTP, nothing else running): ${inProcess
          .map((r) => `batch ${r.batch}: ${int(r.rowsPerSecond)} rows/s (${fixed(r.runMs)} ms/run)`)
          .join("; ")}`,
      );
      const on = rows[0];
      const off = rows[1];
      console.log(
        `batching on vs off: ${fixed(on.result.requestsPerSecond / off.result.requestsPerSecond, 2)}x rows/s\n`,
      );
      verdicts.push({
        target: `MLP batched rows/s >= ${pct(TARGETS.batchedOverInProcess)} of in-process batch-64`,
        measured: `${int(on.result.requestsPerSecond)} / ${int(batch64)} = ${pct(on.result.requestsPerSecond / batch64)}`,
        ok: on.result.requestsPerSecond / batch64 >= TARGETS.batchedOverInProcess,
      });
      out.mlp = { model: MLP, inProcess, rows };
    }

    if (opts.only.has("startup")) {
      const results: StartupResult[] = [];
      for (const launcher of ["node", "tsx"] as Launcher[])
        results.push(await measureStartup(launcher, opts.starts, work));
      console.log(`## Start-to-ready, bundled churn model (median of ${opts.starts} cold starts each)\n`);
      console.log(
        table(
          [
            "launcher",
            "ready ms",
            "listening ms",
            "model load ms",
            "of it warm-up ms",
            "node boot ms",
            "module graph ms",
            "of it onnxruntime-node ms",
          ],
          results.map((r) => [
            r.launcher === "node"
              ? "node dist/serving/src/main.js (image)"
              : "tsx serving/src/main.ts (npm start)",
            int(r.readyMs),
            int(r.listeningMs),
            int(r.modelLoadMs),
            fixed(r.warmupMs, 1),
            int(r.nodeBootMs),
            int(r.moduleGraphMs),
            int(r.onnxruntimeRequireMs),
          ]),
        ),
      );
      console.log(
        '\nlistening = spawn to the server\'s "listening" log line (Node boot + module graph + app + listen); ' +
          "model load = manifest + sha256 + session + warm-up, from the server's own log; " +
          "module graph = `node -e 'require(server)'` minus `node -e 0`.\n",
      );
      const image = results[0];
      verdicts.push({
        target: `ready within ${TARGETS.readyMs} ms (node dist, as the image runs it)`,
        measured: `${int(image.readyMs)} ms (tsx: ${int(results[1].readyMs)} ms)`,
        ok: image.readyMs <= TARGETS.readyMs,
      });
      out.startup = results;
    }

    const allRows = [
      ...(((out.churn as { rows?: Row[] } | undefined)?.rows ?? []) as Row[]),
      ...(((out.mlp as { rows?: Row[] } | undefined)?.rows ?? []) as Row[]),
    ];
    const failures = allRows.reduce((n, r) => n + r.result.errors + r.result.non2xx, 0);
    verdicts.push({
      target: "no errors and no non-2xx responses in any load run",
      measured: `${failures}`,
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
    if (opts.json) await writeFile(opts.json, `${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function printHeader(opts: Options): void {
  const m = machine();
  console.log(`# Serving benchmark, ${new Date().toISOString()}\n`);
  console.log(
    `Machine: ${m.cores} cores (${m.cpu}), Node ${m.node}, onnxruntime-node ${m.onnxruntime}, ${m.platform}.`,
  );
  console.log(
    `Load: autocannon ${m.autocannon} in the bench process, closed loop (one request in flight per connection), ` +
      `${opts.warmup} s warm-up + ${opts.duration} s measured per row. Servers run as child processes. ` +
      `Nothing is pinned: the ${m.cores} cores are shared by the server under test and the load generator ` +
      `(CPU columns: cores used by the server, by the load generator, and by anything else on the machine meanwhile; "server µs CPU/req" is the server's CPU time per response, which contention does not change much).\n`,
  );
}

function machine() {
  let cpu = cpus()[0]?.model ?? "unknown";
  try {
    const line = execFileSync("lscpu", { encoding: "utf8" })
      .split("\n")
      .find((l) => l.startsWith("Model name:"));
    if (line) cpu = line.slice("Model name:".length).trim();
  } catch {
    // lscpu is optional; os.cpus() has the model too
  }
  const version = (pkg: string): string =>
    (JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), "utf8")) as { version: string }).version;
  return {
    cores: availableParallelism(),
    cpu,
    node: process.version,
    onnxruntime: version("onnxruntime-node"),
    autocannon: version("autocannon"),
    platform: `${process.platform} ${process.arch}`,
  };
}

function loadTable(rows: readonly Row[]): string {
  return table(
    ["server", "conc", "req/s", "p50 ms", "p99 ms", "max ms", "errors", "non-2xx", ...CPU_HEADER],
    rows.map((r) => [
      r.name,
      String(r.result.connections),
      int(r.result.requestsPerSecond),
      fixed(r.result.p50Ms),
      fixed(r.result.p99Ms),
      fixed(r.result.maxMs, 1),
      String(r.result.errors),
      String(r.result.non2xx),
      ...cpuCells(r.result),
    ]),
  );
}

/** Header cells matching {@link cpuCells}. */
const CPU_HEADER = ["server µs CPU/req", "CPU server", "CPU loadgen", "CPU others"];

function cpuCells(result: LoadResult): string[] {
  const { cpu } = result;
  if (!cpu) return ["—", "—", "—", "—"];
  return [
    fixed(result.serverCpuUsPerRequest ?? 0, 0),
    fixed(cpu.server, 2),
    fixed(cpu.generator, 2),
    fixed(cpu.others, 2),
  ];
}

function describeEnv(env: Readonly<Record<string, string>>): string {
  const keys = Object.keys(env).filter((k) => k !== "MODEL_URI");
  return keys.length === 0 ? "defaults" : keys.map((k) => `${k}=${env[k]}`).join(" ");
}

/** One real request, checked, before any load: a benchmark of error responses is worthless. */
async function checkPrediction(server: ModelServer, body: string): Promise<void> {
  const res = await fetch(`${server.url}/predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  const json = (await res.json()) as { probabilities?: number[] };
  if (res.status !== 200 || !Array.isArray(json.probabilities) || json.probabilities.length !== 2) {
    throw new Error(`POST /predict answered ${res.status} ${JSON.stringify(json)}; expected a prediction`);
  }
}

/** Figures from the server's /metrics. */
async function scrape(url: string): Promise<{ predictRequests: number; meanBatch: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const sum = (prefix: string) =>
    text
      .split("\n")
      .filter((l) => l.startsWith(prefix))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
  const batches = sum("model_server_batch_size_count");
  return {
    predictRequests: sum('model_server_requests_total{route="/predict"'),
    meanBatch: batches > 0 ? sum("model_server_batch_size_sum") / batches : 0,
  };
}

async function countRequestLogs(file: string): Promise<number> {
  const text = await readFile(file, "utf8");
  let n = 0;
  for (const line of text.split("\n"))
    if (line.includes('"msg":"request completed"') && line.includes('"/predict"')) n++;
  return n;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
