/**
 * The model registry CLI:
 *
 *   npm run model -- push <file.onnx> --name <n> --version <semver> [--metrics k=v ...] [--labels a,b]
 *                                    [--golden golden.jsonl]
 *   npm run model -- list [--name <n>]
 *   npm run model -- show <name> <version>
 *
 * Every command takes [--bucket b] [--region r] [--stack s] [--endpoint url]; without --bucket
 * the bucket is the stack output `modelBucketName`. This file only parses and prints: the
 * registry logic lives in serving/src/model/registry/.
 */
import { Command, CommanderError } from "commander";

import { ModelInspectionError } from "../src/model/inspect";
import { ManifestError, type ModelManifest, type TensorSpec, serializeManifest } from "../src/model/manifest";
import { RegistryError } from "../src/model/registry/errors";
import { ModelRegistry } from "../src/model/registry/registry";
import { resolveRegistryTarget, type RegistryTarget } from "../src/model/registry/target";
import { createS3Client } from "../src/model/s3Client";
import { S3ConfigError } from "../src/model/s3Limits";
import { ModelNotFoundError } from "../src/model/store";

/** Where the CLI reads its environment and writes its output (tests pass their own). */
export interface CliIo {
  /** Default: process.stdout. */
  readonly stdout: (text: string) => void;
  /** Default: process.stderr. */
  readonly stderr: (text: string) => void;
  /** Default: process.env. */
  readonly env: NodeJS.ProcessEnv;
}

/** Options shared by every command. */
interface TargetOptions {
  bucket?: string;
  region?: string;
  stack?: string;
  endpoint?: string;
}

/** A bad flag value. */
class UsageError extends Error {
  override name = "UsageError";
}

/** Errors whose message is the whole story; anything else is unexpected and shows its name. */
const EXPECTED_ERRORS = [
  RegistryError,
  ManifestError,
  ModelInspectionError,
  ModelNotFoundError,
  UsageError,
  S3ConfigError,
];

/** Runs the CLI with `argv` (arguments after the script name); resolves to the exit code. */
export async function runModelCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const state: CliState = { exitCode: 0 };
  const program = buildProgram(io, state);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return state.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode; // commander already printed it
    io.stderr(`error: ${describeError(err, state.target)}\n`);
    return 1;
  }
}

/** What a command leaves for the exit: its code, and the S3 target it talked to (for messages). */
interface CliState {
  exitCode: number;
  target?: RegistryTarget;
}

/** Error codes of a connection that failed or stalled (the SDK already retried it). */
const NETWORK_ERRORS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
]);

function describeError(err: unknown, target?: RegistryTarget): string {
  if (EXPECTED_ERRORS.some((type) => err instanceof type)) return (err as Error).message;
  const code = (err as NodeJS.ErrnoException)?.code;
  if ((err as Error)?.name === "TimeoutError" || (code !== undefined && NETWORK_ERRORS.has(code))) {
    const where = target?.endpoint ?? "AWS S3";
    return (
      `cannot reach S3 at ${where}: ${(err as Error).message}; nothing was changed by the step that failed ` +
      `(a push that stopped after model.onnx resumes when run again). Check --endpoint / AWS_ENDPOINT_URL_S3 and the network`
    );
  }
  // AWS failures (no credentials, throttling, access) are the user's to fix: name and message
  // say enough. Anything else is a bug, so keep its stack.
  const name = (err as Error)?.name;
  if (err instanceof Error && (name === "CredentialsProviderError" || "$metadata" in err)) {
    return `${name}: ${err.message}`;
  }
  return String((err as Error)?.stack ?? err);
}

function buildProgram(io: CliIo, state: CliState): Command {
  const program = new Command("model")
    .description("Publish and read versioned ONNX models in the stack's model bucket")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError();

  withTargetOptions(
    program
      .command("push")
      .description("inspect, hash and upload a model version (never overwrites an existing one)")
      .argument("<file>", "the .onnx file")
      .requiredOption("--name <name>", "model name ([a-z0-9._-])")
      .requiredOption("--version <semver>", "semantic version, e.g. 1.2.0")
      .option("--metrics <key=value...>", "evaluation metrics to record, e.g. auc=0.93 accuracy=0.91")
      .option("--labels <a,b,...>", "class labels, index-aligned with the model's class outputs")
      .option(
        "--golden <file>",
        "golden set (JSON Lines of requests and expected outputs) the rollout checks first",
      )
      .option("--json", "print the result as JSON"),
  ).action(async (file: string, opts: TargetOptions & PushOptions) => {
    const { registry, target } = await openRegistry(opts, io, state);
    const result = await registry.push({
      file,
      name: opts.name,
      version: opts.version,
      ...(opts.metrics !== undefined ? { metrics: parseMetrics(opts.metrics) } : {}),
      ...(opts.labels !== undefined ? { labels: parseLabels(opts.labels) } : {}),
      ...(opts.golden !== undefined ? { golden: opts.golden } : {}),
    });
    if (opts.json) {
      io.stdout(
        JSON.stringify({ uri: result.uri, resumed: result.resumed, manifest: result.manifest }, null, 2) +
          "\n",
      );
      return;
    }
    const m = result.manifest;
    io.stdout(
      [
        `pushed ${m.name} ${m.version} to ${result.uri}${result.resumed ? " (resumed an interrupted push)" : ""}`,
        `  bucket   ${target.bucket} (from ${target.bucketFrom === "flag" ? "--bucket" : "the stack output"})`,
        `  sha256   ${m.sha256}`,
        `  inputs   ${m.inputs.map(describeTensor).join(", ")}`,
        `  outputs  ${m.outputs.map(describeTensor).join(", ")}`,
        ...(m.labels ? [`  labels   ${m.labels.join(", ")}`] : []),
        ...(m.golden
          ? [`  golden   ${m.golden.file}, ${m.golden.cases} cases, sha256 ${m.golden.sha256}`]
          : []),
        ...(m.metrics
          ? [
              `  metrics  ${Object.entries(m.metrics)
                .map(([k, v]) => `${k}=${v}`)
                .join(" ")}`,
            ]
          : []),
        `serve it: MODEL_URI=${result.uri}, or \`pulumi config set <color>.modelVersion ${m.version}\``,
        "",
      ].join("\n"),
    );
  });

  withTargetOptions(
    program
      .command("list")
      .description("list models and their versions")
      .option("--name <name>", "only this model")
      .option(
        "--verify",
        "download every version and check its manifest, sha256 and model (exit 1 if any fails)",
      )
      .option("--json", "print the result as JSON"),
  ).action(async (opts: TargetOptions & { name?: string; json?: boolean; verify?: boolean }) => {
    const { registry } = await openRegistry(opts, io, state);
    const listed = await registry.list(opts.name);
    const models = [];
    for (const model of listed) {
      const versions = [];
      for (const v of model.versions) {
        const checked = opts.verify && v.complete ? await registry.verify(model.name, v.version) : undefined;
        if (checked && !checked.ok) state.exitCode = 1;
        versions.push({
          ...v,
          ...(checked ? { verified: checked.ok } : {}),
          ...(checked && !checked.ok ? { problem: checked.problem } : {}),
        });
      }
      models.push({ name: model.name, versions });
    }
    if (opts.json) {
      io.stdout(JSON.stringify(models, null, 2) + "\n");
      return;
    }
    const rows = models.flatMap((model) =>
      model.versions.map((v) => [
        model.name,
        v.version,
        !v.hasManifest
          ? "incomplete (no manifest.json)"
          : !v.hasModel
            ? "broken (no model.onnx)"
            : v.verified === undefined
              ? "listed, not verified"
              : v.verified
                ? "verified"
                : `BROKEN: ${v.problem}`,
        v.golden ? "yes" : "-",
        v.lastModified?.toISOString() ?? "",
      ]),
    );
    if (rows.length === 0) {
      io.stdout(`no models in s3://${registry.bucket}/models/${opts.name ? `${opts.name}/` : ""}\n`);
      return;
    }
    io.stdout(table([["NAME", "VERSION", "STATUS", "GOLDEN", "LAST MODIFIED"], ...rows]));
    if (!opts.verify) {
      io.stderr(
        "note: STATUS comes from the object listing only; `list --verify` downloads each version and checks " +
          "its manifest, sha256 and that onnxruntime loads it\n",
      );
    }
  });

  withTargetOptions(
    program
      .command("show")
      .description("print one version's manifest")
      .argument("<name>", "model name")
      .argument("<version>", "model version"),
  ).action(async (name: string, version: string, opts: TargetOptions) => {
    const { registry } = await openRegistry(opts, io, state);
    const manifest: ModelManifest = await registry.show(name, version);
    io.stdout(serializeManifest(manifest));
  });

  return program;
}

interface PushOptions {
  name: string;
  version: string;
  metrics?: string[];
  labels?: string;
  golden?: string;
  json?: boolean;
}

function withTargetOptions(command: Command): Command {
  return command
    .option("--bucket <bucket>", "model bucket (default: stack output modelBucketName)")
    .option("--region <region>", "AWS region (default: AWS_REGION, then pulumi config aws:region)")
    .option("--stack <stack>", "Pulumi stack for outputs and config (default: the selected stack)")
    .option("--endpoint <url>", "S3-compatible endpoint (default: AWS_ENDPOINT_URL_S3)");
}

async function openRegistry(
  opts: TargetOptions,
  io: CliIo,
  state: CliState,
): Promise<{ registry: ModelRegistry; target: RegistryTarget }> {
  const target = await resolveRegistryTarget({ ...opts, env: io.env });
  state.target = target;
  const client = createS3Client({
    region: target.region,
    endpoint: target.endpoint,
    env: io.env,
    // One line per failed attempt, so a slow or unreachable endpoint shows while it is retried.
    logger: {
      warn: (obj: object, msg?: string) => io.stderr(`warning: ${msg}: ${(obj as { err?: string }).err}\n`),
    },
  });
  return { registry: new ModelRegistry({ client, bucket: target.bucket }), target };
}

/** `["auc=0.93", "f1=0.8"]` -> `{auc: 0.93, f1: 0.8}`; each entry must be key=finite number. */
export function parseMetrics(entries: readonly string[]): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const entry of entries) {
    const m = /^([A-Za-z0-9_.-]+)=(.+)$/.exec(entry);
    const value = m ? Number(m[2]) : NaN;
    if (!m || m[2].trim() === "" || !Number.isFinite(value)) {
      throw new UsageError(
        `--metrics ${JSON.stringify(entry)} is invalid: expected key=number, e.g. auc=0.93`,
      );
    }
    if (m[1] in metrics) throw new UsageError(`--metrics names "${m[1]}" twice`);
    metrics[m[1]] = value;
  }
  return metrics;
}

/** `"churn,stay"` -> `["churn", "stay"]`; no empty or repeated labels. */
export function parseLabels(list: string): string[] {
  const labels = list.split(",").map((l) => l.trim());
  if (labels.some((l) => l === "")) {
    throw new UsageError(
      `--labels ${JSON.stringify(list)} is invalid: expected comma-separated non-empty labels`,
    );
  }
  const repeated = labels.find((l, i) => labels.indexOf(l) !== i);
  if (repeated !== undefined) throw new UsageError(`--labels names "${repeated}" twice`);
  return labels;
}

function describeTensor(t: TensorSpec): string {
  return `${t.name} ${t.datatype} [${t.shape.join(",")}]`;
}

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return (
    rows
      .map((r) =>
        r
          .map((cell, i) => cell.padEnd(widths[i]))
          .join("  ")
          .trimEnd(),
      )
      .join("\n") + "\n"
  );
}

export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
  };
}

if (require.main === module) {
  void runModelCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
