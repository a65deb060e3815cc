/**
 * The real entry point as a child process (what `npm start` and the container run), for tests
 * that need real signals: `startMain` spawns it, `waitReady` polls its readiness.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

export const REPO = resolve(__dirname, "../..");
export const MAIN = join(REPO, "serving", "src", "main.ts");

export interface Child {
  readonly process: ChildProcess;
  readonly logs: Array<Record<string, unknown>>;
  /** Resolves with the exit code once the process has exited and its output is fully read. */
  readonly exited: Promise<number | null>;
  /** Resolves with the listening URL. */
  readonly url: Promise<string>;
}

/** Starts `node --require tsx/cjs serving/src/main.ts` from an unrelated cwd, on an ephemeral port. */
export function startMain(env: Record<string, string>): Child {
  const child = spawn(process.execPath, ["--require", require.resolve("tsx/cjs"), MAIN], {
    cwd: tmpdir(), // the default model root must not depend on the working directory
    env: {
      PATH: process.env.PATH ?? "",
      PORT: "0",
      GRPC_PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = "";
  child.stderr?.on("data", (chunk) => (stderr += String(chunk)));
  const url = new Promise<string>((resolveUrl, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === "listening; loading model") resolveUrl(String(entry.url));
      } catch {
        logs.push({ raw: line });
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code} before listening: ${stderr}`)));
  });
  url.catch(() => undefined);
  const exited = new Promise<number | null>((resolveExit) => child.on("close", (code) => resolveExit(code)));
  return { process: child, logs, exited, url };
}

export async function waitReady(url: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/ready`).catch(() => undefined);
    if (res?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url} did not become ready`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
