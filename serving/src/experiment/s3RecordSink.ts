/** Experiment record batches as objects under a prefix of the model bucket (SDK v3 PutObject). */
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { createS3Client } from "../model/s3Client";
import type { RecordSink } from "./recordBuffer";

/** `s3://bucket/prefix/` -> bucket and prefix (ending in "/", or ""). */
export function parseS3Prefix(uri: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)\/(.*)$/.exec(uri);
  if (!m) throw new Error(`expected s3://<bucket>/<prefix>/, got ${JSON.stringify(uri)}`);
  const prefix = m[2] === "" || m[2].endsWith("/") ? m[2] : `${m[2]}/`;
  return { bucket: m[1], prefix };
}

export class S3RecordSink implements RecordSink {
  readonly location: string;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(
    uri: string,
    private readonly client: S3Client = createS3Client(),
  ) {
    ({ bucket: this.bucket, prefix: this.prefix } = parseS3Prefix(uri));
    this.location = `s3://${this.bucket}/${this.prefix}`;
  }

  async write(name: string, body: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: `${this.prefix}${name}`,
        Body: body,
        ContentType: "application/x-ndjson",
      }),
    );
  }
}
