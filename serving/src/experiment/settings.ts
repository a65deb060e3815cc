/**
 * An A/B experiment as the server runs it, from its environment variables. The ranges and formats
 * are exported because the stack's config validates each color's `experiment` against the same
 * rules before a pod ever starts.
 */
import { join } from "node:path";
import { tmpdir } from "node:os";
import { validateModelVersion } from "../model/manifest";

/** Experiment names: used in S3 prefixes and as a metric label value. */
export const EXPERIMENT_NAME_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** `header:<HTTP header name>` or `body:<field name>`. */
export const ASSIGNMENT_KEY_RE =
  /^(header:[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}|body:[A-Za-z_][A-Za-z0-9_]{0,63})$/;
/** Treatment share: an experiment needs traffic on both variants. */
export const TREATMENT_PERCENT_LIMITS = { min: 1, max: 99 } as const;

/** Where a request's assignment key comes from. */
export type AssignmentKeySource =
  { readonly kind: "header"; readonly name: string } | { readonly kind: "body"; readonly field: string };

/** Limits of the buffer of prediction and outcome records. */
export const RECORD_LIMITS = {
  bufferSize: { min: 1, max: 10_000_000, default: 100_000 },
  batchSize: { min: 1, max: 100_000, default: 5_000 },
  flushIntervalMs: { min: 10, max: 600_000, default: 5_000 },
} as const;

export interface ExperimentSettings {
  /** Experiment name (EXPERIMENT_NAME); hashed with the key, and the records' prefix. Required. */
  readonly name: string;
  /** Model version of the treatment (EXPERIMENT_TREATMENT_VERSION); control is MODEL_VERSION. Required. */
  readonly treatmentVersion: string;
  /** Share of keys assigned to the treatment, 1-99 (EXPERIMENT_TREATMENT_PERCENT). Required. */
  readonly treatmentPercent: number;
  /** Where the assignment key is read (EXPERIMENT_ASSIGNMENT_KEY). Required. */
  readonly assignmentKey: AssignmentKeySource;
  /**
   * Where prediction and outcome records go (EXPERIMENT_RECORDS_URI): `s3://bucket/prefix/` or a
   * local directory. Default: `s3://<model bucket>/experiments/<name>/` when MODEL_URI is in S3,
   * else `<os tmpdir>/experiments/<name>`.
   */
  readonly recordsUri: string;
  /** Records buffered before outcomes are refused with 503 (EXPERIMENT_RECORD_BUFFER). Default: 100000. */
  readonly bufferSize: number;
  /** Most records in one written object (EXPERIMENT_RECORD_BATCH). Default: 5000. */
  readonly batchSize: number;
  /** Longest a record waits before it is written, in ms (EXPERIMENT_FLUSH_INTERVAL_MS). Default: 5000. */
  readonly flushIntervalMs: number;
}

export function parseAssignmentKey(raw: string): AssignmentKeySource {
  if (!ASSIGNMENT_KEY_RE.test(raw)) {
    throw new Error(
      `expected "header:<name>" (e.g. header:X-User-Id) or "body:<field>" (e.g. body:user_id), got ${JSON.stringify(raw)}`,
    );
  }
  const [kind, name] = [raw.slice(0, raw.indexOf(":")), raw.slice(raw.indexOf(":") + 1)];
  return kind === "header" ? { kind: "header", name: name.toLowerCase() } : { kind: "body", field: name };
}

/** The records prefix for an experiment when EXPERIMENT_RECORDS_URI is unset. */
export function defaultRecordsUri(name: string, modelUri: string | undefined): string {
  const bucket = modelUri?.startsWith("s3://") ? modelUri.slice(5).split("/")[0] : undefined;
  return bucket ? `s3://${bucket}/${experimentPrefix(name)}` : join(tmpdir(), "experiments", name);
}

/** `experiments/<name>/`: where an experiment's records live in the model bucket. */
export function experimentPrefix(name: string): string {
  return `experiments/${name}/`;
}

type Env = Readonly<Record<string, string | undefined>>;
type Reader = <T>(key: string, fallback: T, parse: (raw: string) => T) => T;

/**
 * The experiment from the environment, or undefined when EXPERIMENT_NAME is unset. Problems are
 * pushed (each naming the variable), in the style of the server's config.
 */
export function readExperiment(
  env: Env,
  read: Reader,
  int: (min: number, max: number) => (raw: string) => number,
  modelUri: string | undefined,
  controlVersion: string,
  problems: string[],
): ExperimentSettings | undefined {
  const name = read<string | undefined>("EXPERIMENT_NAME", undefined, (raw) => {
    if (!EXPERIMENT_NAME_RE.test(raw)) {
      throw new Error(
        `expected 1-63 of [a-z0-9-], starting and ending alphanumeric, got ${JSON.stringify(raw)}`,
      );
    }
    return raw;
  });
  const required = [
    "EXPERIMENT_TREATMENT_VERSION",
    "EXPERIMENT_TREATMENT_PERCENT",
    "EXPERIMENT_ASSIGNMENT_KEY",
  ];
  if (name === undefined) {
    const stray = Object.keys(env).filter((k) => k.startsWith("EXPERIMENT_") && env[k]?.trim());
    if (stray.length > 0 && !problems.some((p) => p.startsWith("EXPERIMENT_NAME"))) {
      problems.push(`${stray.join(", ")}: set without EXPERIMENT_NAME; set it too, or unset these`);
    }
    return undefined;
  }
  for (const key of required) {
    if (!env[key]?.trim()) problems.push(`${key}: required when EXPERIMENT_NAME is set`);
  }
  const { min, max } = TREATMENT_PERCENT_LIMITS;
  const treatmentVersion = read("EXPERIMENT_TREATMENT_VERSION", "", (raw) => {
    const version = validateModelVersion(raw);
    if (version === controlVersion) {
      throw new Error(
        `must differ from the control's MODEL_VERSION (${controlVersion}), got ${JSON.stringify(raw)}`,
      );
    }
    return version;
  });
  const limits = RECORD_LIMITS;
  return {
    name,
    treatmentVersion,
    treatmentPercent: read("EXPERIMENT_TREATMENT_PERCENT", 0, int(min, max)),
    assignmentKey: read<AssignmentKeySource>(
      "EXPERIMENT_ASSIGNMENT_KEY",
      { kind: "header", name: "x-user-id" },
      parseAssignmentKey,
    ),
    recordsUri: read("EXPERIMENT_RECORDS_URI", defaultRecordsUri(name, modelUri), parseRecordsUri),
    bufferSize: read(
      "EXPERIMENT_RECORD_BUFFER",
      limits.bufferSize.default,
      int(limits.bufferSize.min, limits.bufferSize.max),
    ),
    batchSize: read(
      "EXPERIMENT_RECORD_BATCH",
      limits.batchSize.default,
      int(limits.batchSize.min, limits.batchSize.max),
    ),
    flushIntervalMs: read(
      "EXPERIMENT_FLUSH_INTERVAL_MS",
      limits.flushIntervalMs.default,
      int(limits.flushIntervalMs.min, limits.flushIntervalMs.max),
    ),
  };
}

function parseRecordsUri(raw: string): string {
  if (raw.startsWith("s3://")) {
    if (!/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/(.+\/)?$/.test(raw)) {
      throw new Error(`expected s3://<bucket>/<prefix>/ (ending in "/"), got ${JSON.stringify(raw)}`);
    }
    return raw;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    throw new Error(`expected an s3:// URI or a local directory, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

/** An experiment as the stack's config declares it for a color (`<color>.experiment`). */
export interface ExperimentSpec {
  /** Experiment name: 1-63 of [a-z0-9-]. */
  readonly name: string;
  /** Model version of the treatment; differs from the color's modelVersion. */
  readonly treatmentVersion: string;
  /** Share of keys on the treatment, 1-99. */
  readonly treatmentPercent: number;
  /** `header:<name>` or `body:<field>`. */
  readonly assignmentKey: string;
}

/** The assignment key when an experiment does not name one. */
export const DEFAULT_ASSIGNMENT_KEY = "header:X-User-Id";

/**
 * Problems with an experiment spec, each naming `<key>.<field>`, the allowed values and the value
 * received; empty when it is valid. `controlVersion` is the color's model version.
 */
export function experimentSpecProblems(key: string, spec: ExperimentSpec, controlVersion: string): string[] {
  const p: string[] = [];
  const show = (v: unknown) => JSON.stringify(v);
  if (!EXPERIMENT_NAME_RE.test(spec.name)) {
    p.push(`${key}.name must be 1-63 of [a-z0-9-] starting and ending alphanumeric, got ${show(spec.name)}`);
  }
  try {
    validateModelVersion(spec.treatmentVersion);
    if (spec.treatmentVersion === controlVersion) {
      p.push(
        `${key}.treatmentVersion must differ from the color's modelVersion ${show(controlVersion)}, got ${show(spec.treatmentVersion)}`,
      );
    }
  } catch {
    p.push(
      `${key}.treatmentVersion must be a semantic version such as 1.2.3, got ${show(spec.treatmentVersion)}`,
    );
  }
  const { min, max } = TREATMENT_PERCENT_LIMITS;
  if (
    !Number.isInteger(spec.treatmentPercent) ||
    spec.treatmentPercent < min ||
    spec.treatmentPercent > max
  ) {
    p.push(
      `${key}.treatmentPercent must be an integer from ${min} to ${max}, got ${show(spec.treatmentPercent)}`,
    );
  }
  if (!ASSIGNMENT_KEY_RE.test(spec.assignmentKey)) {
    p.push(
      `${key}.assignmentKey must be "header:<name>" (e.g. header:X-User-Id) or "body:<field>" (e.g. body:user_id), got ${show(spec.assignmentKey)}`,
    );
  }
  if (controlVersion === "") p.push(`${key} needs the color's modelVersion (the control) to be set`);
  return p;
}
