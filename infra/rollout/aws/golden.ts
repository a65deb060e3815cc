/**
 * The golden port on AWS: the golden set is read from the registry (`golden.jsonl` beside the
 * version's model.onnx in the model bucket) and each case is POSTed to the stack's URL with the
 * preview header, which the ALB routes to the standby color only: the receiving color answers
 * before any live request reaches it.
 */
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { GOLDEN_FILE, parseGoldenSet } from "../../../serving/src/model/golden";
import { versionPrefix } from "../../../serving/src/model/manifest";
import { s3ErrorCode, s3Url } from "../../../serving/src/model/s3Client";
import type { Color } from "../../traffic";
import type { GoldenAnswer, GoldenCase, GoldenPort } from "../ports";

export class GoldenRouteError extends Error {
  override name = "GoldenRouteError";
}

/**
 * Request headers that select the preview route, from the stack's `previewHeader` output:
 * `"Name: value"` (or `{ "Name": "value" }`), possibly a secret output.
 */
export function previewHeaders(output: unknown): Record<string, string> {
  if (typeof output === "string") {
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):\s*(.+)$/.exec(output.trim());
    if (m) return { [m[1]]: m[2].trim() };
  } else if (typeof output === "object" && output !== null && !Array.isArray(output)) {
    const entries = Object.entries(output);
    if (entries.length > 0 && entries.every(([, v]) => typeof v === "string" && v !== "")) {
      return Object.fromEntries(entries) as Record<string, string>;
    }
  }
  throw new GoldenRouteError(
    `the stack output previewHeader must be "Name: value" (or an object of headers), got ${typeof output}`,
  );
}

/** Outputs by name as flat data, from an Open Inference Protocol v2 response body. */
export function outputsOf(body: unknown): GoldenAnswer["outputs"] {
  const outputs = (body as { outputs?: unknown } | null)?.outputs;
  if (!Array.isArray(outputs)) return {};
  const byName: Record<string, (number | string | boolean)[]> = {};
  for (const o of outputs as { name?: unknown; data?: unknown }[]) {
    if (typeof o?.name === "string" && Array.isArray(o.data))
      byName[o.name] = (o.data as unknown[]).flat(Infinity) as (number | string | boolean)[];
  }
  return byName;
}

/** Options of {@link AwsGolden}. */
export interface AwsGoldenOptions {
  readonly s3: Pick<S3Client, "send">;
  /** The model bucket (stack output modelBucketName). */
  readonly bucket: string;
  /** Model name in the registry. */
  readonly modelName: string;
  /** The stack's URL (stack output url). */
  readonly url: string;
  /** Headers that select the preview route (see {@link previewHeaders}). */
  readonly headers: Readonly<Record<string, string>>;
  /** The color the preview route reaches now (the standby). */
  readonly previewColor: () => Promise<Color>;
  /** Per-request timeout, ms. Default 30000. */
  readonly timeoutMs?: number;
  /** HTTP client. Default: global fetch. */
  readonly fetch?: typeof fetch;
}

export class AwsGolden implements GoldenPort {
  constructor(private readonly opts: AwsGoldenOptions) {}

  async cases(modelVersion: string): Promise<readonly GoldenCase[]> {
    const key = versionPrefix(this.opts.modelName, modelVersion) + GOLDEN_FILE;
    let text: string;
    try {
      const out = await this.opts.s3.send(new GetObjectCommand({ Bucket: this.opts.bucket, Key: key }));
      text = await out.Body!.transformToString("utf-8");
    } catch (err) {
      if (s3ErrorCode(err) === "NoSuchKey") return [];
      throw err;
    }
    try {
      return parseGoldenSet(text);
    } catch (err) {
      throw new Error(`${s3Url(this.opts.bucket, key)}: ${(err as Error).message}`);
    }
  }

  async send(color: Color, cases: readonly GoldenCase[]): Promise<readonly GoldenAnswer[]> {
    const reached = await this.opts.previewColor();
    if (reached !== color) {
      throw new GoldenRouteError(
        `the preview route reaches ${reached}, not ${color}: the golden set goes only to the standby color`,
      );
    }
    const doFetch = this.opts.fetch ?? fetch;
    const endpoint = `${this.opts.url.replace(/\/+$/, "")}/v2/models/${encodeURIComponent(this.opts.modelName)}/infer`;
    const answers: GoldenAnswer[] = [];
    for (const [i, c] of cases.entries()) {
      let res: Response;
      try {
        res = await doFetch(endpoint, {
          method: "POST",
          headers: { "content-type": "application/json", ...this.opts.headers },
          body: JSON.stringify(c.request),
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
        });
      } catch (err) {
        throw new GoldenRouteError(
          `golden case ${i + 1}: POST ${endpoint} failed: ${(err as Error).message}`,
        );
      }
      const body: unknown = await res.json().catch(() => undefined);
      answers.push({ status: res.status, outputs: res.status === 200 ? outputsOf(body) : {} });
    }
    return answers;
  }
}
