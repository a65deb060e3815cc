/**
 * The one place S3 clients are configured, for the registry CLI and the server's S3 model store,
 * so both talk to AWS and to S3-compatible stores (MinIO, the tests' loopback server) alike.
 */
import {
  S3Client,
  S3ServiceException,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from "@aws-sdk/client-s3";
import type { Logger } from "../logger";
import { s3CallLimitsFromEnv, S3ConfigError, type S3CallLimits } from "./s3Limits";

/** Options of {@link createS3Client}. */
export interface S3ClientArgs {
  /**
   * AWS region. Default: the SDK's chain (AWS_REGION, the shared config file, IMDS); "us-east-1"
   * when an endpoint override is in effect and nothing else names a region.
   */
  readonly region?: string;
  /**
   * Endpoint of an S3-compatible store. Default: `AWS_ENDPOINT_URL_S3`, then `AWS_ENDPOINT_URL`
   * (the SDK's own service-specific endpoint variables), else AWS.
   */
  readonly endpoint?: string;
  /** Environment to read the defaults from. Default: `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Timeouts and attempts of every call. Default: {@link s3CallLimitsFromEnv} of `env`. */
  readonly limits?: S3CallLimits;
  /** Gets a warning for every failed attempt, naming the endpoint, call and key. Default: none. */
  readonly logger?: Pick<Logger, "warn">;
}

/** The endpoint override in effect, if any: the argument, then the SDK's standard variables. */
export function endpointOverride(args: S3ClientArgs = {}): string | undefined {
  const env = args.env ?? process.env;
  return args.endpoint || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
}

/**
 * Builds an S3 client on the SDK's default credential chain (environment, shared files, IRSA web
 * identity in the cluster, instance metadata).
 */
export function createS3Client(args: S3ClientArgs = {}): S3Client {
  const env = args.env ?? process.env;
  const endpoint = endpointOverride(args);
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint)) {
    throw new S3ConfigError(`S3 endpoint ${JSON.stringify(endpoint)} is invalid: expected an http(s):// URL`);
  }
  const region = args.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
  const limits = args.limits ?? s3CallLimitsFromEnv(env);
  const client = new S3Client({
    // The SDK reads AWS_ENDPOINT_URL_S3 itself; passing it explicitly lets us pair it with
    // path-style addressing, which S3-compatible stores on a bare host:port need.
    ...(endpoint !== undefined ? { endpoint, forcePathStyle: true } : {}),
    ...(region !== undefined ? { region } : endpoint !== undefined ? { region: "us-east-1" } : {}),
    // A bucket in another region answers with a redirect instead of an error.
    followRegionRedirects: true,
    requestHandler: { connectionTimeout: limits.connectTimeoutMs, socketTimeout: limits.socketTimeoutMs },
    maxAttempts: limits.maxAttempts,
  });
  if (args.logger) logAttempts(client, args.logger, limits.maxAttempts);
  return client;
}

/**
 * A warning per failed attempt (the retry middleware calls everything after it once per
 * attempt), so a hanging or failing store shows in the log while the call is still retrying.
 */
function logAttempts(client: S3Client, logger: Pick<Logger, "warn">, maxAttempts: number): void {
  // Attempts of one call share its context object.
  const attempts = new WeakMap<object, number>();
  // Typed by hand, not with @smithy/types (a dependency of the SDK, not of this package).
  type Args = { request: unknown; input: ServiceInputTypes };
  const middleware =
    (
      next: (args: Args) => Promise<{ output: ServiceOutputTypes; response: unknown }>,
      context: { commandName?: string },
    ) =>
    async (args: Args) => {
      const request = args.request as { protocol?: string; hostname?: string; port?: number; path?: string };
      const endpoint = `${request.protocol ?? "https:"}//${request.hostname ?? "?"}${request.port ? `:${request.port}` : ""}`;
      const attempt = (attempts.get(context) ?? 0) + 1;
      attempts.set(context, attempt);
      try {
        return await next(args);
      } catch (err) {
        // An answer such as 404 or 412 is the call's result, not a failed attempt: not retried.
        const status = s3HttpStatus(err);
        if (status === undefined || status >= 500 || status === 429) {
          const operation = (context.commandName ?? "request").replace(/Command$/, "");
          logger.warn(
            {
              endpoint,
              operation,
              path: request.path,
              attempt,
              maxAttempts,
              err: `${(err as Error).name}: ${(err as Error).message}`,
            },
            `S3 ${operation} attempt ${attempt} of ${maxAttempts} to ${endpoint} failed; ` +
              (attempt < maxAttempts ? "retrying with backoff" : "giving up"),
          );
        }
        throw err;
      }
    };
  client.middlewareStack.addRelativeTo(
    middleware as unknown as Parameters<typeof client.middlewareStack.add>[0],
    {
      relation: "after",
      toMiddleware: "retryMiddleware",
      name: "attemptLogger",
      override: true,
    },
  );
}

/** The S3 error code (`NoSuchKey`, `NoSuchBucket`, `PreconditionFailed`, ...) or undefined. */
export function s3ErrorCode(err: unknown): string | undefined {
  if (err instanceof S3ServiceException) return err.name;
  if (typeof err === "object" && err !== null && "name" in err && "$metadata" in err) {
    return String((err as { name: unknown }).name);
  }
  return undefined;
}

/** The HTTP status of a failed S3 call, if it got that far. */
export function s3HttpStatus(err: unknown): number | undefined {
  if (typeof err === "object" && err !== null && "$metadata" in err) {
    return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  }
  return undefined;
}

/** `s3://bucket/key` for messages. */
export function s3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}
