/**
 * Who may use the routes that bypass the listener weights: `X-Serving-Color: preview` (the
 * standby color, with its unreleased model) and `X-Serving-Color: blue|green` (one color pinned).
 * Left open, anyone on the internet could reach an unreleased model, skip the canary share and
 * overload a one-replica standby.
 *
 * Every such rule also requires `X-Serving-Preview-Token: <token>`, a random value this component
 * generates (random.RandomPassword: a secret in state, never plain; exported only as a secret
 * output), and, when configured, a source address inside an allow-list. ALB rule conditions are
 * ANDed, so a request must satisfy all of them; anything else falls through to the weighted rule.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";

/** Request header that carries the stack's preview token. */
export const PREVIEW_TOKEN_HEADER = "X-Serving-Preview-Token";

/** What a header-routed rule requires besides its own header. */
export interface RouteGuard {
  /** Value {@link PREVIEW_TOKEN_HEADER} must carry (secret). */
  readonly token: pulumi.Input<string>;
  /** Source CIDRs allowed (at most 3); empty = any source with the token. */
  readonly sourceCidrs: readonly string[];
}

/**
 * The conditions of a rule routed by `header: value`, restricted by the guard: the header, the
 * token header and, when set, the source CIDRs. Values never contain `*` or `?`, which the ALB
 * would read as wildcards (the token is alphanumeric).
 */
export function guardedHeaderConditions(
  header: string,
  value: string,
  guard: RouteGuard,
): pulumi.Output<aws.types.input.lb.ListenerRuleCondition[]> {
  // Secret as a whole: state encrypts it and `pulumi preview` shows the conditions as [secret].
  return pulumi.secret(
    pulumi.output([
      { httpHeader: { httpHeaderName: header, values: [value] } },
      { httpHeader: { httpHeaderName: PREVIEW_TOKEN_HEADER, values: [guard.token] } },
      ...(guard.sourceCidrs.length > 0 ? [{ sourceIp: { values: [...guard.sourceCidrs] } }] : []),
    ]),
  ) as pulumi.Output<aws.types.input.lb.ListenerRuleCondition[]>;
}

export interface PreviewAccessArgs {
  /** Source CIDRs allowed to use the header routes (at most 3). Default: [] (any source with the token). */
  readonly sourceCidrs?: readonly string[];
  /** Token length, 32-128 (an ALB header condition value holds at most 128 characters). Default: 40. */
  readonly tokenLength?: number;
}

export class PreviewAccess extends pulumi.ComponentResource {
  /** The token (secret): send it as `X-Serving-Preview-Token`. */
  readonly token: pulumi.Output<string>;
  /** The guard the load balancer and the traffic router apply to their header rules. */
  readonly guard: RouteGuard;

  constructor(name: string, args: PreviewAccessArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("onnx-eks-serving:traffic:PreviewAccess", name, {}, opts);
    const length = args.tokenLength ?? 40;
    if (!Number.isInteger(length) || length < 32 || length > 128) {
      throw new Error(`PreviewAccess ${name}: tokenLength must be an integer from 32 to 128, got ${length}`);
    }
    const cidrs = [...(args.sourceCidrs ?? [])];
    if (cidrs.length > 3) {
      throw new Error(`PreviewAccess ${name}: sourceCidrs must list at most 3 CIDRs, got ${cidrs.length}`);
    }
    // Alphanumeric only: header condition values treat * and ? as wildcards. Rotating it is
    // `pulumi up --replace <urn of this password>`.
    const password = new random.RandomPassword(
      `${name}-token`,
      { length, special: false, upper: true, lower: true, numeric: true },
      { parent: this },
    );
    this.token = pulumi.secret(password.result);
    this.guard = Object.freeze({ token: this.token, sourceCidrs: Object.freeze(cidrs) });
    this.registerOutputs({ token: this.token });
  }
}
