/** The slice of s3rver 3.x (no bundled types) that test/support/s3Server.ts uses. */
declare module "s3rver" {
  import type { AddressInfo } from "node:net";

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    vhostBuckets?: boolean;
    allowMismatchedSignatures?: boolean;
    resetOnClose?: boolean;
    configureBuckets?: { name: string }[];
  }

  /** The Koa context s3rver's middleware sees. */
  interface S3rverContext {
    method: string;
    path: string;
    status: number;
    type: string;
    body: unknown;
    req: import("node:http").IncomingMessage;
    get(header: string): string;
    query: Record<string, string | string[] | undefined>;
    store: { existsObject(bucket: string, key: string): Promise<boolean> };
  }

  type Middleware = (ctx: S3rverContext, next: () => Promise<void>) => Promise<void>;

  class S3rver {
    constructor(options?: S3rverOptions);
    /** Koa's middleware stack; composed when the server starts listening. */
    middleware: Middleware[];
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  }

  export = S3rver;
}
