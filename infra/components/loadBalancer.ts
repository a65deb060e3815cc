import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { COLOR_HEADER, PREVIEW_HEADER_VALUE } from "../routeRules";
import { COLORS, type Color } from "../traffic";
import { accessLogPrefixProblem, type AccessLogDestination } from "./accessLogBucket";
import {
  DEFAULT_GRPC_PORT,
  GRPC_HEALTH_CHECK_PATH,
  GRPC_HEALTHY_CODES,
  GRPC_MAX_GUARD_CIDRS,
  GRPC_RULE_PRIORITY,
  grpcHeaderConditions,
  grpcServed,
} from "./grpcRouting";
import { guardedHeaderConditions, type RouteGuard } from "./previewAccess";

// The header rules' name and values are the routing rules' own (the local router applies them too).
export { COLOR_HEADER, PREVIEW_HEADER_VALUE };

/**
 * Listener rule priorities on the serving listener (lower wins). The header rules come first;
 * the weighted rule matches every path and comes last; the listener's default action is only
 * reached before the weighted rule exists (during the very first deployment).
 */
export const RULE_PRIORITY: Readonly<Record<"preview" | Color | "weighted", number>> = {
  preview: 10,
  blue: 20,
  green: 21,
  weighted: 1000,
};

/** The TLS policy of the HTTPS listener: TLS 1.3 and 1.2 with forward-secret ciphers only. */
export const DEFAULT_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

export interface LoadBalancerArgs {
  /** VPC of the cluster; the target groups live in it. */
  readonly vpcId: pulumi.Input<string>;
  /** Public subnets (at least two AZs) the internet-facing ALB is placed in. */
  readonly publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
  /**
   * The EKS cluster security group. VPC CNI pods on managed node groups carry it, so it is the
   * group the ALB must reach on the serving port, and the one this component adds the ingress
   * rule to.
   */
  readonly clusterSecurityGroupId: pulumi.Input<string>;
  /** Port the serving pods listen on; the target groups forward and health-check on it. Default: 8080. */
  readonly servingPort?: number;
  /** IPv4/IPv6 CIDRs admitted to the listener ports. Default: ["0.0.0.0/0"]. */
  readonly allowedIngressCidrs?: readonly string[];
  /** ACM certificate ARN; when set, HTTPS on 443 serves and HTTP on 80 redirects. Default: "" (HTTP only). */
  readonly certificateArn?: string;
  /** TLS policy of the HTTPS listener. Default: ELBSecurityPolicy-TLS13-1-2-2021-06. */
  readonly sslPolicy?: string;
  /** Seconds a deregistered target may finish in-flight requests (0-3600). Default: 30. */
  readonly deregistrationDelaySeconds?: number;
  /** Protects the ALB from deletion (a stack destroy then fails until it is turned off). Default: false. */
  readonly deletionProtection?: boolean;
  /** Seconds an idle client connection stays open (1-4000). Default: 60. */
  readonly idleTimeoutSeconds?: number;
  /**
   * Where the ALB writes its access logs (bucket name, prefix, and the bucket policy and settings
   * the ALB must wait for; an AccessLogBucket is one). Default: none (access logs off).
   */
  readonly accessLogs?: AccessLogDestination;
  /** Tags for every AWS resource here. Default: none. */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * Port the serving pods serve gRPC on. With a certificate, a gRPC target group per color
   * (protocol version GRPC) forwards to it and health-checks grpc.health.v1 on it; without one
   * gRPC is off (the ALB routes gRPC only on HTTPS). Default: 8081.
   */
  readonly grpcPort?: number;
  /**
   * What the color-pin header rules require besides `X-Serving-Color: <color>` (the preview
   * token, source CIDRs); see PreviewAccess. Default: none (open to any client; tests only).
   */
  readonly routeGuard?: RouteGuard;
}

const CIDR_V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const CIDR_V6 = /^[0-9a-fA-F:]+\/(\d{1,3})$/;
const ACM_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+$/;

function isCidr(s: string): boolean {
  const v4 = CIDR_V4.exec(s);
  if (v4) return v4.slice(1, 5).every((o) => Number(o) <= 255) && Number(v4[5]) <= 32;
  const v6 = CIDR_V6.exec(s);
  return v6 !== null && s.includes(":") && Number(v6[1]) <= 128;
}

/** Checks the arguments before anything is created; each message names the argument. */
export function loadBalancerArgProblems(args: LoadBalancerArgs): string[] {
  const problems: string[] = [];
  const port = args.servingPort ?? 8080;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    problems.push(`servingPort must be an integer from 1 to 65535, got ${JSON.stringify(port)}`);
  }
  const cidrs = args.allowedIngressCidrs ?? ["0.0.0.0/0"];
  if (cidrs.length === 0) problems.push("allowedIngressCidrs must list at least one CIDR, got []");
  for (const c of cidrs.filter((c) => !isCidr(c))) {
    problems.push(
      `allowedIngressCidrs entries must be CIDRs such as 203.0.113.0/24, got ${JSON.stringify(c)}`,
    );
  }
  const cert = args.certificateArn ?? "";
  if (cert !== "" && !ACM_ARN.test(cert)) {
    problems.push(
      `certificateArn must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>), got ${JSON.stringify(cert)}`,
    );
  }
  const dereg = args.deregistrationDelaySeconds ?? 30;
  if (!Number.isInteger(dereg) || dereg < 0 || dereg > 3600) {
    problems.push(
      `deregistrationDelaySeconds must be an integer from 0 to 3600, got ${JSON.stringify(dereg)}`,
    );
  }
  const idle = args.idleTimeoutSeconds ?? 60;
  if (!Number.isInteger(idle) || idle < 1 || idle > 4000) {
    problems.push(`idleTimeoutSeconds must be an integer from 1 to 4000, got ${JSON.stringify(idle)}`);
  }
  const grpcPort = args.grpcPort ?? DEFAULT_GRPC_PORT;
  if (!Number.isInteger(grpcPort) || grpcPort < 1 || grpcPort > 65535 || grpcPort === port) {
    problems.push(
      `grpcPort must be an integer from 1 to 65535 other than servingPort (${port}), got ${JSON.stringify(grpcPort)}`,
    );
  }
  const guardCidrs = args.routeGuard?.sourceCidrs.length ?? 0;
  if (grpcServed(args.certificateArn) && guardCidrs > GRPC_MAX_GUARD_CIDRS) {
    problems.push(
      `with a certificate (gRPC on), the header routes allow at most ${GRPC_MAX_GUARD_CIDRS} source CIDRs ` +
        `(an ALB rule holds 5 condition values and gRPC's use one for the content type), got ${guardCidrs}`,
    );
  }
  const logPrefixProblem = args.accessLogs ? accessLogPrefixProblem(args.accessLogs.prefix) : undefined;
  if (logPrefixProblem !== undefined) problems.push(`accessLogs.${logPrefixProblem}`);
  return problems;
}

/**
 * The internet-facing ALB and its fixed shape: security groups, the blue and green target
 * groups, the listeners and one header rule per color. Nothing here changes when traffic moves
 * between colors; the weights and the preview route live in TrafficRouter.
 *
 * Why the per-color header rules exist (and are created before any Deployment): a target group
 * no listener uses reports its targets as `unused`, and the load balancer controller's
 * readiness gate then never turns true, so a color's pods could never become Ready. These rules
 * keep both target groups in use from the start; as a bonus they let an operator pin a request
 * to one color (`X-Serving-Color: blue|green`), e.g. to compare the old and new color after a flip.
 */
export class LoadBalancer extends pulumi.ComponentResource {
  /** The ALB's security group (admits the listener ports, egress only to pods on the serving port). */
  public readonly securityGroup: aws.ec2.SecurityGroup;
  public readonly loadBalancer: aws.lb.LoadBalancer;
  /** One target group per color: HTTP, target type ip, health check GET /ready. */
  public readonly targetGroups: Readonly<Record<Color, aws.lb.TargetGroup>>;
  /** The listener that serves (HTTPS:443 with a certificate, else HTTP:80); rules attach here. */
  public readonly servingListener: aws.lb.Listener;
  /** HTTP:80 redirecting to HTTPS, when a certificate is configured. */
  public readonly redirectListener?: aws.lb.Listener;
  /** `X-Serving-Color: <color>` -> that color's target group; keeps both groups in use. */
  public readonly colorRoutes: Readonly<Record<Color, aws.lb.ListenerRule>>;
  public readonly dnsName: pulumi.Output<string>;
  /** `http(s)://<dnsName>`. */
  public readonly url: pulumi.Output<string>;
  /** With a certificate: one gRPC target group per color (protocol version GRPC, grpc.health.v1 check). */
  public readonly grpcTargetGroups?: Readonly<Record<Color, aws.lb.TargetGroup>>;
  /** With a certificate: `X-Serving-Color: <color>` on a gRPC call -> that color's gRPC target group. */
  public readonly grpcColorRoutes?: Readonly<Record<Color, aws.lb.ListenerRule>>;
  /** `<dnsName>:443` for gRPC clients (TLS), or "" when gRPC is off (no certificate). */
  public readonly grpcEndpoint: pulumi.Output<string>;

  constructor(name: string, args: LoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super("onnx-eks-serving:traffic:LoadBalancer", name, {}, opts);
    const problems = loadBalancerArgProblems(args);
    if (problems.length > 0) throw new Error(`LoadBalancer ${name}: ${problems.join("; ")}`);

    const servingPort = args.servingPort ?? 8080;
    const cidrs = args.allowedIngressCidrs ?? ["0.0.0.0/0"];
    const https = (args.certificateArn ?? "") !== "";
    const listenerPorts = https ? [80, 443] : [80];
    const tags = { ...args.tags };
    const parent = { parent: this };

    this.securityGroup = new aws.ec2.SecurityGroup(
      `${name}-alb`,
      {
        vpcId: args.vpcId,
        description: "Serving ALB: listener ports from allowed CIDRs, egress only to serving pods",
        // Rules are separate resources below; the provider removes AWS's default allow-all egress.
        revokeRulesOnDelete: true,
        tags: { ...tags, Name: `${name}-alb` },
      },
      parent,
    );
    for (const port of listenerPorts) {
      for (const cidr of cidrs) {
        const v6 = cidr.includes(":");
        new aws.vpc.SecurityGroupIngressRule(
          `${name}-alb-in-${port}-${cidr.replace(/[^0-9a-fA-F]+/g, "-")}`,
          {
            securityGroupId: this.securityGroup.id,
            description: `listener port ${port}`,
            ipProtocol: "tcp",
            fromPort: port,
            toPort: port,
            ...(v6 ? { cidrIpv6: cidr } : { cidrIpv4: cidr }),
            tags,
          },
          parent,
        );
      }
    }
    // Requests and health checks go to pod IPs, which carry the cluster security group.
    new aws.vpc.SecurityGroupEgressRule(
      `${name}-alb-out-pods`,
      {
        securityGroupId: this.securityGroup.id,
        description: "serving pods (requests and health checks)",
        ipProtocol: "tcp",
        fromPort: servingPort,
        toPort: servingPort,
        referencedSecurityGroupId: args.clusterSecurityGroupId,
        tags,
      },
      parent,
    );
    // Only the ALB reaches the pods on the serving port (Pulumi owns this rule, not the controller).
    new aws.vpc.SecurityGroupIngressRule(
      `${name}-pods-from-alb`,
      {
        securityGroupId: args.clusterSecurityGroupId,
        description: "serving port from the serving ALB",
        ipProtocol: "tcp",
        fromPort: servingPort,
        toPort: servingPort,
        referencedSecurityGroupId: this.securityGroup.id,
        tags,
      },
      parent,
    );

    this.loadBalancer = new aws.lb.LoadBalancer(
      name,
      {
        loadBalancerType: "application",
        internal: false,
        ipAddressType: "ipv4",
        subnets: args.publicSubnetIds,
        securityGroups: [this.securityGroup.id],
        dropInvalidHeaderFields: true,
        desyncMitigationMode: "defensive",
        enableDeletionProtection: args.deletionProtection ?? false,
        idleTimeout: args.idleTimeoutSeconds ?? 60,
        ...(args.accessLogs
          ? {
              accessLogs: {
                enabled: true,
                bucket: args.accessLogs.bucketName,
                prefix: args.accessLogs.prefix,
              },
            }
          : {}),
        tags,
      },
      // ELB test-writes to the bucket when access logs are turned on and refuses the attribute if
      // it cannot: the bucket policy (and the settings it writes under) must exist first.
      { parent: this, dependsOn: args.accessLogs ? [...args.accessLogs.writeDependencies] : [] },
    );

    const targetGroup = (color: Color): aws.lb.TargetGroup =>
      new aws.lb.TargetGroup(
        `${name}-${color}`,
        {
          vpcId: args.vpcId,
          targetType: "ip",
          protocol: "HTTP",
          protocolVersion: "HTTP1",
          ipAddressType: "ipv4",
          port: servingPort,
          deregistrationDelay: args.deregistrationDelaySeconds ?? 30,
          // Inference latency varies with batch fill; send new requests to the least busy pod.
          loadBalancingAlgorithmType: "least_outstanding_requests",
          healthCheck: {
            enabled: true,
            protocol: "HTTP",
            port: "traffic-port",
            path: "/ready",
            matcher: "200",
            interval: 10,
            timeout: 5,
            healthyThreshold: 2,
            unhealthyThreshold: 2,
          },
          tags: { ...tags, "serving.onnx-eks-serving/color": color },
        },
        parent,
      );
    this.targetGroups = Object.freeze({ blue: targetGroup("blue"), green: targetGroup("green") });

    // Until the weighted rule exists (first deployment), nothing is routed: say so explicitly.
    const notRoutedYet = {
      type: "fixed-response",
      fixedResponse: {
        contentType: "application/json",
        statusCode: "503",
        messageBody: JSON.stringify({ error: "no serving color is routed yet" }),
      },
    };
    if (https) {
      this.servingListener = new aws.lb.Listener(
        `${name}-https`,
        {
          loadBalancerArn: this.loadBalancer.arn,
          port: 443,
          protocol: "HTTPS",
          certificateArn: args.certificateArn,
          sslPolicy: args.sslPolicy ?? DEFAULT_SSL_POLICY,
          defaultActions: [notRoutedYet],
          tags,
        },
        parent,
      );
      this.redirectListener = new aws.lb.Listener(
        `${name}-http`,
        {
          loadBalancerArn: this.loadBalancer.arn,
          port: 80,
          protocol: "HTTP",
          defaultActions: [
            { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
          ],
          tags,
        },
        parent,
      );
    } else {
      this.servingListener = new aws.lb.Listener(
        `${name}-http`,
        {
          loadBalancerArn: this.loadBalancer.arn,
          port: 80,
          protocol: "HTTP",
          defaultActions: [notRoutedYet],
          tags,
        },
        parent,
      );
    }

    const colorRoute = (color: Color): aws.lb.ListenerRule =>
      new aws.lb.ListenerRule(
        `${name}-route-${color}`,
        {
          listenerArn: this.servingListener.arn,
          priority: RULE_PRIORITY[color],
          conditions: args.routeGuard
            ? guardedHeaderConditions(COLOR_HEADER, color, args.routeGuard)
            : [{ httpHeader: { httpHeaderName: COLOR_HEADER, values: [color] } }],
          actions: [{ type: "forward", targetGroupArn: this.targetGroups[color].arn }],
          tags,
        },
        parent,
      );
    this.colorRoutes = Object.freeze(
      Object.fromEntries(COLORS.map((c) => [c, colorRoute(c)])) as Record<Color, aws.lb.ListenerRule>,
    );

    // ---- gRPC (HTTPS listener only): target groups, the pods' gRPC port, per-color pin rules ----
    if (grpcServed(args.certificateArn)) {
      const grpcPort = args.grpcPort ?? DEFAULT_GRPC_PORT;
      new aws.vpc.SecurityGroupEgressRule(
        `${name}-alb-out-pods-grpc`,
        {
          securityGroupId: this.securityGroup.id,
          description: "serving pods, gRPC (calls and health checks)",
          ipProtocol: "tcp",
          fromPort: grpcPort,
          toPort: grpcPort,
          referencedSecurityGroupId: args.clusterSecurityGroupId,
          tags,
        },
        parent,
      );
      new aws.vpc.SecurityGroupIngressRule(
        `${name}-pods-from-alb-grpc`,
        {
          securityGroupId: args.clusterSecurityGroupId,
          description: "gRPC port from the serving ALB",
          ipProtocol: "tcp",
          fromPort: grpcPort,
          toPort: grpcPort,
          referencedSecurityGroupId: this.securityGroup.id,
          tags,
        },
        parent,
      );
      const grpcTargetGroup = (color: Color): aws.lb.TargetGroup =>
        new aws.lb.TargetGroup(
          `${name}-${color}-grpc`,
          {
            vpcId: args.vpcId,
            targetType: "ip",
            // HTTP: plaintext HTTP/2 inside the VPC, as the HTTP group; TLS ends at the listener.
            protocol: "HTTP",
            protocolVersion: "GRPC",
            ipAddressType: "ipv4",
            port: grpcPort,
            deregistrationDelay: args.deregistrationDelaySeconds ?? 30,
            loadBalancingAlgorithmType: "least_outstanding_requests",
            healthCheck: {
              enabled: true,
              protocol: "HTTP",
              port: "traffic-port",
              path: GRPC_HEALTH_CHECK_PATH,
              matcher: GRPC_HEALTHY_CODES,
              interval: 10,
              timeout: 5,
              healthyThreshold: 2,
              unhealthyThreshold: 2,
            },
            tags: {
              ...tags,
              "serving.onnx-eks-serving/color": color,
              "serving.onnx-eks-serving/protocol": "grpc",
            },
          },
          parent,
        );
      const grpcGroups = { blue: grpcTargetGroup("blue"), green: grpcTargetGroup("green") };
      this.grpcTargetGroups = Object.freeze(grpcGroups);
      // As the HTTP pin rules: they keep each gRPC group in use from the start (readiness gates).
      const grpcColorRoute = (color: Color): aws.lb.ListenerRule =>
        new aws.lb.ListenerRule(
          `${name}-route-${color}-grpc`,
          {
            listenerArn: this.servingListener.arn,
            priority: GRPC_RULE_PRIORITY[color],
            conditions: grpcHeaderConditions(COLOR_HEADER, color, args.routeGuard),
            actions: [{ type: "forward", targetGroupArn: grpcGroups[color].arn }],
            tags,
          },
          parent,
        );
      this.grpcColorRoutes = Object.freeze(
        Object.fromEntries(COLORS.map((c) => [c, grpcColorRoute(c)])) as Record<Color, aws.lb.ListenerRule>,
      );
    }
    this.grpcEndpoint = this.grpcTargetGroups
      ? pulumi.interpolate`${this.loadBalancer.dnsName}:443`
      : pulumi.output("");

    this.dnsName = this.loadBalancer.dnsName;
    this.url = pulumi.interpolate`${https ? "https" : "http"}://${this.loadBalancer.dnsName}`;
    this.registerOutputs({
      dnsName: this.dnsName,
      url: this.url,
      securityGroupId: this.securityGroup.id,
      targetGroupArns: { blue: this.targetGroups.blue.arn, green: this.targetGroups.green.arn },
      grpcEndpoint: this.grpcEndpoint,
    });
  }
}
