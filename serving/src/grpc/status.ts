/**
 * Errors as gRPC statuses, the way Triton maps its errors: a bad request is INVALID_ARGUMENT, an
 * unknown model or version NOT_FOUND, not ready / draining / a full queue UNAVAILABLE, a missed
 * deadline DEADLINE_EXCEEDED. The error types are the ones REST maps to 400/404/503/504, so
 * both protocols answer one condition alike. Unexpected errors are INTERNAL with a generic message.
 */
import { Metadata, status as Status, type ServiceError } from "@grpc/grpc-js";
import { ServingError } from "../errors";

/** gRPC code per HTTP status a ServingError carries. */
const CODE_BY_HTTP_STATUS: Readonly<Record<number, Status>> = {
  400: Status.INVALID_ARGUMENT,
  404: Status.NOT_FOUND,
  409: Status.FAILED_PRECONDITION,
  500: Status.INTERNAL,
  503: Status.UNAVAILABLE,
  504: Status.DEADLINE_EXCEEDED,
};

/** The status for an error; `retry-after` trailing metadata where REST sends Retry-After. */
export function toGrpcError(err: unknown): Partial<ServiceError> & { code: Status } {
  if (err instanceof ServingError) {
    const metadata = new Metadata();
    if (err.retryAfterSeconds !== undefined) metadata.set("retry-after", String(err.retryAfterSeconds));
    return { code: CODE_BY_HTTP_STATUS[err.status] ?? Status.INTERNAL, details: err.message, metadata };
  }
  return { code: Status.INTERNAL, details: "internal server error" };
}

/** `INVALID_ARGUMENT` → "INVALID_ARGUMENT"; the label metrics and logs use. */
export function codeName(code: Status): string {
  return Status[code] ?? String(code);
}
