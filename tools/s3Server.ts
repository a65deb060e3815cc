/**
 * A real S3-compatible HTTP server on loopback: s3rver (installed from npm, works offline, speaks
 * the S3 REST API with SigV4 checks and stores objects in a directory). The tests start one per
 * suite; `npm run s3` (tools/s3.ts) starts one to try the model registry locally.
 *
 * s3rver ignores `If-None-Match` on PUT. With `conditionalWrites: true` a small middleware in
 * front of it answers `412 PreconditionFailed` the way S3 does for `If-None-Match: *` on an
 * existing key, so tests can exercise both kinds of store.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";

const quiet = (): void => undefined;

/** s3rver's built-in account. */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

/** Options of {@link startS3Server}. */
export interface S3ServerOptions {
  /** Buckets to create before the server answers. Default: none. */
  readonly buckets?: readonly string[];
  /** Emulate S3 conditional writes (`If-None-Match: *` on PUT). Default: false (plain s3rver). */
  readonly conditionalWrites?: boolean;
  /** Loopback port. Default: 0 (an ephemeral port; read it from `endpoint`). */
  readonly port?: number;
  /**
   * Directory to keep objects in; it is created if missing and kept by `stop`. Default: a new
   * temporary directory, removed by `stop`.
   */
  readonly directory?: string;
}

export interface S3TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** Directory s3rver stores objects in (removed by `stop` when it was temporary). */
  readonly directory: string;
  /** A client for this server (path-style, s3rver's credentials). */
  client(): S3Client;
  /** Environment variables that point the AWS SDK's default chain at this server. */
  env(): Record<string, string>;
  stop(): Promise<void>;
}

export async function startS3Server(opts: S3ServerOptions = {}): Promise<S3TestServer> {
  const temporary = opts.directory === undefined;
  const directory = opts.directory ?? (await mkdtemp(join(tmpdir(), "s3-test-")));
  if (!temporary) await mkdir(directory, { recursive: true });
  const server = new S3rver({
    address: "127.0.0.1",
    port: opts.port ?? 0,
    silent: true,
    directory,
    vhostBuckets: false,
    configureBuckets: (opts.buckets ?? []).map((name) => ({ name })),
  });
  if (opts.conditionalWrites) server.middleware.unshift(conditionalWriteMiddleware());
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const clients: S3Client[] = [];
  return {
    endpoint,
    directory,
    client() {
      const client = new S3Client({
        endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: S3RVER_CREDENTIALS,
        // Tests provoke failures on purpose (missing keys, refused uploads); the assertions
        // check them, so the SDK's own logging of each one would only be noise.
        logger: { debug: quiet, info: quiet, warn: quiet, error: quiet, trace: quiet },
      });
      clients.push(client);
      return client;
    },
    env() {
      return {
        AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
        AWS_REGION: "us-east-1",
        AWS_ENDPOINT_URL_S3: endpoint,
      };
    },
    async stop() {
      for (const client of clients) client.destroy();
      await server.close();
      if (temporary) await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * `If-None-Match: *` on a PUT of an existing key -> 412 PreconditionFailed, as S3 answers.
 * Conditional PUTs to one key are serialized (check, then write) so two racing writers cannot
 * both succeed, which is the guarantee S3 gives.
 */
function conditionalWriteMiddleware(): S3rver["middleware"][number] {
  const locks = new Map<string, Promise<void>>();
  return async (ctx, next) => {
    const conditional =
      ctx.method === "PUT" &&
      ctx.get("if-none-match") === "*" &&
      !ctx.get("x-amz-copy-source") &&
      ctx.query.uploadId === undefined;
    const m = /^\/([^/]+)\/(.+)$/.exec(ctx.path);
    if (!conditional || !m) return next();
    const bucket = m[1];
    const key = decodeURIComponent(m[2]);
    const id = `${bucket}/${key}`;
    const previous = locks.get(id) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const chain = previous.then(() => mine);
    locks.set(id, chain);
    await previous;
    try {
      if (await ctx.store.existsObject(bucket, key)) {
        // Read the body we refuse, so the client sees the answer instead of a reset connection.
        for await (const _chunk of ctx.req) void _chunk;
        ctx.status = 412;
        ctx.type = "application/xml";
        ctx.body =
          '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>' +
          "<Message>At least one of the pre-conditions you specified did not hold</Message>" +
          "<Condition>If-None-Match</Condition></Error>";
        return;
      }
      await next();
    } finally {
      release();
      if (locks.get(id) === chain) locks.delete(id);
    }
  };
}
