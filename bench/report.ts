/** Plain-text tables and number formatting for the benchmark's output (Markdown-compatible). */
import type { LoadResult } from "./load";

/** A Markdown table: header row, alignment row, then rows; numbers right-aligned. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const numeric = header.map(
    (_, i) => rows.length > 0 && rows.every((r) => /^[-+]?[\d.,]+\s*%?$|^—$/.test(r[i])),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (numeric[i] ? `${"-".repeat(w + 1)}:` : `${"-".repeat(w + 2)}`)).join("|")}|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}

/** An integer with thousands separators. */
export function int(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** A fixed-decimals number. */
export function fixed(n: number, digits = 2): string {
  return n.toFixed(digits);
}

/** A ratio as a percentage. */
export function pct(ratio: number): string {
  return `${(ratio * 100).toFixed(0)}%`;
}

/** "PASS"/"FAIL". */
export function verdict(ok: boolean): string {
  return ok ? "PASS" : "FAIL";
}

/** Header cells matching {@link cpuCells}. */
export const CPU_HEADER = ["server CPU µs/req", "CPU server", "CPU loadgen", "CPU others"] as const;

/** Server CPU per request, and cores used by the server, the load generator and everything else. */
export function cpuCells(result: LoadResult): string[] {
  const { cpu } = result;
  if (!cpu) return ["—", "—", "—", "—"];
  return [
    fixed(result.serverCpuUsPerRequest ?? 0, 0),
    fixed(cpu.server),
    fixed(cpu.generator),
    fixed(cpu.others),
  ];
}

/** The common cells of a load row: throughput, latency and failures. */
export function loadCells(result: LoadResult): string[] {
  return [
    int(result.requestsPerSecond),
    fixed(result.p50Ms),
    fixed(result.p99Ms),
    String(result.errors),
    String(result.non2xx),
  ];
}

/** The middle value (the mean of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** "lowest-highest" of the values, each written by `format`; "—" when there are none. */
export function range(values: readonly number[], format: (value: number) => string): string {
  if (values.length === 0) return "—";
  return `${format(Math.min(...values))}-${format(Math.max(...values))}`;
}
