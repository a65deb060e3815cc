/**
 * Errors that reach a client. Each type carries the status it maps to (the HTTP status codes the
 * Open Inference Protocol and Triton use for the matching condition), so one handler turns any of
 * them into `{"error": message}`. Layers below HTTP throw these without knowing about HTTP.
 */
export abstract class ServingError extends Error {
  /** Status code this error maps to. */
  abstract readonly status: number;
  /** Seconds a client should wait before retrying, sent as `Retry-After`. */
  readonly retryAfterSeconds?: number;
}

/** The request is malformed or does not fit the model: 400. */
export class BadRequestError extends ServingError {
  override name = "BadRequestError";
  readonly status = 400;
}

/** The request carries more than the server accepts (rows per request): 413. */
export class PayloadTooLargeError extends ServingError {
  override name = "PayloadTooLargeError";
  readonly status = 413;
}

/** Unknown model, version or route: 404. */
export class NotFoundError extends ServingError {
  override name = "NotFoundError";
  readonly status = 404;
}

/** The request is valid but the loaded model cannot serve this API (e.g. seed API on a non-classifier): 409. */
export class ConflictError extends ServingError {
  override name = "ConflictError";
  readonly status = 409;
}

/** Not ready, draining, or overloaded: 503 with `Retry-After`. */
export class UnavailableError extends ServingError {
  override name = "UnavailableError";
  readonly status = 503;
  override readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds = 1) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The bounded inference queue is full: 503 with `Retry-After`, never unbounded growth. */
export class QueueFullError extends UnavailableError {
  override name = "QueueFullError";
}

/** The request did not finish within its deadline: 504. */
export class TimeoutError extends ServingError {
  override name = "TimeoutError";
  readonly status = 504;
}

/** The model failed while computing: 500 (the message is safe to show; details are logged). */
export class InferenceError extends ServingError {
  override name = "InferenceError";
  readonly status = 500;
}
