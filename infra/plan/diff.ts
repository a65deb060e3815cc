/**
 * Differences between two evaluations of the program: which resources were added, removed or
 * changed, and for a changed one which input properties, as paths with their old and new values.
 * Pure: it compares plain recorded values, so it is tested without the Pulumi runtime.
 */

/** What the diff needs to know about one recorded resource. */
export interface PlannedResource {
  /** Type token, e.g. `kubernetes:apps/v1:Deployment`. */
  readonly type: string;
  /** Logical name. */
  readonly name: string;
  /** Unique key (the URN); resources are matched across evaluations by it. */
  readonly urn: string;
  /** Resolved input properties. */
  readonly inputs: Readonly<Record<string, unknown>>;
  /** Resource options; `ignoreChanges` paths are left out of the diff, as `pulumi preview` does. */
  readonly options?: { readonly ignoreChanges?: readonly string[] };
}

export type ChangeKind = "added" | "removed" | "changed";

/** One differing property: `path` like `spec.template.spec.containers[name=server].image`. */
export interface PropertyChange {
  readonly path: string;
  readonly kind: ChangeKind;
  readonly old?: unknown;
  readonly new?: unknown;
}

export interface ResourceChange {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly changes: readonly PropertyChange[];
}

export interface PlanDiff {
  readonly added: readonly PlannedResource[];
  readonly removed: readonly PlannedResource[];
  readonly changed: readonly ResourceChange[];
  /** Differences left out because the resource ignores those paths (`ignoreChanges`). */
  readonly ignored: readonly ResourceChange[];
  readonly unchanged: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Arrays of objects that each carry a unique string `name` (containers, env, ports, volumes)
 * are matched by name, like Kubernetes merge keys, so inserting one env var shows as one
 * addition instead of a shift of every later index.
 */
function nameKeyed(arr: readonly unknown[]): Map<string, unknown> | undefined {
  if (arr.length === 0) return undefined;
  const map = new Map<string, unknown>();
  for (const item of arr) {
    if (!isObject(item) || typeof item.name !== "string" || map.has(item.name)) return undefined;
    map.set(item.name, item);
  }
  return map;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
function join(path: string, key: string): string {
  if (IDENT.test(key)) return path ? `${path}.${key}` : key;
  return `${path}[${JSON.stringify(key)}]`;
}

/** Every leaf-level difference between two plain values, depth first, in key order. */
export function diffValues(before: unknown, after: unknown, path = ""): PropertyChange[] {
  if (before === undefined && after === undefined) return [];
  if (before === undefined) return [{ path, kind: "added", new: after }];
  if (after === undefined) return [{ path, kind: "removed", old: before }];
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => diffValues(before[k], after[k], join(path, k)));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const [mb, ma] = [nameKeyed(before), nameKeyed(after)];
    if (mb && ma) {
      const names = [...new Set([...mb.keys(), ...ma.keys()])];
      return names.flatMap((n) => diffValues(mb.get(n), ma.get(n), `${path}[name=${n}]`));
    }
    const n = Math.max(before.length, after.length);
    return Array.from({ length: n }, (_, i) => diffValues(before[i], after[i], `${path}[${i}]`)).flat();
  }
  return Object.is(before, after) ? [] : [{ path, kind: "changed", old: before, new: after }];
}

/**
 * Compares two evaluations, matching resources by URN. Input paths a resource lists in
 * `ignoreChanges` (in the new evaluation) are not changes, as in `pulumi preview`.
 */
export function diffResources(
  before: readonly PlannedResource[],
  after: readonly PlannedResource[],
): PlanDiff {
  const old = new Map(before.map((r) => [r.urn, r]));
  const now = new Map(after.map((r) => [r.urn, r]));
  const added = after.filter((r) => !old.has(r.urn));
  const removed = before.filter((r) => !now.has(r.urn));
  const changed: ResourceChange[] = [];
  const ignored: ResourceChange[] = [];
  let unchanged = 0;
  for (const r of after) {
    const prev = old.get(r.urn);
    if (!prev) continue;
    const ignoredPaths = r.options?.ignoreChanges ?? [];
    const isIgnored = (c: PropertyChange): boolean =>
      ignoredPaths.some((p) => c.path === p || c.path.startsWith(`${p}.`) || c.path.startsWith(`${p}[`));
    const all = diffValues(prev.inputs, r.inputs);
    const changes = all.filter((c) => !isIgnored(c));
    const skipped = all.filter(isIgnored);
    if (skipped.length > 0) ignored.push({ type: r.type, name: r.name, urn: r.urn, changes: skipped });
    if (changes.length === 0) unchanged++;
    else changed.push({ type: r.type, name: r.name, urn: r.urn, changes });
  }
  return { added, removed, changed, ignored, unchanged };
}

/**
 * The value at a property path in the syntax the diff prints: `a.b`, `a[0]`, `a["x.y"]`, and
 * `a[name=server]` (the element of an array whose `name` is "server"). Undefined when absent.
 */
export function valueAt(value: unknown, path: string): unknown {
  const token = /\.?([A-Za-z_$][A-Za-z0-9_$]*)|\[(\d+)\]|\[name=([^\]]+)\]|\[("(?:[^"\\]|\\.)*")\]/gy;
  let node = value;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while (consumed < path.length && (m = token.exec(path)) !== null) {
    consumed = token.lastIndex;
    if (m[1] !== undefined || m[4] !== undefined) {
      const key = m[1] ?? (JSON.parse(m[4]) as string);
      node = isObject(node) ? node[key] : undefined;
    } else if (m[2] !== undefined) {
      node = Array.isArray(node) ? node[Number(m[2])] : undefined;
    } else {
      const name = m[3];
      node = Array.isArray(node) ? node.find((x) => isObject(x) && x.name === name) : undefined;
    }
  }
  if (consumed !== path.length) throw new Error(`invalid property path ${JSON.stringify(path)}`);
  return node;
}
