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
 * Flattens tensor data of shape `shape`, given flat or nested row-major, into one array. Data may
 * nest to any depth k up to the rank; then its first k-1 levels must have exactly the lengths of
 * the first k-1 dimensions, and every innermost array the product of the rest (k = 1 is flat,
 * k = rank fully nested). Ragged or mixed nesting whose total happens to match is refused, naming
 * the first bad index, rather than silently reshaped. The nesting depth is bounded by the rank
 * before anything recurses, so a hostile body cannot exhaust the stack.
 */
export function flattenTensorData(field: string, data: unknown, shape: readonly number[]): unknown[] {
  if (!Array.isArray(data)) invalid(field, "an array (flat or nested row-major)", data);
  const rank = Math.max(shape.length, 1);
  let depth = 1;
  for (let probe: unknown[] = data; probe.length > 0 && Array.isArray(probe[0]); probe = probe[0]) {
    if (++depth > rank) {
      throw new BadRequestError(`${field} is nested deeper than the tensor's ${rank} dimensions`);
    }
  }
  // Elements each nesting level must have: a dimension, and the innermost level the rest's product.
  const needs = Array.from({ length: depth }, (_, level) =>
    level < depth - 1 ? shape[level] : shape.slice(level).reduce((a, b) => a * b, 1),
  );
  const need = (level: number): number => needs[level];
  // Paths are built only for an error message: this runs on every element of every request.
  const path = (parent: string, index: number): string => (index < 0 ? parent : `${parent}[${index}]`);
  const check = (parent: string, index: number, value: unknown[], level: number): void => {
    const inner = level < depth - 1;
    for (let i = 0; i < value.length; i++) {
      if (Array.isArray(value[i]) !== inner) {
        const at = path(parent, index);
        throw new BadRequestError(
          inner
            ? `${at}[${i}] must be an array of ${need(level + 1)} elements like ${at}[0] (shape ${describe(shape)}), got ${describe(value[i])}`
            : `${at}[${i}] is an array where ${at}[0] is not: nested data must follow shape ${describe(shape)} evenly`,
        );
      }
    }
    if (value.length !== need(level)) {
      throw new BadRequestError(
        `${path(parent, index)} has ${value.length} elements but shape ${describe(shape)} needs ${need(level)}`,
      );
    }
  };
  check(field, -1, data, 0);
  if (depth === 1) return data;
  const out: unknown[] = [];
  const walk = (at: string, value: unknown[], level: number): void => {
    for (let i = 0; i < value.length; i++) {
      const child = value[i] as unknown[];
      check(at, i, child, level + 1);
      if (level + 1 < depth - 1) walk(path(at, i), child, level + 1);
      else for (const v of child) out.push(v);
    }
  };
  walk(field, data, 0);
  return out;
}
