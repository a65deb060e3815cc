/**
 * A cluster add-on installed with Helm whose pods call AWS through IRSA, as the AWS Load Balancer
 * Controller and the Cluster Autoscaler do: an IRSA role trusting only the chart's
 * ServiceAccount, and the release, which waits for the role's permissions so that the add-on's
 * first reconcile is already allowed. What differs per add-on (policy, values) comes from the
 * component that owns it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { IrsaRole, type PolicyDocument } from "./irsaRole";

export interface IrsaHelmReleaseArgs {
  /** Kubernetes provider of the cluster. Required. */
  readonly provider: k8s.Provider;
  /** ARN of the cluster's IAM OIDC provider. Required. */
  readonly oidcProviderArn: pulumi.Input<string>;
  /** OIDC issuer without "https://". Required. */
  readonly oidcIssuer: pulumi.Input<string>;
  /** Namespace of the release and of its ServiceAccount. Required. */
  readonly namespace: string;
  /** The ServiceAccount the chart creates (the only principal the role trusts). Required. */
  readonly serviceAccount: string;
  /** The role's description. Required. */
  readonly description: string;
  /** The role's inline policy, from the stack's partition and account id. Required. */
  readonly policy: (ids: {
    partition: pulumi.Output<string>;
    accountId: pulumi.Output<string>;
  }) => pulumi.Input<PolicyDocument>;
  /** Chart name (also the release name), version and repository. Required. */
  readonly chart: { readonly name: string; readonly version: string; readonly repo: string };
  /** Helm values, given the role's ARN for the ServiceAccount annotation. Required. */
  readonly values: (roleArn: pulumi.Output<string>) => pulumi.Input<Record<string, unknown>>;
  /** Resources the release waits for besides the role's permissions. Default []. */
  readonly dependsOn?: pulumi.Resource[];
  /** Tags for the role. Default {}. */
  readonly tags?: Record<string, string>;
}

/** Creates `<name>-irsa` and `<name>-release` under `parent`. */
export function irsaHelmRelease(
  name: string,
  args: IrsaHelmReleaseArgs,
  parent: pulumi.Resource,
): { role: IrsaRole; release: k8s.helm.v3.Release } {
  const opts = { parent };
  const partition = aws.getPartitionOutput({}, opts).partition;
  const accountId = aws.getCallerIdentityOutput({}, opts).accountId;
  const role = new IrsaRole(
    `${name}-irsa`,
    {
      oidcProviderArn: args.oidcProviderArn,
      oidcIssuer: args.oidcIssuer,
      namespace: args.namespace,
      serviceAccount: args.serviceAccount,
      description: args.description,
      policy: args.policy({ partition, accountId }),
      tags: args.tags,
    },
    opts,
  );
  const release = new k8s.helm.v3.Release(
    `${name}-release`,
    {
      name: args.chart.name,
      chart: args.chart.name,
      version: args.chart.version,
      repositoryOpts: { repo: args.chart.repo },
      namespace: args.namespace,
      values: args.values(role.roleArn),
      atomic: true,
      cleanupOnFail: true,
    },
    { parent, provider: args.provider, dependsOn: [...role.permissions, ...(args.dependsOn ?? [])] },
  );
  return { role, release };
}
