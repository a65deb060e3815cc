/**
 * The one place errors become responses: every error body is `{"error": "<message>"}` with the
 * status its type carries (ServingError subclasses) or fastify's own 4xx status (body limit,
 * content type). Client errors are never 500s; unexpected errors are 500 with a generic message
 * and the details logged.
 */
import type { FastifyError, FastifyPluginAsync } from "fastify";
import fp from "fastify-plugin";
import { ServingError } from "../errors";

export interface ErrorHandlingOptions {
  /** Body limit in bytes, named in the 413 message. */
  readonly bodyLimit: number;
}

const plugin: FastifyPluginAsync<ErrorHandlingOptions> = async (app, options) => {
  app.setErrorHandler((err: FastifyError | Error, request, reply) => {
    if (err instanceof ServingError) {
      if (err.retryAfterSeconds !== undefined) reply.header("retry-after", String(err.retryAfterSeconds));
      if (err.status >= 500) request.log.warn({ err: err.message, status: err.status }, "request failed");
      return reply.status(err.status).send({ error: err.message });
    }
    const status = (err as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply
        .status(status)
        .send({ error: clientMessage(err as FastifyError, request, options.bodyLimit) });
    }
    request.log.error({ err }, "unexpected error");
    return reply.status(500).send({ error: "internal server error" });
  });

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ error: `no route ${request.method} ${request.url.split("?")[0]}` });
  });
};

function clientMessage(
  err: FastifyError,
  request: { headers: Record<string, unknown> },
  bodyLimit: number,
): string {
  switch (err.code) {
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return (
        `unsupported Content-Type ${JSON.stringify(request.headers["content-type"] ?? "(none)")}: ` +
        `expected application/json`
      );
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return `request body is larger than the limit of ${bodyLimit} bytes`;
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return "request body length does not match its Content-Length header";
    default:
      return err.message;
  }
}

/** Error mapping for the whole app (fastify-plugin: it must apply outside this plugin's scope). */
export const errorHandling = fp(plugin, { name: "error-handling" });
