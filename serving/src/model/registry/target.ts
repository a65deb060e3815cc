/**
 * Which bucket and region the registry CLI talks to: flags first, then the environment, then the
 * Pulumi stack that owns the bucket (`pulumi stack output modelBucketName`).
 */
import { execFile } from "node:child_process";

import { RegistryConfigError } from "./errors";
import { endpointOverride } from "../s3Client";

/** The stack output naming the model bucket (exported by infra/index.ts). */
export const BUCKET_STACK_OUTPUT = "modelBucketName";

/** Options of {@link resolveRegistryTarget}. */
export interface RegistryTargetArgs {
  /** Bucket name. Default: the stack output `modelBucketName` of `stack`. */
  readonly bucket?: string;
  /** AWS region. Default: AWS_REGION, then `pulumi config get aws:region`, then the SDK's chain. */
  readonly region?: string;
  /** Pulumi stack to read outputs and config from. Default: the currently selected stack. */
  readonly stack?: string;
  /** S3-compatible endpoint. Default: AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, else AWS. */
  readonly endpoint?: string;
  /** Environment for defaults and for the pulumi CLI. Default: `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Directory the pulumi CLI runs in (the Pulumi project). Default: the current directory. */
  readonly cwd?: string;
}

export interface RegistryTarget {
  readonly bucket: string;
  /** Undefined: left to the SDK's region chain. */
  readonly region?: string;
  readonly endpoint?: string;
  /** Where the bucket name came from, for the CLI's messages. */
  readonly bucketFrom: "flag" | "stack";
}

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export async function resolveRegistryTarget(args: RegistryTargetArgs = {}): Promise<RegistryTarget> {
  const env = args.env ?? process.env;
  const stackArgs = args.stack ? ["--stack", args.stack] : [];
  const run = (pulumiArgs: string[]) => runPulumi(pulumiArgs, env, args.cwd);

  let bucket = args.bucket;
  let bucketFrom: RegistryTarget["bucketFrom"] = "flag";
  if (!bucket) {
    bucket = await run(["stack", "output", BUCKET_STACK_OUTPUT, ...stackArgs]).catch((err: Error) => {
      throw new RegistryConfigError(
        `--bucket was not given and reading the stack output ${BUCKET_STACK_OUTPUT} failed: ${err.message}`,
      );
    });
    if (!bucket) {
      throw new RegistryConfigError(
        `--bucket was not given and the stack output ${BUCKET_STACK_OUTPUT} is empty; run \`pulumi up\` first or pass --bucket`,
      );
    }
    bucketFrom = "stack";
  }
  if (!BUCKET_RE.test(bucket)) {
    throw new RegistryConfigError(
      `bucket name ${JSON.stringify(bucket)} is invalid: expected 3-63 of [a-z0-9.-], starting and ending with a letter or digit`,
    );
  }

  // The stack's configured region is where it created the bucket; a missing pulumi CLI or an
  // unset key just leaves the region to the SDK's chain (AWS_DEFAULT_REGION, ~/.aws/config).
  const region =
    args.region ||
    env.AWS_REGION ||
    (await run(["config", "get", "aws:region", ...stackArgs]).catch(() => "")) ||
    undefined;
  const endpoint = endpointOverride({ endpoint: args.endpoint, env });
  return {
    bucket,
    bucketFrom,
    ...(region !== undefined ? { region } : {}),
    ...(endpoint !== undefined ? { endpoint } : {}),
  };
}

/** Runs the pulumi CLI and returns its trimmed stdout; errors say what went wrong. */
function runPulumi(args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("pulumi", args, { env, cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "ENOENT") {
          reject(new Error("the pulumi CLI is not installed or not on PATH; pass --bucket (and --region)"));
          return;
        }
        const detail = String(stderr).trim().split("\n")[0] || err.message;
        reject(new Error(`\`pulumi ${args.join(" ")}\` failed: ${detail}`));
        return;
      }
      resolve(String(stdout).trim());
    });
  });
}
