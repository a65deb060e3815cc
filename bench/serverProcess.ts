/**
 * The servers under test run as child processes, so they never share an event loop with the
 * load generator (they do share the machine's cores). The model server is started exactly as
 * in production — `node dist/serving/src/main.js` (the container's command) or through tsx
 * (`npm start`) — with its JSON logs written to a file, and is "ready" at the first 200 from
 * `GET /ready`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { request } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

export const REPO = resolve(__dirname, "..");
/** Where {@link compileServer} writes the compiled server (under dist/, which git ignores). */
export const COMPILED_DIR = join(REPO, "dist", "bench-build");
export const COMPILED_MAIN = join(COMPILED_DIR, "serving", "src", "main.js");
const TSX_MAIN = join(REPO, "serving", "src", "main.ts");

/** How the server is launched. */
export type Launcher = "node" | "tsx";

/** The node arguments that start the server with a launcher. */
export function serverArgs(launcher: Launcher): string[] {
  return launcher === "node" ? [COMPILED_MAIN] : ["--require", require.resolve("tsx/cjs"), TSX_MAIN];
}

/** Compiles serving/src with the image's tsconfig into {@link COMPILED_DIR}; returns ms taken. */
export async function compileServer(): Promise<number> {
  const started = performance.now();
  const tsc = require.resolve("typescript/bin/tsc");
  const args = [tsc, "-p", join(REPO, "serving", "tsconfig.build.json"), "--outDir", COMPILED_DIR];
  const child = spawn(process.execPath, args, { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (c) => (output += String(c)));
  child.stderr?.on("data", (c) => (output += String(c)));
  const code = await new Promise<number | null>((r) => child.on("close", r));
  if (code !== 0) throw new Error(`tsc -p serving/tsconfig.build.json failed (${code}):\n${output}`);
  return performance.now() - started;
}

/** CPU list servers are started on (`taskset -c`), or undefined: not pinned. */
let serverCpus: string | undefined;

/** Pins every server started from now on to `cpus` (a taskset CPU list such as "1"). */
export function pinServers(cpus: string): void {
  serverCpus = cpus;
}

/** The command and arguments to start `args` with node, under taskset when pinned (taskset execs it: same pid). */
function nodeCommand(args: readonly string[]): [string, string[]] {
  return serverCpus === undefined
    ? [process.execPath, [...args]]
    : ["taskset", ["-c", serverCpus, process.execPath, ...args]];
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolvePort(port));
    });
  });
}

/** Options of {@link startModelServer}. */
export interface ModelServerArgs {
  readonly launcher: Launcher;
  /** Server environment on top of PATH, HOST=127.0.0.1 and a free PORT. */
  readonly env: Readonly<Record<string, string>>;
  /** File receiving the server's stdout and stderr (its JSON log). */
  readonly logFile: string;
  /** Give up waiting for readiness after this many ms. Default: 60000. */
  readonly readyTimeoutMs?: number;
}

/** A running model server. */
export interface ModelServer {
  readonly url: string;
  readonly pid: number;
  /** Wall time from spawn() to the first 200 from /ready, ms (5 ms polling). */
  readonly readyMs: number;
  /** Parsed JSON log lines written so far. */
  logs(): Array<Record<string, unknown>>;
  /** SIGTERM (the server drains with DRAIN_DELAY_SECONDS=0) and wait for exit. */
  stop(): Promise<void>;
}

export async function startModelServer(args: ModelServerArgs): Promise<ModelServer> {
  const port = await freePort();
  const fd = openSync(args.logFile, "w");
  const started = performance.now();
  const [command, commandArgs] = nodeCommand(serverArgs(args.launcher));
  const child = spawn(command, commandArgs, {
    cwd: REPO,
    env: {
      PATH: process.env.PATH ?? "",
      HOST: "127.0.0.1",
      PORT: String(port),
      GRPC_PORT: "off",
      DRAIN_DELAY_SECONDS: "0",
      ...args.env,
    },
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, child, args.readyTimeoutMs ?? 60_000);
  } catch (err) {
    child.kill("SIGKILL");
    throw new Error(`${(err as Error).message}\n--- server log ---\n${readFileSync(args.logFile, "utf8")}`);
  }
  const readyMs = performance.now() - started;
  return {
    url,
    pid: child.pid!,
    readyMs,
    logs: () => parseLog(args.logFile),
    stop: () => stopChild(child, exited),
  };
}

/** Polls GET /ready every 5 ms until it answers 200. */
async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode} before it was ready`);
    if ((await status(`${url}/ready`)) === 200) return;
    if (performance.now() > deadline) throw new Error(`${url} was not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Status code of a GET, or 0 when the connection fails (nothing listening yet). */
function status(url: string): Promise<number> {
  return new Promise((resolveStatus) => {
    const req = request(url, { agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolveStatus(res.statusCode ?? 0));
    });
    req.on("error", () => resolveStatus(0));
    req.end();
  });
}

function parseLog(file: string): Array<Record<string, unknown>> {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

/** A running HTTP floor server. */
export interface FloorServer {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts a floor server (bench/httpFloor.ts, or bench/grpcFloor.ts) as its own process. */
export async function startFloorServer(script = "httpFloor.ts"): Promise<FloorServer> {
  const [command, commandArgs] = nodeCommand([
    "--require",
    require.resolve("tsx/cjs"),
    join(REPO, "bench", script),
  ]);
  const child = spawn(command, commandArgs, {
    cwd: REPO,
    env: { PATH: process.env.PATH ?? "" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const url = await new Promise<string>((resolveUrl, reject) => {
    createInterface({ input: child.stdout! }).once("line", (line) => {
      resolveUrl((JSON.parse(line) as { url: string }).url);
    });
    child.once("exit", (code) => reject(new Error(`floor server ${script} exited with ${code}`)));
  });
  return { url, pid: child.pid!, stop: () => stopChild(child, exited) };
}
