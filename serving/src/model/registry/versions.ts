/**
 * Semantic-version ordering (semver.org section 11) for listing versions: numeric
 * major.minor.patch, a pre-release sorts before its release, pre-release identifiers compare
 * numerically when both are numbers and as strings otherwise. Build metadata (`+...`) has no
 * precedence; versions differing only in it are ordered by it as text, so a listing is stable.
 */
export function compareVersions(a: string, b: string): number {
  const precedence = comparePrecedence(a.split("+")[0], b.split("+")[0]);
  if (precedence !== 0) return precedence;
  const [buildA = "", buildB = ""] = [a.split("+")[1], b.split("+")[1]];
  return buildA < buildB ? -1 : buildA > buildB ? 1 : 0;
}

function comparePrecedence(a: string, b: string): number {
  const [coreA, preA] = splitVersion(a);
  const [coreB, preB] = splitVersion(b);
  for (let i = 0; i < 3; i++) {
    const d = (coreA[i] ?? 0) - (coreB[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  if (preA === undefined || preB === undefined) {
    return preA === preB ? 0 : preA === undefined ? 1 : -1;
  }
  const idsA = preA.split(".");
  const idsB = preB.split(".");
  for (let i = 0; i < Math.min(idsA.length, idsB.length); i++) {
    const d = compareIdentifier(idsA[i], idsB[i]);
    if (d !== 0) return d;
  }
  return Math.sign(idsA.length - idsB.length);
}

function splitVersion(v: string): [number[], string | undefined] {
  const dash = v.indexOf("-");
  const core = dash === -1 ? v : v.slice(0, dash);
  return [core.split(".").map(Number), dash === -1 ? undefined : v.slice(dash + 1)];
}

function compareIdentifier(a: string, b: string): number {
  const numA = /^\d+$/.test(a);
  const numB = /^\d+$/.test(b);
  if (numA && numB) return Math.sign(Number(a) - Number(b));
  if (numA !== numB) return numA ? -1 : 1; // numeric identifiers sort before alphanumeric ones
  return a < b ? -1 : a > b ? 1 : 0;
}
