/**
 * The probe listener (PROBE_PORT): a thread of its own answering the probe paths over real
 * sockets with exactly the serving port's answers, following the served models' state, turning
 * 503 when the serving thread's heartbeat stops, refusing what is not a probe, and wired into
 * startServer so it reports the drain and closes last.
 */
import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Worker } from "node:worker_threads";
import { PROBE_PATHS, type ReadinessSource } from "../../../serving/src/probes/probeAnswers";
import { ProbeListener } from "../../../serving/src/probes/probeListener";
import { memoryLogger, startRealServer, startTestServer } from "../helpers";

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** One request on a fresh connection, as the kubelet sends probes. */
function get(port: number, path: string, method = "GET"): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** A readiness source the test changes at will (ServedModels in the server). */
function fakeSource(): ReadinessSource & {
  ready: boolean;
  state: string;
  stateReason: string;
  model?: { manifest: { name: string; version: string } };
} {
  return { ready: false, state: "loading", stateReason: "model is loading" };
}

describe("probe listener (PROBE_PORT)", function () {
  this.timeout(20_000);
  const open: ProbeListener[] = [];
  const start = async (
    source: ReadinessSource,
    options: { publishIntervalMs?: number; stallLimitMs?: number } = {},
  ): Promise<ProbeListener> => {
    const listener = await ProbeListener.start({
      host: "127.0.0.1",
      port: 0,
      service: source,
      logger: memoryLogger(),
      ...options,
    });
    open.push(listener);
    return listener;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((l) => l.close()));
  });

  it("answers every probe path exactly as the serving port does", async () => {
    const server = await startTestServer();
    try {
      const probes = await start(server.service);
      for (const path of PROBE_PATHS) {
        const served = await server.app.inject({ url: path });
        const probed = await get(probes.port, path);
        assert.equal(probed.status, served.statusCode, path);
        assert.deepEqual(JSON.parse(probed.text), served.json(), path);
        assert.equal(probed.headers["content-type"], "application/json; charset=utf-8");
        assert.equal(probed.headers["cache-control"], "no-store");
      }
      assert.deepEqual(JSON.parse((await get(probes.port, "/ready")).text), {
        status: "ready",
        model: "test-model",
        version: "1.0.0",
      });
    } finally {
      await server.close();
    }
  });

  it("follows the served models' state: loading, ready, draining", async () => {
    const source = fakeSource();
    const probes = await start(source, { publishIntervalMs: 3_600_000 });
    let ready = await get(probes.port, "/ready");
    assert.equal(ready.status, 503);
    assert.deepEqual(JSON.parse(ready.text), { status: "loading", error: "model is loading" });
    assert.deepEqual(JSON.parse((await get(probes.port, "/health")).text), { status: "ok" });

    Object.assign(source, {
      ready: true,
      state: "ready",
      stateReason: "ready",
      model: { manifest: { name: "churn", version: "2.0.0" } },
    });
    // Not beaten yet (the interval is an hour): the thread still has the old state.
    assert.equal((await get(probes.port, "/ready")).status, 503);
    probes.publish();
    ready = await get(probes.port, "/ready");
    assert.equal(ready.status, 200);
    assert.deepEqual(JSON.parse(ready.text), { status: "ready", model: "churn", version: "2.0.0" });
    assert.deepEqual(JSON.parse((await get(probes.port, "/v2/health/ready")).text), { ready: true });

    Object.assign(source, {
      ready: false,
      state: "draining",
      stateReason: "server is draining before shutdown",
    });
    probes.publish();
    const draining = await get(probes.port, "/v2/health/ready");
    assert.equal(draining.status, 503);
    assert.deepEqual(JSON.parse(draining.text), {
      ready: false,
      error: "server is draining before shutdown",
    });
  });

  it("sends state changes on its own every publish interval", async () => {
    const source = fakeSource();
    const probes = await start(source, { publishIntervalMs: 20 });
    Object.assign(source, {
      ready: true,
      state: "ready",
      stateReason: "ready",
      model: { manifest: { name: "m", version: "1.0.0" } },
    });
    let status = 0;
    const deadline = Date.now() + 5000;
    while (status !== 200 && Date.now() < deadline) status = (await get(probes.port, "/ready")).status;
    assert.equal(status, 200);
  });

  it("answers 503 on every probe once the serving thread's heartbeat is older than the stall limit", async () => {
    const source = fakeSource();
    Object.assign(source, {
      ready: true,
      state: "ready",
      stateReason: "ready",
      model: { manifest: { name: "m", version: "1.0.0" } },
    });
    const probes = await start(source, { publishIntervalMs: 3_600_000, stallLimitMs: 200 });
    assert.equal((await get(probes.port, "/health")).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 350));
    for (const path of PROBE_PATHS) {
      const answer = await get(probes.port, path);
      assert.equal(answer.status, 503, path);
      const body = JSON.parse(answer.text) as Record<string, unknown>;
      assert.match(String(body.error), /^the serving thread's event loop has not turned for \d+ ms$/, path);
      const turned = Number(/for (\d+) ms/.exec(String(body.error))![1]);
      assert.ok(turned >= 200 && turned < 5000, `${path}: ${turned} ms`);
    }
    assert.deepEqual(Object.keys(JSON.parse((await get(probes.port, "/health")).text)), ["status", "error"]);
    assert.equal(JSON.parse((await get(probes.port, "/health")).text).status, "stalled");
    assert.equal(JSON.parse((await get(probes.port, "/v2/health/live")).text).live, false);
    probes.publish(); // the serving thread turns again
    assert.equal((await get(probes.port, "/health")).status, 200);
    assert.equal((await get(probes.port, "/ready")).status, 200);
  });

  it("refuses what is not a probe: 404 naming the paths, 405 for other methods, no body for HEAD", async () => {
    const probes = await start(fakeSource());
    const missing = await get(probes.port, "/predict");
    assert.equal(missing.status, 404);
    assert.deepEqual(JSON.parse(missing.text), {
      error: 'no probe at "/predict"; this port answers /health, /ready, /v2/health/live, /v2/health/ready',
    });
    const post = await get(probes.port, "/health", "POST");
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, "GET, HEAD");
    assert.deepEqual(JSON.parse(post.text), { error: "method POST is not allowed on /health: use GET" });
    const head = await get(probes.port, "/health", "HEAD");
    assert.equal(head.status, 200);
    assert.equal(head.text, "");
    assert.equal(head.headers["content-length"], String(Buffer.byteLength('{"status":"ok"}')));
    const query = await get(probes.port, "/health?verbose=1");
    assert.equal(query.status, 200);
  });

  it("fails to start, naming the address, when the port is taken", async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as AddressInfo;
    try {
      await assert.rejects(
        ProbeListener.start({ host: "127.0.0.1", port, service: fakeSource(), logger: memoryLogger() }),
        (err: Error) =>
          err.message.includes(`probe listener on 127.0.0.1:${port}`) && err.message.includes("EADDRINUSE"),
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it("fails to start, saying so, when its thread dies or throws before listening", async () => {
    const cases: Array<[code: string, message: string]> = [
      ["process.exit(3)", "probe listener thread exited with code 3 while starting"],
      ["throw new Error('no sockets here')", "probe listener thread failed while starting: no sockets here"],
    ];
    for (const [code, message] of cases) {
      await assert.rejects(
        ProbeListener.start({
          host: "127.0.0.1",
          port: 0,
          service: fakeSource(),
          logger: memoryLogger(),
          spawnWorker: () => new Worker(code, { eval: true }),
        }),
        { message },
      );
    }
  });

  it("refuses connections once closed", async () => {
    const probes = await start(fakeSource());
    assert.equal((await get(probes.port, "/health")).status, 200);
    await probes.close();
    await assert.rejects(get(probes.port, "/health"), /ECONNREFUSED/);
  });

  it("startServer: PROBE_PORT serves the probes, reports the drain at once and closes after the serving port", async () => {
    const { server, lines, close } = await startRealServer({ PROBE_PORT: "0", DRAIN_DELAY_SECONDS: "0.5" });
    try {
      const probePort = server.probePort!;
      assert.equal(typeof probePort, "number");
      assert.equal(lines.find((l) => l.msg === "listening; loading model")?.probePort, probePort);
      await server.loaded;
      let ready = await get(probePort, "/ready");
      for (let i = 0; i < 100 && ready.status !== 200; i++) ready = await get(probePort, "/ready");
      assert.deepEqual(JSON.parse(ready.text), { status: "ready", model: "clf", version: "1.0.0" });

      const stopping = server.shutdown("test");
      // Published at once, not on the next beat.
      const draining = await get(probePort, "/ready");
      assert.equal(draining.status, 503);
      assert.deepEqual(JSON.parse(draining.text), {
        status: "draining",
        error: "server is draining before shutdown",
      });
      await stopping;
      await assert.rejects(get(probePort, "/health"), /ECONNREFUSED/);
    } finally {
      await close();
    }
  });
});
