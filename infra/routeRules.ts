/**
 * Which color one request reaches: the serving listener's rules as a pure function, so the ALB
 * (infra/components/loadBalancer.ts, trafficRouter.ts) and the local router (infra/local/)
 * apply one decision. Header rules are checked first, in priority order, then the weighted
 * forward decides.
 *
 * The header name and values are defined here, and the ALB listener rules (loadBalancer.ts,
 * trafficRouter.ts) take them from this module, which imports nothing of Pulumi.
 */
import { COLORS, standbyColor, weights as weightsOf, type Color } from "./traffic";

/** Request header that routes to one color directly, bypassing the weights. */
export const COLOR_HEADER = "X-Serving-Color";
/** `X-Serving-Color: preview` reaches the standby color. */
export const PREVIEW_HEADER_VALUE = "preview";

/** A listener's routing: the live color and the standby's share (as in stack config). */
export interface RouteState {
  readonly activeColor: Color;
  /** Percent (0-100) of the weighted traffic to the standby color. */
  readonly canaryPercent: number;
}

/**
 * The color a header value pins, or undefined when no header rule matches (the weighted forward
 * decides). As on the ALB, values compare case-insensitively: `preview` -> the standby color,
 * `blue` / `green` -> that color.
 */
export function headerRoute(headerValue: string | undefined, state: RouteState): Color | undefined {
  if (headerValue === undefined) return undefined;
  const value = headerValue.trim().toLowerCase();
  if (value === PREVIEW_HEADER_VALUE) return standbyColor(state.activeColor);
  return COLORS.find((c) => c === value);
}

/**
 * Smooth weighted round-robin over the two colors (the nginx algorithm): each pick adds every
 * color's weight to its credit, takes the color with the most credit and charges it the total.
 * Over any 100 consecutive picks each color gets exactly its weight, interleaved, so a 10%
 * step sends every tenth request. The ALB spreads by weight too, per request; a local stand-in
 * that is exact keeps the tests' bounds tight.
 */
export class WeightedPicker {
  private readonly credit: Record<Color, number> = { blue: 0, green: 0 };

  /** The color the next weighted request goes to, for `state`'s weights. */
  pick(state: RouteState): Color {
    const w = weightsOf(state.activeColor, state.canaryPercent);
    let best: Color = COLORS[0];
    for (const c of COLORS) {
      this.credit[c] += w[c];
      if (this.credit[c] > this.credit[best]) best = c;
    }
    this.credit[best] -= w.blue + w.green;
    return best;
  }

  /** Forgets accumulated credit (after the weights changed). */
  reset(): void {
    for (const c of COLORS) this.credit[c] = 0;
  }
}
