/**
 * What the rollout's AWS adapters need to find in a deployed stack, exported by the program as
 * the `rolloutTargets` output (infra/stack.ts): names, ARNs and URNs, nothing secret. The
 * adapters read it from the stack outputs and check it with {@link parseRolloutTargets}, so a
 * stack deployed before the output existed fails with a message saying what to do.
 */
import { COLORS, type Color } from "../../traffic";

/** A resource the rollout changes through a targeted `pulumi up` and reads back through AWS. */
export interface TargetedResource {
  /** Physical name or ARN. */
  readonly id: string;
  /** Pulumi URN, for `up --target`. */
  readonly urn: string;
}

/** One color as the rollout sees it. */
export interface ColorTargets {
  /** The color's target group ARN (what the listener rules forward to). */
  readonly targetGroupArn: string;
  /** `targetgroup/<name>/<id>`: the CloudWatch `TargetGroup` dimension. */
  readonly targetGroupArnSuffix: string;
  /** The color's Deployment (id = name in the serving namespace). */
  readonly deployment: TargetedResource;
  /** The color's HorizontalPodAutoscaler, whose minReplicas is the color's floor; absent without pods. */
  readonly hpa?: TargetedResource;
}

export interface RolloutTargets {
  /** Model name in the registry (`models/<name>/<version>/`). */
  readonly modelName: string;
  /** Kubernetes namespace of the serving workloads. */
  readonly namespace: string;
  /** `app/<name>/<id>`: the CloudWatch `LoadBalancer` dimension. */
  readonly loadBalancerArnSuffix: string;
  /** The weighted rule carrying live traffic (id = rule ARN). */
  readonly weightedRule: TargetedResource;
  /** The preview rule reaching the standby color (id = rule ARN). */
  readonly previewRule: TargetedResource;
  readonly colors: Readonly<Record<Color, ColorTargets>>;
  /**
   * gRPC's twin rules and each color's gRPC target group, present when the stack routes gRPC
   * (a certificate): the rollout moves and verifies them together with the HTTP rules.
   */
  readonly grpc?: GrpcRolloutTargets;
}

/** The gRPC rules that must route exactly as the HTTP ones (see infra/components/grpcRouting.ts). */
export interface GrpcRolloutTargets {
  readonly weightedRule: TargetedResource;
  readonly previewRule: TargetedResource;
  /** Each color's gRPC target group ARN. */
  readonly targetGroupArns: Readonly<Record<Color, string>>;
}

/** The stack output holding {@link RolloutTargets}. */
export const ROLLOUT_TARGETS_OUTPUT = "rolloutTargets";

export class RolloutTargetsError extends Error {
  override name = "RolloutTargetsError";
}

/** Checks a `rolloutTargets` output value; errors name the missing or malformed field. */
export function parseRolloutTargets(value: unknown): RolloutTargets {
  if (value === undefined) {
    throw new RolloutTargetsError(
      `the stack has no ${ROLLOUT_TARGETS_OUTPUT} output: it was deployed before the rollout existed; ` +
        "run a plain `pulumi up` once, then the rollout",
    );
  }
  const at = (path: string, v: unknown): Record<string, unknown> => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      throw new RolloutTargetsError(
        `${ROLLOUT_TARGETS_OUTPUT}.${path} must be an object, got ${JSON.stringify(v)}`,
      );
    }
    return v as Record<string, unknown>;
  };
  const text = (path: string, v: unknown): string => {
    if (typeof v !== "string" || v === "") {
      throw new RolloutTargetsError(
        `${ROLLOUT_TARGETS_OUTPUT}.${path} must be a non-empty string, got ${JSON.stringify(v)}`,
      );
    }
    return v;
  };
  const resource = (path: string, v: unknown): TargetedResource => {
    const o = at(path, v);
    return { id: text(`${path}.id`, o.id), urn: text(`${path}.urn`, o.urn) };
  };
  const root = at("(root)", value);
  const colors = at("colors", root.colors);
  const color = (c: Color): ColorTargets => {
    const o = at(`colors.${c}`, colors[c]);
    return {
      targetGroupArn: text(`colors.${c}.targetGroupArn`, o.targetGroupArn),
      targetGroupArnSuffix: text(`colors.${c}.targetGroupArnSuffix`, o.targetGroupArnSuffix),
      deployment: resource(`colors.${c}.deployment`, o.deployment),
      ...(o.hpa !== undefined && o.hpa !== null ? { hpa: resource(`colors.${c}.hpa`, o.hpa) } : {}),
    };
  };
  return {
    modelName: text("modelName", root.modelName),
    namespace: text("namespace", root.namespace),
    loadBalancerArnSuffix: text("loadBalancerArnSuffix", root.loadBalancerArnSuffix),
    weightedRule: resource("weightedRule", root.weightedRule),
    previewRule: resource("previewRule", root.previewRule),
    colors: Object.fromEntries(COLORS.map((c) => [c, color(c)])) as Record<Color, ColorTargets>,
    ...(root.grpc !== undefined && root.grpc !== null ? { grpc: grpcTargets(at("grpc", root.grpc)) } : {}),
  };
  function grpcTargets(o: Record<string, unknown>): GrpcRolloutTargets {
    const arns = at("grpc.targetGroupArns", o.targetGroupArns);
    return {
      weightedRule: resource("grpc.weightedRule", o.weightedRule),
      previewRule: resource("grpc.previewRule", o.previewRule),
      targetGroupArns: Object.fromEntries(
        COLORS.map((c) => [c, text(`grpc.targetGroupArns.${c}`, arns[c])]),
      ) as Record<Color, string>,
    };
  }
}

/** The targets as the gRPC rules see them: each color's target group is its gRPC one. */
export function grpcView(targets: RolloutTargets, grpc: GrpcRolloutTargets): RolloutTargets {
  const colors = Object.fromEntries(
    COLORS.map((c) => [c, { ...targets.colors[c], targetGroupArn: grpc.targetGroupArns[c] }]),
  ) as Record<Color, ColorTargets>;
  return { ...targets, colors };
}

/** The color whose target group has this ARN, or undefined. */
export function colorOfTargetGroup(targets: RolloutTargets, arn: string): Color | undefined {
  return COLORS.find((c) => targets.colors[c].targetGroupArn === arn);
}
