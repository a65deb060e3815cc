/**
 * Answers for requests Node's HTTP parser refuses before fastify sees them (malformed request
 * line or headers, a body cut short of its Content-Length, a request sent too slowly), in the
 * documented `{"error": ...}` shape instead of fastify's default body. The connection is closed
 * after the answer, as Node does: the parser cannot find the next request on it.
 */
import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";

/** Status and message for a parser error code. */
export function clientErrorAnswer(code: string | undefined): { status: number; message: string } {
  switch (code) {
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return {
        status: 408,
        message: "the request was not received in time (headers or body sent too slowly)",
      };
    case "HPE_HEADER_OVERFLOW":
      return { status: 431, message: "request headers are larger than the server accepts" };
    case "HPE_INVALID_EOF_STATE":
      return {
        status: 400,
        message:
          "the connection ended before the request was complete (body shorter than its Content-Length?)",
      };
    default:
      return { status: 400, message: `malformed HTTP request${code ? ` (${code})` : ""}` };
  }
}

/** fastify's `clientErrorHandler`: `this` is the fastify instance. */
export function clientErrorHandler(
  this: { log: { debug(obj: object, msg: string): void } },
  err: NodeJS.ErrnoException,
  socket: Socket,
): void {
  // A reset connection has nobody left to answer.
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const { status, message } = clientErrorAnswer(err.code);
  this.log.debug({ code: err.code, status }, "client error");
  if (socket.writable) {
    const body = JSON.stringify({ error: message });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
