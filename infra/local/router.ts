/**
 * The local router: a development stand-in for the ALB, not a production path. It listens on
 * loopback and applies the serving listener's plan to each request: the header rules first
 * (`X-Serving-Color: preview | blue | green`, routeRules.ts), then the weighted forward over the
 * two colors (traffic.ts `weights()`). It counts per color what the ALB's target-group metrics
 * count (requests, 5xx from the target, p99 response time) and answers an admin API on a
 * separate loopback port, which the local rollout adapters use:
 *
 *   GET  /routing                 -> {activeColor, canaryPercent}
 *   PUT  /routing                 <- {activeColor, canaryPercent}; 400 naming the problem
 *   GET  /metrics?start=&end=     -> {blue: ColorWindow, green: ColorWindow} (ms since the epoch)
 *   GET  /colors/<color>/ready    -> {readyReplicas: 0 | 1} (the color's /v2/health/ready)
 *   GET  /state                   -> routing, each color's model version, the model, the URLs
 *
 * A target that cannot be reached is answered 502 and counted as that color's 5xx: for the
 * analysis, a color that drops connections is as bad as one answering 500.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { headerRoute, WeightedPicker, COLOR_HEADER } from "../routeRules";
import { isColor, weights, type Color } from "../traffic";
import type { Routing } from "../rollout/ports";
import { WindowStats } from "./windowStats";

/** One color's server behind the router. */
export interface LocalUpstream {
  /** `http://127.0.0.1:<port>` of the color's server (or of anything in front of it). */
  readonly url: string;
  /** Model version the color serves. */
  readonly modelVersion: string;
}

export interface LocalRouterOptions {
  readonly upstreams: Readonly<Record<Color, LocalUpstream>>;
  /** Model name both colors serve (for the golden set's infer path). */
  readonly modelName: string;
  /** Directory of the model repository (where golden sets are read). */
  readonly modelRoot: string;
  /** Routing at start. Default: blue live, canary 0. */
  readonly routing?: Routing;
  /** Longest the router waits for a target's answer, ms (the ALB's idle timeout). Default: 60000. */
  readonly upstreamTimeoutMs?: number;
}

/** What GET /state answers. */
export interface LocalRouterState {
  readonly routing: Routing;
  readonly trafficUrl: string;
  readonly adminUrl: string;
  readonly modelName: string;
  readonly modelRoot: string;
  readonly colors: Readonly<Record<Color, LocalUpstream>>;
}

const HOP_BY_HOP = [
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
];

function withoutHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = { ...headers };
  for (const h of HOP_BY_HOP) delete out[h];
  return out;
}

/** Validates a routing body; the message names the field, as the stack config would. */
export function parseRouting(body: unknown): Routing {
  const r = body as { activeColor?: unknown; canaryPercent?: unknown } | null;
  if (typeof r !== "object" || r === null) throw new Error("expected {activeColor, canaryPercent}");
  if (!isColor(r.activeColor))
    throw new Error(`activeColor must be "blue" or "green", got ${JSON.stringify(r.activeColor)}`);
  weights(r.activeColor, r.canaryPercent as number); // throws naming canaryPercent and its range
  return { activeColor: r.activeColor, canaryPercent: r.canaryPercent as number };
}

export class LocalRouter {
  private routing: Routing;
  private readonly picker = new WeightedPicker();
  readonly stats = new WindowStats();
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  private readonly traffic: http.Server;
  private readonly admin: http.Server;
  private urls = { traffic: "", admin: "" };

  constructor(private readonly options: LocalRouterOptions) {
    this.routing = options.routing ?? { activeColor: "blue", canaryPercent: 0 };
    parseRouting(this.routing);
    this.traffic = http.createServer((req, res) => this.forward(req, res));
    this.admin = http.createServer((req, res) => {
      this.handleAdmin(req, res).catch((err: unknown) => sendJson(res, 500, { error: String(err) }));
    });
  }

  /** Listens on loopback ephemeral ports (or the given ones); resolves with both URLs. */
  async listen(
    ports: { traffic?: number; admin?: number } = {},
  ): Promise<{ trafficUrl: string; adminUrl: string }> {
    const listen = (server: http.Server, port: number): Promise<string> =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () =>
          resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
        );
      });
    this.urls = {
      traffic: await listen(this.traffic, ports.traffic ?? 0),
      admin: await listen(this.admin, ports.admin ?? 0),
    };
    return { trafficUrl: this.urls.traffic, adminUrl: this.urls.admin };
  }

  get currentRouting(): Routing {
    return this.routing;
  }

  /** Applies a routing (what PUT /routing does). */
  apply(routing: Routing): void {
    this.routing = parseRouting(routing);
    this.picker.reset();
  }

  state(): LocalRouterState {
    return {
      routing: this.routing,
      trafficUrl: this.urls.traffic,
      adminUrl: this.urls.admin,
      modelName: this.options.modelName,
      modelRoot: this.options.modelRoot,
      colors: this.options.upstreams,
    };
  }

  async close(): Promise<void> {
    const close = (s: http.Server): Promise<void> =>
      new Promise((resolve) => {
        if (!s.listening) return resolve();
        s.close(() => resolve());
        s.closeAllConnections();
      });
    await Promise.all([close(this.traffic), close(this.admin)]);
    this.agent.destroy();
  }

  private pickColor(req: http.IncomingMessage): Color {
    const header = req.headers[COLOR_HEADER.toLowerCase()];
    return (
      headerRoute(Array.isArray(header) ? header[0] : header, this.routing) ?? this.picker.pick(this.routing)
    );
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const arrived = Date.now();
    const started = performance.now();
    const color = this.pickColor(req);
    const target = new URL(this.options.upstreams[color].url);
    let recorded = false;
    const record = (status: number): void => {
      if (recorded) return;
      recorded = true;
      this.stats.add(color, arrived, status, performance.now() - started);
    };
    const upstream = http.request({
      host: target.hostname,
      port: target.port,
      method: req.method,
      path: req.url,
      agent: this.agent,
      headers: {
        ...withoutHopByHop(req.headers),
        "x-forwarded-for": req.socket.remoteAddress ?? "",
        "x-forwarded-proto": "http",
      },
      timeout: this.options.upstreamTimeoutMs ?? 60_000,
    });
    const fail = (status: number, error: string): void => {
      record(status);
      if (!res.headersSent) sendJson(res, status, { error });
      else res.destroy();
    };
    upstream.on("timeout", () => {
      upstream.destroy();
      fail(504, `${color} did not answer in time`);
    });
    upstream.on("error", (err) => fail(502, `${color} unreachable: ${err.message}`));
    upstream.on("response", (answer) => {
      res.writeHead(answer.statusCode ?? 502, withoutHopByHop(answer.headers));
      answer.pipe(res);
      answer.on("end", () => record(answer.statusCode ?? 502));
      answer.on("error", () => fail(502, `${color} broke the answer off`));
    });
    // A client that goes away stops the upstream request too.
    res.on("close", () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  private async handleAdmin(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://admin");
    if (url.pathname === "/routing" && req.method === "GET") return sendJson(res, 200, this.routing);
    if (url.pathname === "/routing" && req.method === "PUT") {
      let routing: Routing;
      try {
        routing = parseRouting(JSON.parse(await readBody(req)));
      } catch (err) {
        return sendJson(res, 400, { error: (err as Error).message });
      }
      this.apply(routing);
      return sendJson(res, 200, this.routing);
    }
    if (url.pathname === "/metrics" && req.method === "GET") {
      const start = Number(url.searchParams.get("start"));
      const end = Number(url.searchParams.get("end"));
      if (!Number.isFinite(start) || !Number.isFinite(end) || start <= 0 || end < start) {
        return sendJson(res, 400, { error: "start and end must be ms since the epoch with start <= end" });
      }
      return sendJson(res, 200, this.stats.window(start, end));
    }
    const ready = /^\/colors\/([^/]+)\/ready$/.exec(url.pathname);
    if (ready && req.method === "GET") {
      const color = ready[1];
      if (!isColor(color)) return sendJson(res, 404, { error: `no color ${JSON.stringify(color)}` });
      return sendJson(res, 200, { readyReplicas: (await this.isReady(color)) ? 1 : 0 });
    }
    if (url.pathname === "/state" && req.method === "GET") return sendJson(res, 200, this.state());
    return sendJson(res, 404, { error: `no admin route ${req.method} ${url.pathname}` });
  }

  /** The color's own readiness (GET /v2/health/ready straight to its server, as a target health check). */
  private async isReady(color: Color): Promise<boolean> {
    try {
      const answer = await fetch(new URL("/v2/health/ready", this.options.upstreams[color].url), {
        signal: AbortSignal.timeout(5000),
      });
      await answer.arrayBuffer();
      return answer.status === 200;
    } catch {
      return false;
    }
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: http.IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error(`body larger than ${limit} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
