/**
 * gRPC through the ALB: the fixed facts the load balancer, the traffic router and the serving
 * colors share. The ALB speaks gRPC to clients only on an HTTPS listener, so gRPC exists only
 * with a certificate; it then reaches each color through a target group of protocol version
 * GRPC (HTTP/2 to the pod's gRPC port), health-checked with the standard gRPC health service.
 *
 * gRPC has listener rules of its own, matched by the `content-type: application/grpc*` every gRPC
 * call carries and placed before the HTTP rule of the same purpose: one forward over HTTP/1.1 and
 * gRPC target groups would split calls by weight regardless of protocol. Both weighted rules take
 * their weights from the one `weights(activeColor, canaryPercent)` value, so a flip or a canary
 * moves HTTP and gRPC together, and the preview and pin headers work the same for both.
 */
import type * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_GRPC_PORT } from "../../serving/src/config";
import type { Color } from "../traffic";
import { guardedHeaderConditions, type RouteGuard } from "./previewAccess";

/** Port the serving pods serve gRPC on (the server's GRPC_PORT default). */
export { DEFAULT_GRPC_PORT };

/** The health-check path: grpc.health.v1's Check method (the ALB sends an empty request: the whole server). */
export const GRPC_HEALTH_CHECK_PATH = "/grpc.health.v1.Health/Check";

/**
 * gRPC status codes of a healthy answer: OK. The ALB reads only the status code, not the
 * SERVING / NOT_SERVING in the body, so this check proves the pod's gRPC server answers; a
 * draining or unready pod leaves both target groups through Kubernetes readiness (its endpoint
 * is removed and the controller deregisters it from every group it is bound to).
 */
export const GRPC_HEALTHY_CODES = "0";

/** What every gRPC listener rule matches on, besides its own condition (a fresh object per rule). */
export function grpcCondition(): { httpHeader: { httpHeaderName: string; values: string[] } } {
  return { httpHeader: { httpHeaderName: "content-type", values: ["application/grpc*"] } };
}

/**
 * gRPC rule priorities: each just before the HTTP rule of the same purpose (see RULE_PRIORITY
 * in loadBalancer.ts: preview 10, blue 20, green 21, weighted 1000), so a gRPC call never falls
 * into an HTTP/1.1 target group.
 */
export const GRPC_RULE_PRIORITY: Readonly<Record<"preview" | Color | "weighted", number>> = {
  preview: 5,
  blue: 15,
  green: 16,
  weighted: 999,
};

/** Whether the stack serves gRPC: only behind an HTTPS listener, i.e. with a certificate. */
export function grpcServed(certificateArn: string | undefined): boolean {
  return (certificateArn ?? "") !== "";
}

/**
 * The conditions of a gRPC header rule (preview or pin): the same as its HTTP twin's, guarded the
 * same way (preview token, source CIDRs), plus the gRPC content type.
 */
export function grpcHeaderConditions(
  header: string,
  value: string,
  guard: RouteGuard | undefined,
): pulumi.Input<aws.types.input.lb.ListenerRuleCondition[]> {
  if (!guard) return [{ httpHeader: { httpHeaderName: header, values: [value] } }, grpcCondition()];
  return guardedHeaderConditions(header, value, guard).apply((conditions) => [
    ...conditions,
    grpcCondition(),
  ]);
}

/**
 * An ALB rule holds at most 5 condition values; a guarded gRPC header rule uses the header, the
 * token, the content type and one per source CIDR, so gRPC leaves room for 2 CIDRs, not 3.
 */
export const GRPC_MAX_GUARD_CIDRS = 2;
