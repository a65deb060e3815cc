/**
 * The rollout record on AWS: one JSON object per stack in the model bucket,
 * `rollouts/<stack>.json`. The bucket is already private, versioned and encrypted, the deploy
 * role can write it, and it outlives the CI runner, so a rollout killed with its runner is
 * found by the next run, which rolls back to the record's `from` routing.
 */
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { s3ErrorCode, s3Url } from "../../../serving/src/model/s3Client";
import { isColor } from "../../traffic";
import type { RecordPort, RolloutRecord, Routing } from "../ports";

/** Key prefix of rollout records in the model bucket (outside `models/`, which the registry owns). */
export const ROLLOUTS_PREFIX = "rollouts/";

export class RolloutRecordError extends Error {
  override name = "RolloutRecordError";
}

function routingOf(where: string, v: unknown): Routing {
  const r = v as { activeColor?: unknown; canaryPercent?: unknown } | null;
  if (
    typeof r !== "object" ||
    r === null ||
    !isColor(r.activeColor) ||
    !Number.isInteger(r.canaryPercent) ||
    (r.canaryPercent as number) < 0 ||
    (r.canaryPercent as number) > 100
  ) {
    throw new RolloutRecordError(
      `${where} must be {activeColor: "blue"|"green", canaryPercent: 0-100}, got ${JSON.stringify(v)}`,
    );
  }
  return { activeColor: r.activeColor, canaryPercent: r.canaryPercent as number };
}

/** Parses a stored record; errors name the object and the field. */
export function parseRolloutRecord(text: string, where: string): RolloutRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new RolloutRecordError(`${where} is not JSON: ${(err as Error).message}`);
  }
  const o = (v ?? {}) as { from?: unknown; to?: unknown; startedAt?: unknown };
  if (typeof o.startedAt !== "string" || Number.isNaN(Date.parse(o.startedAt))) {
    throw new RolloutRecordError(
      `${where}: startedAt must be an ISO-8601 time, got ${JSON.stringify(o.startedAt)}`,
    );
  }
  return {
    from: routingOf(`${where}: from`, o.from),
    to: routingOf(`${where}: to`, o.to),
    startedAt: o.startedAt,
  };
}

/** Options of {@link S3RolloutRecord}. */
export interface S3RolloutRecordOptions {
  readonly s3: Pick<S3Client, "send">;
  readonly bucket: string;
  /** Stack name: one record per stack. */
  readonly stack: string;
}

export class S3RolloutRecord implements RecordPort {
  private readonly key: string;
  constructor(private readonly opts: S3RolloutRecordOptions) {
    if (!/^[A-Za-z0-9._-]+$/.test(opts.stack)) {
      throw new RolloutRecordError(`stack name ${JSON.stringify(opts.stack)} cannot name a record object`);
    }
    this.key = `${ROLLOUTS_PREFIX}${opts.stack}.json`;
  }

  async read(): Promise<RolloutRecord | undefined> {
    try {
      const out = await this.opts.s3.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key: this.key }));
      return parseRolloutRecord(
        await out.Body!.transformToString("utf-8"),
        s3Url(this.opts.bucket, this.key),
      );
    } catch (err) {
      if (s3ErrorCode(err) === "NoSuchKey") return undefined;
      throw err;
    }
  }

  async write(record: RolloutRecord): Promise<void> {
    await this.opts.s3.send(
      new PutObjectCommand({
        Bucket: this.opts.bucket,
        Key: this.key,
        Body: JSON.stringify(record, null, 2) + "\n",
        ContentType: "application/json",
      }),
    );
  }

  async clear(): Promise<void> {
    await this.opts.s3.send(new DeleteObjectCommand({ Bucket: this.opts.bucket, Key: this.key }));
  }
}
