import assert from "node:assert/strict";
import { BadRequestError } from "../../../serving/src/errors";
import { flattenTensorData } from "../../../serving/src/http/validate";

describe("flattenTensorData", () => {
  const ok: Array<[string, unknown, number[], unknown[]]> = [
    ["flat", [1, 2, 3, 4, 5, 6], [2, 3], [1, 2, 3, 4, 5, 6]],
    [
      "fully nested",
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [2, 3],
      [1, 2, 3, 4, 5, 6],
    ],
    [
      "rank 3, rows of flattened matrices",
      [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
      ],
      [2, 2, 2],
      [1, 2, 3, 4, 5, 6, 7, 8],
    ],
    [
      "rank 3, fully nested",
      [
        [
          [1, 2],
          [3, 4],
        ],
        [
          [5, 6],
          [7, 8],
        ],
      ],
      [2, 2, 2],
      [1, 2, 3, 4, 5, 6, 7, 8],
    ],
    ["a scalar", [7], [], [7]],
  ];
  for (const [what, data, shape, expected] of ok) {
    it(`accepts ${what}`, () => assert.deepEqual(flattenTensorData("d", data, shape), expected));
  }

  const bad: Array<[string, unknown, number[], string]> = [
    [
      "a ragged row",
      [
        [1, 2],
        [3, 4, 5, 6],
      ],
      [2, 3],
      "d[0] has 2 elements but shape [2,3] needs 3",
    ],
    ["too many rows", [[1, 2, 3], [4, 5, 6], []], [2, 3], "d has 3 elements but shape [2,3] needs 2"],
    [
      "a ragged inner level",
      [
        [[1, 2], [3]],
        [
          [5, 6],
          [7, 8, 4],
        ],
      ],
      [2, 2, 2],
      "d[0][1] has 1 elements but shape [2,2,2] needs 2",
    ],
    [
      "deeper nesting after the first row",
      [
        [1, 2],
        [[3], [4]],
      ],
      [2, 2],
      "d[1][0] is an array where d[1][0] is not: nested data must follow shape [2,2] evenly",
    ],
    ["nesting beyond the rank", [[[1]]], [1, 1], "d is nested deeper than the tensor's 2 dimensions"],
  ];
  for (const [what, data, shape, message] of bad) {
    it(`refuses ${what}`, () =>
      assert.throws(
        () => flattenTensorData("d", data, shape),
        (err: Error) => err instanceof BadRequestError && err.message === message,
      ));
  }
});
