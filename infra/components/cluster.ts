/**
 * The EKS cluster: control plane with KMS envelope encryption of Secrets and every control-plane
 * log type, API endpoint access as configured, API-mode access entries for admins, the IAM OIDC
 * provider for IRSA, EKS-managed add-ons (vpc-cni with its own IRSA role, kube-proxy, coredns,
 * metrics-server), a CPU system node group, and a Kubernetes provider built from a generated
 * kubeconfig.
 *
 * Plain `aws.eks.*` resources rather than @pulumi/eks: its v3+ components are provider-implemented
 * and opaque under mocks, and every property here is something the tests check.
 *
 * Creation order (what a first `pulumi up` into an empty account does):
 *   KMS key, cluster role, log group -> cluster (no self-managed add-ons) -> OIDC provider ->
 *   vpc-cni (IRSA) + kube-proxy add-ons -> system nodes -> coredns, metrics-server -> workloads.
 * Nodes wait for the CNI so they turn Ready; CoreDNS and metrics-server wait for nodes so their
 * add-ons turn ACTIVE.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { IrsaRole, type PolicyDocument } from "./irsaRole";
import { managedNodeGroup } from "./managedNodeGroup";

/** Control-plane log types EKS can ship to CloudWatch; all are enabled. */
export const CONTROL_PLANE_LOG_TYPES = [
  "api",
  "audit",
  "authenticator",
  "controllerManager",
  "scheduler",
] as const;

/** Label every system node carries; controllers select it, and serving selects it when GPUs are off. */
export const SYSTEM_NODE_LABEL = { "node.onnx-eks-serving/role": "system" } as const;

export interface ClusterArgs {
  /** EKS cluster name (also the CloudWatch log group's path). Required. */
  readonly clusterName: string;
  /** Region of the cluster, written into the kubeconfig. Required. */
  readonly region: string;
  /** Kubernetes version, e.g. "1.35". Default "1.35". */
  readonly version?: string;
  /** VPC of the cluster. Required. */
  readonly vpcId: pulumi.Input<string>;
  /** Private subnets: control-plane ENIs and every node. Required. */
  readonly privateSubnetIds: pulumi.Input<string[]>;
  /** Public subnets, passed through for the load balancer. Required. */
  readonly publicSubnetIds: pulumi.Input<string[]>;
  /** API endpoint reachable from the internet. Default true. */
  readonly endpointPublicAccess?: boolean;
  /** CIDRs allowed on the public endpoint. Default ["0.0.0.0/0"]. */
  readonly publicAccessCidrs?: readonly string[];
  /** API endpoint reachable from the VPC. Default true. */
  readonly endpointPrivateAccess?: boolean;
  /** IAM principals given AmazonEKSClusterAdminPolicy (cluster scope). Default []. */
  readonly adminPrincipalArns?: readonly string[];
  /** System node instance type. Default "t3.large". */
  readonly systemNodeInstanceType?: string;
  /** System node count (min = desired; max twice that for rolling updates). Default 2. */
  readonly systemNodeCount?: number;
  /** The Cluster Autoscaler sizes the system nodes (Pulumi sets the desired count only at creation). Default false. */
  readonly systemNodesAutoscaled?: boolean;
  /** System node root volume, GiB. Default 50. */
  readonly systemNodeDiskSizeGiB?: number;
  /** Days the control-plane log group keeps logs. Default 90. */
  readonly logRetentionDays?: number;
  /**
   * EKS add-on versions by add-on name (vpc-cni, kube-proxy, coredns, metrics-server). An add-on
   * left out (or "") gets the version EKS pairs with the cluster's Kubernetes version, chosen
   * once at creation and then kept (ignoreChanges), so it never floats between runs.
   * Default {}.
   */
  readonly addonVersions?: Readonly<Record<string, string>>;
  /** Tags for every AWS resource. Default {}. */
  readonly tags?: Record<string, string>;
}

/** Kubeconfig for the cluster; authenticates with `aws eks get-token` (AWS CLI v2). */
export function buildKubeconfig(args: {
  clusterName: string;
  endpoint: string;
  certificateAuthorityData: string;
  region: string;
}): string {
  const context = args.clusterName;
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        {
          name: context,
          cluster: { server: args.endpoint, "certificate-authority-data": args.certificateAuthorityData },
        },
      ],
      contexts: [{ name: context, context: { cluster: context, user: context } }],
      "current-context": context,
      users: [
        {
          name: context,
          user: {
            exec: {
              apiVersion: "client.authentication.k8s.io/v1beta1",
              command: "aws",
              args: [
                "eks",
                "get-token",
                "--cluster-name",
                args.clusterName,
                "--region",
                args.region,
                "--output",
                "json",
              ],
              interactiveMode: "Never",
            },
          },
        },
      ],
    },
    null,
    2,
  );
}

/** Policy letting the EKS service role use the secrets key for envelope encryption. */
export function clusterKmsPolicy(keyArn: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "EnvelopeEncryptionOfSecrets",
        Effect: "Allow",
        Action: ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
        Resource: keyArn,
      },
    ],
  };
}

/** Trust policy for a role assumed by an AWS service. */
export function serviceTrustPolicy(
  service: string,
  actions: readonly string[] = ["sts:AssumeRole"],
): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: [...actions] }],
  };
}

/** Stable logical-name suffix for a value (e.g. an admin ARN), so list order does not matter. */
export function shortHash(value: string): string {
  return createHash("sha256").update(value).digest("hex").slice(0, 8);
}

export class Cluster extends pulumi.ComponentResource {
  readonly clusterName: pulumi.Output<string>;
  readonly endpoint: pulumi.Output<string>;
  /** Kubeconfig (secret): `pulumi stack output kubeconfig --show-secrets > kubeconfig.json`. */
  readonly kubeconfig: pulumi.Output<string>;
  /** Kubernetes provider for every in-cluster resource. */
  readonly provider: k8s.Provider;
  /** The EKS-created cluster security group: control plane ENIs, managed nodes and their pods (VPC CNI). */
  readonly clusterSecurityGroupId: pulumi.Output<string>;
  readonly oidcProviderArn: pulumi.Output<string>;
  /** OIDC issuer URL without "https://", for IRSA trust conditions. */
  readonly oidcIssuer: pulumi.Output<string>;
  readonly vpcId: pulumi.Output<string>;
  readonly privateSubnetIds: pulumi.Output<string[]>;
  readonly publicSubnetIds: pulumi.Output<string[]>;
  /** Node role shared by the managed node groups. */
  readonly nodeRoleArn: pulumi.Output<string>;
  /**
   * What any node group waits for: the node role's policies and the vpc-cni and kube-proxy
   * add-ons (with bootstrapSelfManagedAddons false, a node registering before vpc-cni exists
   * never turns Ready).
   */
  readonly nodeDependencies: pulumi.Resource[];
  readonly eksCluster: aws.eks.Cluster;
  readonly systemNodeGroup: aws.eks.NodeGroup;
  /** The node role's policy attachments: node groups depend on them. */
  readonly nodeRoleAttachments: pulumi.Resource[];
  /** Resources that must exist before workloads are scheduled: system nodes, CNI, CoreDNS. */
  readonly workloadDependencies: pulumi.Resource[];
  /**
   * The metrics-server add-on: the resource metrics API (metrics.k8s.io) that
   * HorizontalPodAutoscalers scale on. EKS does not install it by itself.
   */
  readonly metricsServer: aws.eks.Addon;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("onnx-eks-serving:index:Cluster", name, {}, opts);
    const version = args.version ?? "1.35";
    const endpointPublicAccess = args.endpointPublicAccess ?? true;
    const endpointPrivateAccess = args.endpointPrivateAccess ?? true;
    const publicAccessCidrs = args.publicAccessCidrs ?? ["0.0.0.0/0"];
    const adminPrincipalArns = args.adminPrincipalArns ?? [];
    const systemNodeCount = args.systemNodeCount ?? 2;
    const tags = args.tags ?? {};
    if (!endpointPublicAccess && !endpointPrivateAccess) {
      throw new Error(`Cluster ${name}: endpointPublicAccess and endpointPrivateAccess cannot both be false`);
    }
    if (systemNodeCount < 1)
      throw new Error(`Cluster ${name}: systemNodeCount must be at least 1, got ${systemNodeCount}`);
    const parent = { parent: this };
    const partition = aws.getPartitionOutput({}, parent).partition;
    const managedPolicy = (policy: string): pulumi.Output<string> =>
      pulumi.interpolate`arn:${partition}:iam::aws:policy/${policy}`;

    // ---- Control plane --------------------------------------------------------------------
    const secretsKey = new aws.kms.Key(
      `${name}-secrets`,
      {
        description: `Envelope encryption of Kubernetes Secrets in EKS cluster ${args.clusterName}`,
        enableKeyRotation: true,
        deletionWindowInDays: 30,
        tags,
      },
      parent,
    );
    new aws.kms.Alias(
      `${name}-secrets`,
      { name: `alias/${args.clusterName}-eks-secrets`, targetKeyId: secretsKey.keyId },
      parent,
    );

    const clusterRole = new aws.iam.Role(
      `${name}-cluster`,
      {
        description: `EKS service role of cluster ${args.clusterName}`,
        assumeRolePolicy: JSON.stringify(
          serviceTrustPolicy("eks.amazonaws.com", ["sts:AssumeRole", "sts:TagSession"]),
        ),
        tags,
      },
      parent,
    );
    const clusterRolePolicies = [
      new aws.iam.RolePolicyAttachment(
        `${name}-cluster-policy`,
        { role: clusterRole.name, policyArn: managedPolicy("AmazonEKSClusterPolicy") },
        parent,
      ),
      new aws.iam.RolePolicy(
        `${name}-cluster-kms`,
        {
          role: clusterRole.name,
          policy: secretsKey.arn.apply((arn) => JSON.stringify(clusterKmsPolicy(arn))),
        },
        parent,
      ),
    ];

    // Created up front so its retention applies; EKS would otherwise create it with no expiry.
    const logGroup = new aws.cloudwatch.LogGroup(
      `${name}-control-plane`,
      { name: `/aws/eks/${args.clusterName}/cluster`, retentionInDays: args.logRetentionDays ?? 90, tags },
      parent,
    );

    const cluster = new aws.eks.Cluster(
      `${name}-eks`,
      {
        name: args.clusterName,
        version,
        roleArn: clusterRole.arn,
        vpcConfig: {
          subnetIds: args.privateSubnetIds,
          endpointPublicAccess,
          endpointPrivateAccess,
          publicAccessCidrs: endpointPublicAccess ? [...publicAccessCidrs] : undefined,
        },
        encryptionConfig: { provider: { keyArn: secretsKey.arn }, resources: ["secrets"] },
        enabledClusterLogTypes: [...CONTROL_PLANE_LOG_TYPES],
        accessConfig: {
          // Access entries only (no aws-auth ConfigMap). The identity running `pulumi up` becomes
          // cluster admin at creation, which the Kubernetes provider below relies on.
          authenticationMode: "API",
          bootstrapClusterCreatorAdminPermissions: true,
        },
        // The add-ons are EKS-managed below; nothing self-managed to adopt or fight over.
        bootstrapSelfManagedAddons: false,
        tags,
      },
      { parent: this, dependsOn: [logGroup, ...clusterRolePolicies] },
    );
    this.eksCluster = cluster;

    // ---- IRSA ------------------------------------------------------------------------------
    const issuerUrl = cluster.identities.apply((ids) => {
      const issuer = ids?.[0]?.oidcs?.[0]?.issuer;
      if (!issuer) throw new Error(`Cluster ${name}: EKS reported no OIDC issuer`);
      return issuer;
    });
    // No thumbprint: IAM trusts the EKS issuers' certificate authority (Amazon Trust Services)
    // through its own root CA library and ignores thumbprints for them.
    const oidcProvider = new aws.iam.OpenIdConnectProvider(
      `${name}-oidc`,
      { url: issuerUrl, clientIdLists: ["sts.amazonaws.com"], tags },
      parent,
    );
    this.oidcProviderArn = oidcProvider.arn;
    this.oidcIssuer = issuerUrl.apply((u) => u.replace(/^https:\/\//, ""));

    // ---- Admin access entries -----------------------------------------------------------------
    const adminPolicyArn = pulumi.interpolate`arn:${partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy`;
    for (const principalArn of adminPrincipalArns) {
      const suffix = shortHash(principalArn);
      const entry = new aws.eks.AccessEntry(
        `${name}-admin-${suffix}`,
        { clusterName: cluster.name, principalArn, type: "STANDARD", tags },
        parent,
      );
      new aws.eks.AccessPolicyAssociation(
        `${name}-admin-${suffix}`,
        {
          clusterName: cluster.name,
          principalArn,
          policyArn: adminPolicyArn,
          accessScope: { type: "cluster" },
        },
        { parent: this, dependsOn: [entry] },
      );
    }

    // ---- Add-ons that nodes need to become Ready ------------------------------------------------
    /**
     * An EKS-managed add-on at the default version EKS pairs with the cluster's Kubernetes
     * version. EKS owns its objects: conflicting edits are overwritten on create and update.
     */
    const addon = (
      addonName: string,
      extra: Pick<aws.eks.AddonArgs, "serviceAccountRoleArn">,
      opts: pulumi.CustomResourceOptions,
    ): aws.eks.Addon => {
      const pinned = args.addonVersions?.[addonName] ?? "";
      return new aws.eks.Addon(
        `${name}-${addonName}`,
        {
          clusterName: cluster.name,
          addonName,
          addonVersion:
            pinned !== ""
              ? pinned
              : aws.eks.getAddonVersionOutput(
                  { addonName, kubernetesVersion: cluster.version, mostRecent: false },
                  parent,
                ).version,
          ...extra,
          resolveConflictsOnCreate: "OVERWRITE",
          resolveConflictsOnUpdate: "OVERWRITE",
          tags,
        },
        // Unpinned: EKS's default at creation, then kept. The default moves when AWS publishes a
        // new build; following it on every run would upgrade add-ons as a side effect of any up.
        { parent: this, ...opts, ...(pinned === "" ? { ignoreChanges: ["addonVersion"] } : {}) },
      );
    };
    const cniRole = new IrsaRole(
      `${name}-vpc-cni`,
      {
        oidcProviderArn: oidcProvider.arn,
        oidcIssuer: this.oidcIssuer,
        namespace: "kube-system",
        serviceAccount: "aws-node",
        managedPolicyArns: [managedPolicy("AmazonEKS_CNI_Policy")],
        description: `VPC CNI (aws-node) of cluster ${args.clusterName}`,
        tags,
      },
      parent,
    );
    const vpcCni = addon(
      "vpc-cni",
      { serviceAccountRoleArn: cniRole.roleArn },
      { dependsOn: cniRole.permissions },
    );
    const kubeProxy = addon("kube-proxy", {}, {});

    // ---- System nodes -------------------------------------------------------------------------
    const nodeRole = new aws.iam.Role(
      `${name}-node`,
      {
        description: `Managed node groups of cluster ${args.clusterName}`,
        assumeRolePolicy: JSON.stringify(serviceTrustPolicy("ec2.amazonaws.com")),
        tags,
      },
      parent,
    );
    // No AmazonEKS_CNI_Policy on nodes: the VPC CNI has its own IRSA role above.
    this.nodeRoleAttachments = ["AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly"].map(
      (policy) =>
        new aws.iam.RolePolicyAttachment(
          `${name}-node-${policy}`,
          { role: nodeRole.name, policyArn: managedPolicy(policy) },
          parent,
        ),
    );
    this.nodeRoleArn = nodeRole.arn;
    this.nodeDependencies = [vpcCni, kubeProxy, ...this.nodeRoleAttachments];

    this.systemNodeGroup = managedNodeGroup(
      `${name}-system`,
      {
        clusterName: cluster.name,
        kubernetesVersion: cluster.version,
        nodeRoleArn: nodeRole.arn,
        subnetIds: args.privateSubnetIds,
        amiType: "AL2023_x86_64_STANDARD",
        capacityType: "ON_DEMAND",
        instanceTypes: [args.systemNodeInstanceType ?? "t3.large"],
        scaling: { minSize: systemNodeCount, desiredSize: systemNodeCount, maxSize: systemNodeCount * 2 },
        diskSizeGiB: args.systemNodeDiskSizeGiB ?? 50,
        nameTag: `${args.clusterName}-system`,
        autoscaled: args.systemNodesAutoscaled ?? false,
        labels: { ...SYSTEM_NODE_LABEL },
        tags,
      },
      { parent: this, dependsOn: this.nodeDependencies },
    );

    // CoreDNS needs somewhere to run: its add-on only turns ACTIVE once nodes exist.
    const coreDns = addon("coredns", {}, { dependsOn: [this.systemNodeGroup] });
    this.workloadDependencies = [this.systemNodeGroup, vpcCni, kubeProxy, coreDns];

    // Without metrics-server an HPA reports <unknown> CPU and never scales. Its pods run on the
    // system nodes, so, like CoreDNS, the add-on turns ACTIVE only once they exist.
    this.metricsServer = addon("metrics-server", {}, { dependsOn: [this.systemNodeGroup] });

    // ---- Kubernetes provider --------------------------------------------------------------------
    this.clusterName = cluster.name;
    this.endpoint = cluster.endpoint;
    this.kubeconfig = pulumi.secret(
      pulumi
        .all([cluster.name, cluster.endpoint, cluster.certificateAuthority])
        .apply(([clusterName, endpoint, ca]) =>
          buildKubeconfig({ clusterName, endpoint, certificateAuthorityData: ca.data, region: args.region }),
        ),
    );
    this.provider = new k8s.Provider(`${name}-k8s`, { kubeconfig: this.kubeconfig }, parent);
    this.clusterSecurityGroupId = cluster.vpcConfig.clusterSecurityGroupId;
    this.vpcId = pulumi.output(args.vpcId);
    this.privateSubnetIds = pulumi.output(args.privateSubnetIds);
    this.publicSubnetIds = pulumi.output(args.publicSubnetIds);

    this.registerOutputs({
      clusterName: this.clusterName,
      endpoint: this.endpoint,
      kubeconfig: this.kubeconfig,
      clusterSecurityGroupId: this.clusterSecurityGroupId,
      oidcProviderArn: this.oidcProviderArn,
      oidcIssuer: this.oidcIssuer,
      nodeRoleArn: this.nodeRoleArn,
    });
  }
}
