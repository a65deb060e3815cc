/**
 * The probe listener's thread: answers the kubelet's liveness and readiness probes on PROBE_PORT
 * from an event loop of its own. On the serving port a probe waits its turn behind whatever the
 * serving thread is doing — measured: up to ~1 s while 640 clients opened connections at once —
 * and probes that time out under load take ready pods out of service or restart them exactly when
 * they are busiest. Here a probe costs a few µs whatever the load.
 *
 * It knows the served models' state only from the serving thread's messages, and that thread's
 * liveness from a heartbeat in shared memory: when the heartbeat stops for longer than
 * `stallLimitMs`, every probe answers 503, so a wedged event loop still gets the pod restarted.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parentPort, workerData } from "node:worker_threads";
import { PROBE_PATHS, probeAnswer, type ProbePath, type ReadinessSnapshot } from "./probeAnswers";
import type { FromProbeWorker, ProbeWorkerData, ToProbeWorker } from "./probeProtocol";

const data = workerData as ProbeWorkerData;
const port = parentPort!;
const heartbeat = new BigInt64Array(data.heartbeat);
let snapshot: ReadinessSnapshot = data.snapshot;
port.on("message", (message: ToProbeWorker) => {
  snapshot = message.snapshot;
});

const paths: ReadonlySet<string> = new Set(PROBE_PATHS);

const server = createServer((req, res) => {
  const path = (req.url ?? "/").split("?", 1)[0];
  let statusCode: number;
  let body: Record<string, unknown>;
  const headers: Record<string, string> = { "cache-control": "no-store" };
  if (!paths.has(path)) {
    statusCode = 404;
    body = { error: `no probe at ${JSON.stringify(path)}; this port answers ${PROBE_PATHS.join(", ")}` };
  } else if (req.method !== "GET" && req.method !== "HEAD") {
    statusCode = 405;
    headers.allow = "GET, HEAD";
    body = { error: `method ${req.method ?? ""} is not allowed on ${path}: use GET` };
  } else {
    const age = Date.now() - Number(Atomics.load(heartbeat, 0));
    const answer = probeAnswer(path as ProbePath, snapshot, age > data.stallLimitMs ? age : undefined);
    statusCode = answer.statusCode;
    body = answer.body;
  }
  const text = JSON.stringify(body);
  res.writeHead(statusCode, {
    ...headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": String(Buffer.byteLength(text)),
  });
  res.end(req.method === "HEAD" ? undefined : text);
});
// Probes are one small GET each; a client slower than this is not a kubelet.
server.headersTimeout = 5_000;
server.requestTimeout = 5_000;

const send = (message: FromProbeWorker): void => port.postMessage(message);
server.on("error", (err) => send({ type: "failed", message: err.message }));
server.listen(data.port, data.host, () => {
  send({ type: "listening", port: (server.address() as AddressInfo).port });
});
