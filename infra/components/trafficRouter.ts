import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { COLORS, standbyColor, weights as weightsOf, type Color, type Weights } from "../traffic";
import { grpcCondition, grpcHeaderConditions, GRPC_RULE_PRIORITY } from "./grpcRouting";
import { COLOR_HEADER, PREVIEW_HEADER_VALUE, RULE_PRIORITY } from "./loadBalancer";
import { guardedHeaderConditions, type RouteGuard } from "./previewAccess";

/** What the router needs from one color: where to send traffic and what must be ready first. */
export interface RoutedColor {
  /** The color's target group ARN. */
  readonly targetGroupArn: pulumi.Input<string>;
  /** The color's TargetGroupBinding (its pods get registered in the target group). */
  readonly binding: pulumi.Resource;
  /** The color's Deployment; Pulumi's await makes "created/updated" mean "rolled out Ready". */
  readonly deployment: pulumi.Resource;
}

export interface TrafficRouterArgs {
  /** The serving listener (HTTPS:443, or HTTP:80 without a certificate). */
  readonly listenerArn: pulumi.Input<string>;
  /** The live color. */
  readonly activeColor: Color;
  /** Share of traffic (0-100) to the standby color. */
  readonly canaryPercent: number;
  /** Both colors. */
  readonly colors: Readonly<Record<Color, RoutedColor>>;
  /** Tags for the rules. Default: none. */
  readonly tags?: Readonly<Record<string, string>>;
  /** What the preview rule requires besides its header (token, source CIDRs). Default: none. */
  readonly routeGuard?: RouteGuard;
  /**
   * Each color's gRPC target group and its binding (see grpcRouting.ts); given, gRPC gets a
   * weighted and a preview rule with the same weights and standby. Default: none (gRPC off).
   */
  readonly grpcColors?: Readonly<Record<Color, Omit<RoutedColor, "deployment">>>;
  /**
   * Seconds of target-group stickiness on the weighted forward while both colors take traffic
   * (a rollout step), so one client keeps one model version; 0 = off (0-604800). Default 0.
   */
  readonly stickySeconds?: number;
}

/** The weighted forward's stickiness: on only while both colors take traffic and stickySeconds > 0. */
export function forwardStickiness(
  w: Weights,
  stickySeconds: number,
): { enabled: true; duration: number } | undefined {
  if (!Number.isInteger(stickySeconds) || stickySeconds < 0 || stickySeconds > 604800) {
    throw new Error(`stickySeconds must be an integer from 0 to 604800, got ${stickySeconds}`);
  }
  return stickySeconds > 0 && receivingColors(w).length === 2
    ? { enabled: true, duration: stickySeconds }
    : undefined;
}

/** The colors a weighted forward sends traffic to (weight > 0), in COLORS order. */
export function receivingColors(w: Weights): Color[] {
  return COLORS.filter((c) => w[c] > 0);
}

/**
 * The only resources a flip or a canary change touches: the weighted rule that carries live
 * traffic and the preview rule that reaches the standby color.
 *
 * Both `dependsOn` the receiving colors' TargetGroupBinding and Deployment. Pulumi updates a
 * resource only after its dependencies were created or updated, and a Deployment counts as
 * updated only once its new pods are Ready (readiness gates included, so healthy in the ALB).
 * A rollout that never becomes Ready therefore fails `pulumi up` before any weight moves, and
 * the listener keeps the old routing.
 *
 * Weights live in a rule rather than the listener's default action because the listener (and
 * the per-color header rules that keep both target groups in use) must exist before the first
 * Deployment can become Ready; see LoadBalancer.
 */
export class TrafficRouter extends pulumi.ComponentResource {
  /** Path `/*` -> weighted forward over blue and green. */
  public readonly weightedRule: aws.lb.ListenerRule;
  /** `X-Serving-Color: preview` -> the standby color's target group only. */
  public readonly previewRule: aws.lb.ListenerRule;
  /** With grpcColors: gRPC calls -> weighted forward over the gRPC groups, the same weights. */
  public readonly grpcWeightedRule?: aws.lb.ListenerRule;
  /** With grpcColors: `X-Serving-Color: preview` on a gRPC call -> the standby's gRPC group. */
  public readonly grpcPreviewRule?: aws.lb.ListenerRule;
  public readonly weights: Weights;
  public readonly standbyColor: Color;

  constructor(name: string, args: TrafficRouterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("onnx-eks-serving:traffic:TrafficRouter", name, {}, opts);
    this.weights = weightsOf(args.activeColor, args.canaryPercent);
    this.standbyColor = standbyColor(args.activeColor);
    const tags = { ...args.tags };
    const stickiness = forwardStickiness(this.weights, args.stickySeconds ?? 0);
    const readyFirst = (colors: readonly Color[]): pulumi.Resource[] =>
      colors.flatMap((c) => [args.colors[c].binding, args.colors[c].deployment]);

    this.weightedRule = new aws.lb.ListenerRule(
      `${name}-weighted`,
      {
        listenerArn: args.listenerArn,
        priority: RULE_PRIORITY.weighted,
        conditions: [{ pathPattern: { values: ["/*"] } }],
        actions: [
          {
            type: "forward",
            forward: {
              // Always both groups, in a fixed order: a flip is a weight change and nothing else.
              // Stickiness only on request (rollout.stickySeconds) and only while both colors take
              // traffic: inference is stateless, and without it a canary share stays a true share.
              targetGroups: COLORS.map((c) => ({
                arn: args.colors[c].targetGroupArn,
                weight: this.weights[c],
              })),
              ...(stickiness ? { stickiness } : {}),
            },
          },
        ],
        tags,
      },
      { parent: this, dependsOn: readyFirst(receivingColors(this.weights)) },
    );

    this.previewRule = new aws.lb.ListenerRule(
      `${name}-preview`,
      {
        listenerArn: args.listenerArn,
        priority: RULE_PRIORITY.preview,
        conditions: args.routeGuard
          ? guardedHeaderConditions(COLOR_HEADER, PREVIEW_HEADER_VALUE, args.routeGuard)
          : [{ httpHeader: { httpHeaderName: COLOR_HEADER, values: [PREVIEW_HEADER_VALUE] } }],
        actions: [{ type: "forward", targetGroupArn: args.colors[this.standbyColor].targetGroupArn }],
        tags,
      },
      { parent: this, dependsOn: readyFirst([this.standbyColor]) },
    );

    // ---- gRPC: the same weights and standby, on rules matching gRPC calls (grpcRouting.ts) ----
    const grpc = args.grpcColors;
    if (grpc) {
      const grpcReadyFirst = (colors: readonly Color[]): pulumi.Resource[] =>
        colors.flatMap((c) => [grpc[c].binding, args.colors[c].deployment]);
      this.grpcWeightedRule = new aws.lb.ListenerRule(
        `${name}-grpc-weighted`,
        {
          listenerArn: args.listenerArn,
          priority: GRPC_RULE_PRIORITY.weighted,
          conditions: [grpcCondition()],
          actions: [
            {
              type: "forward",
              forward: {
                targetGroups: COLORS.map((c) => ({ arn: grpc[c].targetGroupArn, weight: this.weights[c] })),
              },
            },
          ],
          tags,
        },
        { parent: this, dependsOn: grpcReadyFirst(receivingColors(this.weights)) },
      );
      this.grpcPreviewRule = new aws.lb.ListenerRule(
        `${name}-grpc-preview`,
        {
          listenerArn: args.listenerArn,
          priority: GRPC_RULE_PRIORITY.preview,
          conditions: grpcHeaderConditions(COLOR_HEADER, PREVIEW_HEADER_VALUE, args.routeGuard),
          actions: [{ type: "forward", targetGroupArn: grpc[this.standbyColor].targetGroupArn }],
          tags,
        },
        { parent: this, dependsOn: grpcReadyFirst([this.standbyColor]) },
      );
    }

    this.registerOutputs({ weights: this.weights, standbyColor: this.standbyColor });
  }
}
