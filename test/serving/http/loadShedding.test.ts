/**
 * Refusals while the queue is full, over real sockets: decided before the body is read, in the
 * {error} shape with Retry-After, counted in the metrics, and paced (a refused connection is
 * not read again until the pause ends), while the queued requests are all answered.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { gatedRuntime, startTestServer, waitFor, type TestServer } from "../helpers";

/** A raw keep-alive connection that collects responses as they arrive. */
function rawConnection(port: number): {
  socket: Socket;
  responses: () => Array<{ at: number; text: string }>;
} {
  const socket = connect(port, "127.0.0.1");
  const got: Array<{ at: number; text: string }> = [];
  let buffer = "";
  socket.on("data", (d) => {
    buffer += d.toString("latin1");
    for (;;) {
      const head = buffer.indexOf("\r\n\r\n");
      if (head < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(buffer.slice(0, head))?.[1] ?? 0);
      if (buffer.length < head + 4 + length) return;
      got.push({ at: performance.now(), text: buffer.slice(0, head + 4 + length) });
      buffer = buffer.slice(head + 4 + length);
    }
  });
  socket.on("error", () => undefined);
  return { socket, responses: () => got };
}

const predict = (body: string, declaredLength = Buffer.byteLength(body)) =>
  `POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: ${declaredLength}\r\n\r\n${body}`;

describe("load shedding", () => {
  let server: TestServer;
  let port: number;
  const gate = gatedRuntime();
  let queued: Array<Promise<Response>>;
  before(async () => {
    server = await startTestServer({
      batching: { maxBatchSize: 1, maxQueueSize: 2 },
      wrapRuntime: gate.wrap,
      timeouts: { shedPauseMs: 400 },
    });
    port = Number(new URL(await server.app.listen({ port: 0, host: "127.0.0.1" })).port);
    const send = () =>
      fetch(`http://127.0.0.1:${port}/predict`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ features: [0, 1] }),
      });
    queued = [send()];
    await gate.entered; // one computing (held) ...
    queued.push(send(), send());
    await waitFor(() => server.service.queueDepth === 2); // ... and the queue full
  });
  after(async () => {
    gate.open();
    await server.close();
  });

  it("sheds every inference route, and only those, before their bodies are read", async () => {
    const post = (path: string) =>
      `POST ${path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{`;
    for (const path of [
      "/predict",
      "/predict/batch",
      "/v2/models/test-model/infer",
      "/v2/models/test-model/versions/1.0.0/infer",
    ]) {
      const conn = rawConnection(port);
      conn.socket.write(post(path));
      await waitFor(() => conn.responses().length === 1);
      assert.match(conn.responses()[0].text, /^HTTP\/1\.1 503 /, path);
      conn.socket.destroy();
    }
    // Another POST route waits for its body like any request: no answer until it is sent.
    const conn = rawConnection(port);
    conn.socket.write(post("/outcomes"));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(conn.responses().length, 0, "/outcomes is not shed");
    conn.socket.destroy();
    // Let the pacing window these refusals opened close, so the next test's pause is its own.
    await new Promise((r) => setTimeout(r, 450));
  });

  it("refuses before reading the body, in the {error} shape with Retry-After, and paces the connection", async () => {
    const conn = rawConnection(port);
    // Headers and a fraction of a body that claims 100000 bytes: answered without waiting for the rest.
    const sent = performance.now();
    conn.socket.write(predict('{"features":[0,', 100_000));
    await waitFor(() => conn.responses().length === 1);
    const refused = conn.responses()[0];
    assert.ok(refused.at - sent < 300, "refused at once, the body unread");
    assert.match(refused.text, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.match(refused.text, /\r\nretry-after: 1\r\n/i);
    assert.ok(
      refused.text.endsWith('{"error":"the inference queue is full (2 requests waiting); retry later"}'),
      refused.text,
    );
    // The rest of that body, then the next request at once on the same connection: it is read
    // only after the pause, and refused again (the queue is still full).
    conn.socket.write(" ".repeat(100_000 - '{"features":[0,'.length));
    const next = performance.now();
    conn.socket.write(predict('{"features":[1,1]}'));
    await waitFor(() => conn.responses().length === 2, 5000);
    assert.ok(conn.responses()[1].at - next >= 300, "the refused connection was paused");
    assert.match(conn.responses()[1].text, /^HTTP\/1\.1 503 /);
    conn.socket.destroy();

    // Other connections, probes included, are not paused.
    const started = performance.now();
    assert.equal((await fetch(`http://127.0.0.1:${port}/health`)).status, 200);
    assert.ok(performance.now() - started < 300);

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(
      metrics,
      /_requests_total\{route="\/predict",method="POST",status="503",protocol="http"\} 3\n/,
    );
    assert.match(metrics, /_inference_rejections_total\{model="test-model",reason="queue_full"\} 6\n/);

    gate.open();
    const answers = await Promise.all(queued);
    assert.deepEqual(
      answers.map((r) => r.status),
      [200, 200, 200],
    );
  });
});
