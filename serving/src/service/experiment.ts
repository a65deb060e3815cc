/**
 * An A/B experiment in the service layer: reads a request's assignment key where the settings
 * say, assigns the variant by a stable hash, and records predictions and outcomes in the bounded
 * record buffer. The protocol layers hand over the raw request parts and never decide a variant.
 */
import { BadRequestError, UnavailableError } from "../errors";
import { assignVariant, keyHash, type Variant } from "../experiment/assignment";
import type { OutcomeInput, OutcomeRecord, PredictionRecord } from "../experiment/records";
import type { RecordBuffer } from "../experiment/recordBuffer";
import type { ExperimentSettings } from "../experiment/settings";
import { silentLogger, type Logger } from "../logger";
import type { ServerMetrics } from "../metrics";
import type { ModelService } from "./modelService";

/** The parts of a request an assignment key can come from. */
export interface RequestParts {
  /** Header names in lower case (as Node gives them). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body?: unknown;
}

/** Which variant serves a request, and why. */
export interface Assignment {
  readonly experiment: string;
  readonly variant: Variant;
  /** False when the request had no key: it goes to control and is counted apart. */
  readonly assigned: boolean;
  readonly keyHash?: string;
}

export interface ExperimentOptions {
  readonly settings: Pick<ExperimentSettings, "name" | "treatmentPercent" | "assignmentKey">;
  /** The treatment's model (the control is ServedModels' own). */
  readonly treatment: ModelService;
  readonly records: RecordBuffer;
  /** Default: none. */
  readonly metrics?: ServerMetrics;
  /** Default: silent. */
  readonly logger?: Logger;
  /** Clock for record times. Default: Date.now. */
  readonly now?: () => number;
}

/** Longest assignment key accepted; longer ones are a client error, not a new user. */
export const MAX_KEY_LENGTH = 256;

export class Experiment {
  readonly name: string;
  private readonly logger: Logger;
  private readonly now: () => number;
  private droppedSinceLog = 0;

  constructor(private readonly options: ExperimentOptions) {
    this.name = options.settings.name;
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
  }

  get treatment(): ModelService {
    return this.options.treatment;
  }

  get records(): RecordBuffer {
    return this.options.records;
  }

  /** The experiment as `/model/info` reports it. */
  describe(): Record<string, string | number> {
    const k = this.options.settings.assignmentKey;
    return {
      name: this.name,
      treatment_version: this.treatment.model?.manifest.version ?? "",
      treatment_percent: this.options.settings.treatmentPercent,
      assignment_key: k.kind === "header" ? `header:${k.name}` : `body:${k.field}`,
    };
  }

  /** Where the key is read, for messages: `header X-User-Id`, `body field user_id`. */
  get keyDescription(): string {
    const k = this.options.settings.assignmentKey;
    return k.kind === "header" ? `header ${k.name}` : `body field ${k.field}`;
  }

  /**
   * The request's assignment key, or undefined when it has none. A body key is read from the
   * body's top level, then from OIP `parameters`. Only strings and integers are keys (an integer
   * is its decimal text); anything else is a 400 naming the field.
   */
  keyOf(parts: RequestParts): string | undefined {
    const source = this.options.settings.assignmentKey;
    let raw: unknown;
    let field: string;
    if (source.kind === "header") {
      field = `header ${source.name}`;
      const value = parts.headers[source.name];
      raw = Array.isArray(value) ? value[0] : value;
    } else {
      field = source.field;
      const body = parts.body as Record<string, unknown> | undefined;
      const params = isRecord(body) && isRecord(body.parameters) ? body.parameters : undefined;
      if (isRecord(body) && body[source.field] !== undefined) raw = body[source.field];
      else if (params && params[source.field] !== undefined) {
        raw = params[source.field];
        field = `parameters.${source.field}`;
      }
    }
    return normalizeKey(field, raw);
  }

  /** The variant for a key (undefined key: control, unassigned). Counts it in the metrics. */
  assign(key: string | undefined): Assignment {
    const assignment: Assignment =
      key === undefined
        ? { experiment: this.name, variant: "control", assigned: false }
        : {
            experiment: this.name,
            variant: assignVariant(this.name, key, this.options.settings.treatmentPercent),
            assigned: true,
            keyHash: keyHash(this.name, key),
          };
    this.options.metrics?.experimentRequests.inc({
      experiment: this.name,
      variant: assignment.variant,
      assignment: assignment.assigned ? "key" : "no_key",
    });
    return assignment;
  }

  /**
   * Records that `id` was answered by `modelVersion` for this assignment. Never fails the
   * prediction: with the buffer full the record is dropped and counted (the answer matters more).
   */
  recordPrediction(
    assignment: Assignment,
    id: string,
    modelVersion: string,
    predictions?: readonly (string | number)[],
  ): void {
    const record: PredictionRecord = {
      kind: "prediction",
      experiment: this.name,
      id,
      variant: assignment.variant,
      model_version: modelVersion,
      assigned: assignment.assigned,
      ...(assignment.keyHash !== undefined ? { key_hash: assignment.keyHash } : {}),
      time: new Date(this.now()).toISOString(),
      ...(predictions !== undefined ? { predictions } : {}),
    };
    const accepted = this.options.records.offer([record]);
    this.options.metrics?.experimentRecords.inc({
      experiment: this.name,
      kind: "prediction",
      result: accepted ? "accepted" : "dropped",
    });
    if (!accepted && this.droppedSinceLog++ % 1000 === 0) {
      this.logger.warn(
        { experiment: this.name, buffered: this.options.records.depth },
        "experiment record buffer full: prediction served but not recorded",
      );
    }
  }

  /**
   * Records outcomes, all or none: a full buffer is a 503 the client can retry. Returns each
   * outcome's variant where the key tells it (an outcome by id gets its variant in the analysis).
   */
  recordOutcomes(inputs: readonly OutcomeInput[]): Array<Variant | undefined> {
    const time = new Date(this.now()).toISOString();
    const variants: Array<Variant | undefined> = [];
    const records = inputs.map((o): OutcomeRecord => {
      const variant =
        o.key !== undefined
          ? assignVariant(this.name, o.key, this.options.settings.treatmentPercent)
          : undefined;
      variants.push(variant);
      return {
        kind: "outcome",
        experiment: this.name,
        ...(o.predictionId !== undefined ? { prediction_id: o.predictionId } : {}),
        ...(o.row !== undefined ? { row: o.row } : {}),
        ...(o.key !== undefined ? { key_hash: keyHash(this.name, o.key) } : {}),
        ...(o.timestamp !== undefined ? { timestamp: o.timestamp } : {}),
        ...(variant !== undefined ? { variant } : {}),
        ...(o.label !== undefined ? { label: o.label } : {}),
        ...(o.value !== undefined ? { value: o.value } : {}),
        time,
      };
    });
    const accepted = this.options.records.offer(records);
    this.options.metrics?.experimentRecords.inc(
      { experiment: this.name, kind: "outcome", result: accepted ? "accepted" : "refused" },
      records.length,
    );
    if (!accepted) {
      throw new UnavailableError(
        `outcome buffer is full (${this.options.records.depth} records waiting to be written to ` +
          `${this.options.records.location}); retry later`,
        5,
      );
    }
    return variants;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A usable key, undefined for none (absent or empty), or a 400 naming the field. */
function normalizeKey(field: string, raw: unknown): string | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  const key = typeof raw === "number" && Number.isSafeInteger(raw) ? String(raw) : raw;
  if (typeof key !== "string") {
    throw new BadRequestError(
      `${field} is the experiment's assignment key and must be a string or an integer, got ${JSON.stringify(raw)?.slice(0, 60)}`,
    );
  }
  if (key.length > MAX_KEY_LENGTH) {
    throw new BadRequestError(
      `${field} is the experiment's assignment key and must be at most ${MAX_KEY_LENGTH} characters, got ${key.length}`,
    );
  }
  return key;
}
