/**
 * Refusing inference requests cheaply while the batching queue is full. Shedding exists to keep
 * goodput up, so a refusal must cost far less than an answer: the 503 is decided as soon as the
 * route is known — before the body is read, parsed or validated — and written directly, outside
 * fastify's reply pipeline (Node discards the unread body and keeps the connection alive). A
 * full queue's refusals can arrive by the thousand a second, so with ACCESS_LOG=errors they are
 * summed into one warning per `summaryIntervalMs` instead of a line each; every one is counted
 * in the request and rejection metrics.
 *
 * Refusal pacing: a connection just refused is not read again for `pauseMs`, jittered over its
 * second half (its 503 is sent at once; the next request it sends waits, unread, in the kernel). A client that asks
 * again at once — a closed loop, a retry without backoff — would otherwise cost a refusal every
 * event-loop turn, and with enough of them refusals crowd out the batches they exist to protect
 * (measured: goodput fell to a few % of capacity at 10x the queue). This is the backpressure
 * Node itself applies to pipelined requests (`socket._paused`), reused here.
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";
import type { UnavailableError } from "../errors";
import { isDraining } from "./connectionDrain";

export interface LoadSheddingOptions {
  /** The served models (ServedModels), or anything else that can refuse before a request is read. */
  readonly service: { shedIfSaturated(): UnavailableError | undefined };
  /** How often the refusals are summarised in the log, in ms. Default: 10000. */
  readonly summaryIntervalMs?: number;
  /** Longest a refused connection is left unread, in ms (each waits between half of it and all of it); 0 = not at all. Default: 1000 (the Retry-After the 503 gives). */
  readonly pauseMs?: number;
}

/** The fields of Node's HTTP server socket its own pipelining backpressure uses. */
type ServerSocket = Socket & { _paused?: boolean; parser?: { resume(): void } | null };

/** Requests refused here (the access log leaves them to the summary line under ACCESS_LOG=errors). */
const shedRequests = new WeakSet<IncomingMessage>();

/** Whether this request was refused by load shedding. */
export function wasShed(request: IncomingMessage): boolean {
  return shedRequests.has(request);
}

/** How often paused connections are checked for their resume time, in ms. */
const RESUME_TICK_MS = 10;

/** Route templates that queue an inference (POST). */
export const INFERENCE_ROUTES: ReadonlySet<string> = new Set([
  "/predict",
  "/predict/batch",
  "/v2/models/:name/infer",
  "/v2/models/:name/versions/:version/infer",
]);

const plugin: FastifyPluginAsync<LoadSheddingOptions> = async (app, options) => {
  const { service } = options;
  let shed = 0;
  let message = "";
  const summary = setInterval(() => {
    if (shed === 0) return;
    app.log.warn(
      { refused: shed, status: 503, reason: message },
      `refused ${shed} inference requests in the last ${(options.summaryIntervalMs ?? 10_000) / 1000} s: queue full`,
    );
    shed = 0;
  }, options.summaryIntervalMs ?? 10_000);
  summary.unref();
  const pauseMs = options.pauseMs ?? 1000;
  // Each refused connection resumes at its own time, drawn from the second half of the pause.
  // Refusals come in bursts (a full queue meets every waiting client in one event-loop turn);
  // resuming a burst at once would read all those requests again in one turn — hundreds of
  // refusals back to back, during which nothing else (a probe, a finished batch) is served —
  // and keep the herd in step for ever. The jitter spreads them out; one timer walks the list.
  let paused: Array<{ socket: ServerSocket; at: number }> = [];
  let resumeTimer: NodeJS.Timeout | undefined;
  const resume = (socket: ServerSocket): void => {
    if (socket.destroyed || !socket._paused) return;
    socket._paused = false;
    socket.parser?.resume();
    socket.resume();
  };
  const resumeDue = (): void => {
    const now = performance.now();
    const waiting: typeof paused = [];
    for (const p of paused) {
      if (p.at <= now) resume(p.socket);
      else waiting.push(p);
    }
    paused = waiting;
    resumeTimer = paused.length > 0 ? setTimeout(resumeDue, RESUME_TICK_MS) : undefined;
  };
  const resumeAll = (): void => {
    clearTimeout(resumeTimer);
    resumeTimer = undefined;
    for (const p of paused.splice(0)) resume(p.socket);
  };
  const pause = (socket: ServerSocket): void => {
    if (pauseMs <= 0 || socket._paused || socket.destroyed) return;
    socket._paused = true;
    socket.pause();
    paused.push({ socket, at: performance.now() + pauseMs * (0.5 + Math.random() / 2) });
    resumeTimer ??= setTimeout(resumeDue, RESUME_TICK_MS);
  };
  app.addHook("onClose", async () => {
    clearInterval(summary);
    resumeAll();
  });

  app.addHook("onRequest", (request, reply, done) => {
    const route = request.routeOptions.url;
    if (request.method !== "POST" || route === undefined || !INFERENCE_ROUTES.has(route)) {
      done();
      return;
    }
    const refusal = service.shedIfSaturated();
    if (!refusal) {
      done();
      return;
    }
    shed++;
    message = refusal.message;
    reply.hijack();
    const body = `{"error":${JSON.stringify(refusal.message)}}`;
    reply.raw.writeHead(503, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(body),
      "retry-after": String(refusal.retryAfterSeconds),
      "x-request-id": request.id,
      ...(isDraining(app) ? { connection: "close" } : {}),
    });
    shedRequests.add(request.raw);
    reply.raw.end(body);
    pause(request.raw.socket as ServerSocket);
  });
};

/** Load shedding for the whole app (fastify-plugin: the hook must see every route). */
export const loadShedding = fp(plugin, { name: "load-shedding" });
