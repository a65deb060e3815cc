/**
 * A color pins its image like its model version. `<color>.image` is either a digest reference
 * (`<repository>@sha256:<digest>`), which the color keeps whatever the stack builds, or "", which
 * follows the stack's current build. So a change under serving/ (a new build) reaches exactly the
 * colors that follow the build.
 *
 * The guard: while the standby is warm (it has pods and a model, so a flip or a rollback can land
 * on it), the live color must pin. Otherwise one `pulumi up` after a server change would roll the
 * live and the standby colors together, leaving no untouched color to flip back to. With a single
 * warm color there is no blue/green to protect, and the build rolls it (the plan warns).
 *
 * Typical flow: first deploy, blue live following the build. Before staging green, pin blue to what
 * it runs (the `blueImage` output); green follows the build. To flip, pin green to what it runs
 * (`greenImage`); blue keeps its pin, so a rollback lands on the old image. To stage the next
 * build on blue, set `blue.image` back to "".
 */
import { isWarm, standbyColor, type Color, type TrafficConfig } from "./traffic";

/** What the guard reads of each color. */
export interface ImagePinConfig extends TrafficConfig {
  readonly blue: TrafficConfig["blue"] & { readonly image: string };
  readonly green: TrafficConfig["green"] & { readonly image: string };
}

/** The image a color runs: its pin, or the stack's build when it follows the build. */
export function colorImage<T>(pinned: string, build: T): string | T {
  return pinned !== "" ? pinned : build;
}

/** Every violation of the pinning rule; each names the key and the exact fix. Empty when fine. */
export function imagePinViolations(cfg: ImagePinConfig): string[] {
  const live: Color = cfg.activeColor;
  const standby = standbyColor(live);
  if (cfg[live].image !== "" || !isWarm(cfg[standby])) return [];
  return [
    `${live}.image is "" (it follows the stack's build) while ${live} is live and ${standby} is warm: ` +
      `a server change would roll both colors at once. Pin ${live} to the image it runs: ` +
      `\`pulumi config set --path ${live}.image "$(pulumi stack output ${live}Image)"\`.`,
  ];
}
