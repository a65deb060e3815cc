/**
 * The per-request logger is made on its first log line, and logs exactly as pino's own child:
 * the request's bindings on every line, its own level, and children of its own.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import pino from "pino";
import { lazyChildLoggerFactory } from "../../../serving/src/http/requestLogger";

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: "info", base: undefined, timestamp: false }, stream);
  let children = 0;
  const original = logger.child;
  logger.child = function (this: typeof logger, ...args: Parameters<typeof original>) {
    children++;
    return original.apply(this, args);
  } as typeof original;
  return { logger, lines, children: () => children };
}

const settle = () => new Promise((r) => setImmediate(r));

describe("per-request logger", () => {
  it("makes no pino child until it logs, then logs with the request's bindings", async () => {
    const { logger, lines, children } = capture();
    const log = lazyChildLoggerFactory(logger, { requestId: "r-1" }, {});
    assert.equal(log.level, "info");
    log.debug("below the level");
    assert.equal(children(), 1, "a call that may log makes the child");
    log.info({ status: 500 }, "request failed");
    log.warn("again");
    await settle();
    assert.equal(children(), 1, "one child per request");
    assert.deepEqual(lines, [
      { level: 30, requestId: "r-1", status: 500, msg: "request failed" },
      { level: 40, requestId: "r-1", msg: "again" },
    ]);
  });

  it("costs nothing for a request that never logs", () => {
    const { logger, children } = capture();
    for (let i = 0; i < 100; i++) lazyChildLoggerFactory(logger, { requestId: `r-${i}` }, {});
    assert.equal(children(), 0);
  });

  it("keeps its own level, and makes children of its own", async () => {
    const { logger, lines } = capture();
    const log = lazyChildLoggerFactory(logger, { requestId: "r-2" }, { level: "warn" });
    assert.equal(log.level, "warn");
    log.info("dropped: below the child's level");
    log.child({ step: "load" }).error("failed");
    log.level = "debug";
    log.debug("now shown");
    await settle();
    assert.deepEqual(lines, [
      { level: 50, requestId: "r-2", step: "load", msg: "failed" },
      { level: 20, requestId: "r-2", msg: "now shown" },
    ]);
  });
});
