/**
 * Renders a plan (resource diff + output diff + warnings) as text for a terminal or a PR comment.
 */
import { COLOR_LABEL } from "../components/servingColor";
import { COLORS, type Color } from "../traffic";
import { diffValues, type PlanDiff, type PlannedResource, type PropertyChange } from "./diff";

export interface PlanReport {
  readonly stack: string;
  readonly overrides: Readonly<Record<string, unknown>>;
  /** Changes applied to both sides (`--base`). Default: none. */
  readonly baseOverrides?: Readonly<Record<string, unknown>>;
  readonly diff: PlanDiff;
  /** Differences between the stack outputs, as property changes (path = output name). */
  readonly outputs: readonly PropertyChange[];
  readonly warnings: readonly string[];
}

/** Output names whose values are never printed. */
const SECRET_OUTPUTS = new Set(["kubeconfig", "previewToken"]);

/** Differences between two output objects; secret outputs show as "[secret]". */
export function diffOutputs(
  before: Readonly<Record<string, unknown>>,
  after: Readonly<Record<string, unknown>>,
): PropertyChange[] {
  return diffValues(before, after).map((c) => {
    const root = c.path.split(/[.[]/)[0];
    if (!SECRET_OUTPUTS.has(root)) return c;
    return {
      ...c,
      ...(c.old !== undefined ? { old: "[secret]" } : {}),
      ...(c.new !== undefined ? { new: "[secret]" } : {}),
    };
  });
}

function colorOf(r: { inputs: Readonly<Record<string, unknown>> }): Color | undefined {
  const metadata = r.inputs.metadata as { labels?: Record<string, unknown> } | undefined;
  const c = metadata?.labels?.[COLOR_LABEL];
  return COLORS.find((x) => x === c);
}

/**
 * Warnings a reviewer should see: a changed Deployment of a color that receives live traffic
 * after the change is rolled in place (rolling update with readiness gates), not staged on the
 * standby color and flipped.
 */
export function planWarnings(
  diff: PlanDiff,
  after: readonly PlannedResource[],
  weightsAfter: Readonly<Record<string, unknown>> | undefined,
): string[] {
  const byUrn = new Map(after.map((r) => [r.urn, r]));
  const warnings: string[] = [];
  for (const change of diff.changed) {
    if (change.type !== "kubernetes:apps/v1:Deployment") continue;
    const resource = byUrn.get(change.urn);
    const color = resource && colorOf(resource);
    const weight = color ? weightsAfter?.[color] : undefined;
    if (color && typeof weight === "number" && weight > 0) {
      warnings.push(
        `the ${color} Deployment changes while ${color} receives ${weight}% of live traffic: its pods are ` +
          `replaced in place by a rolling update (maxUnavailable 0, readiness gates), mixing versions ` +
          `until it completes. To release without that, stage the change on the standby color and flip.`,
      );
    }
  }
  for (const change of diff.ignored) {
    for (const c of change.changes) {
      warnings.push(
        `${change.name}: ${c.path} ${show(c.old)} -> ${show(c.new)} is not applied: the resource ignores ` +
          `changes to it after creation (ignoreChanges${change.type === "aws:eks/nodeGroup:NodeGroup" ? "; the Cluster Autoscaler owns a node group's desired size" : ""}).`,
      );
    }
  }
  return warnings;
}

/** JSON of a value; structured values longer than 160 characters are cut, strings never. */
function show(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return typeof v !== "string" && s.length > 160 ? `${s.slice(0, 157)}...` : s;
}

function line(c: PropertyChange): string {
  switch (c.kind) {
    case "added":
      return `+ ${c.path}: ${show(c.new)}`;
    case "removed":
      return `- ${c.path}: ${show(c.old)}`;
    case "changed":
      return `~ ${c.path}: ${show(c.old)} -> ${show(c.new)}`;
  }
}

/** Config assignments as the command line spells them: `key=value key=value`. */
export function formatAssignments(assignments: Readonly<Record<string, unknown>>): string {
  return Object.entries(assignments)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
}

/** The plan as text. */
export function formatPlan(report: PlanReport): string {
  const { diff } = report;
  const base = report.baseOverrides ?? {};
  const onTopOf = Object.keys(base).length > 0 ? `, on top of ${formatAssignments(base)}` : "";
  const out: string[] = [
    `Plan for stack "${report.stack}" with ${formatAssignments(report.overrides) || "this checkout's code"}${onTopOf}`,
    "(the program was evaluated twice under Pulumi's mock runtime: no cloud calls, no credentials)",
    "",
  ];
  const total = diff.added.length + diff.removed.length + diff.changed.length;
  if (total === 0) {
    out.push("Resources: no changes");
  } else {
    out.push("Resources:");
    for (const r of diff.added) out.push(`  + ${r.type}  ${r.name}  (create)`);
    for (const r of diff.removed) out.push(`  - ${r.type}  ${r.name}  (delete)`);
    for (const r of diff.changed) {
      out.push(`  ~ ${r.type}  ${r.name}  (update)`);
      for (const c of r.changes) out.push(`      ${line(c)}`);
    }
  }
  out.push("");
  if (report.outputs.length === 0) {
    out.push("Outputs: no changes");
  } else {
    out.push("Outputs:");
    for (const c of report.outputs) out.push(`  ${line(c)}`);
  }
  if (report.warnings.length > 0) {
    out.push("", "Warnings:");
    for (const w of report.warnings) out.push(`  ! ${w}`);
  }
  out.push(
    "",
    `Summary: ${diff.added.length} to create, ${diff.changed.length} to update, ` +
      `${diff.removed.length} to delete, ${diff.unchanged} unchanged`,
  );
  return out.join("\n");
}
