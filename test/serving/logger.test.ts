/**
 * The server's log stream (createLogger): lines are buffered for cheap writes, yet none is lost
 * on process.exit — fatal lines included — and none waits longer than the flush interval.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { openSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import pino from "pino";
import { createLogger, isoTimeCached } from "../../serving/src/server";
import { tempDir } from "./helpers";

const SERVER = resolve(__dirname, "../../serving/src/server.ts");

/** Runs `code` in a child node (tsx) with `createLogger` in scope; resolves with stdout and exit code. */
function runChild(code: string): Promise<{ stdout: string; code: number | null }> {
  const script = `const { createLogger } = require(${JSON.stringify(SERVER)});\n${code}`;
  const child = spawn(process.execPath, ["--require", require.resolve("tsx/cjs"), "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let stdout = "";
  child.stdout.on("data", (chunk) => (stdout += String(chunk)));
  return new Promise((done) => child.on("close", (exit) => done({ stdout, code: exit })));
}

const parse = (text: string) =>
  text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe("server log stream", function () {
  this.timeout(20_000);

  it("writes JSON lines with level names, ISO times, service and pid", async () => {
    const { stdout, code } = await runChild(`createLogger("info").info({ a: 1 }, "hello"); process.exit(0);`);
    assert.equal(code, 0);
    const [line] = parse(stdout);
    assert.equal(line.level, "info");
    assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(line.service, "model-server");
    assert.equal(typeof line.pid, "number");
    assert.equal(line.a, 1);
    assert.equal(line.msg, "hello");
  });

  it("loses no buffered line on process.exit, the fatal one last", async () => {
    const { stdout, code } = await runChild(
      `const log = createLogger("info");
       for (let i = 0; i < 500; i++) log.info({ i }, "line");
       log.fatal({ reason: "boom" }, "unhandled; exiting");
       process.exit(3);`,
    );
    assert.equal(code, 3);
    const lines = parse(stdout);
    assert.equal(lines.length, 501);
    assert.deepEqual(
      lines.slice(0, 500).map((l) => l.i),
      Array.from({ length: 500 }, (_, i) => i),
    );
    assert.equal(lines[500].level, "fatal");
    assert.equal(lines[500].msg, "unhandled; exiting");
  });

  it("buffers a line, and writes it within the flush interval without more traffic", async () => {
    const { dir, cleanup } = await tempDir();
    const file = join(dir, "log.jsonl");
    const log = createLogger("info", { fd: openSync(file, "w"), flushIntervalMs: 30 });
    // The destination owns the fd: ending it stops its flush timer and closes the file.
    const destination = (log as unknown as Record<symbol, { end(): void }>)[pino.symbols.streamSym];
    try {
      log.info({ n: 1 }, "quiet period");
      assert.equal(readFileSync(file, "utf8"), "", "a single short line is buffered, not written at once");
      const deadline = Date.now() + 2000;
      while (readFileSync(file, "utf8") === "" && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      const lines = parse(readFileSync(file, "utf8"));
      assert.equal(lines.length, 1);
      assert.equal(lines[0].msg, "quiet period");
    } finally {
      destination.end();
      await cleanup();
    }
  });

  it("formats the timestamp like pino's isoTime, once per millisecond", () => {
    let now = Date.UTC(2025, 0, 2, 3, 4, 5, 678);
    const calls: number[] = [];
    const time = isoTimeCached(() => {
      calls.push(now);
      return now;
    });
    const first = time();
    assert.equal(first, ',"time":"2025-01-02T03:04:05.678Z"');
    assert.equal(time(), first);
    now += 1;
    assert.equal(time(), ',"time":"2025-01-02T03:04:05.679Z"');
    assert.equal(calls.length, 3, "the clock is still read for every line");
  });
});
