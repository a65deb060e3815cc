/**
 * Shared evaluations of the program for the platform tests: each configuration is evaluated once
 * per test process (mocha runs every file in one process), then every file reads the recording.
 */
import assert from "node:assert/strict";
import { evaluateStack, type RecordedResource, type StackEvaluation } from "../../../infra/harness";
import { valueAt } from "../../../infra/plan/diff";

/** The program's entry point, as the Pulumi CLI starts it (package.json "main"). */
export const ENTRY_POINT = require.resolve("../../../infra/index");

/**
 * Evaluates infra/index.ts itself (not createStack) with the dev stack: the module runs again on
 * every call (its cache entry is dropped), and its exports become the outputs.
 */
export function evaluateEntryPoint(
  overrides: Readonly<Record<string, unknown>> = {},
): Promise<StackEvaluation> {
  delete require.cache[ENTRY_POINT];
  // require, not import(): the entry module must run inside this evaluation.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return evaluateStack("dev", overrides, { program: () => require(ENTRY_POINT) as Record<string, unknown> });
}

/** What a plan compares: type, name, URN and inputs of every resource, sorted. */
export const resourceShape = (ev: StackEvaluation): unknown =>
  ev.resources.map((r) => [r.type, r.name, r.urn, r.inputs]).sort();

/** Type tokens the platform tests look up. */
export const T = {
  vpc: "awsx:ec2:Vpc",
  cluster: "aws:eks/cluster:Cluster",
  nodeGroup: "aws:eks/nodeGroup:NodeGroup",
  addon: "aws:eks/addon:Addon",
  accessEntry: "aws:eks/accessEntry:AccessEntry",
  accessPolicy: "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
  oidc: "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
  role: "aws:iam/role:Role",
  rolePolicy: "aws:iam/rolePolicy:RolePolicy",
  attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
  kmsKey: "aws:kms/key:Key",
  logGroup: "aws:cloudwatch/logGroup:LogGroup",
  launchTemplate: "aws:ec2/launchTemplate:LaunchTemplate",
  bucket: "aws:s3/bucket:Bucket",
  versioning: "aws:s3/bucketVersioning:BucketVersioning",
  encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
  publicAccess: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
  ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
  bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
  lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
  object: "aws:s3/bucketObjectv2:BucketObjectv2",
  repository: "aws:ecr/repository:Repository",
  ecrLifecycle: "aws:ecr/lifecyclePolicy:LifecyclePolicy",
  image: "docker-build:index:Image",
  release: "kubernetes:helm.sh/v3:Release",
  k8sProvider: "pulumi:providers:kubernetes",
  targetGroup: "aws:lb/targetGroup:TargetGroup",
  listener: "aws:lb/listener:Listener",
  rule: "aws:lb/listenerRule:ListenerRule",
  alb: "aws:lb/loadBalancer:LoadBalancer",
  sg: "aws:ec2/securityGroup:SecurityGroup",
  ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
  egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
  namespace: "kubernetes:core/v1:Namespace",
  serviceAccount: "kubernetes:core/v1:ServiceAccount",
  service: "kubernetes:core/v1:Service",
  deployment: "kubernetes:apps/v1:Deployment",
  binding: "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
  hpa: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
} as const;

/** Property path of the serving container in a Deployment's inputs. */
export const SERVER = "spec.template.spec.containers[name=server]";

/** An image blue pins (a digest in the stack's repository, as the `blueImage` output gives it). */
export const BLUE_PIN = `123456789012.dkr.ecr.us-west-2.amazonaws.com/serving-repo@sha256:${"b".repeat(64)}`;
/** An image green pins before it is flipped to. */
export const GREEN_PIN = `123456789012.dkr.ecr.us-west-2.amazonaws.com/serving-repo@sha256:${"9".repeat(64)}`;

/** Green staged next to blue: model 1.1.0 with one pod, no traffic; blue (live) pins its image. */
export const STAGED_GREEN: Readonly<Record<string, unknown>> = {
  "blue.image": BLUE_PIN,
  "green.modelVersion": "1.1.0",
  "green.replicas": 1,
};

/** {@link STAGED_GREEN} with green pinned too: ready to flip (the live color must pin). */
export const FLIP_READY: Readonly<Record<string, unknown>> = { ...STAGED_GREEN, "green.image": GREEN_PIN };

/** Admin principals of the variant stack. */
export const VARIANT_ADMINS = [
  "arn:aws:iam::123456789012:role/PlatformAdmin",
  "arn:aws:iam::123456789012:user/alice",
];
export const VARIANT_CERTIFICATE =
  "arn:aws:acm:us-west-2:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";

/** Overrides of the variant stack: production-like choices that differ from every dev default. */
export const VARIANT_OVERRIDES: Readonly<Record<string, unknown>> = {
  natGateways: "onePerAz",
  availabilityZoneCount: "3",
  vpcCidr: "10.20.0.0/16",
  clusterVersion: "1.34",
  publicAccessCidrs: ["203.0.113.0/24", "198.51.100.0/24"],
  adminPrincipalArns: VARIANT_ADMINS,
  systemNodeInstanceType: "m6i.large",
  systemNodeCount: "3",
  gpuInstanceTypes: ["g6.xlarge", "g5.2xlarge"],
  gpuNodesMin: "0",
  gpuNodesDesired: "1",
  gpuNodesMax: "4",
  gpuNodeDiskSizeGiB: "200",
  gpuCapacityType: "SPOT",
  nvidiaDevicePluginChartVersion: "0.17.0",
  lbControllerChartVersion: "1.13.2",
  clusterAutoscalerChartVersion: "9.58.0",
  modelNoncurrentVersionDays: "7",
  ecrKeepImages: "5",
  servingNamespace: "ml-serving",
  certificateArn: VARIANT_CERTIFICATE,
};

/**
 * A stand-in for onnxruntimeCudaSha256 so stacks with a GPU color evaluate under mocks (nothing is
 * downloaded here). Not the real package digest: a real build with it fails its checksum step.
 */
export const TEST_CUDA_SHA256 = "0".repeat(64);

/** Blue computing on a GPU (churn's manifest says cpu; the config overrides it). */
export const GPU_OVERRIDES: Readonly<Record<string, unknown>> = {
  "blue.accelerator": "gpu",
  onnxruntimeCudaSha256: TEST_CUDA_SHA256,
};

/** The bundled MLP example on blue: its manifest says gpu, so blue gets a GPU by default. */
export const MLP_OVERRIDES: Readonly<Record<string, unknown>> = {
  modelName: "mlp",
  onnxruntimeCudaSha256: TEST_CUDA_SHA256,
};

/** Overrides of the CPU-only stack: no GPUs, no seeding, a private-only API endpoint. */
export const CPU_OVERRIDES: Readonly<Record<string, unknown>> = {
  gpuEnabled: "false",
  seedBundledModel: "false",
  endpointPublicAccess: "false",
};

const cache = new Map<string, Promise<StackEvaluation>>();
function memo(key: string, run: () => Promise<StackEvaluation>): Promise<StackEvaluation> {
  let p = cache.get(key);
  if (!p) {
    p = run();
    cache.set(key, p);
  }
  return p;
}

/** The shipped Pulumi.dev.yaml. */
export const devStack = (): Promise<StackEvaluation> => memo("dev", () => evaluateStack("dev"));
/** dev + {@link VARIANT_OVERRIDES}. */
export const variantStack = (): Promise<StackEvaluation> =>
  memo("variant", () => evaluateStack("dev", VARIANT_OVERRIDES));
/** dev + {@link STAGED_GREEN}. */
export const stagedStack = (): Promise<StackEvaluation> =>
  memo("staged", () => evaluateStack("dev", STAGED_GREEN));
/** dev + {@link GPU_OVERRIDES}. */
export const gpuStack = (): Promise<StackEvaluation> =>
  memo("gpu", () => evaluateStack("dev", GPU_OVERRIDES));
/** dev + {@link MLP_OVERRIDES}. */
export const mlpStack = (): Promise<StackEvaluation> =>
  memo("mlp", () => evaluateStack("dev", MLP_OVERRIDES));
/** dev + {@link CPU_OVERRIDES}. */
export const cpuStack = (): Promise<StackEvaluation> =>
  memo("cpu", () => evaluateStack("dev", CPU_OVERRIDES));

/** Parses a JSON policy input of a resource; the assertion names the resource. */
export function policyOf(
  r: RecordedResource,
  prop = "policy",
): {
  Version: string;
  Statement: Array<Record<string, unknown>>;
} {
  const raw = r.inputs[prop];
  assert.equal(typeof raw, "string", `${r.type} ${r.name}: ${prop} should be a JSON string`);
  return JSON.parse(raw as string);
}

/** The inline policy and trust policy of an IRSA role component named `name`. */
export function irsaRole(
  ev: StackEvaluation,
  name: string,
): { role: RecordedResource; policy?: RecordedResource } {
  const role = ev.one(T.role, `${name}-role`);
  const policies = ev.all(T.rolePolicy, `${name}-policy`);
  return { role, policy: policies[0] };
}

/** Asserts the value at `path` (plan/diff syntax) of a resource's inputs; the message names the resource. */
export function expectAt(r: RecordedResource, path: string, expected: unknown): void {
  assert.deepEqual(valueAt(r.inputs, path), expected, `${r.type} ${r.name}: ${path}`);
}

/** A string state property of a resource; the assertion names the resource. */
export function stateString(r: RecordedResource, prop: string): string {
  const v = r.state[prop];
  assert.equal(
    typeof v,
    "string",
    `${r.type} ${r.name}: state.${prop} should be a string, got ${JSON.stringify(v)}`,
  );
  return v as string;
}
