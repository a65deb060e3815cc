/**
 * IAM roles for Kubernetes service accounts (IRSA): a role only one ServiceAccount can assume,
 * through the cluster's OIDC provider, with an inline least-privilege policy. Used for the VPC CNI,
 * the AWS Load Balancer Controller and the model server.
 *
 * Policy documents are built by pure functions returning plain objects, so tests parse and check
 * them exactly.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

/** An IAM policy document. */
export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly PolicyStatement[];
}

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Principal?: "*" | Record<string, string | string[]>;
  readonly Action: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

/**
 * Trust policy letting exactly `system:serviceaccount:<namespace>:<serviceAccount>` assume the role
 * with a token the cluster's OIDC issuer signed for STS (`aud` = sts.amazonaws.com).
 *
 * @param oidcProviderArn ARN of the IAM OIDC provider of the cluster.
 * @param oidcIssuer The issuer URL without "https://", e.g. "oidc.eks.us-west-2.amazonaws.com/id/ABC".
 */
export function irsaTrustPolicy(
  oidcProviderArn: string,
  oidcIssuer: string,
  namespace: string,
  serviceAccount: string,
): PolicyDocument {
  const issuer = oidcIssuer.replace(/^https:\/\//, "");
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Federated: oidcProviderArn },
        Action: "sts:AssumeRoleWithWebIdentity",
        Condition: {
          StringEquals: {
            [`${issuer}:sub`]: `system:serviceaccount:${namespace}:${serviceAccount}`,
            [`${issuer}:aud`]: "sts.amazonaws.com",
          },
        },
      },
    ],
  };
}

export interface IrsaRoleArgs {
  /** ARN of the cluster's IAM OIDC provider. Required. */
  readonly oidcProviderArn: pulumi.Input<string>;
  /** OIDC issuer without "https://". Required. */
  readonly oidcIssuer: pulumi.Input<string>;
  /** Namespace of the ServiceAccount. Required. */
  readonly namespace: pulumi.Input<string>;
  /** Name of the ServiceAccount. Required. */
  readonly serviceAccount: pulumi.Input<string>;
  /** Inline policy of the role. Default: none. */
  readonly policy?: pulumi.Input<PolicyDocument>;
  /** AWS managed policy ARNs to attach. Default []. */
  readonly managedPolicyArns?: readonly pulumi.Input<string>[];
  /** Role description. Default "IRSA role for <namespace>/<serviceAccount>". */
  readonly description?: pulumi.Input<string>;
  /** Tags. Default {}. */
  readonly tags?: Record<string, string>;
}

export class IrsaRole extends pulumi.ComponentResource {
  /** The role's ARN, for the ServiceAccount annotation `eks.amazonaws.com/role-arn`. */
  readonly roleArn: pulumi.Output<string>;
  readonly role: aws.iam.Role;
  /** The inline policy and managed policy attachments: depend on these before using the role. */
  readonly permissions: pulumi.Resource[] = [];

  constructor(name: string, args: IrsaRoleArgs, opts?: pulumi.ComponentResourceOptions) {
    super("onnx-eks-serving:index:IrsaRole", name, {}, opts);
    const trust = pulumi
      .all([args.oidcProviderArn, args.oidcIssuer, args.namespace, args.serviceAccount])
      .apply(([arn, issuer, ns, sa]) => JSON.stringify(irsaTrustPolicy(arn, issuer, ns, sa)));

    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        assumeRolePolicy: trust,
        description:
          args.description ?? pulumi.interpolate`IRSA role for ${args.namespace}/${args.serviceAccount}`,
        maxSessionDuration: 3600,
        tags: args.tags,
      },
      { parent: this },
    );
    if (args.policy !== undefined) {
      this.permissions.push(
        new aws.iam.RolePolicy(
          `${name}-policy`,
          { role: this.role.name, policy: pulumi.output(args.policy).apply((p) => JSON.stringify(p)) },
          { parent: this },
        ),
      );
    }
    (args.managedPolicyArns ?? []).forEach((policyArn, i) => {
      this.permissions.push(
        new aws.iam.RolePolicyAttachment(
          `${name}-managed-${i}`,
          { role: this.role.name, policyArn },
          { parent: this },
        ),
      );
    });

    this.roleArn = this.role.arn;
    this.registerOutputs({ roleArn: this.roleArn });
  }
}
