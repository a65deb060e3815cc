/**
 * Refusing inference requests cheaply while the batching queue is full. Shedding exists to keep
 * goodput up, so a refusal must cost far less than an answer: the 503 is decided as soon as the
 * route is known — before the body is read, parsed or validated — and written directly, outside
 * fastify's reply pipeline (Node discards the unread body and keeps the connection alive). A
 * full queue's refusals can arrive by the thousand a second, so with ACCESS_LOG=errors they are
 * summed into one warning per `summaryIntervalMs` instead of a line each; every one is counted
 * in the request and rejection metrics.
 *
 * Refusal pacing: a connection just refused is not read again for up to `pauseMs` (its 503 is
 * sent at once; the next request it sends waits, unread, in the kernel). A client that asks
 * again at once — a closed loop, a retry without backoff — would otherwise cost a refusal every
 * event-loop turn, and with enough of them refusals crowd out the batches they exist to protect
 * (measured: goodput fell to a few % of capacity at 10x the queue). This is the backpressure
 * Node itself applies to pipelined requests (`socket._paused`), reused here.
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";
import type { FastifyPluginAsync, onRequestHookHandler } from "fastify";
import fp from "fastify-plugin";
import type { UnavailableError } from "../errors";
import { isDraining } from "./connectionDrain";

export interface LoadSheddingOptions {
  /** The served models (ServedModels), or anything else that can refuse before a request is read. */
  readonly service: { shedIfSaturated(): UnavailableError | undefined };
  /** How often the refusals are summarised in the log, in ms. Default: 10000. */
  readonly summaryIntervalMs?: number;
  /** Longest a refused connection is left unread, in ms; 0 = not at all. Default: 1000 (the Retry-After the 503 gives). */
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
  // Every refused connection paused in one window is resumed by one timer.
  let paused: ServerSocket[] = [];
  let resumeTimer: NodeJS.Timeout | undefined;
  const resumeAll = (): void => {
    resumeTimer = undefined;
    const sockets = paused;
    paused = [];
    for (const socket of sockets) {
      if (socket.destroyed || !socket._paused) continue;
      socket._paused = false;
      socket.parser?.resume();
      socket.resume();
    }
  };
  const pause = (socket: ServerSocket): void => {
    if (pauseMs <= 0 || socket._paused || socket.destroyed) return;
    socket._paused = true;
    socket.pause();
    paused.push(socket);
    resumeTimer ??= setTimeout(resumeAll, pauseMs);
  };
  app.addHook("onClose", async () => {
    clearInterval(summary);
    clearTimeout(resumeTimer);
    resumeAll();
  });

  // The check runs on the inference routes only, as a route-level hook attached when each route
  // is declared: no other request pays for it, and an inference request does not have to look
  // up its route (fastify builds `request.routeOptions` anew on every access).
  const shedIfFull: onRequestHookHandler = (request, reply, done) => {
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
  };
  app.addHook("onRoute", (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!methods.includes("POST") || !INFERENCE_ROUTES.has(route.url)) return;
    const own = route.onRequest;
    route.onRequest = own === undefined ? [shedIfFull] : [...(Array.isArray(own) ? own : [own]), shedIfFull];
  });
};

/** Load shedding for the whole app (fastify-plugin: its onRoute hook must see every route declared after it). */
export const loadShedding = fp(plugin, { name: "load-shedding" });
