import assert from "node:assert/strict";
import type { StackEvaluation } from "../../infra/harness";
import { privateMask, publicMask } from "../../infra/components/network";
import { devStack, T, variantStack } from "./support/stacks";

describe("network: awsx VPC (mocks)", () => {
  let dev: StackEvaluation;
  let variant: StackEvaluation;
  before(async () => {
    [dev, variant] = await Promise.all([devStack(), variantStack()]);
  });

  it("dev: 10.0.0.0/16 over 2 AZs with a single NAT gateway", () => {
    const vpc = dev.one(T.vpc, "network-vpc");
    assert.equal(vpc.inputs.cidrBlock, "10.0.0.0/16");
    assert.equal(vpc.inputs.numberOfAvailabilityZones, 2);
    assert.deepEqual(vpc.inputs.natGateways, { strategy: "Single" });
    assert.equal(vpc.inputs.enableDnsHostnames, true);
    assert.equal(vpc.inputs.subnetStrategy, "Auto");
  });

  it("onePerAz and 3 AZs: a NAT gateway per AZ over the configured CIDR", () => {
    const vpc = variant.one(T.vpc, "network-vpc");
    assert.equal(vpc.inputs.cidrBlock, "10.20.0.0/16");
    assert.equal(vpc.inputs.numberOfAvailabilityZones, 3);
    assert.deepEqual(vpc.inputs.natGateways, { strategy: "OnePerAz" });
  });

  it("tags public subnets for internet-facing and private subnets for internal load balancers", () => {
    const specs = dev.one(T.vpc, "network-vpc").inputs.subnetSpecs as Array<{
      type: string;
      cidrMask: number;
      tags: Record<string, string>;
    }>;
    const byType = Object.fromEntries(specs.map((s) => [s.type, s]));
    assert.deepEqual(Object.keys(byType).sort(), ["Private", "Public"]);
    assert.equal(byType.Public.tags["kubernetes.io/role/elb"], "1");
    assert.equal(byType.Public.tags["kubernetes.io/role/internal-elb"], undefined);
    assert.equal(byType.Private.tags["kubernetes.io/role/internal-elb"], "1");
    assert.equal(byType.Private.tags["kubernetes.io/role/elb"], undefined);
    for (const s of specs)
      assert.equal(s.tags["kubernetes.io/cluster/onnx-eks-serving-dev"], "shared", `${s.type}: cluster tag`);
  });

  it("sizes private subnets larger than public ones inside each AZ's block", () => {
    const masks = (ev: StackEvaluation): Record<string, number> =>
      Object.fromEntries(
        (ev.one(T.vpc, "network-vpc").inputs.subnetSpecs as Array<{ type: string; cidrMask: number }>).map(
          (s) => [s.type, s.cidrMask],
        ),
      );
    assert.deepEqual(masks(dev), { Private: 18, Public: 19 });
    assert.deepEqual(masks(variant), { Private: 19, Public: 20 });
    assert.deepEqual([privateMask("10.0.0.0/20", 6), publicMask("10.0.0.0/20", 6)], [24, 25]);
  });

  it("the cluster and the load balancer get the VPC's subnets from its outputs", () => {
    const vpc = dev.one(T.vpc, "network-vpc");
    assert.equal((vpc.state.privateSubnetIds as string[]).length, 2);
    assert.deepEqual(
      (dev.one(T.cluster).inputs.vpcConfig as { subnetIds: string[] }).subnetIds,
      vpc.state.privateSubnetIds,
    );
    assert.equal((variant.one(T.vpc, "network-vpc").state.privateSubnetIds as string[]).length, 3);
  });
});
