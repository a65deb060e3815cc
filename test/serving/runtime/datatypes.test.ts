import assert from "node:assert/strict";
import type { TensorDatatype } from "../../../serving/src/model/manifest";
import {
  decodeElements,
  elementsToJson,
  fromHalfBits,
  readElement,
  toHalfBits,
} from "../../../serving/src/runtime/datatypes";

const at = (i: number) => `data[${i}]`;

function decode(datatype: TensorDatatype, values: unknown[]) {
  return decodeElements(datatype, values, at);
}

describe("tensor datatypes", () => {
  describe("decoding JSON elements", () => {
    const accepted: Array<[TensorDatatype, unknown[], ArrayLike<unknown>]> = [
      ["BOOL", [true, false], [1, 0]],
      ["UINT8", [0, 255], [0, 255]],
      ["INT8", [-128, 127], [-128, 127]],
      ["UINT16", [0, 65535], [0, 65535]],
      ["INT16", [-32768, 32767], [-32768, 32767]],
      ["UINT32", [0, 4294967295], [0, 4294967295]],
      ["INT32", [-2147483648, 2147483647], [-2147483648, 2147483647]],
      ["INT64", [-9007199254740991, "-9223372036854775808"], [-9007199254740991n, -9223372036854775808n]],
      ["UINT64", [9007199254740991, "18446744073709551615"], [9007199254740991n, 18446744073709551615n]],
      ["FP16", [1, -2, 65504], [0x3c00, 0xc000, 0x7bff]],
      ["FP32", [1.5, -3.4028234663852886e38], [1.5, -3.4028234663852886e38]],
      ["FP64", [1e300, -0.1], [1e300, -0.1]],
      ["BYTES", ["a", ""], ["a", ""]],
    ];
    for (const [datatype, values, stored] of accepted) {
      it(`stores ${datatype} values exactly`, () => {
        const result = decode(datatype, values);
        assert.ok("data" in result, "error" in result ? result.error : "no data");
        assert.deepEqual(Array.from(result.data as ArrayLike<unknown>), Array.from(stored));
      });
    }

    const rejected: Array<[TensorDatatype, unknown, RegExp]> = [
      ["BOOL", 1, /must be true or false, got 1/],
      ["UINT8", 256, /must be an integer from 0 to 255, got 256/],
      ["UINT8", -1, /got -1/],
      ["INT8", 1.5, /must be an integer from -128 to 127, got 1\.5/],
      ["INT32", "7", /got "7"/],
      [
        "INT64",
        9007199254740992,
        /to 9007199254740991 \(or a decimal string for the full INT64 range\), got 9007199254740992/,
      ],
      ["INT64", "9223372036854775808", /got "9223372036854775808"/],
      ["UINT64", "-1", /got "-1"/],
      ["FP16", 65520, /within FP16 range/],
      ["FP32", 1e39, /within FP32 range .*, got 1e\+39/],
      ["FP32", "NaN", /must be a finite number within FP32 range .*, got "NaN"/],
      ["FP32", Infinity, /got Infinity \(out of range\)/],
      ["FP32", null, /got null/],
      ["FP64", -Infinity, /must be a finite number, got -Infinity/],
      ["BYTES", 5, /must be a string, got 5/],
    ];
    for (const [datatype, value, message] of rejected) {
      it(`rejects ${datatype} element ${JSON.stringify(value) ?? String(value)} naming the element`, () => {
        const result = decode(
          datatype,
          [0, value].map((v, i) => (i === 0 ? first(datatype) : v)),
        );
        assert.ok("error" in result, "expected an error");
        assert.match(result.error, /^data\[1\] /);
        assert.match(result.error, message);
      });
    }
  });

  it("converts FP16 with round-to-nearest-even, including subnormals", () => {
    assert.equal(toHalfBits(0.1), 0x2e66);
    assert.equal(toHalfBits(2 ** -24), 0x0001); // smallest subnormal
    assert.equal(toHalfBits(2 ** -25), 0x0000); // tie rounds to even (zero)
    assert.equal(toHalfBits(3 * 2 ** -25), 0x0002); // tie rounds to even (2)
    assert.equal(toHalfBits(-0), 0x8000);
    assert.equal(fromHalfBits(0x7bff), 65504);
    assert.equal(fromHalfBits(0x3555), 0.333251953125);
    // every finite half survives a round trip
    for (let bits = 0; bits < 0x7c00; bits++) assert.equal(toHalfBits(fromHalfBits(bits)), bits);
  });

  it("writes 64-bit integers with all their digits and non-finite floats as null", () => {
    assert.equal(
      elementsToJson("INT64", BigInt64Array.from([-(2n ** 63n), 2n ** 53n + 1n])),
      "[-9223372036854775808,9007199254740993]",
    );
    assert.equal(elementsToJson("UINT64", BigUint64Array.from([2n ** 64n - 1n])), "[18446744073709551615]");
    assert.equal(elementsToJson("BOOL", Uint8Array.from([1, 0])), "[true,false]");
    assert.equal(elementsToJson("FP16", Uint16Array.from([0x3c00, 0x3800])), "[1,0.5]");
    assert.equal(elementsToJson("FP32", Float32Array.from([0.5, NaN, Infinity])), "[0.5,null,null]");
    assert.equal(elementsToJson("BYTES", ['a"b', "ü"]), '["a\\"b","ü"]');
  });

  it("reads elements as JavaScript values", () => {
    assert.equal(readElement("BOOL", Uint8Array.from([0, 2]), 1), true);
    assert.equal(readElement("FP16", Uint16Array.from([0xc000]), 0), -2);
    assert.equal(readElement("INT64", BigInt64Array.from([5n]), 0), 5n);
  });
});

/** A valid first element, so the rejected value sits at index 1. */
function first(datatype: TensorDatatype): unknown {
  if (datatype === "BOOL") return true;
  if (datatype === "BYTES") return "ok";
  return 1;
}
