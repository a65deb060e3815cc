/**
 * The rollout engine's ports: the narrow interfaces through which the pure engine
 * (infra/rollout/engine.ts) observes and changes the world. Each has two real adapters:
 * - AWS (infra/rollout/aws/): traffic through the Pulumi Automation API on the stack, metrics
 *   from the ALB's per-target-group CloudWatch metrics, capacity from the cluster, golden set
 *   through the ALB's preview route, the rollout record in the model bucket;
 * - local (infra/local/): the loopback router of `npm run local`, which applies the same
 *   traffic plan as the ALB and counts per color.
 * The engine is tested end to end through the local adapters, and each AWS adapter against
 * recorded SDK shapes or mocks.
 */
import type { Color } from "../traffic";

/** A routing: which color is live and what share the standby takes (as in stack config). */
export interface Routing {
  readonly activeColor: Color;
  /** Percent (0-100) of traffic to the standby color. */
  readonly canaryPercent: number;
}

/** Applies and reads the listener weights. */
export interface TrafficPort {
  /** The routing in effect now (what is deployed). */
  current(): Promise<Routing>;
  /**
   * Applies `routing` and resolves once it is in effect (verified, as Argo Rollouts verifies
   * ALB weights before it counts a step). Rejects if it could not be applied.
   */
  apply(routing: Routing): Promise<void>;
}

/** What one color served in one analysis window. */
export interface ColorWindow {
  /** Requests that reached the color's targets. */
  readonly requests: number;
  /** Of those, answers with a 5xx status from the targets. */
  readonly errors5xx: number;
  /** p99 of the targets' response time in ms; undefined when there were no requests. */
  readonly p99Ms: number | undefined;
  /** Healthy targets at the end of the window; undefined when the source cannot tell. */
  readonly healthyHosts?: number;
}

/** Per-color request metrics over a time window. */
export interface MetricsPort {
  /** What each color served in `[start, end)`. */
  window(start: Date, end: Date): Promise<Readonly<Record<Color, ColorWindow>>>;
}

/** Pod capacity of each color. */
export interface CapacityPort {
  /** Pods of `color` that are Ready now. */
  readyReplicas(color: Color): Promise<number>;
  /** Makes `color` run at least `replicas` Ready pods, resolving when they are Ready. */
  ensureAtLeast(color: Color, replicas: number): Promise<void>;
}

/** One golden-set case: a request and the outputs it must produce. */
export interface GoldenCase {
  /** Open Inference Protocol v2 inference request body. */
  readonly request: unknown;
  /** Expected outputs by name: flat data in row-major order. */
  readonly expected: Readonly<Record<string, readonly (number | string | boolean)[]>>;
}

/** One golden case as the receiving color answered it. */
export interface GoldenAnswer {
  /** HTTP status of the answer. */
  readonly status: number;
  /** Outputs by name (flat data), as answered; empty when the status was not 200. */
  readonly outputs: Readonly<Record<string, readonly (number | string | boolean)[]>>;
}

/** Sends the golden set to one color only (the preview route), never to live traffic. */
export interface GoldenPort {
  /** The golden set stored with `modelVersion` in the registry; empty when it has none. */
  cases(modelVersion: string): Promise<readonly GoldenCase[]>;
  /** Sends each case to `color` through the preview route, in order. */
  send(color: Color, cases: readonly GoldenCase[]): Promise<readonly GoldenAnswer[]>;
}

/** What a running rollout writes down so that a killed run is detected and undone by the next. */
export interface RolloutRecord {
  /** The routing that was deployed when the rollout started: what an abort restores. */
  readonly from: Routing;
  /** The routing the rollout walks to (the committed config). */
  readonly to: Routing;
  /** ISO-8601 time the rollout started. */
  readonly startedAt: string;
}

/** Durable rollout record (one per stack). */
export interface RecordPort {
  read(): Promise<RolloutRecord | undefined>;
  write(record: RolloutRecord): Promise<void>;
  clear(): Promise<void>;
}

/** Time, injectable so the engine's tests control it. */
export interface Clock {
  now(): Date;
  /** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Everything the engine talks to. */
export interface RolloutPorts {
  readonly traffic: TrafficPort;
  readonly metrics: MetricsPort;
  readonly capacity: CapacityPort;
  readonly golden: GoldenPort;
  readonly record: RecordPort;
  readonly clock: Clock;
}
