/**
 * Where experiment record batches are written: a prefix of the model bucket (the serving role may
 * put objects under `experiments/` and nowhere else) or, for local runs, a directory.
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import type { RecordSink } from "./recordBuffer";

export class LocalRecordSink implements RecordSink {
  readonly location: string;

  constructor(directory: string) {
    this.location = resolve(directory);
  }

  /** Written to a temporary name and renamed, so a reader never sees half an object. */
  async write(name: string, body: string): Promise<void> {
    const path = join(this.location, name);
    await mkdir(dirname(path), { recursive: true });
    const partial = `${path}.partial`;
    await writeFile(partial, body);
    await rename(partial, path);
  }
}

/** The sink for EXPERIMENT_RECORDS_URI. */
export function createRecordSink(uri: string): RecordSink {
  if (!uri.startsWith("s3://")) return new LocalRecordSink(uri);
  // Loaded lazily, as the S3 model store is: a local-only server never loads the AWS SDK.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { S3RecordSink } = require("./s3RecordSink") as typeof import("./s3RecordSink");
  return new S3RecordSink(uri);
}
