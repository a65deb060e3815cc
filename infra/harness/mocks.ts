/**
 * Realistic outputs for the mock runtime: what AWS, EKS, ECR, Docker and Kubernetes would return
 * for each resource type and invoke the program uses. Every value is derived from the resource's
 * type and name (or its inputs), never random, so two evaluations of the same program agree and a
 * plan diff shows only what the config change caused.
 */
import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";

/** The fake account, partition and region the mocks pretend to run in. */
export interface MockEnvironment {
  /** Default "123456789012". */
  readonly accountId: string;
  /** Default "us-west-2". */
  readonly region: string;
  /** Default "aws". */
  readonly partition: string;
}

export const DEFAULT_MOCK_ENVIRONMENT: MockEnvironment = {
  accountId: "123456789012",
  region: "us-west-2",
  partition: "aws",
};

/** Deterministic lowercase hex of `length` characters derived from the parts. */
export function stableHex(length: number, ...parts: string[]): string {
  let out = "";
  for (let i = 0; out.length < length; i++) {
    out += createHash("sha256")
      .update(`${i}:${parts.join("\u0000")}`)
      .digest("hex");
  }
  return out.slice(0, length);
}

/** A UUID-shaped deterministic id. */
function stableUuid(...parts: string[]): string {
  const h = stableHex(32, ...parts);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Pulumi-style autoname: `<name>-<7 hex>`. */
function autoname(name: string, type: string): string {
  return `${name}-${stableHex(7, type, name)}`;
}

/** Availability zones the mocks report for the region. */
export function mockAvailabilityZones(env: MockEnvironment): string[] {
  return ["a", "b", "c", "d", "e", "f"].map((s) => `${env.region}${s}`);
}

type State = Record<string, unknown>;
type Inputs = Record<string, unknown>;

/** Outputs for one resource: `id` plus the state the provider would report. */
export function mockResourceOutputs(
  args: pulumi.runtime.MockResourceArgs,
  env: MockEnvironment = DEFAULT_MOCK_ENVIRONMENT,
): { id: string; state: State } {
  const { type, name } = args;
  const inputs: Inputs = (args.inputs ?? {}) as Inputs;
  const arnPrefix = (service: string, regional = true): string =>
    `arn:${env.partition}:${service}:${regional ? env.region : ""}:${env.accountId}`;
  const hex = (n: number): string => stableHex(n, type, name);
  const str = (key: string): string | undefined =>
    typeof inputs[key] === "string" ? (inputs[key] as string) : undefined;

  switch (type) {
    // -------------------------------------------------------------- awsx (remote component)
    case "awsx:ec2:Vpc": {
      const azCount =
        typeof inputs.numberOfAvailabilityZones === "number" ? inputs.numberOfAvailabilityZones : 3;
      const subnets = (kind: string): string[] =>
        Array.from({ length: azCount }, (_, i) => `subnet-${stableHex(17, type, name, kind, String(i))}`);
      return {
        id: "",
        state: {
          vpcId: `vpc-${hex(17)}`,
          publicSubnetIds: subnets("public"),
          privateSubnetIds: subnets("private"),
          isolatedSubnetIds: [],
        },
      };
    }

    // -------------------------------------------------------------- IAM
    case "aws:iam/role:Role": {
      const roleName = str("name") ?? autoname(name, type);
      return {
        id: roleName,
        state: {
          ...inputs,
          name: roleName,
          arn: `arn:${env.partition}:iam::${env.accountId}:role/${roleName}`,
          uniqueId: `AROA${hex(17).toUpperCase()}`,
        },
      };
    }
    case "aws:iam/policy:Policy": {
      const policyName = str("name") ?? autoname(name, type);
      return {
        id: `arn:${env.partition}:iam::${env.accountId}:policy/${policyName}`,
        state: {
          ...inputs,
          name: policyName,
          arn: `arn:${env.partition}:iam::${env.accountId}:policy/${policyName}`,
          policyId: `ANPA${hex(17).toUpperCase()}`,
        },
      };
    }
    case "aws:iam/rolePolicy:RolePolicy":
      return {
        id: `${String(inputs.role)}:${str("name") ?? name}`,
        state: { ...inputs, name: str("name") ?? autoname(name, type) },
      };
    case "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
      return { id: `${String(inputs.role)}-${hex(8)}`, state: inputs };
    case "aws:iam/openIdConnectProvider:OpenIdConnectProvider": {
      const url = (str("url") ?? "").replace(/^https:\/\//, "");
      return {
        id: `${arnPrefix("iam", false)}:oidc-provider/${url}`,
        state: { ...inputs, arn: `${arnPrefix("iam", false)}:oidc-provider/${url}` },
      };
    }

    // -------------------------------------------------------------- KMS, logs
    case "aws:kms/key:Key": {
      const keyId = stableUuid(type, name);
      return { id: keyId, state: { ...inputs, keyId, arn: `${arnPrefix("kms")}:key/${keyId}` } };
    }
    case "aws:kms/alias:Alias":
      return {
        id: str("name") ?? `alias/${name}`,
        state: { ...inputs, arn: `${arnPrefix("kms")}:${str("name") ?? `alias/${name}`}` },
      };
    case "aws:cloudwatch/logGroup:LogGroup": {
      const groupName = str("name") ?? autoname(name, type);
      return {
        id: groupName,
        state: { ...inputs, name: groupName, arn: `${arnPrefix("logs")}:log-group:${groupName}` },
      };
    }

    // -------------------------------------------------------------- EKS
    case "aws:eks/cluster:Cluster": {
      const clusterName = str("name") ?? autoname(name, type);
      const oidcId = hex(32).toUpperCase();
      const vpcConfig = (inputs.vpcConfig ?? {}) as Record<string, unknown>;
      return {
        id: clusterName,
        state: {
          ...inputs,
          name: clusterName,
          arn: `${arnPrefix("eks")}:cluster/${clusterName}`,
          endpoint: `https://${oidcId}.gr7.${env.region}.eks.amazonaws.com`,
          certificateAuthority: {
            data: Buffer.from(
              `-----BEGIN CERTIFICATE-----\nMOCK-${oidcId}\n-----END CERTIFICATE-----\n`,
            ).toString("base64"),
          },
          identities: [{ oidcs: [{ issuer: `https://oidc.eks.${env.region}.amazonaws.com/id/${oidcId}` }] }],
          vpcConfig: {
            ...vpcConfig,
            clusterSecurityGroupId: `sg-${hex(17)}`,
            vpcId: `vpc-${stableHex(17, "vpc-of", name)}`,
          },
          platformVersion: "eks.1",
          status: "ACTIVE",
        },
      };
    }
    case "aws:eks/nodeGroup:NodeGroup": {
      const ngName = str("nodeGroupName") ?? autoname(name, type);
      return {
        id: `${String(inputs.clusterName)}:${ngName}`,
        state: {
          ...inputs,
          nodeGroupName: ngName,
          arn: `${arnPrefix("eks")}:nodegroup/${String(inputs.clusterName)}/${ngName}/${stableUuid(type, name)}`,
          status: "ACTIVE",
        },
      };
    }
    case "aws:eks/addon:Addon":
      return {
        id: `${String(inputs.clusterName)}:${String(inputs.addonName)}`,
        state: {
          ...inputs,
          arn: `${arnPrefix("eks")}:addon/${String(inputs.clusterName)}/${String(inputs.addonName)}/${stableUuid(type, name)}`,
        },
      };
    case "aws:eks/accessEntry:AccessEntry":
      return {
        id: `${String(inputs.clusterName)}:${String(inputs.principalArn)}`,
        state: {
          ...inputs,
          accessEntryArn: `${arnPrefix("eks")}:access-entry/${String(inputs.clusterName)}/${hex(12)}`,
        },
      };
    case "aws:eks/accessPolicyAssociation:AccessPolicyAssociation":
      return {
        id: `${String(inputs.clusterName)}#${String(inputs.principalArn)}#${String(inputs.policyArn)}`,
        state: { ...inputs, associatedAt: "2025-01-01T00:00:00Z" },
      };
    case "aws:ec2/launchTemplate:LaunchTemplate":
      return {
        id: `lt-${hex(17)}`,
        state: {
          ...inputs,
          arn: `${arnPrefix("ec2")}:launch-template/lt-${hex(17)}`,
          latestVersion: 1,
          defaultVersion: 1,
        },
      };

    // -------------------------------------------------------------- S3
    case "aws:s3/bucket:Bucket": {
      const bucket = str("bucket") ?? autoname(name, type);
      return {
        id: bucket,
        state: {
          ...inputs,
          bucket,
          arn: `arn:${env.partition}:s3:::${bucket}`,
          bucketRegionalDomainName: `${bucket}.s3.${env.region}.amazonaws.com`,
          region: env.region,
        },
      };
    }
    case "aws:s3/bucketObjectv2:BucketObjectv2":
      return { id: String(inputs.key), state: { ...inputs, etag: hex(32), versionId: hex(32) } };

    // -------------------------------------------------------------- ECR, image
    case "aws:ecr/repository:Repository": {
      const repoName = str("name") ?? autoname(name, type);
      return {
        id: repoName,
        state: {
          ...inputs,
          name: repoName,
          arn: `${arnPrefix("ecr")}:repository/${repoName}`,
          registryId: env.accountId,
          repositoryUrl: `${env.accountId}.dkr.ecr.${env.region}.amazonaws.com/${repoName}`,
        },
      };
    }
    case "docker-build:index:Image": {
      // The digest stands in for the content: same tags and build args -> same digest.
      const digest = `sha256:${stableHex(64, JSON.stringify(inputs.tags ?? []), JSON.stringify(inputs.buildArgs ?? {}))}`;
      const tags = Array.isArray(inputs.tags) ? (inputs.tags as string[]) : [];
      const ref = tags.length > 0 ? `${tags[0]}@${digest}` : "";
      return { id: hex(16), state: { ...inputs, digest, ref, contextHash: hex(64) } };
    }

    // -------------------------------------------------------------- load balancing, networking
    case "aws:lb/loadBalancer:LoadBalancer": {
      const lbName = str("name") ?? autoname(name, type).slice(0, 32);
      return {
        id: `${arnPrefix("elasticloadbalancing")}:loadbalancer/app/${lbName}/${hex(16)}`,
        state: {
          ...inputs,
          name: lbName,
          arn: `${arnPrefix("elasticloadbalancing")}:loadbalancer/app/${lbName}/${hex(16)}`,
          arnSuffix: `app/${lbName}/${hex(16)}`,
          dnsName: `${lbName}-${stableHex(10, "dns", name)}.${env.region}.elb.amazonaws.com`,
          zoneId: "Z1H1FL5HABSF5",
        },
      };
    }
    case "aws:lb/targetGroup:TargetGroup": {
      const tgName = str("name") ?? autoname(name, type).slice(0, 32);
      const arn = `${arnPrefix("elasticloadbalancing")}:targetgroup/${tgName}/${hex(16)}`;
      return {
        id: arn,
        state: { ...inputs, name: tgName, arn, arnSuffix: `targetgroup/${tgName}/${hex(16)}` },
      };
    }
    case "aws:lb/listener:Listener": {
      const arn = `${arnPrefix("elasticloadbalancing")}:listener/app/lb/${hex(16)}/${stableHex(16, "listener", name)}`;
      return { id: arn, state: { ...inputs, arn } };
    }
    case "aws:lb/listenerRule:ListenerRule": {
      const arn = `${arnPrefix("elasticloadbalancing")}:listener-rule/app/lb/${hex(16)}/${stableHex(16, "rule", name)}`;
      return { id: arn, state: { ...inputs, arn } };
    }
    case "aws:ec2/securityGroup:SecurityGroup":
      return {
        id: `sg-${hex(17)}`,
        state: {
          ...inputs,
          arn: `${arnPrefix("ec2")}:security-group/sg-${hex(17)}`,
          name: str("name") ?? autoname(name, type),
        },
      };
    case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
    case "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":
      return {
        id: `sgr-${hex(17)}`,
        state: {
          ...inputs,
          arn: `${arnPrefix("ec2")}:security-group-rule/sgr-${hex(17)}`,
          securityGroupRuleId: `sgr-${hex(17)}`,
        },
      };

    // -------------------------------------------------------------- random
    case "random:index/randomPassword:RandomPassword": {
      // Alphanumeric, as `special: false` asks; deterministic so plans compare.
      const length = typeof inputs.length === "number" ? inputs.length : 16;
      return { id: "none", state: { ...inputs, result: stableHex(length, type, name) } };
    }

    // -------------------------------------------------------------- Kubernetes
    case "pulumi:providers:kubernetes":
    case "pulumi:providers:aws":
      return { id: stableUuid(type, name), state: inputs };
    case "kubernetes:helm.sh/v3:Release": {
      const releaseName = str("name") ?? autoname(name, type);
      return {
        id: `${str("namespace") ?? "default"}/${releaseName}`,
        state: {
          ...inputs,
          name: releaseName,
          status: {
            name: releaseName,
            namespace: str("namespace") ?? "default",
            chart: inputs.chart,
            version: inputs.version,
            status: "deployed",
            revision: 1,
          },
        },
      };
    }
    default:
      break;
  }

  if (type.startsWith("kubernetes:")) {
    // Kubernetes objects echo their inputs; metadata.name is autonamed when not set.
    const metadata = { ...((inputs.metadata ?? {}) as Record<string, unknown>) };
    if (typeof metadata.name !== "string") metadata.name = autoname(name, type);
    metadata.uid = stableUuid(type, name);
    const ns = typeof metadata.namespace === "string" ? `${metadata.namespace}/` : "";
    return { id: `${ns}${String(metadata.name)}`, state: { ...inputs, metadata } };
  }
  if (type.startsWith("aws:")) {
    return {
      id: `${name}-${hex(8)}`,
      state: { ...inputs, arn: `${arnPrefix(type.split(":")[1].split("/")[0])}:${name}` },
    };
  }
  return { id: `${name}-${hex(8)}`, state: inputs };
}

/**
 * The Elastic Load Balancing account per Region that `aws.elb.getServiceAccount` answers with (the
 * provider's table, from the ALB user guide); it fails on any other Region, and so do the mocks.
 */
const ELB_SERVICE_ACCOUNTS: Readonly<Record<string, string>> = {
  "af-south-1": "098369216593",
  "ap-east-1": "754344448648",
  "ap-northeast-1": "582318560864",
  "ap-northeast-2": "600734575887",
  "ap-northeast-3": "383597477331",
  "ap-south-1": "718504428378",
  "ap-southeast-1": "114774131450",
  "ap-southeast-2": "783225319266",
  "ap-southeast-3": "589379963580",
  "ca-central-1": "985666609251",
  "cn-north-1": "638102146993",
  "cn-northwest-1": "037604701340",
  "eu-central-1": "054676820928",
  "eu-north-1": "897822967062",
  "eu-south-1": "635631232127",
  "eu-west-1": "156460612806",
  "eu-west-2": "652711504416",
  "eu-west-3": "009996457667",
  "me-south-1": "076674570225",
  "sa-east-1": "507241528517",
  "us-east-1": "127311923021",
  "us-east-2": "033677994240",
  "us-gov-east-1": "190560391635",
  "us-gov-west-1": "048591011584",
  "us-west-1": "027434742980",
  "us-west-2": "797873946194",
};

/** Thrown for an invoke the mocks do not know, so a new data source never passes silently. */
export class UnmockedInvokeError extends Error {
  override name = "UnmockedInvokeError";
}

/** Results of provider functions (invokes) the program calls. */
export function mockInvoke(
  args: pulumi.runtime.MockCallArgs,
  env: MockEnvironment = DEFAULT_MOCK_ENVIRONMENT,
): Record<string, unknown> {
  const inputs = (args.inputs ?? {}) as Record<string, unknown>;
  switch (args.token) {
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return {
        accountId: env.accountId,
        arn: `arn:${env.partition}:iam::${env.accountId}:user/mock-deployer`,
        userId: "AIDAMOCKDEPLOYER",
        id: env.accountId,
      };
    case "aws:index/getPartition:getPartition":
      return {
        partition: env.partition,
        dnsSuffix: "amazonaws.com",
        reverseDnsPrefix: "com.amazonaws",
        id: env.partition,
      };
    case "aws:index/getRegion:getRegion":
      return {
        name: env.region,
        region: env.region,
        endpoint: `ec2.${env.region}.amazonaws.com`,
        description: "mock region",
        id: env.region,
      };
    case "aws:index/getAvailabilityZones:getAvailabilityZones": {
      const names = mockAvailabilityZones(env);
      return {
        names,
        zoneIds: names.map((_, i) => `usw2-az${i + 1}`),
        groupNames: [env.region],
        id: env.region,
      };
    }
    case "aws:ecr/getAuthorizationToken:getAuthorizationToken": {
      const registry = `${String(inputs.registryId ?? env.accountId)}.dkr.ecr.${env.region}.amazonaws.com`;
      return {
        authorizationToken: Buffer.from("AWS:mock-ecr-password").toString("base64"),
        userName: "AWS",
        password: "mock-ecr-password",
        proxyEndpoint: `https://${registry}`,
        expiresAt: "2099-01-01T00:00:00Z",
        id: env.region,
      };
    }
    case "aws:elb/getServiceAccount:getServiceAccount": {
      const region = String(inputs.region ?? env.region);
      const account = ELB_SERVICE_ACCOUNTS[region];
      if (account === undefined)
        throw new Error(`reading ELB Service Account: unsupported AWS Region: ${region}`);
      return { arn: `arn:${env.partition}:iam::${account}:root`, id: account, region };
    }
    case "aws:eks/getAddonVersion:getAddonVersion": {
      // The default add-on version EKS pairs with the Kubernetes version.
      const k8s = String(inputs.kubernetesVersion ?? "1.35");
      const versions: Record<string, string> = {
        "vpc-cni": "v1.19.5",
        coredns: "v1.11.4",
        "metrics-server": "v0.8.0",
        "kube-proxy": `v${k8s}.0`,
      };
      return {
        addonName: inputs.addonName,
        kubernetesVersion: k8s,
        version: `${versions[String(inputs.addonName)] ?? "v1.0.0"}-eksbuild.1`,
        mostRecent: inputs.mostRecent ?? false,
        id: String(inputs.addonName),
      };
    }
    default:
      throw new UnmockedInvokeError(
        `the mock harness has no result for invoke ${args.token}; add one to mockInvoke in infra/harness/mocks.ts`,
      );
  }
}
