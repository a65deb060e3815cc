import assert from "node:assert/strict";
import { connect } from "node:net";
import { gzipSync } from "node:zlib";
import { gatedRuntime, startTestServer, type TestServer } from "../helpers";

/** Writes raw bytes on a fresh connection; resolves with everything read until it closes. */
function rawExchange(
  port: number,
  chunks: Array<string | Buffer | { waitMs: number } | "end">,
  giveUpMs = 5000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let received = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connection still open after ${giveUpMs} ms; got ${JSON.stringify(received)}`));
    }, giveUpMs);
    socket.on("data", (d) => (received += d.toString("latin1")));
    socket.on("error", () => undefined); // the server may reset after answering
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(received);
    });
    void (async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        if (chunk === "end") socket.end();
        else if (typeof chunk === "object" && "waitMs" in chunk)
          await new Promise((r) => setTimeout(r, chunk.waitMs));
        else socket.write(chunk);
      }
    })();
  });
}

/** Status and parsed JSON body of the first response in raw HTTP text. */
function firstResponse(raw: string): { status: number; headers: string; body: unknown } {
  const m = /^HTTP\/1\.1 (\d{3}) [^\r]*\r\n([\s\S]*?)\r\n\r\n/.exec(raw);
  assert.ok(m, `no HTTP response in ${JSON.stringify(raw)}`);
  const length = Number(/content-length: (\d+)/i.exec(m[2])?.[1]);
  const body = raw.slice(m[0].length, m[0].length + length);
  return { status: Number(m[1]), headers: m[2].toLowerCase(), body: JSON.parse(body) };
}

const post = (path: string, body: string | Buffer, extra = "") =>
  Buffer.concat([
    Buffer.from(
      `POST ${path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n${extra}` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n`,
    ),
    Buffer.from(body),
  ]);

describe("HTTP errors fastify and Node produce themselves, in the {error} shape", () => {
  let server: TestServer;
  let port: number;
  const gate = gatedRuntime();
  before(async () => {
    server = await startTestServer({
      timeouts: { headersTimeoutMs: 300, bodyTimeoutMs: 600 },
      wrapRuntime: gate.wrap,
    });
    port = Number(new URL(await server.app.listen({ port: 0, host: "127.0.0.1" })).port);
  });
  after(async () => {
    gate.open();
    await server.close();
  });

  it("a malformed %-escape in the URL is a 400 naming the URL", async () => {
    const res = firstResponse(
      await rawExchange(port, ["GET /v2/models/%E0%A4%A HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"]),
    );
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, { error: "'/v2/models/%E0%A4%A' is not a valid url component" });
  });

  it("a body shorter than its Content-Length is a 400 saying so", async () => {
    const head =
      "POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n";
    const res = firstResponse(await rawExchange(port, [head + '{"features":[1,2]}', "end"]));
    assert.equal(res.status, 400);
    assert.deepEqual(res.body, {
      error: "the connection ended before the request was complete (body shorter than its Content-Length?)",
    });
  });

  it("a gzip body is a 415 asking for it uncompressed", async () => {
    const res = firstResponse(
      await rawExchange(port, [
        post("/predict", gzipSync('{"features":[1,2]}'), "Content-Encoding: gzip\r\nConnection: close\r\n"),
      ]),
    );
    assert.equal(res.status, 415);
    assert.deepEqual(res.body, {
      error: 'Content-Encoding "gzip" is not supported: send the body uncompressed',
    });
  });

  it("a malformed request line is a 400", async () => {
    const res = firstResponse(await rawExchange(port, ["GARBAGE\r\n\r\n"]));
    assert.equal(res.status, 400);
    assert.match((res.body as { error: string }).error, /^malformed HTTP request \(HPE_[A-Z_]+\)$/);
  });

  it("headers sent too slowly get a 408 and the connection closes", async () => {
    const started = Date.now();
    const res = firstResponse(await rawExchange(port, ["GET /health HTTP/1.1\r\nHost: t\r\n"]));
    assert.equal(res.status, 408);
    assert.deepEqual(res.body, {
      error: "the request was not received in time (headers or body sent too slowly)",
    });
    assert.ok(Date.now() - started < 3000, "cut off within the timeout plus the check interval");
  });

  it("a body sent too slowly gets a 408", async () => {
    const head =
      'POST /predict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 18\r\n\r\n{"feat';
    const res = firstResponse(await rawExchange(port, [head]));
    assert.equal(res.status, 408);
  });

  it("an idle kept-alive connection outlives both timeouts, and a slow answer is not cut", async () => {
    setTimeout(() => gate.open(), 3500);
    const get = "GET /health HTTP/1.1\r\nHost: t\r\n\r\n";
    const raw = await rawExchange(port, [
      get,
      { waitMs: 2500 }, // idle between requests: longer than headers and body timeouts and a check
      post("/predict", '{"features":[1,1]}', "Connection: close\r\n"),
    ]);
    const answers = raw.split(/(?=HTTP\/1\.1 )/);
    assert.equal(answers.length, 2, raw);
    assert.equal(firstResponse(answers[0]).status, 200);
    // the gate held the inference past both timeouts too (it is opened below, after 2.5 s)
    assert.equal(firstResponse(answers[1]).status, 200);
  });
});

describe("request size limits and connection timeouts", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ batching: { maxBatchSize: 2, maxRowsPerRequest: 3 } });
  });
  after(() => server.close());

  it("keeps idle connections longer than the ALB's 60 s idle timeout, so the ALB closes them first", () => {
    assert.ok(server.app.server.keepAliveTimeout > 60_000);
    assert.equal(server.app.server.headersTimeout, 10_000);
    assert.equal(server.app.server.requestTimeout, 30_000);
  });

  it("a request of more rows than MAX_ROWS_PER_REQUEST is a 413; up to it runs in chunks", async () => {
    const batch = (n: number) =>
      server.app.inject({
        method: "POST",
        url: "/predict/batch",
        payload: { instances: Array.from({ length: n }, (_, i) => [0, i]) },
      });
    const refused = await batch(4);
    assert.equal(refused.statusCode, 413);
    assert.deepEqual(refused.json(), {
      error: "the request has 4 rows; at most 3 are accepted per request (MAX_ROWS_PER_REQUEST): split it",
    });
    const served = await batch(3);
    assert.equal(served.statusCode, 200);
    assert.deepEqual(
      served.json().predictions.map((p: { prediction: string }) => p.prediction),
      [0, 1, 1],
    );
  });
});
