/**
 * Timeouts and attempts of S3 calls, apart from the S3 client so the server's config can
 * validate them at start without loading the AWS SDK.
 */

/** An S3 setting (endpoint, timeout, attempts) is invalid; the message names it. */
export class S3ConfigError extends Error {
  override name = "S3ConfigError";
}

/**
 * How long S3 calls may take, so a store that accepts connections and never answers fails the
 * call instead of hanging it. Every call retries transient failures (timeouts included) with the
 * SDK's standard exponential backoff with jitter.
 */
export interface S3CallLimits {
  /** Longest the TCP (and TLS) connect may take, in ms. Default: 5000 (S3_CONNECT_TIMEOUT_MS). */
  readonly connectTimeoutMs: number;
  /**
   * Longest a connection may go without a byte while a call (or a download's body) is in
   * progress, in ms: bounds a stalled transfer, not a long one. Default: 30000 (S3_SOCKET_TIMEOUT_MS).
   */
  readonly socketTimeoutMs: number;
  /** Attempts per call, the first included. Default: 3 (AWS_MAX_ATTEMPTS, the SDK's variable). */
  readonly maxAttempts: number;
}

export const DEFAULT_S3_CALL_LIMITS: S3CallLimits = {
  connectTimeoutMs: 5_000,
  socketTimeoutMs: 30_000,
  maxAttempts: 3,
};

/** The S3 call limits from the environment; throws naming the variable when one is invalid. */
export function s3CallLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): S3CallLimits {
  const read = (key: string, fallback: number, min: number, max: number): number => {
    const raw = env[key]?.trim();
    if (raw === undefined || raw === "") return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new S3ConfigError(
        `${key}: expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
      );
    }
    return Number(raw);
  };
  return {
    connectTimeoutMs: read("S3_CONNECT_TIMEOUT_MS", DEFAULT_S3_CALL_LIMITS.connectTimeoutMs, 1, 600_000),
    socketTimeoutMs: read("S3_SOCKET_TIMEOUT_MS", DEFAULT_S3_CALL_LIMITS.socketTimeoutMs, 1, 3_600_000),
    maxAttempts: read("AWS_MAX_ATTEMPTS", DEFAULT_S3_CALL_LIMITS.maxAttempts, 1, 20),
  };
}
