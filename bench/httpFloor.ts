/**
 * The HTTP floor: a bare `node:http` server that reads the request body, parses it as JSON and
 * answers a constant JSON body. No framework, validation, logging, metrics or inference: the
 * most a Node process on this machine can answer for the same request. Run as its own process
 * (like the real server) and prints `{"url": ...}` on stdout once listening.
 *
 *   node --require tsx/cjs bench/httpFloor.ts
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** The same shape the seed API answers, fixed. */
const ANSWER = JSON.stringify({
  prediction: "1",
  confidence: 0.9,
  probabilities: [0.1, 0.9],
  model_version: "1.0.0",
  latency_ms: 0,
});

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    try {
      JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      res.writeHead(400, { "content-type": "application/json" }).end('{"error":"invalid JSON"}');
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(ANSWER);
  });
});
server.keepAliveTimeout = 72_000;
server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
