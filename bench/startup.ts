/**
 * Start-to-ready of the real server process with the bundled model, and where that time goes:
 * Node's own boot, loading the module graph (with tsx: transpiling it too), building the app and
 * listening, loading the model (manifest, sha256, session) and the warm-up inference. Phases come
 * from the server's own log lines and timings, so nothing is instrumented specially.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import type { BenchContext, Verdict } from "./context";
import { fixed, int, median, table } from "./report";
import { COMPILED_DIR, REPO, startModelServer, type Launcher } from "./serverProcess";

/** The target: ready within this many ms. */
export const READY_TARGET_MS = 1000;

/** Measures both launchers, prints the table, and checks the image's launcher against the target. */
export async function startupSection(
  ctx: BenchContext,
): Promise<{ results: StartupResult[]; verdicts: Verdict[] }> {
  const results: StartupResult[] = [];
  for (const launcher of ["node", "tsx"] as const) {
    results.push(await measureStartup(launcher, ctx.options.starts, ctx.work));
  }
  console.log(`## Start-to-ready, bundled churn model (median of ${ctx.options.starts} cold starts each)
`);
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
          ? "node dist/serving/src/main.js (the image)"
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
    "\nready = spawn to the first 200 from GET /ready (polled every 5 ms); listening = spawn to the server's " +
      '"listening" log line (Node boot, module graph, app, listen); model load = manifest, sha256, session and ' +
      "warm-up, from the server's own log; module graph = `node -e 'require(server)'` minus `node -e 0`.\n",
  );
  const [image, tsx] = results;
  return {
    results,
    verdicts: [
      {
        target: `ready within ${READY_TARGET_MS} ms (node dist, as the image runs it)`,
        measured: `${int(image.readyMs)} ms (tsx: ${int(tsx.readyMs)} ms)`,
        ok: image.readyMs <= READY_TARGET_MS,
      },
    ],
  };
}

/** Median phases of several cold starts, ms. */
export interface StartupResult {
  readonly launcher: Launcher;
  readonly starts: number;
  /** spawn() to the first 200 from /ready. */
  readonly readyMs: number;
  /** spawn() to the "listening" log line: Node boot, module graph, app, listen. */
  readonly listeningMs: number;
  /** Model load as the server logs it (manifest, sha256, session create, warm-up). */
  readonly modelLoadMs: number;
  /** The warm-up inference, part of modelLoadMs. */
  readonly warmupMs: number;
  /** `node -e 0`: Node's own process start. */
  readonly nodeBootMs: number;
  /** Requiring the server's module graph (server.ts and everything it imports), beyond Node's boot. */
  readonly moduleGraphMs: number;
  /** Of moduleGraphMs: onnxruntime-node alone (its native library). */
  readonly onnxruntimeRequireMs: number;
}

/** Cold-starts the server `starts` times with a launcher; every figure is the median. */
export async function measureStartup(
  launcher: Launcher,
  starts: number,
  logDir: string,
): Promise<StartupResult> {
  const ready: number[] = [];
  const listening: number[] = [];
  const load: number[] = [];
  const warmup: number[] = [];
  for (let i = 0; i < starts; i++) {
    const spawnedAt = Date.now();
    const server = await startModelServer({
      launcher,
      env: { LOG_LEVEL: "info" },
      logFile: join(logDir, `startup-${launcher}-${i}.log`),
    });
    await server.stop(); // the server buffers log lines; they are all written by exit
    const logs = server.logs();
    ready.push(server.readyMs);
    const listen = logs.find((l) => l.msg === "listening; loading model");
    const loaded = logs.find((l) => l.msg === "model loaded and warmed up; ready");
    if (!listen || !loaded) throw new Error(`the ${launcher} server did not log listening and ready`);
    listening.push(Date.parse(String(listen.time)) - spawnedAt);
    load.push(Number(loaded.loadMs));
    warmup.push(Number(loaded.warmupMs));
  }
  const serverModule =
    launcher === "node"
      ? join(COMPILED_DIR, "serving", "src", "server.js")
      : join(REPO, "serving", "src", "server.ts");
  const nodeBoot = await medianWall(launcher, "0", starts);
  const graph = await medianWall(launcher, `require(${JSON.stringify(serverModule)})`, starts);
  const ort = await medianWall(launcher, `require("onnxruntime-node")`, starts);
  return {
    launcher,
    starts,
    readyMs: median(ready),
    listeningMs: median(listening),
    modelLoadMs: median(load),
    warmupMs: median(warmup),
    nodeBootMs: nodeBoot,
    moduleGraphMs: Math.max(0, graph - nodeBoot),
    onnxruntimeRequireMs: Math.max(0, ort - nodeBoot),
  };
}

/** Median wall time of `node [tsx] -e <code>` from spawn to exit. */
async function medianWall(launcher: Launcher, code: string, runs: number): Promise<number> {
  const args = [...(launcher === "tsx" ? ["--require", require.resolve("tsx/cjs")] : []), "-e", code];
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd: REPO, stdio: "ignore" });
    const exit = await new Promise<number | null>((r) => child.on("exit", r));
    if (exit !== 0) throw new Error(`node ${args.join(" ")} exited with ${exit}`);
    times.push(performance.now() - started);
  }
  return median(times);
}
