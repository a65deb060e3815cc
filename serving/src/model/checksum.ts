import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

/** Lowercase hex sha256 of a file, streamed so large models never sit in memory twice. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** Lowercase hex sha256 of an in-memory buffer. */
export function sha256Bytes(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
