/**
 * What the stack config commits: the routing a rollout walks to, each color's model version,
 * and the rollout policy. Read from `Pulumi.<stack>.yaml` through the same parser as the
 * program (infra/config.ts), so the rollout and `pulumi up` never disagree on a value.
 */
import { parseConfig, type StackConfig } from "../config";
import { readStackConfig } from "../harness/stackFiles";
import type { RolloutPolicy } from "./policy";
import type { ColorVersions } from "./plan";
import type { Routing } from "./ports";

/** The stack's `rollout` policy (config.ts merges the fields set over the defaults). */
export function rolloutPolicyOf(cfg: StackConfig): RolloutPolicy {
  return cfg.rollout;
}

export interface CommittedTarget {
  readonly stack: string;
  readonly to: Routing;
  readonly versions: ColorVersions;
  readonly policy: RolloutPolicy;
}

export function committedTargetOf(stack: string, cfg: StackConfig): CommittedTarget {
  return {
    stack,
    to: { activeColor: cfg.activeColor, canaryPercent: cfg.canaryPercent },
    versions: { blue: cfg.blue.modelVersion, green: cfg.green.modelVersion },
    policy: rolloutPolicyOf(cfg),
  };
}

/** Reads and validates `Pulumi.<stack>.yaml`; throws ConfigError/StackFileError naming the problem. */
export function readCommittedTarget(stack: string, root?: string): CommittedTarget {
  return committedTargetOf(stack, parseConfig(readStackConfig(stack, root)));
}
