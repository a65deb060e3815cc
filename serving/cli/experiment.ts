/**
 * The experiment CLI:
 *
 *   npm run experiment -- analyze --name <experiment> --min-effect <difference> [--metric accuracy|mean]
 *       [--alpha 0.05] [--power 0.8] [--baseline <accuracy>] [--sd <value sd>] [--goal max|min] [--json]
 *       [--records <s3://bucket/prefix/ | dir>] [--bucket b] [--region r] [--stack s] [--endpoint url]
 *
 * Reads the experiment's prediction and outcome records (default: `experiments/<name>/` of the
 * stack's model bucket), and prints per variant the count and accuracy (or mean), the difference
 * with its confidence interval, the p-value, the minimum sample per variant and the verdict.
 * This file only parses and prints: the analysis lives in serving/cli/experiment/.
 */
import { Command, CommanderError, InvalidArgumentError } from "commander";

import { EXPERIMENT_NAME_RE, experimentPrefix } from "../src/experiment/settings";
import { readRecords } from "../src/experiment/readRecords";
import { RegistryError } from "../src/model/registry/errors";
import { resolveRegistryTarget } from "../src/model/registry/target";
import { createS3Client } from "../src/model/s3Client";
import {
  analyze,
  AnalysisError,
  fmtP,
  type Analysis,
  type AnalysisOptions,
  type Metric,
} from "./experiment/analysis";
import { processIo, table, type CliIo } from "./model";

interface AnalyzeFlags {
  name: string;
  minEffect: number;
  metric?: Metric;
  alpha: number;
  power: number;
  baseline?: number;
  sd?: number;
  goal: "max" | "min";
  json?: boolean;
  records?: string;
  bucket?: string;
  region?: string;
  stack?: string;
  endpoint?: string;
}

/** Runs the CLI with `argv` (arguments after the script name); resolves to the exit code. */
export async function runExperimentCli(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const program = new Command("experiment")
    .description("Analyse A/B experiments from their recorded predictions and outcomes")
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError();
  program
    .command("analyze")
    .description(
      "per-variant counts and accuracy (or mean), the difference with a CI, the p-value and a verdict",
    )
    .requiredOption("--name <experiment>", "experiment name", experimentName)
    .requiredOption(
      "--min-effect <difference>",
      "smallest difference worth detecting (accuracy points, e.g. 0.02, or units of the value); sets the minimum sample",
      number("--min-effect", 0, Infinity, false),
    )
    .option(
      "--metric <metric>",
      'score "accuracy" (label outcomes) or "mean" (value outcomes) (default: what the outcomes carry)',
      oneOf("--metric", ["accuracy", "mean"]),
    )
    .option("--alpha <level>", "significance level", number("--alpha", 0, 0.5, false), 0.05)
    .option(
      "--power <power>",
      "power of the minimum-sample calculation",
      number("--power", 0.5, 1, false),
      0.8,
    )
    .option(
      "--baseline <accuracy>",
      "control accuracy to size the sample for (default: observed)",
      number("--baseline", 0, 1, false),
    )
    .option(
      "--sd <sd>",
      "standard deviation of the value to size the sample for (default: observed, pooled)",
      number("--sd", 0, Infinity, false),
    )
    .option(
      "--goal <goal>",
      'for means: is a larger ("max") or smaller ("min") value better',
      oneOf("--goal", ["max", "min"]),
      "max",
    )
    .option("--json", "print the analysis as JSON (for CI)")
    .option(
      "--records <uri>",
      "where the records are: s3://bucket/experiments/<name>/ or a directory (default: the model bucket's)",
    )
    .option("--bucket <bucket>", "model bucket (default: stack output modelBucketName)")
    .option("--region <region>", "AWS region (default: AWS_REGION, then pulumi config aws:region)")
    .option("--stack <stack>", "Pulumi stack for outputs and config (default: the selected stack)")
    .option("--endpoint <url>", "S3-compatible endpoint (default: AWS_ENDPOINT_URL_S3)")
    .action(async (flags: AnalyzeFlags) => {
      let uri = flags.records;
      let client;
      if (uri === undefined || uri.startsWith("s3://")) {
        const target = uri === undefined ? await resolveRegistryTarget({ ...flags, env: io.env }) : undefined;
        uri ??= `s3://${target!.bucket}/${experimentPrefix(flags.name)}`;
        client = createS3Client({
          region: flags.region ?? target?.region,
          endpoint: flags.endpoint ?? target?.endpoint,
          env: io.env,
        });
      }
      const records = await readRecords(uri, client);
      const options: AnalysisOptions = {
        minEffect: flags.minEffect,
        alpha: flags.alpha,
        power: flags.power,
        goal: flags.goal,
        ...(flags.metric ? { metric: flags.metric } : {}),
        ...(flags.baseline !== undefined ? { baseline: flags.baseline } : {}),
        ...(flags.sd !== undefined ? { sd: flags.sd } : {}),
      };
      const analysis = analyze(flags.name, records, options);
      io.stdout(
        flags.json
          ? `${JSON.stringify({ records: uri, ...analysis }, null, 2)}\n`
          : formatAnalysis(analysis, uri),
      );
    });
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    const expected = err instanceof AnalysisError || err instanceof RegistryError;
    io.stderr(`error: ${expected ? (err as Error).message : String((err as Error)?.stack ?? err)}\n`);
    return 1;
  }
}

/** The text report. */
export function formatAnalysis(a: Analysis, uri: string): string {
  const pct = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : "-");
  const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(4)}`;
  const c = a.counts;
  const lines = [
    `Experiment ${a.experiment} (${a.metric}; ${a.test}; alpha ${a.alpha}) from ${uri}`,
    `records: ${c.predictions} predictions (${c.unassigned} without an assignment key: not samples), ${c.outcomes} outcomes ` +
      `(${c.unmatched} unmatched, ${c.unassignedOutcomes} for predictions without a key, ${c.unscorable} unscorable, ` +
      `${c.duplicates} duplicate, ${c.otherKind} of the other kind)`,
    "",
    table([
      ["variant", "versions", "n", a.metric],
      ...[a.control, a.treatment].map((v) => [
        v.variant,
        v.versions.join(",") || "-",
        String(v.n),
        pct(v.value),
      ]),
    ]).trimEnd(),
    "",
  ];
  if (a.result) {
    const r = a.result;
    lines.push(
      `difference (treatment - control): ${signed(r.difference)}, ${Math.round(r.confidence * 100)}% CI [${signed(r.ci[0])}, ${signed(r.ci[1])}]`,
      `${r.df === undefined ? "z" : "t"} = ${r.statistic.toFixed(4)}${r.df === undefined ? "" : `, df = ${r.df.toFixed(2)}`}, p-value = ${fmtP(r.pValue)}`,
    );
  }
  lines.push(
    `minimum sample per variant: ${a.minSamplePerVariant ?? "unknown"} (${a.sampleSizeBasis})`,
    `verdict: ${a.verdict}`,
    `recommendation: ${a.recommendation}`,
  );
  return `${lines.join("\n")}\n`;
}

function experimentName(raw: string): string {
  if (!EXPERIMENT_NAME_RE.test(raw))
    throw new InvalidArgumentError("expected 1-63 of [a-z0-9-], starting and ending alphanumeric");
  return raw;
}

function number(flag: string, min: number, max: number, inclusive: boolean) {
  return (raw: string): number => {
    const v = Number(raw);
    const inRange = inclusive ? v >= min && v <= max : v > min && v < max;
    if (raw.trim() === "" || !Number.isFinite(v) || !inRange) {
      throw new InvalidArgumentError(
        `${flag} must be a number ${inclusive ? "from" : "strictly between"} ${min} and ${max}, got ${JSON.stringify(raw)}`,
      );
    }
    return v;
  };
}

function oneOf<T extends string>(flag: string, allowed: readonly T[]) {
  return (raw: string): T => {
    if (!(allowed as readonly string[]).includes(raw)) {
      throw new InvalidArgumentError(
        `${flag} must be one of ${allowed.join(", ")}, got ${JSON.stringify(raw)}`,
      );
    }
    return raw as T;
  };
}

if (require.main === module) {
  void runExperimentCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
