/**
 * `POST /outcomes`: what actually happened after an experiment's predictions. Each outcome names
 * its prediction (`prediction_id`, as returned, plus `row` for a batch) or the assignment `key`
 * with the prediction's `timestamp`, and carries the actual `label` (classification) or `value`
 * (numeric). The handler validates and hands off; the service buffers and writes them.
 * 202 once buffered; 503 (+Retry-After) while the buffer is full; 404 without an experiment.
 */
import type { FastifyPluginAsync } from "fastify";
import { BadRequestError } from "../errors";
import type { OutcomeInput } from "../experiment/records";
import { MAX_KEY_LENGTH } from "../service/experiment";
import type { ServedModels } from "../service/servedModels";
import { describe, invalid, isObject } from "./validate";

export interface OutcomeRoutesOptions {
  readonly service: ServedModels;
}

/** Outcomes one request may carry. */
export const MAX_OUTCOMES_PER_REQUEST = 1000;

const FIELDS = new Set(["experiment", "prediction_id", "row", "key", "timestamp", "label", "value"]);
const ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

export const outcomeRoutes: FastifyPluginAsync<OutcomeRoutesOptions> = async (app, { service }) => {
  app.post("/outcomes", async (request, reply) => {
    const body = request.body;
    const batch = isObject(body) && "outcomes" in body;
    let items: unknown[];
    if (batch) {
      const list = (body as Record<string, unknown>).outcomes;
      if (!Array.isArray(list) || list.length === 0 || list.length > MAX_OUTCOMES_PER_REQUEST) {
        invalid("outcomes", `an array of 1 to ${MAX_OUTCOMES_PER_REQUEST} outcome objects`, list);
      }
      items = list;
    } else {
      items = [body];
    }
    const expected = service.experiment?.name;
    const inputs = items.map((item, i) => parseOutcome(item, batch ? `outcomes[${i}]` : "", expected));
    const { experiment, variants } = service.recordOutcomes(inputs);
    const variant = (v: string | undefined) => (v !== undefined ? { variant: v } : {});
    return reply
      .status(202)
      .send(
        batch
          ? { accepted: inputs.length, experiment, outcomes: variants.map((v) => variant(v)) }
          : { accepted: 1, experiment, ...variant(variants[0]) },
      );
  });
};

/** One outcome, validated; every failure is a 400 naming the field. */
export function parseOutcome(raw: unknown, at: string, experiment: string | undefined): OutcomeInput {
  const field = (name: string) => (at ? `${at}.${name}` : name);
  if (!isObject(raw)) {
    invalid(
      at || "request body",
      'an outcome object {"prediction_id" or "key"+"timestamp", "label" or "value"}',
      raw,
    );
  }
  const unknown = Object.keys(raw).filter((k) => !FIELDS.has(k));
  if (unknown.length > 0) {
    throw new BadRequestError(
      `${at || "request body"} has unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(", ")}; allowed: ${[...FIELDS].join(", ")}`,
    );
  }
  if (raw.experiment !== undefined && experiment !== undefined && raw.experiment !== experiment) {
    invalid(field("experiment"), `this server's experiment "${experiment}" (or absent)`, raw.experiment);
  }
  const hasId = raw.prediction_id !== undefined;
  const hasKey = raw.key !== undefined;
  if (hasId === hasKey) {
    throw new BadRequestError(
      `${at || "request body"} must name its prediction by exactly one of "prediction_id" or "key" (with "timestamp"), got ${hasId ? "both" : "neither"}`,
    );
  }
  const out: { -readonly [K in keyof OutcomeInput]: OutcomeInput[K] } = {};
  if (hasId) {
    if (typeof raw.prediction_id !== "string" || !ID_RE.test(raw.prediction_id)) {
      invalid(
        field("prediction_id"),
        "a prediction id as returned (1-128 of [A-Za-z0-9._:-])",
        raw.prediction_id,
      );
    }
    out.predictionId = raw.prediction_id;
    if (raw.row !== undefined) {
      if (!Number.isSafeInteger(raw.row) || (raw.row as number) < 0)
        invalid(field("row"), "a non-negative integer", raw.row);
      out.row = raw.row as number;
    }
    if (raw.timestamp !== undefined) out.timestamp = parseTimestamp(field("timestamp"), raw.timestamp);
  } else {
    const key = typeof raw.key === "number" && Number.isSafeInteger(raw.key) ? String(raw.key) : raw.key;
    if (typeof key !== "string" || key === "" || key.length > MAX_KEY_LENGTH) {
      invalid(
        field("key"),
        `the assignment key: a string of 1-${MAX_KEY_LENGTH} characters or an integer`,
        raw.key,
      );
    }
    out.key = key;
    if (raw.row !== undefined)
      throw new BadRequestError(`${field("row")} goes with "prediction_id", not "key"`);
    if (raw.timestamp === undefined) {
      throw new BadRequestError(`${field("timestamp")} is required with "key": when the prediction was made`);
    }
    out.timestamp = parseTimestamp(field("timestamp"), raw.timestamp);
  }
  const hasLabel = raw.label !== undefined;
  const hasValue = raw.value !== undefined;
  if (hasLabel === hasValue) {
    throw new BadRequestError(
      `${at || "request body"} must carry exactly one of "label" (the actual class) or "value" (the actual number), got ${hasLabel ? "both" : "neither"}`,
    );
  }
  if (hasLabel) {
    const l = raw.label;
    if (
      !(typeof l === "string" && l.length <= 256) &&
      !(typeof l === "number" && Number.isFinite(l)) &&
      typeof l !== "boolean"
    ) {
      invalid(field("label"), "a string (up to 256 characters), a finite number or a boolean", l);
    }
    out.label = l as string | number | boolean;
  } else {
    if (typeof raw.value !== "number" || !Number.isFinite(raw.value))
      invalid(field("value"), "a finite number", raw.value);
    out.value = raw.value;
  }
  return out;
}

/** ISO 8601 with a zone, or epoch milliseconds; returned as ISO 8601 UTC. */
function parseTimestamp(field: string, raw: unknown): string {
  const iso =
    typeof raw === "string" &&
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(raw);
  const ms =
    typeof raw === "number" && Number.isSafeInteger(raw) && raw >= 0
      ? raw
      : iso
        ? Date.parse(raw as string)
        : NaN;
  if (!Number.isFinite(ms)) {
    throw new BadRequestError(
      `${field} must be an ISO 8601 time with a zone (e.g. "2026-12-02T10:00:00Z") or epoch milliseconds, got ${describe(raw)}`,
    );
  }
  return new Date(ms).toISOString();
}
