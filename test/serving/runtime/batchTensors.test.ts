import assert from "node:assert/strict";
import { concatBatch, splitBatch } from "../../../serving/src/runtime/batchTensors";
import type { HostTensor } from "../../../serving/src/runtime/runtime";

const fp32 = (shape: number[], values: number[]): HostTensor => ({
  datatype: "FP32",
  shape,
  data: Float32Array.from(values),
});

describe("batch tensors", () => {
  it("concatenates along dimension 0 in request order", () => {
    const merged = concatBatch([
      { x: fp32([1, 2], [1, 2]), s: { datatype: "BYTES", shape: [1], data: ["a"] } },
      { x: fp32([2, 2], [3, 4, 5, 6]), s: { datatype: "BYTES", shape: [2], data: ["b", "c"] } },
    ]);
    assert.deepEqual(merged.x.shape, [3, 2]);
    assert.deepEqual(Array.from(merged.x.data as Float32Array), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(merged.s.data, ["a", "b", "c"]);
  });

  it("refuses to merge tensors whose inner dimensions differ", () => {
    assert.throws(
      () => concatBatch([{ x: fp32([1, 2], [1, 2]) }, { x: fp32([1, 3], [1, 2, 3]) }]),
      /cannot batch input "x"/,
    );
  });

  it("splits outputs back into each request's rows", () => {
    const parts = splitBatch(
      {
        y: fp32([3, 2], [1, 2, 3, 4, 5, 6]),
        label: { datatype: "INT64", shape: [3], data: BigInt64Array.from([7n, 8n, 9n]) },
      },
      [1, 2],
    );
    assert.deepEqual(parts[0].y.shape, [1, 2]);
    assert.deepEqual(Array.from(parts[0].y.data as Float32Array), [1, 2]);
    assert.deepEqual(Array.from(parts[1].y.data as Float32Array), [3, 4, 5, 6]);
    assert.deepEqual(Array.from(parts[0].label.data as BigInt64Array), [7n]);
    assert.deepEqual(Array.from(parts[1].label.data as BigInt64Array), [8n, 9n]);
  });

  it("refuses to split an output without the batch's rows in dimension 0", () => {
    assert.throws(() => splitBatch({ y: fp32([2], [1, 2]) }, [1, 2]), /does not have the batch's 3 rows/);
  });
});
