/**
 * The traffic port on AWS. `apply` sets `activeColor` and `canaryPercent` on the stack in the
 * workspace and runs an `up` limited to the two listener rules; then, as Argo Rollouts does for
 * ALB weights, it reads the rules back from ELBv2 until they show the routing asked for, and
 * only then resolves. `current` reads the routing from the listener itself (DescribeRules), the
 * truth a killed run or a hand edit cannot make stale.
 */
import {
  DescribeRulesCommand,
  DescribeTargetHealthCommand,
  type Rule,
  type TargetHealthDescription,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { COLORS, otherColor, type Color } from "../../traffic";
import type { Routing, TrafficPort } from "../ports";
import type { StackDriver } from "./stackDriver";
import { colorOfTargetGroup, grpcView, type RolloutTargets } from "./targets";

/** The ELBv2 client calls the adapters make (`ElasticLoadBalancingV2Client` has them). */
export interface Elbv2Sender {
  send(command: DescribeRulesCommand): Promise<{ Rules?: Rule[] }>;
  send(
    command: DescribeTargetHealthCommand,
  ): Promise<{ TargetHealthDescriptions?: TargetHealthDescription[] }>;
}

export class TrafficVerificationError extends Error {
  override name = "TrafficVerificationError";
}

/** Where a forward action sends traffic: target group ARN -> weight. */
function forwardWeights(rule: Rule): Map<string, number> {
  const action = (rule.Actions ?? []).find((a) => a.Type === "forward");
  const weights = new Map<string, number>();
  const groups = action?.ForwardConfig?.TargetGroups ?? [];
  // A single-group forward may come back as TargetGroupArn alone, or with a ForwardConfig of one.
  if (groups.length === 0 && action?.TargetGroupArn) weights.set(action.TargetGroupArn, 1);
  for (const g of groups) if (g.TargetGroupArn) weights.set(g.TargetGroupArn, g.Weight ?? 1);
  return weights;
}

/**
 * The routing the two rules apply: the preview rule reaches the standby color, so the active
 * color is the other one; the canary share is the standby's share of the weighted forward.
 */
export function routingFromRules(weighted: Rule, preview: Rule, targets: RolloutTargets): Routing {
  const previewGroups = [...forwardWeights(preview).keys()];
  const standby = previewGroups.length === 1 ? colorOfTargetGroup(targets, previewGroups[0]) : undefined;
  if (standby === undefined) {
    throw new TrafficVerificationError(
      `the preview rule ${preview.RuleArn} does not forward to exactly one of the stack's target groups ` +
        `(forwards to ${JSON.stringify(previewGroups)})`,
    );
  }
  const byColor = {} as Record<Color, number>;
  const weights = forwardWeights(weighted);
  for (const color of COLORS) byColor[color] = weights.get(targets.colors[color].targetGroupArn) ?? 0;
  const total = byColor.blue + byColor.green;
  if (total <= 0 || weights.size !== 2) {
    throw new TrafficVerificationError(
      `the weighted rule ${weighted.RuleArn} does not forward over the blue and green target groups ` +
        `(weights ${JSON.stringify(Object.fromEntries(weights))})`,
    );
  }
  return { activeColor: otherColor(standby), canaryPercent: Math.round((100 * byColor[standby]) / total) };
}

/** The config keys that express a routing (what the rollout sets in the workspace). */
export function routingConfig(routing: Routing): Record<string, string> {
  return { activeColor: routing.activeColor, canaryPercent: String(routing.canaryPercent) };
}

/** Options of {@link AwsTraffic}. */
export interface AwsTrafficOptions {
  readonly driver: StackDriver;
  readonly elbv2: Elbv2Sender;
  readonly targets: RolloutTargets;
  /** Reads of the rules after an `up` before giving up. Default 20. */
  readonly verifyAttempts?: number;
  /** Pause between reads, ms. Default 3000. */
  readonly verifyIntervalMs?: number;
  /** Waits between reads (tests pass a fake). Default: a timer. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export class AwsTraffic implements TrafficPort {
  constructor(private readonly opts: AwsTrafficOptions) {}

  /**
   * The routing the HTTP rules apply. With gRPC rules, they must route the same way (a flip or
   * step never splits the protocols); until they do, this throws and `apply` keeps reading.
   */
  async current(): Promise<Routing> {
    const { weightedRule, previewRule, grpc } = this.opts.targets;
    const arns = [
      weightedRule.id,
      previewRule.id,
      ...(grpc ? [grpc.weightedRule.id, grpc.previewRule.id] : []),
    ];
    const out = await this.opts.elbv2.send(new DescribeRulesCommand({ RuleArns: arns }));
    const find = (arn: string): Rule => {
      const rule = (out.Rules ?? []).find((r) => r.RuleArn === arn);
      if (!rule) throw new TrafficVerificationError(`listener rule ${arn} was not found (DescribeRules)`);
      return rule;
    };
    const http = routingFromRules(find(weightedRule.id), find(previewRule.id), this.opts.targets);
    if (grpc) {
      const viaGrpc = routingFromRules(
        find(grpc.weightedRule.id),
        find(grpc.previewRule.id),
        grpcView(this.opts.targets, grpc),
      );
      if (viaGrpc.activeColor !== http.activeColor || viaGrpc.canaryPercent !== http.canaryPercent) {
        throw new TrafficVerificationError(
          `the gRPC rules route ${JSON.stringify(viaGrpc)} but the HTTP rules ${JSON.stringify(http)}`,
        );
      }
    }
    return http;
  }

  async apply(routing: Routing): Promise<void> {
    const { driver, targets } = this.opts;
    await driver.setConfig(routingConfig(routing));
    await driver.up(
      [
        targets.weightedRule.urn,
        targets.previewRule.urn,
        ...(targets.grpc ? [targets.grpc.weightedRule.urn, targets.grpc.previewRule.urn] : []),
      ],
      `rollout: ${routing.activeColor} live, ${routing.canaryPercent}% to ${otherColor(routing.activeColor)}`,
    );
    const attempts = this.opts.verifyAttempts ?? 20;
    const sleep = this.opts.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms)));
    let seen: Routing | undefined;
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await sleep(this.opts.verifyIntervalMs ?? 3000);
      try {
        seen = await this.current();
      } catch (err) {
        // The protocols' rules not yet agreeing is a state to wait out, like stale weights.
        if (!(err instanceof TrafficVerificationError) || !err.message.startsWith("the gRPC rules route"))
          throw err;
        continue;
      }
      if (seen.activeColor === routing.activeColor && seen.canaryPercent === routing.canaryPercent) return;
    }
    throw new TrafficVerificationError(
      `the listener rules did not take the routing ${JSON.stringify(routing)} after ${attempts} reads ` +
        `(last seen ${JSON.stringify(seen)})`,
    );
  }
}
