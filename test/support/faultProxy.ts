/**
 * A tiny fault-injecting HTTP proxy for rollout tests: forwards to a real server and, for
 * requests whose path starts with `faultPath`, answers every `errorEvery`-th one 500 itself
 * and delays the others by `delayMs`. The router and the engine only see a color that
 * misbehaves; neither knows this exists.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface Faults {
  /** Every n-th matching request is answered 500 without reaching the server; 0 = none. */
  errorEvery: number;
  /** Extra ms before a matching request is forwarded. */
  delayMs: number;
  /** Path prefix the faults apply to. */
  faultPath: string;
}

export interface FaultProxy {
  readonly url: string;
  /** Mutable: tests change them between rollouts. */
  readonly faults: Faults;
  /** Where requests go; mutable, to put another server behind the same address. */
  target: string;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const agent = new http.Agent({ keepAlive: true });
  let matching = 0;
  const proxy: FaultProxy = {
    url: "",
    faults: { errorEvery: 0, delayMs: 0, faultPath: "/predict" },
    target,
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    const faulty = (req.url ?? "").startsWith(proxy.faults.faultPath);
    if (faulty && proxy.faults.errorEvery > 0 && ++matching % proxy.faults.errorEvery === 0) {
      req.resume();
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "injected fault" }));
      return;
    }
    const forward = (): void => {
      const to = new URL(proxy.target);
      const upstream = http.request(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers, agent },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on("error", () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      req.pipe(upstream);
    };
    if (faulty && proxy.faults.delayMs > 0) setTimeout(forward, proxy.faults.delayMs);
    else forward();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return Object.assign(proxy, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  });
}
