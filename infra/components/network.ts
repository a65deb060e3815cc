/**
 * Network: a VPC over several availability zones with public subnets (the internet-facing load
 * balancer, NAT gateways) and private subnets (every node and pod), built with awsx.
 *
 * awsx.ec2.Vpc is a provider-implemented component, opaque under mocks; that is acceptable here
 * because what the rest of the stack relies on is only its ids. The subnet role tags are what the
 * AWS Load Balancer Controller and EKS use to discover subnets.
 */
import * as pulumi from "@pulumi/pulumi";
import * as awsx from "@pulumi/awsx";

export type NatGatewayMode = "single" | "onePerAz";

export interface NetworkArgs {
  /** IPv4 CIDR of the VPC. Default "10.0.0.0/16". */
  readonly cidrBlock?: string;
  /** Availability zones the subnets span (at least 2 for EKS). Default 2. */
  readonly availabilityZoneCount?: number;
  /** One NAT gateway for the VPC ("single": cheaper, one AZ's outage cuts egress) or one per AZ. Default "single". */
  readonly natGateways?: NatGatewayMode;
  /** EKS cluster name; subnets are tagged `kubernetes.io/cluster/<name>: shared` when set. Default: no cluster tag. */
  readonly clusterName?: string;
  /** Tags for every network resource. Default {}. */
  readonly tags?: Record<string, string>;
}

/** Subnet tags the AWS Load Balancer Controller and EKS use to pick subnets for load balancers. */
export function subnetRoleTags(kind: "public" | "private", clusterName?: string): Record<string, string> {
  const tags: Record<string, string> =
    kind === "public" ? { "kubernetes.io/role/elb": "1" } : { "kubernetes.io/role/internal-elb": "1" };
  if (clusterName) tags[`kubernetes.io/cluster/${clusterName}`] = "shared";
  return tags;
}

/** awsx's NAT strategy for our config value. */
export function natStrategy(mode: NatGatewayMode): awsx.types.enums.ec2.NatGatewayStrategy {
  return mode === "onePerAz" ? awsx.ec2.NatGatewayStrategy.OnePerAz : awsx.ec2.NatGatewayStrategy.Single;
}

export class Network extends pulumi.ComponentResource {
  /** VPC id. */
  readonly vpcId: pulumi.Output<string>;
  /** Public subnet ids, one per AZ (load balancer, NAT gateways). */
  readonly publicSubnetIds: pulumi.Output<string[]>;
  /** Private subnet ids, one per AZ (nodes and pods). */
  readonly privateSubnetIds: pulumi.Output<string[]>;

  constructor(name: string, args: NetworkArgs = {}, opts?: pulumi.ComponentResourceOptions) {
    super("onnx-eks-serving:index:Network", name, {}, opts);
    const cidrBlock = args.cidrBlock ?? "10.0.0.0/16";
    const azCount = args.availabilityZoneCount ?? 2;
    const natGateways = args.natGateways ?? "single";
    if (azCount < 2)
      throw new Error(`Network ${name}: availabilityZoneCount must be at least 2 for EKS, got ${azCount}`);
    const tags = args.tags ?? {};

    const vpc = new awsx.ec2.Vpc(
      `${name}-vpc`,
      {
        cidrBlock,
        numberOfAvailabilityZones: azCount,
        enableDnsHostnames: true, // EKS private endpoint and node registration need DNS hostnames
        enableDnsSupport: true,
        natGateways: { strategy: natStrategy(natGateways) },
        subnetStrategy: awsx.ec2.SubnetAllocationStrategy.Auto,
        subnetSpecs: [
          // Private subnets get the larger share: every pod takes a VPC IP (VPC CNI).
          {
            type: awsx.ec2.SubnetType.Private,
            cidrMask: privateMask(cidrBlock, azCount),
            tags: { ...tags, ...subnetRoleTags("private", args.clusterName) },
          },
          {
            type: awsx.ec2.SubnetType.Public,
            cidrMask: publicMask(cidrBlock, azCount),
            tags: { ...tags, ...subnetRoleTags("public", args.clusterName) },
          },
        ],
        tags,
      },
      { parent: this },
    );

    this.vpcId = vpc.vpcId;
    this.publicSubnetIds = vpc.publicSubnetIds;
    this.privateSubnetIds = vpc.privateSubnetIds;
    this.registerOutputs({
      vpcId: this.vpcId,
      publicSubnetIds: this.publicSubnetIds,
      privateSubnetIds: this.privateSubnetIds,
    });
  }
}

/**
 * Subnet sizes: each AZ gets a block of the VPC (rounded to a power of two); a quarter of it goes
 * to the public subnet and half to the private one, leaving room to add subnets later.
 * E.g. a /16 over 2 AZs: AZ blocks /17, private /18 (16k pod IPs per AZ), public /19.
 */
function azBlockPrefix(cidrBlock: string, azCount: number): number {
  const vpcPrefix = Number(cidrBlock.split("/")[1]);
  return vpcPrefix + Math.ceil(Math.log2(azCount));
}
export function privateMask(cidrBlock: string, azCount: number): number {
  return azBlockPrefix(cidrBlock, azCount) + 1;
}
export function publicMask(cidrBlock: string, azCount: number): number {
  return azBlockPrefix(cidrBlock, azCount) + 2;
}
