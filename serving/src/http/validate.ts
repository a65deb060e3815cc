/** Small request-validation helpers shared by the seed and OIP routes; failures are 400s naming the field. */
import { BadRequestError } from "../errors";

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A short JSON rendering of a received value for error messages. */
export function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    // e.g. nesting too deep for JSON.stringify's recursion: a client error must not become a 500
    text = Array.isArray(value) ? "a deeply nested array" : "a deeply nested object";
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Throws a 400 saying `field` must be `expected`, quoting what was received. */
export function invalid(field: string, expected: string, got: unknown): never {
  throw new BadRequestError(`${field} must be ${expected}, got ${describe(got)}`);
}

/** Validates an OIP `$parameters` object: values are strings, numbers or booleans. */
export function checkParameters(
  field: string,
  value: unknown,
): Record<string, string | number | boolean> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) invalid(field, "an object of string, number or boolean values", value);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== "string" && typeof v !== "boolean" && (typeof v !== "number" || !Number.isFinite(v))) {
      invalid(`${field}.${key}`, "a string, number or boolean", v);
    }
  }
  return value as Record<string, string | number | boolean>;
}

/**
 * Flattens tensor data given flat or nested (row-major) into one array. Nesting deeper than
 * `maxDepth` is refused so a hostile body cannot exhaust the stack.
 */
export function flatten(field: string, data: unknown, maxDepth: number): unknown[] {
  if (!Array.isArray(data)) invalid(field, "an array (flat or nested row-major)", data);
  if (!data.some(Array.isArray)) return data;
  const out: unknown[] = [];
  const walk = (value: unknown[], depth: number): void => {
    if (depth > maxDepth)
      throw new BadRequestError(`${field} is nested deeper than the tensor's ${maxDepth} dimensions`);
    for (const v of value) {
      if (Array.isArray(v)) walk(v, depth + 1);
      else out.push(v);
    }
  };
  walk(data, 1);
  return out;
}
