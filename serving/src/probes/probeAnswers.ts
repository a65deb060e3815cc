/**
 * What the liveness and readiness endpoints answer, computed from a snapshot of the served
 * models' state. One definition for both places that answer probes: the serving port's routes
 * (health.ts) and the probe listener's thread (probeWorker.ts), which only has a copy of the state.
 */

/** The served models' state as the probes report it. */
export interface ReadinessSnapshot {
  readonly ready: boolean;
  /** The least ready version's state: loading, ready, failed, draining or stopped. */
  readonly state: string;
  /** Why not ready, or "ready". */
  readonly reason: string;
  /** The control model's name and version, once loaded. */
  readonly model?: { readonly name: string; readonly version: string };
}

/** What {@link snapshotOf} reads (ServedModels has it). */
export interface ReadinessSource {
  readonly ready: boolean;
  readonly state: string;
  readonly stateReason: string;
  readonly model?: { readonly manifest: { readonly name: string; readonly version: string } };
}

export function snapshotOf(source: ReadinessSource): ReadinessSnapshot {
  const model = source.model;
  return {
    ready: source.ready,
    state: source.state,
    reason: source.stateReason,
    ...(model ? { model: { name: model.manifest.name, version: model.manifest.version } } : {}),
  };
}

/** The paths that answer probes, in the seed's shape and the Open Inference Protocol's. */
export const PROBE_PATHS = ["/health", "/ready", "/v2/health/live", "/v2/health/ready"] as const;
export type ProbePath = (typeof PROBE_PATHS)[number];

export interface ProbeAnswer {
  readonly statusCode: 200 | 503;
  readonly body: Record<string, unknown>;
}

/**
 * The answer to a probe. `stalledMs`, when given, is how long the serving thread's event loop has
 * not turned (the probe listener's thread measures it): the process is then neither live nor
 * ready, whatever the snapshot says.
 */
export function probeAnswer(path: ProbePath, snapshot: ReadinessSnapshot, stalledMs?: number): ProbeAnswer {
  if (stalledMs !== undefined) {
    const error = `the serving thread's event loop has not turned for ${Math.round(stalledMs)} ms`;
    if (path === "/health" || path === "/ready")
      return { statusCode: 503, body: { status: "stalled", error } };
    if (path === "/v2/health/live") return { statusCode: 503, body: { live: false, error } };
    return { statusCode: 503, body: { ready: false, error } };
  }
  switch (path) {
    case "/health":
      return { statusCode: 200, body: { status: "ok" } };
    case "/v2/health/live":
      return { statusCode: 200, body: { live: true } };
    case "/ready":
      return snapshot.ready && snapshot.model
        ? {
            statusCode: 200,
            body: { status: "ready", model: snapshot.model.name, version: snapshot.model.version },
          }
        : { statusCode: 503, body: { status: snapshot.state, error: snapshot.reason } };
    case "/v2/health/ready":
      return snapshot.ready
        ? { statusCode: 200, body: { ready: true } }
        : { statusCode: 503, body: { ready: false, error: snapshot.reason } };
  }
}
