import { strict as assert } from "node:assert";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { inspectModel, ModelInspectionError } from "../../../serving/src/model/inspect";
import type { TensorDatatype } from "../../../serving/src/model/manifest";
import { castModel, ELEM, identityModel, INT4, sequenceOutputModel, twoByTwoModel } from "./tinyModels";

const CHURN = join(__dirname, "..", "..", "..", "serving", "models", "churn", "1.0.0", "model.onnx");

describe("inspectModel (onnxruntime-node)", () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "inspect-test-"));
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function file(name: string, bytes: Uint8Array | string): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, bytes);
    return path;
  }

  it("reads the bundled churn model's interface", async () => {
    assert.deepEqual(await inspectModel(CHURN), {
      inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
      outputs: [
        { name: "label", datatype: "INT64", shape: [-1] },
        { name: "probabilities", datatype: "FP32", shape: [-1, 2] },
      ],
    });
  });

  it("reports several inputs and outputs in graph order; symbolic and unknown dimensions are -1", async () => {
    assert.deepEqual(await inspectModel(await file("two.onnx", twoByTwoModel())), {
      inputs: [
        { name: "a", datatype: "FP64", shape: [-1, 2] },
        { name: "b", datatype: "FP64", shape: [-1, 2] },
        { name: "c", datatype: "BOOL", shape: [-1] },
      ],
      outputs: [
        { name: "sum", datatype: "FP64", shape: [-1, 2] },
        { name: "flag", datatype: "BOOL", shape: [-1] },
      ],
    });
  });

  const datatypes: [number, TensorDatatype][] = [
    [ELEM.BOOL, "BOOL"],
    [ELEM.UINT8, "UINT8"],
    [ELEM.UINT16, "UINT16"],
    [ELEM.UINT32, "UINT32"],
    [ELEM.UINT64, "UINT64"],
    [ELEM.INT8, "INT8"],
    [ELEM.INT16, "INT16"],
    [ELEM.INT32, "INT32"],
    [ELEM.INT64, "INT64"],
    [ELEM.FLOAT16, "FP16"],
    [ELEM.FLOAT, "FP32"],
    [ELEM.DOUBLE, "FP64"],
    [ELEM.STRING, "BYTES"],
  ];
  for (const [elem, datatype] of datatypes) {
    it(`maps ONNX element type ${elem} to ${datatype}, fixed dimensions kept`, async () => {
      const path = await file(`id-${datatype}.onnx`, identityModel(elem, [3, 5]));
      assert.deepEqual(await inspectModel(path), {
        inputs: [{ name: "x", datatype, shape: [3, 5] }],
        outputs: [{ name: "y", datatype, shape: [3, 5] }],
      });
    });
  }

  it("refuses an output type the Open Inference Protocol cannot carry (int4)", async () => {
    const path = await file("int4.onnx", castModel(INT4));
    await assert.rejects(
      inspectModel(path),
      (err: Error) =>
        err instanceof ModelInspectionError &&
        err.message.startsWith(
          `${path}: output "y" has element type int4, which the Open Inference Protocol`,
        ),
    );
  });

  it("refuses a model whose tensor type onnxruntime-node cannot represent (bfloat16)", async () => {
    const path = await file("bf16.onnx", identityModel(ELEM.BFLOAT16, ["batch"]));
    await assert.rejects(
      inspectModel(path),
      (err: Error) =>
        err instanceof ModelInspectionError &&
        err.message === `${path} is not a model onnxruntime can load: Unsupported data type: 16`,
    );
  });

  it("refuses a non-tensor output (a sequence, as ZipMap would produce)", async () => {
    const path = await file("seq.onnx", sequenceOutputModel());
    await assert.rejects(
      inspectModel(path),
      (err: Error) =>
        err instanceof ModelInspectionError &&
        err.message ===
          `${path}: output "seq" is not a tensor; export the model without ZipMap or other non-tensor outputs`,
    );
  });

  it("refuses bytes that are not an ONNX model", async () => {
    const path = await file("junk.onnx", "PK\u0003\u0004 a zip file, not a model");
    await assert.rejects(
      inspectModel(path),
      (err: Error) =>
        err instanceof ModelInspectionError &&
        err.message.startsWith(`${path} is not a model onnxruntime can load: `),
    );
  });

  it("refuses a truncated model", async () => {
    const bytes = twoByTwoModel();
    const path = await file("truncated.onnx", bytes.subarray(0, Math.floor(bytes.length / 2)));
    await assert.rejects(inspectModel(path), ModelInspectionError);
  });

  it("refuses an empty file, a directory and a missing path with the path in the message", async () => {
    const empty = await file("empty.onnx", "");
    await assert.rejects(inspectModel(empty), {
      name: "ModelInspectionError",
      message: `model file ${empty} is empty`,
    });
    const sub = join(dir, "a-directory.onnx");
    await mkdir(sub);
    await assert.rejects(inspectModel(sub), {
      name: "ModelInspectionError",
      message: `${sub} is not a regular file`,
    });
    const missing = join(dir, "missing.onnx");
    await assert.rejects(
      inspectModel(missing),
      (err: Error) =>
        err instanceof ModelInspectionError &&
        err.message.startsWith(`cannot read model file ${missing}: ENOENT`),
    );
  });
});
