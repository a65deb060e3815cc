import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";

/** Namespace label that makes the load balancer controller inject its target-health readiness gate. */
export const READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject";

export interface ServingNamespaceArgs {
  /** Namespace name. Default: "model-serving". */
  readonly name?: string;
  /** ServiceAccount both colors run as; the IRSA role trusts exactly this name. Default: "model-server". */
  readonly serviceAccountName?: string;
  /** IAM role the ServiceAccount assumes through IRSA (servingIdentity's roleArn). */
  readonly roleArn: pulumi.Input<string>;
  /** Extra labels for the namespace and ServiceAccount. Default: none. */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * The serving namespace and the one ServiceAccount both colors share.
 *
 * The namespace enforces Pod Security Standards "restricted" (and audits/warns on it), and
 * carries the label that makes the AWS Load Balancer Controller inject a readiness gate into
 * every pod behind a TargetGroupBinding: a pod is Ready only once its target is healthy in the
 * ALB, so rollouts and Pulumi's Deployment await both wait for real ALB health.
 */
export class ServingNamespace extends pulumi.ComponentResource {
  public readonly namespace: k8s.core.v1.Namespace;
  public readonly serviceAccount: k8s.core.v1.ServiceAccount;
  /** The namespace name (resolves once the namespace exists). */
  public readonly namespaceName: pulumi.Output<string>;
  /** The ServiceAccount name (resolves once it exists). */
  public readonly serviceAccountName: pulumi.Output<string>;

  constructor(name: string, args: ServingNamespaceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("onnx-eks-serving:serving:ServingNamespace", name, {}, opts);
    const nsName = args.name ?? "model-serving";
    const saName = args.serviceAccountName ?? "model-server";
    const labels = { ...args.labels, "app.kubernetes.io/managed-by": "pulumi" };

    this.namespace = new k8s.core.v1.Namespace(
      name,
      {
        metadata: {
          name: nsName,
          labels: {
            ...labels,
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/enforce-version": "latest",
            "pod-security.kubernetes.io/audit": "restricted",
            "pod-security.kubernetes.io/audit-version": "latest",
            "pod-security.kubernetes.io/warn": "restricted",
            "pod-security.kubernetes.io/warn-version": "latest",
            [READINESS_GATE_LABEL]: "enabled",
          },
        },
      },
      { parent: this },
    );

    this.serviceAccount = new k8s.core.v1.ServiceAccount(
      `${name}-${saName}`,
      {
        metadata: {
          name: saName,
          namespace: this.namespace.metadata.name,
          labels,
          annotations: {
            "eks.amazonaws.com/role-arn": args.roleArn,
            // Regional STS endpoint: lower latency, no dependency on us-east-1.
            "eks.amazonaws.com/sts-regional-endpoints": "true",
          },
        },
        // The server never calls the Kubernetes API. The EKS pod identity webhook mounts its
        // own projected web-identity token for IRSA, independent of this setting.
        automountServiceAccountToken: false,
      },
      { parent: this },
    );

    this.namespaceName = this.namespace.metadata.name;
    this.serviceAccountName = this.serviceAccount.metadata.name;
    this.registerOutputs({ namespaceName: this.namespaceName, serviceAccountName: this.serviceAccountName });
  }
}
