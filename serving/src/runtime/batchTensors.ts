/**
 * Concatenating request tensors into one batch along dimension 0, and splitting the batch's
 * outputs back into per-request tensors. Row-major storage makes both plain contiguous copies.
 */
import { allocate } from "./datatypes";
import { elementCount, type HostTensor, type TensorData, type TensorMap } from "./runtime";

/** Concatenates same-named tensors of several requests along dim 0 (other dims must match). */
export function concatBatch(parts: readonly TensorMap[]): Record<string, HostTensor> {
  if (parts.length === 1) return parts[0];
  const out: Record<string, HostTensor> = Object.create(null);
  for (const name of Object.keys(parts[0])) {
    const first = parts[0][name];
    const inner = first.shape.slice(1);
    let rows = 0;
    for (const part of parts) {
      const t = part[name];
      if (!t || t.datatype !== first.datatype || !sameDims(t.shape.slice(1), inner)) {
        throw new Error(`cannot batch input "${name}": shapes or datatypes differ between requests`);
      }
      rows += t.shape[0];
    }
    const shape = [rows, ...inner];
    const data = allocate(first.datatype, elementCount(shape));
    let offset = 0;
    for (const part of parts) {
      const src = part[name].data;
      copyInto(data, src, offset);
      offset += src.length;
    }
    out[name] = { datatype: first.datatype, shape, data };
  }
  return out;
}

/**
 * Splits each output along dim 0 into consecutive slices of `rows[i]` rows. Slices share the
 * batch's memory (subarray), so splitting costs no copy.
 */
export function splitBatch(outputs: TensorMap, rows: readonly number[]): Record<string, HostTensor>[] {
  const total = rows.reduce((a, b) => a + b, 0);
  const results = rows.map((): Record<string, HostTensor> => Object.create(null));
  for (const [name, tensor] of Object.entries(outputs)) {
    if (tensor.shape.length === 0 || tensor.shape[0] !== total) {
      throw new Error(
        `output "${name}" has shape ${JSON.stringify(tensor.shape)}, which does not have the batch's ${total} rows ` +
          `in dimension 0; the model cannot be batched`,
      );
    }
    const rowSize = elementCount(tensor.shape.slice(1));
    let row = 0;
    rows.forEach((n, i) => {
      results[i][name] = {
        datatype: tensor.datatype,
        shape: [n, ...tensor.shape.slice(1)],
        data: slice(tensor.data, row * rowSize, (row + n) * rowSize),
      };
      row += n;
    });
  }
  return results;
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function copyInto(target: TensorData, source: TensorData, offset: number): void {
  if (Array.isArray(target)) {
    for (let i = 0; i < source.length; i++) target[offset + i] = (source as string[])[i];
  } else {
    (target as Float64Array).set(source as Float64Array, offset);
  }
}

function slice(data: TensorData, start: number, end: number): TensorData {
  return Array.isArray(data) ? data.slice(start, end) : data.subarray(start, end);
}

/** Rows `[start, end)` of every tensor along dim 0, sharing the tensors' memory (no copy). */
export function sliceRows(feeds: TensorMap, start: number, end: number): Record<string, HostTensor> {
  const out: Record<string, HostTensor> = Object.create(null);
  for (const [name, tensor] of Object.entries(feeds)) {
    const rowSize = elementCount(tensor.shape.slice(1));
    out[name] = {
      datatype: tensor.datatype,
      shape: [end - start, ...tensor.shape.slice(1)],
      data: slice(tensor.data, start * rowSize, end * rowSize),
    };
  }
  return out;
}
