/**
 * The second bundled example, `serving/models/mlp/1.0.0/`: a dense ReLU network (64 -> 512 ->
 * 512 -> 2, softmax) with deterministic weights. Unlike the churn TreeEnsemble, which onnxruntime
 * runs on the CPU provider only, its MatMuls are what the CUDA execution provider accelerates, so
 * its manifest says `accelerator: "gpu"` and a color serving it requests a GPU.
 *
 *   npx tsx serving/tools/bundledMlp.ts     # (re)writes serving/models/mlp/1.0.0/
 *
 * The output is byte-identical on every run (a test checks the bundled files against it).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { serializeManifest, type ModelManifest } from "../src/model/manifest";
import { mlpModel, type BuiltModel } from "./models";
import { writeModelVersion } from "./modelRepository";

export const BUNDLED_MLP = { name: "mlp", version: "1.0.0" } as const;

/** The bundled MLP's model (same bytes every call). */
export function bundledMlpModel(): BuiltModel {
  return mlpModel({ features: 64, hidden: 512, layers: 2, classes: 2, seed: 7 });
}

/** Writes `<root>/mlp/1.0.0/{model.onnx,manifest.json}`, the manifest saying `accelerator: "gpu"`. */
export async function writeBundledMlp(root: string): Promise<{ dir: string; manifest: ModelManifest }> {
  const { dir, manifest } = await writeModelVersion({
    root,
    name: BUNDLED_MLP.name,
    version: BUNDLED_MLP.version,
    model: bundledMlpModel(),
  });
  const withAccelerator: ModelManifest = { ...manifest, accelerator: "gpu" };
  await writeFile(join(dir, "manifest.json"), serializeManifest(withAccelerator));
  return { dir, manifest: withAccelerator };
}

if (require.main === module) {
  writeBundledMlp(join(__dirname, "..", "models")).then(
    ({ dir }) => console.log(`wrote ${dir}`),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
