/**
 * The rollout record as a JSON file (the local pair's RecordPort). Written to a temporary file
 * and renamed, so a run killed mid-write leaves the old record or the new one, never half.
 */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { RecordPort, RolloutRecord } from "./ports";

export function fileRecord(file: string): RecordPort {
  return {
    async read() {
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw err;
      }
      try {
        return JSON.parse(text) as RolloutRecord;
      } catch (err) {
        throw new Error(
          `rollout record ${file} is not JSON (${(err as Error).message}); inspect it, then delete it`,
        );
      }
    },
    async write(record) {
      await mkdir(dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(record, null, 2) + "\n");
      await rename(tmp, file);
    },
    async clear() {
      await rm(file, { force: true });
    },
  };
}
