/**
 * Reads an experiment's records back (for the analysis): every `records/**.jsonl` object under
 * the experiment's prefix in S3, or file under its local directory, parsed line by line. A line
 * that is not a record is an error naming the object and line: the analysis must not silently
 * skip data.
 */
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { createS3Client } from "../model/s3Client";
import type { ExperimentRecord } from "./records";
import { parseS3Prefix } from "./s3RecordSink";

/** Every record under `uri` (`s3://bucket/experiments/<name>/` or a directory), in object-name order. */
export async function readRecords(uri: string, client?: S3Client): Promise<ExperimentRecord[]> {
  const objects = uri.startsWith("s3://") ? await readS3(uri, client) : await readLocal(uri);
  objects.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return objects.flatMap(({ name, body }) => parseLines(name, body));
}

/** The records of one JSON Lines object; throws naming the object and line of a bad one. */
export function parseLines(name: string, body: string): ExperimentRecord[] {
  const out: ExperimentRecord[] = [];
  body.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (err) {
      throw new Error(`${name} line ${i + 1} is not JSON: ${(err as Error).message}`);
    }
    const kind = (record as { kind?: unknown })?.kind;
    if (kind !== "prediction" && kind !== "outcome") {
      throw new Error(`${name} line ${i + 1} is not an experiment record (kind ${JSON.stringify(kind)})`);
    }
    out.push(record as ExperimentRecord);
  });
  return out;
}

async function readS3(uri: string, client?: S3Client): Promise<Array<{ name: string; body: string }>> {
  const s3 = client ?? createS3Client();
  const { bucket, prefix } = parseS3Prefix(uri);
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}records/`, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) if (o.Key?.endsWith(".jsonl")) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const out: Array<{ name: string; body: string }> = [];
  // A few at a time: thousands of small objects, without thousands of sockets.
  for (let i = 0; i < keys.length; i += 16) {
    out.push(
      ...(await Promise.all(
        keys.slice(i, i + 16).map(async (key) => {
          const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          return { name: `s3://${bucket}/${key}`, body: (await res.Body?.transformToString("utf8")) ?? "" };
        }),
      )),
    );
  }
  return out;
}

async function readLocal(dir: string): Promise<Array<{ name: string; body: string }>> {
  const root = join(dir, "records");
  const out: Array<{ name: string; body: string }> = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    for (const e of entries) {
      const path = join(d, e.name);
      if (e.isDirectory()) await walk(path);
      else if (e.name.endsWith(".jsonl"))
        out.push({ name: relative(dir, path), body: await readFile(path, "utf8") });
    }
  };
  await walk(root);
  return out;
}
