/**
 * The capacity port on AWS, without a Kubernetes client:
 * - Ready replicas are the color's healthy targets in its ALB target group (DescribeTargetHealth).
 *   The load balancer controller's readiness gate makes a pod Ready only once it is healthy
 *   there, so this counts exactly the pods that can take the traffic being moved.
 * - Raising a color's floor goes through the same Pulumi config as everything else:
 *   `<color>.replicas` (the HPA's minReplicas, and the Deployment's replicas while it sets them)
 *   and, when needed, `<color>.maxReplicas`, set in the workspace, then an `up` limited to that
 *   color's Deployment and HPA. The state stays the source of truth (a patch through the
 *   Kubernetes API would be drift that the next `pulumi up` silently reverts), and the raise is
 *   transient like the intermediate weights: the next `pulumi up` from the committed config
 *   hands the floor back to Git, and the HPA scales down only as load allows.
 */
import { DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { parseConfig } from "../../config";
import type { Color } from "../../traffic";
import type { CapacityPort } from "../ports";
import type { StackDriver } from "./stackDriver";
import type { RolloutTargets } from "./targets";
import type { Elbv2Sender } from "./traffic";

export class CapacityError extends Error {
  override name = "CapacityError";
}

/** The config that gives `color` a floor of at least `replicas` (empty when it has one already). */
export function floorConfig(
  color: Color,
  current: { readonly replicas: number; readonly maxReplicas: number },
  replicas: number,
): Record<string, string> {
  if (current.replicas >= replicas) return {};
  return {
    [`${color}.replicas`]: String(replicas),
    ...(current.maxReplicas < replicas ? { [`${color}.maxReplicas`]: String(replicas) } : {}),
  };
}

/** Options of {@link AwsCapacity}. */
export interface AwsCapacityOptions {
  readonly driver: StackDriver;
  readonly elbv2: Elbv2Sender;
  readonly targets: RolloutTargets;
  /** Longest wait for the pods to become healthy targets, ms (GPU nodes may have to be added). Default 1200000. */
  readonly readyTimeoutMs?: number;
  /** Pause between target-health reads, ms. Default 10000. */
  readonly pollIntervalMs?: number;
  readonly now?: () => Date;
  readonly sleep?: (ms: number) => Promise<void>;
}

export class AwsCapacity implements CapacityPort {
  constructor(private readonly opts: AwsCapacityOptions) {}

  async readyReplicas(color: Color): Promise<number> {
    const out = await this.opts.elbv2.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: this.opts.targets.colors[color].targetGroupArn }),
    );
    return (out.TargetHealthDescriptions ?? []).filter((d) => d.TargetHealth?.State === "healthy").length;
  }

  async ensureAtLeast(color: Color, replicas: number): Promise<void> {
    const { driver, targets } = this.opts;
    const cfg = parseConfig(await driver.config());
    const changes = floorConfig(color, cfg[color], replicas);
    if (Object.keys(changes).length > 0) {
      const hpa = targets.colors[color].hpa;
      if (!hpa) {
        throw new CapacityError(
          `${color} has no HorizontalPodAutoscaler (${color}.replicas is ${cfg[color].replicas}): ` +
            `give it pods in the committed config first`,
        );
      }
      await driver.setConfig(changes);
      await driver.up(
        [targets.colors[color].deployment.urn, hpa.urn],
        `rollout: ${color} floor raised to ${replicas} replicas before traffic moves`,
      );
    }
    const now = this.opts.now ?? (() => new Date());
    const sleep = this.opts.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
    const deadline = now().getTime() + (this.opts.readyTimeoutMs ?? 1_200_000);
    for (;;) {
      const ready = await this.readyReplicas(color);
      if (ready >= replicas) return;
      if (now().getTime() >= deadline) {
        throw new CapacityError(
          `${color} has ${ready} healthy targets, not the ${replicas} it needs before traffic moves ` +
            `(waited ${Math.round((this.opts.readyTimeoutMs ?? 1_200_000) / 1000)} s)`,
        );
      }
      await sleep(this.opts.pollIntervalMs ?? 10_000);
    }
  }
}
