/**
 * Tensors as raw bytes, the form both the binary tensor data extension (HTTP) and gRPC's
 * `raw_input_contents`/`raw_output_contents` use: little-endian, row-major, no stride or padding;
 * BOOL one byte (0 or 1); BYTES each element a 4-byte little-endian length then its bytes.
 */
import { endianness } from "node:os";
import type { TensorDatatype } from "../model/manifest";
import { allocate } from "./datatypes";
import type { TensorData } from "./runtime";

/** Bytes per element of each fixed-size datatype (BYTES has none: its elements carry a length). */
export const ELEMENT_BYTES: Readonly<Record<Exclude<TensorDatatype, "BYTES">, number>> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

// Typed arrays use the host's byte order; the wire is little-endian.
const BIG_ENDIAN_HOST = endianness() === "BE";
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes `count` elements of `datatype` from raw bytes. Returns an error message (naming the
 * element or the size mismatch) instead of throwing, so each protocol raises its own error.
 */
export function decodeRaw(
  datatype: TensorDatatype,
  bytes: Uint8Array,
  count: number,
): { data: TensorData } | { error: string } {
  if (datatype === "BYTES") return decodeBytes(bytes, count);
  const size = ELEMENT_BYTES[datatype];
  if (bytes.length !== count * size) {
    return {
      error: `holds ${bytes.length} bytes but ${count} ${datatype} elements take ${count * size} (${size} each)`,
    };
  }
  const data = allocate(datatype, count) as Exclude<TensorData, string[]>;
  // A copy into fresh, aligned storage: the source may sit at any offset of a larger buffer.
  const target = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  target.set(bytes);
  if (BIG_ENDIAN_HOST && size > 1) target.set(swapped(target, size));
  if (datatype === "BOOL") {
    const bad = target.findIndex((b) => b > 1);
    if (bad !== -1) return { error: `element ${bad} is byte ${target[bad]}; BOOL elements are 0 or 1` };
  }
  return { data };
}

function decodeBytes(bytes: Uint8Array, count: number): { data: string[] } | { error: string } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  let offset = 0;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > bytes.length) {
      return { error: `ends after ${i} of ${count} BYTES elements (no 4-byte length for element ${i})` };
    }
    const length = view.getUint32(offset, true);
    offset += 4;
    if (offset + length > bytes.length) {
      return { error: `BYTES element ${i} claims ${length} bytes but only ${bytes.length - offset} remain` };
    }
    try {
      out.push(utf8.decode(bytes.subarray(offset, offset + length)));
    } catch {
      return { error: `BYTES element ${i} is not valid UTF-8 (this server runs BYTES as strings)` };
    }
    offset += length;
  }
  if (offset !== bytes.length) {
    return { error: `has ${bytes.length - offset} bytes after its ${count} BYTES elements` };
  }
  return { data: out };
}

/** The tensor's elements as raw little-endian bytes (a view of the storage where it can be). */
export function encodeRaw(datatype: TensorDatatype, data: TensorData): Buffer {
  if (datatype === "BYTES") {
    const parts = (data as string[]).flatMap((s) => {
      const body = Buffer.from(s, "utf8");
      const length = Buffer.alloc(4);
      length.writeUInt32LE(body.length);
      return [length, body];
    });
    return Buffer.concat(parts);
  }
  const typed = data as Exclude<TensorData, string[]>;
  const view = Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
  return BIG_ENDIAN_HOST && ELEMENT_BYTES[datatype] > 1
    ? Buffer.from(swapped(view, ELEMENT_BYTES[datatype]))
    : view;
}

/** A copy of `bytes` with every `size`-byte element's byte order reversed. */
function swapped(bytes: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) {
    for (let j = 0; j < size; j++) out[i + j] = bytes[i + size - 1 - j];
  }
  return out;
}
