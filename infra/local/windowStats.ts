/**
 * Per-color request samples and the window summary the rollout analyses (the local stand-in for
 * the ALB's per-target-group RequestCount, HTTPCode_Target_5XX_Count and TargetResponseTime p99).
 */
import { COLORS, type Color } from "../traffic";
import type { ColorWindow } from "../rollout/ports";

/** One answered request. */
interface Sample {
  /** When the request arrived (ms since the epoch): it belongs to the window holding this time. */
  readonly at: number;
  readonly status: number;
  /** Time to the last byte of the answer, ms. */
  readonly ms: number;
}

/** Nearest-rank percentile of `values` (sorted ascending), or undefined when empty. */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Samples per color, kept for `retentionMs`. */
export class WindowStats {
  private readonly samples: Record<Color, Sample[]> = { blue: [], green: [] };

  /** @param retentionMs How long samples are kept. Default: one hour. */
  constructor(private readonly retentionMs = 3_600_000) {}

  add(color: Color, at: number, status: number, ms: number): void {
    const list = this.samples[color];
    list.push({ at, status, ms });
    // Samples arrive in roughly arrival order; drop the expired head now and then.
    if (list.length % 1024 === 0) {
      const cutoff = at - this.retentionMs;
      const keep = list.findIndex((s) => s.at >= cutoff);
      if (keep > 0) list.splice(0, keep);
    }
  }

  /** What each color served for requests that arrived in `[start, end)` (ms since the epoch). */
  window(start: number, end: number): Record<Color, ColorWindow> {
    const out = {} as Record<Color, ColorWindow>;
    for (const color of COLORS) {
      const inWindow = this.samples[color].filter((s) => s.at >= start && s.at < end);
      const latencies = inWindow.map((s) => s.ms).sort((a, b) => a - b);
      out[color] = {
        requests: inWindow.length,
        errors5xx: inWindow.filter((s) => s.status >= 500).length,
        p99Ms: roundMs(percentile(latencies, 99)),
      };
    }
    return out;
  }
}

/** Microsecond precision is all a p99 needs. */
function roundMs(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms * 1000) / 1000;
}
