import assert from "node:assert/strict";
import type { RecordedResource, StackEvaluation } from "../../infra/harness";
import { CONTROL_PLANE_LOG_TYPES, SYSTEM_NODE_LABEL } from "../../infra/components/cluster";
import {
  cpuStack,
  devStack,
  irsaRole,
  policyOf,
  stateString,
  T,
  VARIANT_ADMINS,
  variantStack,
} from "./support/stacks";

const ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

describe("cluster: EKS control plane, access, IRSA, add-ons, system nodes (mocks)", () => {
  let dev: StackEvaluation;
  let variant: StackEvaluation;
  let cpu: StackEvaluation;
  let cluster: RecordedResource;
  before(async () => {
    [dev, variant, cpu] = await Promise.all([devStack(), variantStack(), cpuStack()]);
    cluster = dev.one(T.cluster);
  });

  describe("control plane", () => {
    it("is named <project>-<stack> and runs the configured Kubernetes version", () => {
      assert.equal(cluster.inputs.name, "onnx-eks-serving-dev");
      assert.equal(cluster.inputs.version, "1.35");
      assert.equal(variant.one(T.cluster).inputs.version, "1.34");
    });

    it("envelope-encrypts Secrets with its own KMS key, rotation on", () => {
      const key = dev.one(T.kmsKey, "cluster-secrets");
      assert.deepEqual(cluster.inputs.encryptionConfig, {
        provider: { keyArn: stateString(key, "arn") },
        resources: ["secrets"],
      });
      assert.equal(key.inputs.enableKeyRotation, true, `${key.name}: enableKeyRotation`);
    });

    it("lets the cluster role use exactly that key", () => {
      const kms = policyOf(dev.one(T.rolePolicy, "cluster-cluster-kms"));
      assert.deepEqual(kms.Statement, [
        {
          Sid: "EnvelopeEncryptionOfSecrets",
          Effect: "Allow",
          Action: ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
          Resource: stateString(dev.one(T.kmsKey, "cluster-secrets"), "arn"),
        },
      ]);
    });

    it("assumes an EKS service role with AmazonEKSClusterPolicy", () => {
      const role = dev.one(T.role, "cluster-cluster");
      assert.equal(cluster.inputs.roleArn, stateString(role, "arn"));
      assert.deepEqual(policyOf(role, "assumeRolePolicy").Statement, [
        {
          Effect: "Allow",
          Principal: { Service: "eks.amazonaws.com" },
          Action: ["sts:AssumeRole", "sts:TagSession"],
        },
      ]);
      const attachment = dev.one(T.attachment, "cluster-cluster-policy");
      assert.equal(attachment.inputs.policyArn, "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy");
      assert.equal(attachment.inputs.role, stateString(role, "name"));
    });

    it("ships every control-plane log type to a log group with 90 days retention, created first", () => {
      assert.deepEqual(cluster.inputs.enabledClusterLogTypes, [...CONTROL_PLANE_LOG_TYPES]);
      assert.deepEqual(cluster.inputs.enabledClusterLogTypes, [
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
      ]);
      const logGroup = dev.one(T.logGroup, "cluster-control-plane");
      assert.equal(logGroup.inputs.name, "/aws/eks/onnx-eks-serving-dev/cluster");
      assert.equal(logGroup.inputs.retentionInDays, 90);
      assert.ok(dev.dependsOn(cluster, logGroup), "the cluster must be created after its log group");
    });

    it("uses API-mode access entries; the deploying identity is bootstrapped as admin", () => {
      assert.deepEqual(cluster.inputs.accessConfig, {
        authenticationMode: "API",
        bootstrapClusterCreatorAdminPermissions: true,
      });
    });

    it("bootstraps no self-managed add-ons (all three are EKS-managed)", () => {
      assert.equal(cluster.inputs.bootstrapSelfManagedAddons, false);
    });

    it("places the control plane in the VPC's private subnets", () => {
      const vpc = dev.one(T.vpc);
      assert.deepEqual(
        (cluster.inputs.vpcConfig as Record<string, unknown>).subnetIds,
        vpc.state.privateSubnetIds,
      );
    });
  });

  describe("API endpoint access", () => {
    it("dev: public (0.0.0.0/0) and private", () => {
      assert.deepEqual(cluster.inputs.vpcConfig, {
        subnetIds: dev.one(T.vpc).state.privateSubnetIds,
        endpointPublicAccess: true,
        endpointPrivateAccess: true,
        publicAccessCidrs: ["0.0.0.0/0"],
      });
    });

    it("a restricted public endpoint allows exactly the configured CIDRs", () => {
      const vpcConfig = variant.one(T.cluster).inputs.vpcConfig as Record<string, unknown>;
      assert.equal(vpcConfig.endpointPublicAccess, true);
      assert.equal(vpcConfig.endpointPrivateAccess, true);
      assert.deepEqual(vpcConfig.publicAccessCidrs, ["203.0.113.0/24", "198.51.100.0/24"]);
    });

    it("a private-only endpoint sends no public CIDRs", () => {
      const vpcConfig = cpu.one(T.cluster).inputs.vpcConfig as Record<string, unknown>;
      assert.equal(vpcConfig.endpointPublicAccess, false);
      assert.equal(vpcConfig.endpointPrivateAccess, true);
      assert.equal(vpcConfig.publicAccessCidrs, undefined);
    });
  });

  describe("admin access entries", () => {
    it("dev lists no admins, so there are no entries", () => {
      assert.deepEqual(dev.all(T.accessEntry), []);
      assert.deepEqual(dev.all(T.accessPolicy), []);
    });

    it("each configured admin gets a STANDARD entry and the cluster-admin policy at cluster scope", () => {
      const entries = variant.all(T.accessEntry);
      const associations = variant.all(T.accessPolicy);
      assert.deepEqual(entries.map((e) => e.inputs.principalArn).sort(), [...VARIANT_ADMINS].sort());
      assert.equal(associations.length, VARIANT_ADMINS.length);
      for (const entry of entries) {
        assert.equal(entry.inputs.type, "STANDARD", `${entry.name}: type`);
        assert.equal(entry.inputs.clusterName, "onnx-eks-serving-dev", `${entry.name}: clusterName`);
        const association = associations.find((a) => a.inputs.principalArn === entry.inputs.principalArn);
        assert.ok(association, `no AccessPolicyAssociation for ${String(entry.inputs.principalArn)}`);
        assert.equal(association.inputs.policyArn, ADMIN_POLICY, `${association.name}: policyArn`);
        assert.deepEqual(
          association.inputs.accessScope,
          { type: "cluster" },
          `${association.name}: accessScope`,
        );
        assert.ok(variant.dependsOn(association, entry), `${association.name} must wait for ${entry.name}`);
      }
    });
  });

  describe("IRSA", () => {
    it("registers the cluster's OIDC issuer for STS, with no thumbprint (IAM trusts the issuer's CA)", () => {
      const oidc = dev.one(T.oidc);
      const issuer = (cluster.state.identities as Array<{ oidcs: Array<{ issuer: string }> }>)[0].oidcs[0]
        .issuer;
      assert.match(issuer, /^https:\/\/oidc\.eks\.us-west-2\.amazonaws\.com\/id\/[0-9A-F]{32}$/);
      assert.equal(oidc.inputs.url, issuer);
      assert.deepEqual(oidc.inputs.clientIdLists, ["sts.amazonaws.com"]);
      assert.equal(oidc.inputs.thumbprintLists, undefined);
    });
  });

  describe("managed add-ons", () => {
    it("installs exactly vpc-cni, kube-proxy, coredns and metrics-server at the default version for the cluster version", () => {
      const addons = dev.all(T.addon);
      assert.deepEqual(addons.map((a) => a.inputs.addonName).sort(), [
        "coredns",
        "kube-proxy",
        "metrics-server",
        "vpc-cni",
      ]);
      const versions = Object.fromEntries(addons.map((a) => [a.inputs.addonName, a.inputs.addonVersion]));
      // The mock getAddonVersion answers per add-on and Kubernetes version; these prove it was asked.
      assert.deepEqual(versions, {
        "vpc-cni": "v1.19.5-eksbuild.1",
        coredns: "v1.11.4-eksbuild.1",
        "kube-proxy": "v1.35.0-eksbuild.1",
        "metrics-server": "v0.8.0-eksbuild.1",
      });
      for (const a of addons) {
        assert.equal(a.inputs.clusterName, "onnx-eks-serving-dev", `${a.name}: clusterName`);
        assert.equal(a.inputs.resolveConflictsOnCreate, "OVERWRITE", `${a.name}: resolveConflictsOnCreate`);
      }
    });

    it("the VPC CNI runs with its own IRSA role (kube-system/aws-node, AmazonEKS_CNI_Policy)", () => {
      const cni = dev.one(T.addon, "cluster-vpc-cni");
      const { role } = irsaRole(dev, "cluster-vpc-cni");
      assert.equal(cni.inputs.serviceAccountRoleArn, stateString(role, "arn"));
      const trust = policyOf(role, "assumeRolePolicy");
      const condition = (trust.Statement[0].Condition as Record<string, Record<string, string>>).StringEquals;
      assert.deepEqual(Object.values(condition).sort(), [
        "sts.amazonaws.com",
        "system:serviceaccount:kube-system:aws-node",
      ]);
      assert.equal(
        dev.one(T.attachment, "cluster-vpc-cni-managed-0").inputs.policyArn,
        "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
      );
    });

    it("system nodes wait for the CNI and kube-proxy; CoreDNS waits for the system nodes", () => {
      const nodes = dev.one(T.nodeGroup, "cluster-system");
      assert.ok(dev.dependsOn(nodes, dev.one(T.addon, "cluster-vpc-cni")), "nodes after vpc-cni");
      assert.ok(dev.dependsOn(nodes, dev.one(T.addon, "cluster-kube-proxy")), "nodes after kube-proxy");
      assert.ok(dev.dependsOn(dev.one(T.addon, "cluster-coredns"), nodes), "coredns after the system nodes");
    });

    it("metrics-server (what the serving HPAs scale on) waits for the system nodes; serving waits for it", () => {
      const metricsServer = dev.one(T.addon, "cluster-metrics-server");
      assert.ok(
        dev.dependsOn(metricsServer, dev.one(T.nodeGroup, "cluster-system")),
        "after the system nodes",
      );
      assert.equal(metricsServer.inputs.resolveConflictsOnUpdate, "OVERWRITE");
      assert.equal(metricsServer.inputs.serviceAccountRoleArn, undefined, "it needs no AWS permissions");
      for (const ev of [dev, cpu]) {
        const addon = ev.one(T.addon, "cluster-metrics-server");
        for (const color of ["blue", "green"]) {
          const deployment = ev.one(T.deployment, `serving-${color}`);
          assert.ok(ev.dependsOn(deployment, addon), `${deployment.name} after metrics-server`);
        }
        // The HPAs exist for every color with pods: what metrics-server is there for.
        assert.deepEqual(
          ev.all(T.hpa).map((h) => h.name),
          ["serving-blue-hpa"],
        );
      }
    });
  });

  describe("system node group", () => {
    it("runs the AL2023 standard AMI on the configured instance type in the private subnets", () => {
      const nodes = dev.one(T.nodeGroup, "cluster-system");
      assert.equal(nodes.inputs.amiType, "AL2023_x86_64_STANDARD");
      assert.deepEqual(nodes.inputs.instanceTypes, ["t3.large"]);
      assert.equal(nodes.inputs.capacityType, "ON_DEMAND");
      assert.deepEqual(nodes.inputs.subnetIds, dev.one(T.vpc).state.privateSubnetIds);
      assert.deepEqual(nodes.inputs.scalingConfig, { minSize: 2, desiredSize: 2, maxSize: 4 });
      assert.deepEqual(nodes.inputs.labels, { ...SYSTEM_NODE_LABEL });
      assert.equal(
        nodes.inputs.taints,
        undefined,
        "system nodes take any pod (CPU serving when GPUs are off)",
      );
      assert.equal(nodes.inputs.version, "1.35");
      const variantNodes = variant.one(T.nodeGroup, "cluster-system");
      assert.deepEqual(variantNodes.inputs.instanceTypes, ["m6i.large"]);
      assert.deepEqual(variantNodes.inputs.scalingConfig, { minSize: 3, desiredSize: 3, maxSize: 6 });
    });

    it("system and GPU node groups roll one node at a time and carry the stack's tags", () => {
      const tags = {
        "app.kubernetes.io/part-of": "onnx-eks-serving",
        "pulumi:project": "onnx-eks-serving",
        "pulumi:stack": "dev",
      };
      for (const name of ["cluster-system", "gpu-nodes"]) {
        const nodes = dev.one(T.nodeGroup, name);
        assert.deepEqual(nodes.inputs.updateConfig, { maxUnavailable: 1 }, `${name}: updateConfig`);
        assert.deepEqual(nodes.inputs.tags, tags, `${name}: tags`);
        assert.deepEqual(dev.one(T.launchTemplate, name).inputs.tags, tags, `${name} launch template: tags`);
      }
    });

    it("uses a launch template with IMDSv2 only, hop limit 1 and an encrypted gp3 root volume", () => {
      const nodes = dev.one(T.nodeGroup, "cluster-system");
      const template = dev.one(T.launchTemplate, "cluster-system");
      assert.deepEqual(nodes.inputs.launchTemplate, { id: template.id, version: "1" });
      assert.deepEqual(template.inputs.metadataOptions, {
        httpEndpoint: "enabled",
        httpTokens: "required",
        httpPutResponseHopLimit: 1,
      });
      assert.deepEqual(template.inputs.blockDeviceMappings, [
        {
          deviceName: "/dev/xvda",
          ebs: { volumeSize: 50, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
        },
      ]);
      assert.equal(
        template.inputs.vpcSecurityGroupIds,
        undefined,
        "EKS attaches the cluster security group itself",
      );
    });

    it("the node role has the worker and ECR read-only policies only (the CNI uses IRSA)", () => {
      const role = dev.one(T.role, "cluster-node");
      assert.deepEqual(policyOf(role, "assumeRolePolicy").Statement, [
        { Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: ["sts:AssumeRole"] },
      ]);
      const attached = dev
        .all(T.attachment)
        .filter((a) => a.inputs.role === stateString(role, "name"))
        .map((a) => a.inputs.policyArn)
        .sort();
      assert.deepEqual(attached, [
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
      ]);
    });
  });

  describe("kubeconfig and Kubernetes provider", () => {
    it("the kubeconfig output authenticates with `aws eks get-token` against the cluster endpoint", () => {
      const kubeconfig = JSON.parse(dev.outputs.kubeconfig as string);
      assert.equal(kubeconfig.clusters[0].cluster.server, cluster.state.endpoint);
      assert.equal(
        kubeconfig.clusters[0].cluster["certificate-authority-data"],
        (cluster.state.certificateAuthority as { data: string }).data,
      );
      assert.deepEqual(kubeconfig.users[0].user.exec, {
        apiVersion: "client.authentication.k8s.io/v1beta1",
        command: "aws",
        args: [
          "eks",
          "get-token",
          "--cluster-name",
          "onnx-eks-serving-dev",
          "--region",
          "us-west-2",
          "--output",
          "json",
        ],
        interactiveMode: "Never",
      });
    });

    it("the provider uses that kubeconfig, as a secret", () => {
      const provider = dev.one(T.k8sProvider, "cluster-k8s");
      assert.equal(provider.inputs.kubeconfig, dev.outputs.kubeconfig);
      assert.ok(provider.secretInputs.includes("kubeconfig"), "kubeconfig must be a secret input");
    });

    it("Helm releases run through that provider", () => {
      const provider = dev.one(T.k8sProvider, "cluster-k8s");
      for (const release of dev.all(T.release)) {
        assert.ok(
          release.options.provider.startsWith(`${provider.urn}::`),
          `${release.name}: provider ${release.options.provider}`,
        );
      }
    });

    it("exports the cluster name output", () => {
      assert.equal(dev.outputs.clusterName, "onnx-eks-serving-dev");
    });
  });
});
