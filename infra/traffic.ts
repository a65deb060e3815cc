/**
 * Traffic rules for blue/green and canary: pure functions of the typed stack config, with no
 * Pulumi in sight, so every rule is unit-tested as a table and the components only apply them.
 *
 * Vocabulary:
 * - the *active* (live) color takes `100 - canaryPercent` percent of the traffic;
 * - the *standby* color takes `canaryPercent` percent and is what the preview route reaches;
 * - a color is *warm* when it has pods (`replicas > 0`) and a model version to serve.
 */

export const COLORS = ["blue", "green"] as const;
export type Color = (typeof COLORS)[number];

/** What the traffic rules need to know about one color. */
export interface ColorTraffic {
  /** Model version the color serves; empty or absent when the color has none. */
  readonly modelVersion?: string;
  /** Pods the color runs (the HPA's floor); 0 keeps the Deployment but runs nothing. */
  readonly replicas: number;
}

/** The traffic-related slice of the stack config (`StackConfig` satisfies it). */
export interface TrafficConfig {
  /** The live color. */
  readonly activeColor: Color;
  /** Share of traffic (0-100) sent to the standby color. */
  readonly canaryPercent: number;
  readonly blue: ColorTraffic;
  readonly green: ColorTraffic;
}

/** The shutdown timings that must agree so that no request is dropped (issue 9). */
export interface DrainTimings {
  /** Seconds the pod's preStop hook sleeps before the server gets SIGTERM. */
  readonly preStopDelaySeconds: number;
  /** Seconds the server keeps accepting after SIGTERM (readiness already 503). */
  readonly drainDelaySeconds: number;
  /** Seconds the ALB lets a deregistered target finish in-flight requests. */
  readonly deregistrationDelaySeconds: number;
  /** The server's per-request deadline in ms (REQUEST_TIMEOUT_MS). Default: 10000. */
  readonly requestTimeoutMs?: number;
}

/** ALB listener weights per color (0-100; the two always sum to 100). */
export type Weights = Readonly<Record<Color, number>>;

/** Everything the stack derives from the traffic config, after the guards passed. */
export interface TrafficPlan {
  readonly activeColor: Color;
  readonly standbyColor: Color;
  readonly weights: Weights;
  /** Model version of the active color. */
  readonly liveModelVersion: string;
  /** Model version of the standby color; "" when it has none. */
  readonly standbyModelVersion: string;
  /** Shell command restoring the previous routing (see {@link rollbackCommand}). */
  readonly rollbackCommand: string;
}

/** A rule violation in the traffic config; the message names the key and the fix. */
export class TrafficError extends Error {
  override name = "TrafficError";
}

/** The server's default per-request deadline (serving/src/config.ts, REQUEST_TIMEOUT_MS). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** Seconds of slack between the server's forced exit and the kubelet's SIGKILL, and similar. */
export const SHUTDOWN_MARGIN_SECONDS = 5;

/** Shortest preStop delay: the controller's DeregisterTargets call and its propagation. */
export const MIN_PRESTOP_DELAY_SECONDS = 5;

export function isColor(value: unknown): value is Color {
  return value === "blue" || value === "green";
}

/** The color that is not `color`. */
export function otherColor(color: Color): Color {
  return color === "blue" ? "green" : "blue";
}

/** The standby color: the one that is not active. */
export function standbyColor(activeColor: Color): Color {
  return otherColor(activeColor);
}

function versionOf(c: ColorTraffic): string {
  return c.modelVersion ?? "";
}

/** A color can take traffic when it has pods and a model version. */
export function isWarm(c: ColorTraffic): boolean {
  return c.replicas > 0 && versionOf(c) !== "";
}

/**
 * Listener weights: the active color takes `100 - canaryPercent`, the standby `canaryPercent`.
 * Percentages are used as ALB weights directly (the ALB accepts 0-999 per target group).
 */
export function weights(activeColor: Color, canaryPercent: number): Weights {
  if (!isColor(activeColor)) {
    throw new TrafficError(`activeColor must be "blue" or "green", got ${JSON.stringify(activeColor)}`);
  }
  if (!Number.isInteger(canaryPercent) || canaryPercent < 0 || canaryPercent > 100) {
    throw new TrafficError(
      `canaryPercent must be an integer from 0 to 100, got ${JSON.stringify(canaryPercent)}`,
    );
  }
  const standby = standbyColor(activeColor);
  return Object.freeze({ [activeColor]: 100 - canaryPercent, [standby]: canaryPercent } as Record<
    Color,
    number
  >);
}

/** One traffic rule: `violated(cfg)` true means `message(cfg)` is reported. */
interface Rule<T> {
  readonly violated: (cfg: T) => boolean;
  readonly message: (cfg: T) => string;
}

const setPath = (key: string, value: string | number): string => `pulumi config set --path ${key} ${value}`;
const set = (key: string, value: string | number): string => `pulumi config set ${key} ${value}`;

/**
 * Guards: no traffic (live or canary) to a color without pods or a model version, and no pods
 * without a model version. Each message names the key, the value received and the fix.
 */
export const TRAFFIC_RULES: readonly Rule<TrafficConfig>[] = [
  {
    violated: (c) => c[c.activeColor].replicas <= 0,
    message: (c) =>
      `activeColor is "${c.activeColor}" but ${c.activeColor}.replicas is ${c[c.activeColor].replicas}: ` +
      `the live color needs pods. Fix: \`${setPath(`${c.activeColor}.replicas`, 1)}\` ` +
      `(and a model version), or \`${set("activeColor", otherColor(c.activeColor))}\`.`,
  },
  {
    violated: (c) => versionOf(c[c.activeColor]) === "",
    message: (c) =>
      `activeColor is "${c.activeColor}" but ${c.activeColor}.modelVersion is not set: ` +
      `the live color must serve a model. Fix: \`${setPath(`${c.activeColor}.modelVersion`, "<version>")}\` ` +
      `(a version pushed with \`npm run model -- push\`), or \`${set("activeColor", otherColor(c.activeColor))}\`.`,
  },
  {
    violated: (c) => c.canaryPercent > 0 && c[standbyColor(c.activeColor)].replicas <= 0,
    message: (c) => {
      const s = standbyColor(c.activeColor);
      return (
        `canaryPercent is ${c.canaryPercent} but the standby color ${s} has ${s}.replicas ${c[s].replicas}: ` +
        `canary traffic would have no pods to reach. Fix: \`${setPath(`${s}.replicas`, 1)}\` ` +
        `and \`pulumi up\` first, or \`${set("canaryPercent", 0)}\`.`
      );
    },
  },
  {
    violated: (c) => c.canaryPercent > 0 && versionOf(c[standbyColor(c.activeColor)]) === "",
    message: (c) => {
      const s = standbyColor(c.activeColor);
      return (
        `canaryPercent is ${c.canaryPercent} but the standby color ${s} has no ${s}.modelVersion: ` +
        `canary traffic needs a model to reach. Fix: \`${setPath(`${s}.modelVersion`, "<version>")}\` ` +
        `and \`pulumi up\` first, or \`${set("canaryPercent", 0)}\`.`
      );
    },
  },
  ...COLORS.map((color): Rule<TrafficConfig> => ({
    violated: (c) => c[color].replicas > 0 && versionOf(c[color]) === "",
    message: (c) =>
      `${color}.replicas is ${c[color].replicas} but ${color}.modelVersion is not set: ` +
      `its pods would have no model to load. Fix: \`${setPath(`${color}.modelVersion`, "<version>")}\`, ` +
      `or \`${setPath(`${color}.replicas`, 0)}\`.`,
  })),
];

/**
 * Timing rules. A pod leaving a target group goes through: deletion -> the controller
 * deregisters it (the ALB stops sending new requests within seconds) -> preStop sleep ->
 * SIGTERM -> the server keeps accepting for drainDelay, then closes its listener -> in-flight
 * requests finish within requestTimeout. The last request the pod can accept arrives at
 * preStop + drain and ends by preStop + drain + requestTimeout; the ALB must still be draining
 * (not closing connections) then, so the deregistration delay covers that whole window.
 */
export const DRAIN_RULES: readonly Rule<DrainTimings>[] = [
  {
    violated: (t) => t.preStopDelaySeconds < MIN_PRESTOP_DELAY_SECONDS,
    message: (t) =>
      `preStopDelaySeconds must be at least ${MIN_PRESTOP_DELAY_SECONDS} (the time the load balancer ` +
      `controller needs to deregister a terminating pod before it stops serving), got ${t.preStopDelaySeconds}`,
  },
  {
    violated: (t) => t.deregistrationDelaySeconds < minDeregistrationDelaySeconds(t),
    message: (t) =>
      `deregistrationDelaySeconds (${t.deregistrationDelaySeconds}) must be at least preStopDelaySeconds ` +
      `(${t.preStopDelaySeconds}) + drainDelaySeconds (${t.drainDelaySeconds}) + the server's request ` +
      `timeout (${requestTimeoutSeconds(t)}) = ${minDeregistrationDelaySeconds(t)}, so the ALB keeps a ` +
      `draining pod's connections open until its last request has finished. Fix: ` +
      `\`${set("deregistrationDelaySeconds", minDeregistrationDelaySeconds(t))}\`, or lower ` +
      `preStopDelaySeconds/drainDelaySeconds.`,
  },
];

function requestTimeoutSeconds(t: Pick<DrainTimings, "requestTimeoutMs">): number {
  return Math.ceil((t.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS) / 1000);
}

/** The shortest deregistration delay that drops no request: preStop + drain + request timeout. */
export function minDeregistrationDelaySeconds(t: DrainTimings): number {
  return t.preStopDelaySeconds + t.drainDelaySeconds + requestTimeoutSeconds(t);
}

/**
 * SHUTDOWN_TIMEOUT_SECONDS for the server: measured from SIGTERM, it covers the drain delay and
 * one full request timeout, plus a margin, before the server forces its exit.
 */
export function shutdownTimeoutSeconds(
  t: Pick<DrainTimings, "drainDelaySeconds" | "requestTimeoutMs">,
): number {
  return t.drainDelaySeconds + requestTimeoutSeconds(t) + SHUTDOWN_MARGIN_SECONDS;
}

/**
 * The pod's terminationGracePeriodSeconds: the kubelet's clock starts before preStop, so it is
 * preStop + the server's shutdown timeout + a margin; the server always exits on its own first.
 */
export function terminationGracePeriodSeconds(
  t: Pick<DrainTimings, "preStopDelaySeconds" | "drainDelaySeconds" | "requestTimeoutMs">,
): number {
  return t.preStopDelaySeconds + shutdownTimeoutSeconds(t) + SHUTDOWN_MARGIN_SECONDS;
}

/** Every violated traffic rule's message, in rule order (empty when the config is routable). */
export function trafficViolations(cfg: TrafficConfig): string[] {
  // weights() validates activeColor and canaryPercent themselves; report that first.
  weights(cfg.activeColor, cfg.canaryPercent);
  return TRAFFIC_RULES.filter((r) => r.violated(cfg)).map((r) => r.message(cfg));
}

/** Every violated timing rule's message (empty when the timings agree). */
export function drainViolations(t: DrainTimings): string[] {
  return DRAIN_RULES.filter((r) => r.violated(t)).map((r) => r.message(t));
}

function throwIfAny(problems: readonly string[]): void {
  if (problems.length === 1) throw new TrafficError(problems[0]);
  if (problems.length > 1) throw new TrafficError(`${problems.length} problems:\n- ${problems.join("\n- ")}`);
}

/** Throws one TrafficError listing every violated traffic rule. */
export function assertTrafficAllowed(cfg: TrafficConfig): void {
  throwIfAny(trafficViolations(cfg));
}

/** Throws one TrafficError listing every violated timing rule. */
export function assertDrainTimings(t: DrainTimings): void {
  throwIfAny(drainViolations(t));
}

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/;

/**
 * Compares two semantic versions (`1.2.3`, optional pre-release); negative, 0 or positive like
 * a sort comparator, or undefined when either is not a semantic version.
 */
export function compareVersions(a: string, b: string): number | undefined {
  const ma = SEMVER.exec(a);
  const mb = SEMVER.exec(b);
  if (!ma || !mb) return undefined;
  for (let i = 1; i <= 3; i++) {
    const d = Number(ma[i]) - Number(mb[i]);
    if (d !== 0) return Math.sign(d);
  }
  const [pa, pb] = [ma[4], mb[4]];
  if (pa === pb) return 0;
  if (pa === undefined) return 1; // a release sorts after its pre-releases
  if (pb === undefined) return -1;
  return comparePrerelease(pa, pb);
}

function comparePrerelease(a: string, b: string): number {
  const xs = a.split(".");
  const ys = b.split(".");
  for (let i = 0; i < Math.max(xs.length, ys.length); i++) {
    const [x, y] = [xs[i], ys[i]];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    const [nx, ny] = [/^\d+$/.test(x), /^\d+$/.test(y)];
    if (nx && ny && Number(x) !== Number(y)) return Math.sign(Number(x) - Number(y));
    if (nx !== ny) return nx ? -1 : 1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

/** Options for {@link rollbackCommand}. */
export interface RollbackOptions {
  /** Stack name appended as `--stack <name>` to every command. Default: none (current stack). */
  readonly stack?: string;
}

function shellWord(s: string): string {
  return /^[A-Za-z0-9._\-/]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The command that restores the previous routing, decided from the current config alone:
 *
 * 1. A canary is running (`canaryPercent > 0`): the previous routing is the active color at
 *    100%, so set `canaryPercent` back to 0. The active color never stopped serving.
 * 2. No canary and the standby color is warm: the last traffic step was a flip, and the
 *    standby is the color traffic came from; it still has its pods, so send 100% back to it
 *    (activeColor = standby, canaryPercent = 0). This is the one step that undoes a flip.
 * 3. Exception to 2: when the standby's model version is *newer* than the live one (semver),
 *    the standby is a staged candidate that never took full traffic (or the version that was
 *    just rolled back), so there is no routing to restore: the result is a shell comment that
 *    says so and names the command to use if the standby really was live before.
 * 4. The standby is not warm (no replicas or no model version): there is no warm color to
 *    return to; a shell comment says so.
 *
 * Comments start with `#`, so pasting the output into a shell never moves traffic by mistake.
 * Commands end with `pulumi up`, which still shows the preview and asks before changing anything.
 */
export function rollbackCommand(cfg: TrafficConfig, options: RollbackOptions = {}): string {
  const stackFlag = options.stack ? ` --stack ${shellWord(options.stack)}` : "";
  const run = (...cmds: string[]): string => [...cmds, "pulumi up"].map((c) => c + stackFlag).join(" && ");
  const active = cfg.activeColor;
  const standby = standbyColor(active);
  if (cfg.canaryPercent > 0) return run(set("canaryPercent", 0));
  const flipBack = run(set("activeColor", standby), set("canaryPercent", 0));
  if (!isWarm(cfg[standby])) {
    return (
      `# nothing to roll back to: ${active} serves 100% and the standby ${standby} is not warm ` +
      `(${standby}.replicas ${cfg[standby].replicas}, ${standby}.modelVersion ` +
      `${JSON.stringify(versionOf(cfg[standby]))})`
    );
  }
  const order = compareVersions(versionOf(cfg[standby]), versionOf(cfg[active]));
  if (order !== undefined && order > 0) {
    return (
      `# nothing to roll back: ${active} (${versionOf(cfg[active])}) serves 100% and ${standby} ` +
      `(${versionOf(cfg[standby])}, newer) is staged, not previous. If ${standby} was live before, run: ${flipBack}`
    );
  }
  return flipBack;
}

/** Runs every guard (traffic and timings) and derives the routing and its outputs. */
export function planTraffic(cfg: TrafficConfig & DrainTimings, options: RollbackOptions = {}): TrafficPlan {
  throwIfAny([...trafficViolations(cfg), ...drainViolations(cfg)]);
  const standby = standbyColor(cfg.activeColor);
  return Object.freeze({
    activeColor: cfg.activeColor,
    standbyColor: standby,
    weights: weights(cfg.activeColor, cfg.canaryPercent),
    liveModelVersion: versionOf(cfg[cfg.activeColor]),
    standbyModelVersion: versionOf(cfg[standby]),
    rollbackCommand: rollbackCommand(cfg, options),
  });
}
