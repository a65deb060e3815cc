/**
 * `npm run s3 -- [--port N] [--bucket NAME] [--dir PATH]`: a local S3-compatible model registry
 * on 127.0.0.1, to try `npm run model` and a server loading from `s3://` without an AWS account.
 *
 * It is s3rver, the same server the tests use (tools/s3Server.ts), with S3's conditional-write
 * behaviour in front, one bucket created, and objects kept in `--dir` across restarts. It prints
 * the environment variables that point the AWS SDK (the model CLI, the server) at it. Ctrl-C stops it.
 */
import * as path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { S3RVER_CREDENTIALS, startS3Server } from "./s3Server";

/** Defaults of the command's options. */
export const LOCAL_S3_DEFAULTS = {
  port: 0,
  bucket: "onnx-models-local",
  dir: path.resolve(__dirname, "..", ".local", "s3"),
} as const;

/** The lines `npm run s3` prints once the server answers. */
export function localS3Instructions(endpoint: string, bucket: string, dir: string): string {
  return [
    `S3-compatible registry (s3rver) on ${endpoint}, bucket "${bucket}", objects in ${dir}`,
    "",
    "In another shell:",
    `  export AWS_ACCESS_KEY_ID=${S3RVER_CREDENTIALS.accessKeyId} AWS_SECRET_ACCESS_KEY=${S3RVER_CREDENTIALS.secretAccessKey} \\`,
    `         AWS_REGION=us-east-1 AWS_ENDPOINT_URL_S3=${endpoint}`,
    `  npm run model -- push serving/models/churn/1.0.0/model.onnx --name churn --version 1.0.1 --bucket ${bucket}`,
    `  npm run model -- list --bucket ${bucket}`,
    `  MODEL_URI=s3://${bucket}/models/churn/1.0.1/ npm start`,
    "",
    "Ctrl-C stops it (the objects stay in the directory).",
  ].join("\n");
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError("expected a port, 0-65535");
  return n;
}

async function main(argv: readonly string[]): Promise<void> {
  const opts = new Command("npm run s3 --")
    .description("Local S3-compatible model registry on 127.0.0.1 (s3rver)")
    .option("--port <n>", "port to listen on (0 = any free port)", port, LOCAL_S3_DEFAULTS.port)
    .option("--bucket <name>", "bucket to create", LOCAL_S3_DEFAULTS.bucket)
    .option("--dir <path>", "directory the objects are kept in", LOCAL_S3_DEFAULTS.dir)
    .parse([...argv], { from: "user" })
    .opts<{ port: number; bucket: string; dir: string }>();
  const dir = path.resolve(opts.dir);
  const server = await startS3Server({
    port: opts.port,
    buckets: [opts.bucket],
    conditionalWrites: true,
    directory: dir,
  });
  console.log(localS3Instructions(server.endpoint, opts.bucket, dir));
  const stop = (): void => {
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
