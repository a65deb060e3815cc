/**
 * The model manifest: the one contract between the registry CLI (which writes it), the stack's
 * seeding of the bundled model (which uploads it) and the server (which verifies against it).
 *
 * Layout of a model repository, on disk or in S3:
 *   <root>/<name>/<version>/model.onnx
 *   <root>/<name>/<version>/manifest.json
 * In the model bucket, <root> is the `models/` prefix.
 */
import { GOLDEN_FILE, MAX_GOLDEN_CASES } from "./golden";

/** Open Inference Protocol v2 tensor datatypes. */
export const TENSOR_DATATYPES = [
  "BOOL",
  "UINT8",
  "UINT16",
  "UINT32",
  "UINT64",
  "INT8",
  "INT16",
  "INT32",
  "INT64",
  "FP16",
  "FP32",
  "FP64",
  "BYTES",
] as const;
export type TensorDatatype = (typeof TENSOR_DATATYPES)[number];

/** One input or output tensor of the model. */
export interface TensorSpec {
  /** Tensor name as the ONNX graph names it. */
  readonly name: string;
  /** Open Inference Protocol datatype. */
  readonly datatype: TensorDatatype;
  /** Shape; -1 marks a dynamic dimension (a leading -1 is the batch dimension). */
  readonly shape: readonly number[];
}

export interface ModelManifest {
  /** Model name: lowercase letters, digits, `-`, `_`, `.`; the first path segment. */
  readonly name: string;
  /** Semantic version (`1.2.3`, optional pre-release): the second path segment. */
  readonly version: string;
  /** Lowercase hex sha256 of `model.onnx`. */
  readonly sha256: string;
  /** Always "onnx". */
  readonly framework: "onnx";
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Class labels, index-aligned with the model's class outputs, for classifiers. */
  readonly labels?: readonly string[];
  /** Free-form evaluation metrics recorded at publish time (e.g. `auc=0.93`). */
  readonly metrics?: Readonly<Record<string, number>>;
  /** ISO-8601 time the version was published. */
  readonly createdAt: string;
  /**
   * Where the model pays off: "gpu" (dense kernels the CUDA execution provider runs) or "cpu"
   * (e.g. `ai.onnx.ml` tree ensembles, which onnxruntime runs on the CPU provider only). The
   * stack's default per color (`<color>.accelerator: ""`). Absent: the stack decides.
   */
  readonly accelerator?: ManifestAccelerator;
  /** The version's golden set (serving/src/model/golden.ts), when one was pushed; the server ignores it. */
  readonly golden?: GoldenEntry;
}

/** The golden set stored beside model.onnx: which file, its bytes' sha256 and how many cases it holds. */
export interface GoldenEntry {
  /** Always {@link GOLDEN_FILE} ("golden.jsonl"), beside model.onnx. */
  readonly file: typeof GOLDEN_FILE;
  /** Lowercase hex sha256 of the file. */
  readonly sha256: string;
  /** Cases in the file (1-1000). */
  readonly cases: number;
}

/** Values of a manifest's `accelerator`. */
export const MANIFEST_ACCELERATORS = ["gpu", "cpu"] as const;
export type ManifestAccelerator = (typeof MANIFEST_ACCELERATORS)[number];

export const MODEL_FILE = "model.onnx";
export const MANIFEST_FILE = "manifest.json";
/** Prefix of the model registry inside the model bucket. */
export const MODELS_PREFIX = "models/";

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
// Build metadata (`+build.5`) is allowed, as semver.org allows it: the version stays one opaque
// path segment in S3 keys and URIs; only Kubernetes label values cannot carry "+" (see infra).
const SEMVER_RE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const SHA256_RE = /^[0-9a-f]{64}$/;

export class ManifestError extends Error {
  override name = "ManifestError";
}

export function validateModelName(name: string): string {
  if (!NAME_RE.test(name)) {
    throw new ManifestError(
      `model name ${JSON.stringify(name)} is invalid: expected 1-63 of [a-z0-9._-], starting with a letter or digit`,
    );
  }
  return name;
}

export function validateModelVersion(version: string): string {
  if (!SEMVER_RE.test(version)) {
    throw new ManifestError(
      `model version ${JSON.stringify(version)} is invalid: expected a semantic version such as 1.2.3`,
    );
  }
  return version;
}

/** `models/<name>/<version>/` — the key prefix of one version in the model bucket. */
export function versionPrefix(name: string, version: string): string {
  return `${MODELS_PREFIX}${validateModelName(name)}/${validateModelVersion(version)}/`;
}

/** A received value as JSON, except what JSON would hide: NaN and Infinity (metrics computed in code). */
function show(value: unknown): string {
  return typeof value === "number" && !Number.isFinite(value) ? String(value) : String(JSON.stringify(value));
}

function fail(field: string, expected: string, got: unknown): never {
  throw new ManifestError(`manifest field "${field}" must be ${expected}, got ${show(got)}`);
}

function parseTensors(field: string, value: unknown): TensorSpec[] {
  if (!Array.isArray(value) || value.length === 0) fail(field, "a non-empty array of tensors", value);
  return value.map((t: unknown, i: number): TensorSpec => {
    const at = `${field}[${i}]`;
    if (typeof t !== "object" || t === null) fail(at, "an object", t);
    const { name, datatype, shape } = t as Record<string, unknown>;
    if (typeof name !== "string" || name === "") fail(`${at}.name`, "a non-empty string", name);
    if (typeof datatype !== "string" || !(TENSOR_DATATYPES as readonly string[]).includes(datatype)) {
      fail(`${at}.datatype`, `one of ${TENSOR_DATATYPES.join(", ")}`, datatype);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d === -1 || d >= 0))) {
      fail(`${at}.shape`, "an array of non-negative integers or -1", shape);
    }
    return { name, datatype: datatype as TensorDatatype, shape: shape as number[] };
  });
}

/** Parses and validates a manifest (as JSON text or an already-parsed value). */
export function parseManifest(input: string | unknown): ModelManifest {
  let raw: unknown = input;
  if (typeof input === "string") {
    try {
      raw = JSON.parse(input);
    } catch (err) {
      throw new ManifestError(`manifest is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) fail("(root)", "an object", raw);
  const m = raw as Record<string, unknown>;
  if (typeof m.name !== "string") fail("name", "a string", m.name);
  if (typeof m.version !== "string") fail("version", "a string", m.version);
  validateModelName(m.name);
  validateModelVersion(m.version);
  if (typeof m.sha256 !== "string" || !SHA256_RE.test(m.sha256)) {
    fail("sha256", "64 lowercase hex characters", m.sha256);
  }
  if (m.framework !== "onnx") fail("framework", '"onnx"', m.framework);
  if (typeof m.createdAt !== "string" || Number.isNaN(Date.parse(m.createdAt))) {
    fail("createdAt", "an ISO-8601 time", m.createdAt);
  }
  const manifest: ModelManifest = {
    name: m.name,
    version: m.version,
    sha256: m.sha256,
    framework: "onnx",
    inputs: parseTensors("inputs", m.inputs),
    outputs: parseTensors("outputs", m.outputs),
    createdAt: m.createdAt,
    ...(m.labels !== undefined ? { labels: parseLabels(m.labels) } : {}),
    ...(m.metrics !== undefined ? { metrics: parseMetrics(m.metrics) } : {}),
    ...(m.accelerator !== undefined ? { accelerator: parseAccelerator(m.accelerator) } : {}),
    ...(m.golden !== undefined ? { golden: parseGoldenEntry(m.golden) } : {}),
  };
  return manifest;
}

function parseGoldenEntry(value: unknown): GoldenEntry {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("golden", "an object", value);
  const { file, sha256, cases } = value as Record<string, unknown>;
  if (file !== GOLDEN_FILE) fail("golden.file", JSON.stringify(GOLDEN_FILE), file);
  if (typeof sha256 !== "string" || !SHA256_RE.test(sha256)) {
    fail("golden.sha256", "64 lowercase hex characters", sha256);
  }
  if (typeof cases !== "number" || !Number.isInteger(cases) || cases < 1 || cases > MAX_GOLDEN_CASES) {
    fail("golden.cases", `an integer from 1 to ${MAX_GOLDEN_CASES}`, cases);
  }
  return { file, sha256, cases };
}

function parseAccelerator(value: unknown): ManifestAccelerator {
  if (!(MANIFEST_ACCELERATORS as readonly unknown[]).includes(value)) {
    fail("accelerator", `one of ${MANIFEST_ACCELERATORS.map((a) => JSON.stringify(a)).join(", ")}`, value);
  }
  return value as ManifestAccelerator;
}

function parseLabels(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((l) => typeof l === "string")) {
    fail("labels", "an array of strings", value);
  }
  return value as string[];
}

function parseMetrics(value: unknown): Record<string, number> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    fail("metrics", "an object", value);
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== "number" || !Number.isFinite(v)) fail(`metrics.${k}`, "a finite number", v);
  }
  return value as Record<string, number>;
}

/** Serializes a manifest the way every writer does (stable key order, trailing newline). */
export function serializeManifest(manifest: ModelManifest): string {
  return JSON.stringify(parseManifest(manifest), null, 2) + "\n";
}
