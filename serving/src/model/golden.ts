/**
 * The golden set: a few requests kept with a model version in the registry, each with the
 * outputs that version must give. The rollout sends them to the receiving color through the
 * preview route before any traffic moves (infra/rollout), so a version that predicts
 * differently from what was published never takes a request.
 *
 * Format: JSON Lines (`golden.jsonl`, beside model.onnx), one case per line:
 *   {"request": <Open Inference Protocol v2 inference request>, "expected": {"<output>": [flat data]}}
 * `expected` holds each output's data flattened in row-major order, as OIP answers it.
 */
import type { GoldenCase } from "../../../infra/rollout/ports";

/** File name of a version's golden set, beside model.onnx and manifest.json. */
export const GOLDEN_FILE = "golden.jsonl";

/** Most cases a golden set may hold: it is a smoke check through one route, not an evaluation. */
export const MAX_GOLDEN_CASES = 1000;

export class GoldenSetError extends Error {
  override name = "GoldenSetError";
}

type Scalar = number | string | boolean;

function isScalar(v: unknown): v is Scalar {
  return typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v));
}

/** Parses and checks a golden set; errors name the line (1-based) and what is wrong with it. */
export function parseGoldenSet(text: string): GoldenCase[] {
  const cases: GoldenCase[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    const at = `golden set line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new GoldenSetError(`${at}: not JSON (${(err as Error).message})`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new GoldenSetError(`${at}: expected an object {"request": ..., "expected": {...}}`);
    }
    const { request, expected } = value as { request?: unknown; expected?: unknown };
    if (typeof request !== "object" || request === null || Array.isArray(request)) {
      throw new GoldenSetError(`${at}: "request" must be an inference request object`);
    }
    if (typeof expected !== "object" || expected === null || Array.isArray(expected)) {
      throw new GoldenSetError(`${at}: "expected" must map output names to flat data arrays`);
    }
    const outputs = Object.entries(expected as Record<string, unknown>);
    if (outputs.length === 0) throw new GoldenSetError(`${at}: "expected" names no output`);
    for (const [name, data] of outputs) {
      if (!Array.isArray(data) || data.length === 0 || !data.every(isScalar)) {
        throw new GoldenSetError(
          `${at}: expected.${name} must be a non-empty flat array of finite numbers, strings or booleans`,
        );
      }
    }
    cases.push({ request, expected: expected as GoldenCase["expected"] });
    if (cases.length > MAX_GOLDEN_CASES) {
      throw new GoldenSetError(`golden set holds more than ${MAX_GOLDEN_CASES} cases`);
    }
  }
  if (cases.length === 0) throw new GoldenSetError("golden set holds no case");
  return cases;
}

/** Serialises cases as JSON Lines (the inverse of {@link parseGoldenSet}). */
export function formatGoldenSet(cases: readonly GoldenCase[]): string {
  return cases.map((c) => JSON.stringify({ request: c.request, expected: c.expected })).join("\n") + "\n";
}
