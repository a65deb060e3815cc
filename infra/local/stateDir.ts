/** Where `npm run local` leaves what `npm run rollout -- --local` needs to find it. */
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Default state directory: models, the pair's address file, the rollout record. */
export function defaultLocalStateDir(): string {
  return process.env.LOCAL_STATE_DIR ?? join(tmpdir(), "onnx-eks-serving-local");
}

/** The address file `npm run local` writes while it runs. */
export const ADDRESS_FILE = "local.json";

export interface LocalAddress {
  readonly trafficUrl: string;
  readonly adminUrl: string;
  readonly pid: number;
}

export async function readLocalAddress(stateDir: string): Promise<LocalAddress> {
  const file = join(stateDir, ADDRESS_FILE);
  try {
    return JSON.parse(await readFile(file, "utf8")) as LocalAddress;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") {
      throw new Error(`no local pair found (${file} is missing): start one with \`npm run local\``);
    }
    throw err;
  }
}
