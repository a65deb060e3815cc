/**
 * `npm start` as an operator (or a process manager) runs it: SIGTERM to npm must reach the
 * server, which drains and exits; nothing may be left running, answering, after npm is gone.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";

const REPO = resolve(__dirname, "../..");

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("npm start", () => {
  it("passes SIGTERM to the server, which drains and exits: no orphan", async function () {
    this.timeout(60_000);
    const npm = spawn("npm", ["start", "--silent"], {
      cwd: REPO,
      env: {
        ...process.env,
        PORT: "0",
        GRPC_PORT: "0",
        HOST: "127.0.0.1",
        DRAIN_DELAY_SECONDS: "0.2",
        LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((done) => npm.on("close", (code) => done(code)));
    const lines: Array<Record<string, unknown>> = [];
    const listening = new Promise<{ pid: number; url: string }>((done, fail) => {
      createInterface({ input: npm.stdout! }).on("line", (line) => {
        const entry = JSON.parse(line) as Record<string, unknown>;
        lines.push(entry);
        if (entry.msg === "listening; loading model")
          done({ pid: Number(entry.pid), url: String(entry.url) });
      });
      npm.on("exit", (code) => fail(new Error(`npm start exited with ${code} before listening`)));
    });
    const { pid, url } = await listening;
    try {
      assert.notEqual(pid, npm.pid);
      npm.kill("SIGTERM");
      const timedOut = new Promise<string>((done) =>
        setTimeout(() => done("npm still running"), 15_000).unref(),
      );
      assert.equal(await Promise.race([exited, timedOut]), 0);
      const deadline = Date.now() + 10_000;
      while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(alive(pid), false, `server ${pid} still running after npm exited`);
      await assert.rejects(fetch(`${url}/health`));
      assert.ok(lines.some((l) => l.msg === "shutdown complete"));
    } finally {
      if (alive(pid)) process.kill(pid, "SIGKILL");
      npm.kill("SIGKILL");
    }
  });
});
