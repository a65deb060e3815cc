/**
 * The one mock harness: evaluates the whole program under Pulumi's mock runtime and returns every
 * resource it registered (type, name, inputs, dependencies, parent) and the stack outputs. Tests
 * and `npm run plan` both use it.
 *
 * Several evaluations in one process are supported and are how `npm run plan` diffs two configs:
 * each evaluation installs a fresh mock monitor with `setMocks` (which resets the runtime's
 * per-deployment settings and its URN table), sets the stack config, runs `createStack` inside a
 * `pulumi:pulumi:Stack` root with `runInPulumiStack`, then waits until the runtime has no
 * registration left in flight. Evaluations are serialized (the runtime's settings are
 * process-global), so callers may fire them concurrently. Running each evaluation in a child
 * process was the fallback; it is not needed, and in-process evaluations share the ~3 s it takes
 * to load the provider SDKs.
 *
 * Dependencies are recorded from the registration requests themselves: `dependsOn` holds every
 * URN the engine would wait for before creating the resource (explicit `dependsOn`, expanded to a
 * component's children, plus the resources its inputs came from), exactly as a real deployment
 * orders them.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, loadConfig, PROJECT_NAME, type RawConfig, type StackConfig } from "../config";
import { createStack } from "../stack";
import { DEFAULT_MOCK_ENVIRONMENT, mockInvoke, mockResourceOutputs, type MockEnvironment } from "./mocks";
import { applyOverrides, readStackConfig } from "./stackFiles";

export { REPO_ROOT } from "../paths";
export { applyOverrides, readStackConfig } from "./stackFiles";
export { DEFAULT_MOCK_ENVIRONMENT, mockInvoke, mockResourceOutputs, stableHex } from "./mocks";
export type { MockEnvironment } from "./mocks";

/** One resource the program registered, with plain (resolved) values. */
export interface RecordedResource {
  /** Type token, e.g. "aws:eks/nodeGroup:NodeGroup". */
  readonly type: string;
  /** Logical name. */
  readonly name: string;
  /** URN (unique per evaluation; stable across evaluations of the same program). */
  readonly urn: string;
  /** Physical id the mocks assigned ("" for components). */
  readonly id: string;
  /** True for provider-managed (custom) resources, false for components. */
  readonly custom: boolean;
  /** URN of the parent ("" at the root). */
  readonly parent: string;
  /** URNs the engine waits for before creating this resource (explicit and from inputs). */
  readonly dependsOn: readonly string[];
  /** Per input property, the URNs its value came from. */
  readonly propertyDependencies: Readonly<Record<string, readonly string[]>>;
  /** The resource's inputs: secrets unwrapped, assets as `{ asset, path | text | uri }`, resources as URNs. */
  readonly inputs: Readonly<Record<string, unknown>>;
  /** Top-level input properties whose value was a secret. */
  readonly secretInputs: readonly string[];
  /** The state the mocks returned (inputs plus computed outputs). */
  readonly state: Readonly<Record<string, unknown>>;
  /** Resource options that matter for safety reviews. */
  readonly options: {
    readonly protect: boolean;
    readonly retainOnDelete: boolean;
    readonly deleteBeforeReplace: boolean;
    readonly ignoreChanges: readonly string[];
    readonly replaceOnChanges: readonly string[];
    readonly provider: string;
  };
}

/** Options of one evaluation. */
export interface EvaluateOptions {
  /** Stack name the runtime reports (`pulumi.getStack()`). Default: the stack file's name, or "dev". */
  readonly stack?: string;
  /**
   * The program to run. Default `createStack(loadConfig(), { repoRoot })`. Pass e.g. a function
   * that requires infra/index.ts to evaluate the entry point itself (its exports become the outputs).
   */
  readonly program?: () => Record<string, unknown>;
  /** Repository root handed to createStack (build context, bundled model). Default: this repository. */
  readonly repoRoot?: string;
  /** Fake account/region/partition. Default {@link DEFAULT_MOCK_ENVIRONMENT} with the config's region. */
  readonly environment?: Partial<MockEnvironment>;
}

/** The recorded result of one evaluation, with lookups that name what is missing. */
export class StackEvaluation {
  constructor(
    /** Every registered resource, in registration order. */
    readonly resources: readonly RecordedResource[],
    /** Stack outputs (what infra/index.ts exports), fully resolved. */
    readonly outputs: Readonly<Record<string, unknown>>,
    /** The parsed config the program ran with. */
    readonly config: StackConfig,
  ) {}

  /** All resources of a type, optionally filtered by logical name (exact or pattern). */
  all(type: string, name?: string | RegExp): RecordedResource[] {
    return this.resources.filter(
      (r) =>
        r.type === type &&
        (name === undefined || (typeof name === "string" ? r.name === name : name.test(r.name))),
    );
  }

  /** The single resource of a type (and name); throws naming the candidates otherwise. */
  one(type: string, name?: string | RegExp): RecordedResource {
    const found = this.all(type, name);
    if (found.length === 1) return found[0];
    const candidates = this.all(type)
      .map((r) => r.name)
      .sort();
    throw new Error(
      `expected exactly one ${type}${name === undefined ? "" : ` named ${String(name)}`}, found ${found.length}` +
        (candidates.length > 0
          ? ` (resources of that type: ${candidates.join(", ")})`
          : " (none of that type)"),
    );
  }

  /** The resource with this URN; throws if none. */
  byUrn(urn: string): RecordedResource {
    const r = this.resources.find((x) => x.urn === urn);
    if (!r) throw new Error(`no resource with URN ${urn}`);
    return r;
  }

  /** Resources whose parent is `parent`. */
  childrenOf(parent: RecordedResource): RecordedResource[] {
    return this.resources.filter((r) => r.parent === parent.urn);
  }

  /** True when `resource` (transitively) waits for `dependency` before it is created. */
  dependsOn(resource: RecordedResource, dependency: RecordedResource): boolean {
    const seen = new Set<string>();
    const stack = [...resource.dependsOn];
    while (stack.length > 0) {
      const urn = stack.pop() as string;
      if (urn === dependency.urn) return true;
      if (seen.has(urn)) continue;
      seen.add(urn);
      const r = this.resources.find((x) => x.urn === urn);
      if (r) stack.push(...r.dependsOn);
    }
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Wire values -> plain values
// ---------------------------------------------------------------------------------------------

/** Converts a registration's wire values (protobuf Struct as JS) to plain values. */
export function plainValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plainValue);
  if (value === pulumi.runtime.unknownValue) return "<unknown>";
  if (typeof value !== "object" || value === null) return value;
  const obj = value as Record<string, unknown>;
  switch (obj[pulumi.runtime.specialSigKey]) {
    case pulumi.runtime.specialSecretSig:
      return plainValue(obj.value);
    case pulumi.runtime.specialAssetSig:
      return obj.path !== undefined
        ? { asset: "file", path: obj.path }
        : obj.text !== undefined
          ? { asset: "string", text: obj.text }
          : { asset: "remote", uri: obj.uri };
    case pulumi.runtime.specialArchiveSig:
      return obj.path !== undefined ? { archive: "file", path: obj.path } : { archive: "other" };
    case pulumi.runtime.specialResourceSig:
      return obj.urn;
    case pulumi.runtime.specialOutputValueSig:
      return plainValue(obj.value);
    default:
      return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, plainValue(v)]));
  }
}

/** Resolves outputs, promises and resources (to their URNs) inside a value. */
async function resolveDeep(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    const inner = await new Promise<unknown>((resolve) =>
      (value as pulumi.Output<unknown>).apply((v) => resolve(v)),
    );
    return resolveDeep(inner);
  }
  if (value instanceof Promise) return resolveDeep(await value);
  if (pulumi.Resource.isInstance(value)) return resolveDeep(value.urn);
  if (Array.isArray(value)) return Promise.all(value.map(resolveDeep));
  if (typeof value === "object" && value !== null) {
    const entries = await Promise.all(
      Object.entries(value).map(async ([k, v]) => [k, await resolveDeep(v)] as const),
    );
    return Object.fromEntries(entries);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// The monitor tap: records registrations and counts those in flight.
// ---------------------------------------------------------------------------------------------

/** The slice of a RegisterResourceRequest the tap reads. */
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
  getProtect(): boolean | undefined;
  getRetainondelete(): boolean | undefined;
  getDeletebeforereplace(): boolean;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(cb: (v: { getUrnsList(): string[] }, k: string) => void): void };
  getIgnorechangesList(): string[];
  getReplaceonchangesList(): string[];
  getProvider(): string;
}
interface RegisterResponse {
  getUrn(): string;
  getId(): string;
  getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
}
type RegisterCallback = (err: unknown, resp?: RegisterResponse) => void;
interface TappableMonitor {
  registerResource(req: RegisterRequest, cb: RegisterCallback): Promise<void>;
}

class Tap {
  readonly resources: RecordedResource[] = [];
  inFlight = 0;

  install(monitor: TappableMonitor): void {
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
      this.inFlight++;
      return original(req, (err, resp) => {
        try {
          if (!err && resp) this.record(req, resp);
        } finally {
          this.inFlight--;
          cb(err, resp);
        }
      });
    };
  }

  private record(req: RegisterRequest, resp: RegisterResponse): void {
    const propertyDependencies: Record<string, string[]> = {};
    req.getPropertydependenciesMap().forEach((v, k) => {
      propertyDependencies[k] = v.getUrnsList();
    });
    const wireInputs = req.getObject()?.toJavaScript() ?? {};
    const secretInputs = Object.keys(wireInputs).filter((k) => {
      const v = wireInputs[k] as Record<string, unknown> | null;
      return (
        typeof v === "object" &&
        v !== null &&
        v[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig
      );
    });
    this.resources.push({
      type: req.getType(),
      name: req.getName(),
      urn: resp.getUrn(),
      id: resp.getId(),
      custom: req.getCustom(),
      parent: req.getParent(),
      dependsOn: req.getDependenciesList(),
      propertyDependencies,
      inputs: plainValue(wireInputs) as Record<string, unknown>,
      secretInputs,
      state: plainValue(resp.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
      options: {
        protect: req.getProtect() ?? false,
        retainOnDelete: req.getRetainondelete() ?? false,
        deleteBeforeReplace: req.getDeletebeforereplace(),
        ignoreChanges: req.getIgnorechangesList(),
        replaceOnChanges: req.getReplaceonchangesList(),
        provider: req.getProvider(),
      },
    });
  }

  /** Resolves once no registration is in flight for several consecutive turns of the event loop. */
  async settled(): Promise<void> {
    let quietTurns = 0;
    while (quietTurns < 5) {
      await new Promise((resolve) => setImmediate(resolve));
      quietTurns = this.inFlight === 0 ? quietTurns + 1 : 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// evaluateStack
// ---------------------------------------------------------------------------------------------

/** Serializes evaluations: the Pulumi runtime's settings are process-global. */
let queue: Promise<unknown> = Promise.resolve();

/** Config values as the CLI hands them to the program: strings, objects and lists as JSON. */
function toRuntimeConfig(raw: RawConfig, project: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const fullKey = key.includes(":") ? key : `${project}:${key}`;
    out[fullKey] = typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
  }
  return out;
}

/**
 * Evaluates the program under mocks.
 *
 * @param config A stack name (reads `Pulumi.<stack>.yaml`; default "dev") or raw config
 *   (project keys without namespace, plus "aws:region").
 * @param overrides Keys to set on top, e.g. `{ activeColor: "green", "green.modelVersion": "1.1.0" }`.
 * @throws ConfigError when the config is invalid (before any resource is created).
 */
export function evaluateStack(
  config: string | RawConfig = "dev",
  overrides: Readonly<Record<string, unknown>> = {},
  options: EvaluateOptions = {},
): Promise<StackEvaluation> {
  const run = queue.then(() => evaluateOnce(config, overrides, options));
  queue = run.catch(() => undefined);
  return run;
}

async function evaluateOnce(
  config: string | RawConfig,
  overrides: Readonly<Record<string, unknown>>,
  options: EvaluateOptions,
): Promise<StackEvaluation> {
  // The runtime captures a stack trace for every promise and resource (leak diagnostics, source
  // positions); with source maps on (tsx) that dominates an evaluation. Mocks need neither.
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return await evaluateUnderMocks(config, overrides, options);
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
}

async function evaluateUnderMocks(
  config: string | RawConfig,
  overrides: Readonly<Record<string, unknown>>,
  options: EvaluateOptions,
): Promise<StackEvaluation> {
  const stackName = options.stack ?? (typeof config === "string" ? config : "dev");
  const raw = applyOverrides(typeof config === "string" ? readStackConfig(config) : config, overrides);
  const region = typeof raw["aws:region"] === "string" ? raw["aws:region"] : DEFAULT_MOCK_ENVIRONMENT.region;
  const env: MockEnvironment = { ...DEFAULT_MOCK_ENVIRONMENT, region, ...options.environment };

  await pulumi.runtime.setMocks(
    {
      newResource: (args) => mockResourceOutputs(args, env),
      call: (args) => mockInvoke(args, env),
    },
    PROJECT_NAME,
    stackName,
    false, // an update, not a preview: every output is known, so the outputs resolve
  );
  const tap = new Tap();
  tap.install(pulumi.runtime.getMonitor() as unknown as TappableMonitor);
  pulumi.runtime.setAllConfig(toRuntimeConfig(raw, PROJECT_NAME));

  // Parse through the same path as infra/index.ts, so config errors surface exactly as in a preview.
  const cfg = loadConfig();
  let stackOutputs: Record<string, unknown> = {};
  // A program error (a guard, a missing file) is caught here and rethrown after the stack
  // settles: thrown inside the Stack's init it would surface as an unhandled rejection instead.
  let failure: { error: unknown } | undefined;
  await pulumi.runtime.runInPulumiStack(async () => {
    try {
      stackOutputs = {
        ...(options.program ? options.program() : createStack(cfg, { repoRoot: options.repoRoot })),
      };
    } catch (error) {
      failure = { error };
    }
    return stackOutputs;
  });
  await tap.settled();
  if (failure) throw failure.error;
  const outputs = (await resolveDeep(stackOutputs)) as Record<string, unknown>;
  await tap.settled();
  return new StackEvaluation(tap.resources, outputs, cfg);
}

export { ConfigError };
