/**
 * The records an experiment writes, one JSON object per line: what was predicted for whom
 * (`prediction`) and what actually happened (`outcome`). The analysis joins them: an outcome by
 * `prediction_id` (+ `row`), or by `key_hash` with the latest prediction at or before `timestamp`.
 * Field names are snake_case like the REST API; times are ISO 8601 UTC.
 */
import type { Variant } from "./assignment";

export interface PredictionRecord {
  readonly kind: "prediction";
  readonly experiment: string;
  /** The request id (`X-Request-Id`), returned to the client as `prediction_id`. */
  readonly id: string;
  readonly variant: Variant;
  /** The model version that answered. */
  readonly model_version: string;
  /** False when the request had no assignment key (it went to control and is not a sample). */
  readonly assigned: boolean;
  /** {@link keyHash} of the assignment key, when there was one. */
  readonly key_hash?: string;
  readonly time: string;
  /** The predicted label (or value) of each row, when the API knows it (the seed routes do). */
  readonly predictions?: readonly (string | number)[];
}

export interface OutcomeRecord {
  readonly kind: "outcome";
  readonly experiment: string;
  /** The prediction this outcome is for, as returned in `prediction_id`. */
  readonly prediction_id?: string;
  /** Row of a batch prediction. Default 0. */
  readonly row?: number;
  /** {@link keyHash} of the assignment key, when the outcome names the key instead of an id. */
  readonly key_hash?: string;
  /** When the prediction was made (with `key_hash`). */
  readonly timestamp?: string;
  /** The key's variant, computed from the key (outcomes by id get theirs from the join). */
  readonly variant?: Variant;
  /** The actual class (classification outcomes). */
  readonly label?: string | number | boolean;
  /** The actual value (numeric outcomes). */
  readonly value?: number;
  /** When the server accepted the outcome. */
  readonly time: string;
}

export type ExperimentRecord = PredictionRecord | OutcomeRecord;

/** What a client reports (validated by the HTTP layer). */
export interface OutcomeInput {
  readonly predictionId?: string;
  readonly row?: number;
  readonly key?: string;
  readonly timestamp?: string;
  readonly label?: string | number | boolean;
  readonly value?: number;
}
