/**
 * Health probes as the kubelet sends them: GET /health and /ready alternately every 100 ms, each
 * on a new connection, from a process of their own. In the bench's own process the probes would
 * time the load generator's event loop as much as the server (autocannon handling a burst of
 * hundreds of responses delays a probe's callback by as long), so the overload section runs this
 * beside the load instead. Prints one JSON line when stdin closes or on SIGTERM, then exits:
 * `{"probeMaxMs": ..., "probeFailures": ..., "probes": ...}`.
 *
 *   node --require tsx/cjs bench/prober.ts http://127.0.0.1:PORT
 */
import { request } from "node:http";

const url = process.argv[2];
if (!url) {
  process.stderr.write("usage: prober.ts <server url>\n");
  process.exit(2);
}

let max = 0;
let failures = 0;
let count = 0;
let which = 0;
const pending = new Set<Promise<void>>();

const timer = setInterval(() => {
  const path = which++ % 2 === 0 ? "/health" : "/ready";
  const started = performance.now();
  const done = new Promise<void>((resolve) => {
    const req = request(`${url}${path}`, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on("end", () => {
        count++;
        max = Math.max(max, performance.now() - started);
        if (res.statusCode !== 200) failures++;
        resolve();
      });
    });
    req.on("timeout", () => req.destroy(new Error("probe timed out")));
    req.on("error", () => {
      count++;
      failures++;
      max = Math.max(max, performance.now() - started);
      resolve();
    });
    req.end();
  });
  pending.add(done);
  void done.then(() => pending.delete(done));
}, 100);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  await Promise.all(pending);
  process.stdout.write(`${JSON.stringify({ probeMaxMs: max, probeFailures: failures, probes: count })}\n`);
  process.exit(0);
}
process.stdin.on("end", () => void stop());
process.stdin.resume();
process.on("SIGTERM", () => void stop());
