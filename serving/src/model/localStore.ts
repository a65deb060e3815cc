/**
 * A model version on local disk: `<dir>/model.onnx` + `<dir>/manifest.json`, where `<dir>` is
 * usually `<root>/<name>/<version>/`. Loading verifies the file's sha256 against the manifest.
 */
import { readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { sha256File } from "./checksum";
import { MANIFEST_FILE, MODEL_FILE, parseManifest, ManifestError } from "./manifest";
import { ModelNotFoundError, ModelVerificationError, type ModelStore, type VerifiedModel } from "./store";

/** Options of {@link LocalModelStore}. */
export interface LocalModelStoreOptions {
  /** Name and version the manifest must declare (when the directory came from them). Default: not checked. */
  readonly expect?: { readonly name: string; readonly version: string };
}

export class LocalModelStore implements ModelStore {
  readonly location: string;
  private readonly dir: string;

  constructor(
    dir: string,
    private readonly options: LocalModelStoreOptions = {},
  ) {
    this.dir = resolve(dir);
    this.location = `file://${this.dir}/`;
  }

  /** The store for `<root>/<name>/<version>/`. */
  static forVersion(root: string, name: string, version: string): LocalModelStore {
    return new LocalModelStore(join(root, name, version), { expect: { name, version } });
  }

  async load(): Promise<VerifiedModel> {
    const manifestPath = join(this.dir, MANIFEST_FILE);
    const modelPath = join(this.dir, MODEL_FILE);
    let text: string;
    try {
      text = await readFile(manifestPath, "utf8");
      await stat(modelPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        throw new ModelNotFoundError(
          `model version not found at ${this.location}: ${(err as NodeJS.ErrnoException).path ?? "file"} does not exist`,
        );
      }
      throw err;
    }
    let manifest;
    try {
      manifest = parseManifest(text);
    } catch (err) {
      if (err instanceof ManifestError) {
        throw new ModelVerificationError(`invalid manifest ${manifestPath}: ${err.message}`);
      }
      throw err;
    }
    const expect = this.options.expect;
    if (expect && (manifest.name !== expect.name || manifest.version !== expect.version)) {
      throw new ModelVerificationError(
        `manifest ${manifestPath} declares ${manifest.name}@${manifest.version}, expected ${expect.name}@${expect.version}`,
      );
    }
    const actual = await sha256File(modelPath);
    if (actual !== manifest.sha256) {
      throw new ModelVerificationError(
        `sha256 mismatch for ${modelPath}: manifest declares ${manifest.sha256}, file has ${actual}; refusing to serve it`,
      );
    }
    return { manifest, modelPath };
  }
}
