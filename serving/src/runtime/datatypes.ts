/**
 * Tensor datatypes: Open Inference Protocol name <-> onnxruntime type <-> JSON values.
 * JSON decoding is strict: every element is checked against its datatype's range, and the error
 * names the element and what was expected. JSON cannot carry NaN or Infinity, and a literal such
 * as 1e400 parses to Infinity, so non-finite values are always rejected.
 */
import type { TensorDatatype } from "../model/manifest";
import type { TensorData } from "./runtime";

/** onnxruntime-node tensor type names (`Tensor.Type`) per OIP datatype. */
export const ORT_TYPE: Readonly<Record<TensorDatatype, string>> = {
  BOOL: "bool",
  UINT8: "uint8",
  UINT16: "uint16",
  UINT32: "uint32",
  UINT64: "uint64",
  INT8: "int8",
  INT16: "int16",
  INT32: "int32",
  INT64: "int64",
  FP16: "float16",
  FP32: "float32",
  FP64: "float64",
  BYTES: "string",
};

const FROM_ORT_TYPE: Readonly<Record<string, TensorDatatype>> = Object.fromEntries(
  Object.entries(ORT_TYPE).map(([dt, ort]) => [ort, dt as TensorDatatype]),
);

/** OIP datatype of an onnxruntime type; undefined for types the protocol cannot name (int4, ...). */
export function datatypeFromOrt(ortType: string): TensorDatatype | undefined {
  return FROM_ORT_TYPE[ortType];
}

/** A new zero-filled storage array of `length` elements. */
export function allocate(datatype: TensorDatatype, length: number): TensorData {
  switch (datatype) {
    case "BOOL":
    case "UINT8":
      return new Uint8Array(length);
    case "INT8":
      return new Int8Array(length);
    case "UINT16":
    case "FP16":
      return new Uint16Array(length);
    case "INT16":
      return new Int16Array(length);
    case "UINT32":
      return new Uint32Array(length);
    case "INT32":
      return new Int32Array(length);
    case "UINT64":
      return new BigUint64Array(length);
    case "INT64":
      return new BigInt64Array(length);
    case "FP32":
      return new Float32Array(length);
    case "FP64":
      return new Float64Array(length);
    case "BYTES":
      return new Array<string>(length).fill("");
  }
}

const INT_RANGES: Partial<Record<TensorDatatype, readonly [number, number]>> = {
  INT8: [-128, 127],
  UINT8: [0, 255],
  INT16: [-32768, 32767],
  UINT16: [0, 65535],
  INT32: [-2147483648, 2147483647],
  UINT32: [0, 4294967295],
};
const BIG_RANGES: Partial<Record<TensorDatatype, readonly [bigint, bigint]>> = {
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  UINT64: [0n, 2n ** 64n - 1n],
};

/** What a JSON element of each datatype must be, for error messages. */
export function expectedElement(datatype: TensorDatatype): string {
  const ints = INT_RANGES[datatype];
  if (ints) return `an integer from ${ints[0]} to ${ints[1]}`;
  switch (datatype) {
    case "INT64":
    case "UINT64":
      return (
        `an integer ${datatype === "INT64" ? "from -9007199254740991 " : "from 0 "}to 9007199254740991 ` +
        `(or a decimal string for the full ${datatype} range)`
      );
    case "BOOL":
      return "true or false";
    case "BYTES":
      return "a string";
    case "FP16":
      return "a finite number within FP16 range (|x| <= 65504)";
    case "FP32":
      return "a finite number within FP32 range (|x| <= 3.4028234663852886e38)";
    default:
      return "a finite number";
  }
}

/**
 * Decodes flat JSON elements into typed storage. `where(i)` names element i for errors
 * (`inputs[0].data[3]`, `features[2]`). Returns an error message instead of throwing, so each
 * protocol layer raises its own error type.
 */
export function decodeElements(
  datatype: TensorDatatype,
  values: readonly unknown[],
  where: (i: number) => string,
): { data: TensorData } | { error: string } {
  const data = allocate(datatype, values.length);
  const bad = (i: number) => ({
    error: `${where(i)} must be ${expectedElement(datatype)}, got ${describe(values[i])}`,
  });
  const ints = INT_RANGES[datatype];
  if (ints) {
    const out = data as Exclude<TensorData, string[] | BigInt64Array | BigUint64Array>;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== "number" || !Number.isInteger(v) || v < ints[0] || v > ints[1]) return bad(i);
      out[i] = v;
    }
    return { data };
  }
  const big = BIG_RANGES[datatype];
  if (big) {
    const out = data as BigInt64Array | BigUint64Array;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      let value: bigint;
      if (typeof v === "number" && Number.isSafeInteger(v)) value = BigInt(v);
      else if (typeof v === "string" && /^-?\d{1,20}$/.test(v)) value = BigInt(v);
      else return bad(i);
      if (value < big[0] || value > big[1]) return bad(i);
      out[i] = value;
    }
    return { data };
  }
  switch (datatype) {
    case "BOOL": {
      const out = data as Uint8Array;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== "boolean") return bad(i);
        out[i] = v ? 1 : 0;
      }
      return { data };
    }
    case "BYTES": {
      const out = data as string[];
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== "string") return bad(i);
        out[i] = v;
      }
      return { data };
    }
    case "FP16": {
      const out = data as Uint16Array;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== "number" || !Number.isFinite(v)) return bad(i);
        const bits = toHalfBits(v);
        if ((bits & 0x7fff) === 0x7c00) return bad(i); // rounded to infinity: out of range
        out[i] = bits;
      }
      return { data };
    }
    case "FP32": {
      const out = data as Float32Array;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== "number" || !Number.isFinite(Math.fround(v))) return bad(i);
        out[i] = v;
      }
      return { data };
    }
    default: {
      const out = data as Float64Array;
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v !== "number" || !Number.isFinite(v)) return bad(i);
        out[i] = v;
      }
      return { data };
    }
  }
}

/** Element i as a JS value: number, boolean, string, or bigint for 64-bit integers. */
export function readElement(
  datatype: TensorDatatype,
  data: TensorData,
  i: number,
): number | boolean | string | bigint {
  switch (datatype) {
    case "BOOL":
      return (data as Uint8Array)[i] !== 0;
    case "FP16":
      return fromHalfBits((data as Uint16Array)[i]);
    default:
      return data[i];
  }
}

/**
 * The tensor's elements as JSON array text. 64-bit integers are written with all their digits
 * (exact, even beyond 2^53; JavaScript clients lose precision past 2^53, JSON itself does not).
 * Non-finite floats, which JSON cannot express, become null.
 */
export function elementsToJson(datatype: TensorDatatype, data: TensorData): string {
  switch (datatype) {
    case "INT64":
    case "UINT64":
      return `[${(data as BigInt64Array).join(",")}]`;
    case "BOOL":
      return `[${Array.from(data as Uint8Array, (v) => (v !== 0 ? "true" : "false")).join(",")}]`;
    case "FP16":
      return JSON.stringify(Array.from(data as Uint16Array, fromHalfBits));
    case "BYTES":
      return JSON.stringify(data);
    default:
      return JSON.stringify(Array.from(data as Float64Array));
  }
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (typeof v === "number" && !Number.isFinite(v)) return `${v} (out of range)`;
  if (typeof v === "object" && v !== null) return Array.isArray(v) ? "an array" : "an object";
  const text = JSON.stringify(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** IEEE 754 binary16 bits of a number, rounded to nearest, ties to even (directly from the double). */
export function toHalfBits(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const abs = Math.abs(value);
  if (abs >= 65520) return sign | 0x7c00; // 65520 is the tie between 65504 and 2^16: rounds to infinity
  if (abs < 2 ** -14) return sign | roundHalfEven(abs * 2 ** 24); // subnormal; 1024 carries into the normals
  let e = Math.floor(Math.log2(abs));
  if (2 ** e > abs) e--; // log2 can be off by one ulp near powers of two
  if (2 ** (e + 1) <= abs) e++;
  const mant = roundHalfEven((abs / 2 ** e - 1) * 1024);
  return sign | (((e + 15) << 10) + mant); // a mantissa of 1024 carries into the exponent: still correct
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor + (floor & 1);
}

/** The number an IEEE 754 binary16 bit pattern stands for. */
export function fromHalfBits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
