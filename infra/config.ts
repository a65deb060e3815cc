/**
 * The stack configuration: one typed, validated, frozen object, read once.
 *
 * `CONFIG_SCHEMA` lists every key of the project namespace with its kind, default and meaning
 * (Pulumi.yaml declares the same keys; a test keeps the two in step). `parseConfig` coerces raw
 * values (the strings the Pulumi CLI hands over, or typed values from YAML), applies defaults and
 * then checks `CONFIG_RULES`, a table of `{ key, violated, message }` in the style of AWS CDK's
 * prop validation: every message names the key, the allowed range or format and the value
 * received. All violations are reported at once, so one `pulumi preview` shows every mistake.
 *
 * Components never read config: they take typed args built from `StackConfig`.
 */
import * as pulumi from "@pulumi/pulumi";
import {
  ACCESS_LOG_POLICIES,
  BATCHING_LIMITS,
  DEFAULT_ACCESS_LOG,
  DEFAULT_INFERENCE_THREAD,
  INFERENCE_THREADS,
  type AccessLogPolicy,
  type InferenceThread,
} from "../serving/src/config";
import {
  DEFAULT_ASSIGNMENT_KEY,
  experimentSpecProblems,
  type ExperimentSpec,
} from "../serving/src/experiment/settings";
import {
  CLUSTER_AUTOSCALER_IMAGE_TAGS,
  clusterAutoscalerImageTag,
  DEFAULT_CLUSTER_AUTOSCALER_CHART_VERSION,
} from "./components/clusterAutoscaler";
import { DEFAULT_ROLLOUT_POLICY, type RolloutPolicy } from "./rollout/policy";
import {
  cpuQuantityProblem,
  memoryQuantityProblem,
  MIN_SERVING_MEMORY,
  servingResourceDefaults,
} from "./servingResources";

/** The project name in Pulumi.yaml; also the config namespace of every key below. */
export const PROJECT_NAME = "onnx-eks-serving";

export type Color = "blue" | "green";
export type NatGatewayMode = "single" | "onePerAz";
export type CapacityType = "ON_DEMAND" | "SPOT";
/** What a color computes on. */
export type Accelerator = "gpu" | "cpu";
/** How a stack says what it is: production stacks get stricter guards. */
export type Environment = "dev" | "production";

/** Per-color serving settings (`blue` and `green` are structured config objects). */
export interface ColorConfig {
  /** Model version the color serves (a version in the model bucket); "" = none. */
  readonly modelVersion: string;
  /** Pods the color runs (the HPA's floor); 0 keeps the Deployment without pods. */
  readonly replicas: number;
  /** Upper bound for the color's HPA. */
  readonly maxReplicas: number;
  /**
   * Container image the color pins, by digest (`<repository>@sha256:<digest>`); "" = it follows
   * the image this stack builds, so a new build reaches it. A live color must pin while the
   * standby is warm (infra/imagePins.ts). Default "".
   */
  readonly image: string;
  /**
   * Where the color computes: "gpu" (one NVIDIA GPU per pod, CUDA execution provider), "cpu" (no
   * GPU request or toleration: CPU nodes, CPU provider), or "" = what the served model's manifest
   * asks for (its `accelerator` field) when the version is bundled in serving/models; otherwise
   * "cpu" (set "gpu" for a registry version that needs one). Default "".
   */
  readonly accelerator: Accelerator | "";
  /**
   * Most rows one `session.run` of the color's pods gets (MAX_BATCH_SIZE, like Triton's
   * `max_batch_size`), 1-65536. Default 32.
   */
  readonly maxBatchSize: number;
  /**
   * Longest a queued request waits for its batch to fill, in ms (MAX_BATCH_DELAY_MS, like Triton's
   * `max_queue_delay_microseconds`), 0-60000. Default 0: a batch starts as soon as the model is free.
   */
  readonly maxBatchDelayMs: number;
  /**
   * An A/B experiment on this color: its pods also load `treatmentVersion` and assign each
   * request by a stable hash of (name, assignment key) (EXPERIMENT_* variables). Default: none.
   */
  readonly experiment?: ExperimentSpec;
}

/** The validated stack configuration. Field names are the config keys. */
export interface StackConfig {
  /** `aws:region`: the region of every resource. Required. */
  readonly region: string;

  /** VPC IPv4 CIDR block (prefix /16 to /20). Default "10.0.0.0/16". */
  readonly vpcCidr: string;
  /** Availability zones the VPC spans (2-6). Default 2. */
  readonly availabilityZoneCount: number;
  /** NAT gateways: one for the VPC ("single", dev) or one per AZ ("onePerAz", HA). Default "single". */
  readonly natGateways: NatGatewayMode;

  /** EKS Kubernetes version "1.<minor>", minor >= 30. Default "1.35". */
  readonly clusterVersion: string;
  /** Whether the API server endpoint is reachable from the internet. Default true. */
  readonly endpointPublicAccess: boolean;
  /** CIDRs allowed to reach the public API endpoint. Default ["0.0.0.0/0"]. */
  readonly publicAccessCidrs: readonly string[];
  /** Whether the API server endpoint is reachable from inside the VPC. Default true. */
  readonly endpointPrivateAccess: boolean;
  /** IAM role/user ARNs given cluster-admin access entries. Default []. */
  readonly adminPrincipalArns: readonly string[];

  /** Instance type of the CPU system node group. Default "t3.large". */
  readonly systemNodeInstanceType: string;
  /** Nodes in the CPU system node group. Default 2. */
  readonly systemNodeCount: number;

  /** Run serving on GPU nodes; false = CPU-only serving (no GPU node group, no device plugin). Default true. */
  readonly gpuEnabled: boolean;
  /** Instance types of the GPU node group (x86_64 NVIDIA families). Default ["g5.xlarge"]. */
  readonly gpuInstanceTypes: readonly string[];
  /** GPU node group minimum size. Default 1. */
  readonly gpuNodesMin: number;
  /** GPU node group desired size. Default 1. */
  readonly gpuNodesDesired: number;
  /** GPU node group maximum size. Default 3. */
  readonly gpuNodesMax: number;
  /** Root volume of each GPU node, GiB. Default 100. */
  readonly gpuNodeDiskSizeGiB: number;
  /** GPU capacity: "ON_DEMAND" or "SPOT". Default "ON_DEMAND". */
  readonly gpuCapacityType: CapacityType;

  /** Version of the nvidia-device-plugin Helm chart. Default "0.17.1". */
  readonly nvidiaDevicePluginChartVersion: string;
  /** Version of the aws-load-balancer-controller Helm chart. Default "1.13.3". */
  readonly lbControllerChartVersion: string;
  /** Install the Cluster Autoscaler (scales the node groups within their min/max). Default true. */
  readonly clusterAutoscaler: boolean;
  /** Version of the cluster-autoscaler Helm chart. Default "9.59.0". */
  readonly clusterAutoscalerChartVersion: string;

  /** Name of the served model in the registry (`models/<name>/<version>/`). Default "churn". */
  readonly modelName: string;
  /** Upload the bundled model (serving/models/churn/1.0.0) to the bucket. Default true. */
  readonly seedBundledModel: boolean;
  /** Days a replaced (noncurrent) object version is kept in the model bucket. Default 30. */
  readonly modelNoncurrentVersionDays: number;
  /** Images the ECR lifecycle policy keeps. Default 20. */
  readonly ecrKeepImages: number;

  /** ACM certificate ARN for an HTTPS listener; "" = HTTP only. Default "". */
  readonly certificateArn: string;
  /** CIDRs allowed to reach the load balancer listeners. Default ["0.0.0.0/0"]. */
  readonly allowedIngressCidrs: readonly string[];
  /** Write ALB access logs to a dedicated private S3 bucket. Default true. */
  readonly albAccessLogs: boolean;
  /** Days the ALB access-log bucket keeps a log object (1-3650). Default 90. */
  readonly albAccessLogRetentionDays: number;

  /** Namespace of the serving workloads. Default "model-serving". */
  readonly servingNamespace: string;
  /** Container port of the server (health, readiness, metrics and inference). Default 8080. */
  readonly servingPort: number;

  /** The live color. Default "blue". */
  readonly activeColor: Color;
  /** Share of traffic (0-100) sent to the standby color. Default 0. */
  readonly canaryPercent: number;
  /**
   * Blue color settings. Default {modelVersion "1.0.0", replicas 2, maxReplicas 4, image "",
   * maxBatchSize 32, maxBatchDelayMs 0}.
   */
  readonly blue: ColorConfig;
  /**
   * Green color settings. Default {modelVersion "", replicas 0, maxReplicas 4, image "",
   * maxBatchSize 32, maxBatchDelayMs 0}.
   */
  readonly green: ColorConfig;

  /**
   * CPU request per serving pod (Kubernetes quantity). Default by mode (config value ""):
   * "2" with GPUs, "500m" CPU-only (see infra/servingResources.ts).
   */
  readonly servingCpu: string;
  /**
   * Memory request and limit per serving pod (Kubernetes quantity, at least 256Mi). Default by
   * mode (config value ""): "4Gi" with GPUs, "1Gi" CPU-only.
   */
  readonly servingMemory: string;
  /**
   * Which requests the server writes an access-log line for (ACCESS_LOG): "all", "errors" (status
   * >= 400) or "none". Default "errors".
   */
  readonly servingAccessLog: AccessLogPolicy;
  /**
   * Where the server runs `session.run` (INFERENCE_THREAD): "main" (the event-loop thread) or
   * "worker" (a worker thread). Default "main".
   */
  readonly servingInferenceThread: InferenceThread;
  /** Seconds the server keeps serving after SIGTERM while reporting not-ready. Default 5. */
  readonly drainDelaySeconds: number;
  /** Seconds the preStop hook waits before SIGTERM. Default 15. */
  readonly preStopDelaySeconds: number;
  /** ALB target group deregistration delay, seconds. Default 30. */
  readonly deregistrationDelaySeconds: number;

  /**
   * How `npm run rollout` walks traffic to the committed routing: steps, bake time, analysis
   * thresholds, golden-set tolerance, stickiness (infra/rollout/policy.ts). Fields left out keep
   * their defaults. Default {@link DEFAULT_ROLLOUT_POLICY}.
   */
  readonly rollout: RolloutPolicy;
  /** p99 target response time (ms) above which a color's latency alarm fires, 1-60000. Default 1000. */
  readonly alarmP99LatencyMs: number;
  // ---- Day-2 guards (issue 14) ----
  /**
   * What the stack is: "production" adds guards (HTTPS required, a live color of at least two
   * replicas, EKS add-on versions pinned). Default "dev".
   */
  readonly environment: Environment;
  /**
   * Source CIDRs (at most 3) allowed to use the preview and color-pin routes, on top of the
   * stack's preview token; [] = any source that has the token. Default [].
   */
  readonly previewAllowedCidrs: readonly string[];
  /** vpc-cni add-on version ("v1.20.4-eksbuild.1"); "" = EKS's default, chosen once at creation. Default "". */
  readonly vpcCniAddonVersion: string;
  /** kube-proxy add-on version, minor = clusterVersion's; "" = EKS's default, chosen once at creation. Default "". */
  readonly kubeProxyAddonVersion: string;
  /** coredns add-on version; "" = EKS's default, chosen once at creation. Default "". */
  readonly corednsAddonVersion: string;
  /** metrics-server add-on version; "" = EKS's default, chosen once at creation. Default "". */
  readonly metricsServerAddonVersion: string;
  /**
   * sha256 of the onnxruntime CUDA NuGet package the CUDA image installs (serving/Dockerfile);
   * required once a color computes on a GPU. Default "".
   */
  readonly onnxruntimeCudaSha256: string;
}

/** Raw config: project keys without namespace, plus "aws:region". Values as strings or typed. */
export type RawConfig = Readonly<Record<string, unknown>>;

/** One problem with one key. */
export interface ConfigIssue {
  readonly key: string;
  readonly message: string;
}

/** Invalid stack configuration; `issues` holds one entry per problem, the message lists them all. */
export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(
      issues.length === 1
        ? `Invalid stack configuration: ${issues[0].message}`
        : `Invalid stack configuration (${issues.length} problems):\n` +
            issues.map((i) => `  - ${i.message}`).join("\n"),
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Schema: every key, its kind, default and description (mirrored in Pulumi.yaml).
// ---------------------------------------------------------------------------------------------

/** How a raw value is coerced; mirrors the `type` declared in Pulumi.yaml ("object" has none). */
export type ConfigKind = "string" | "integer" | "boolean" | "stringList" | "color" | "rollout";

export interface ConfigKeySpec {
  readonly key: Exclude<keyof StackConfig, "region">;
  readonly kind: ConfigKind;
  readonly default: unknown;
  readonly description: string;
}

/** Batching defaults of both colors: the server's own. */
const BATCHING_DEFAULT = {
  maxBatchSize: BATCHING_LIMITS.maxBatchSize.default,
  maxBatchDelayMs: BATCHING_LIMITS.maxBatchDelayMs.default,
} as const;
const BLUE_DEFAULT: ColorConfig = {
  modelVersion: "1.0.0",
  replicas: 2,
  maxReplicas: 4,
  image: "",
  accelerator: "",
  ...BATCHING_DEFAULT,
};
const GREEN_DEFAULT: ColorConfig = {
  modelVersion: "",
  replicas: 0,
  maxReplicas: 4,
  image: "",
  accelerator: "",
  ...BATCHING_DEFAULT,
};

/** Every key of the project namespace, in Pulumi.yaml order. */
export const CONFIG_SCHEMA: readonly ConfigKeySpec[] = [
  {
    key: "vpcCidr",
    kind: "string",
    default: "10.0.0.0/16",
    description: "VPC IPv4 CIDR block (prefix /16 to /20).",
  },
  {
    key: "availabilityZoneCount",
    kind: "integer",
    default: 2,
    description: "Availability zones the VPC spans (2-6).",
  },
  {
    key: "natGateways",
    kind: "string",
    default: "single",
    description: 'NAT gateways: "single" (one for the VPC, dev) or "onePerAz" (one per AZ, production).',
  },
  {
    key: "clusterVersion",
    kind: "string",
    default: "1.35",
    description:
      'EKS Kubernetes version "1.<minor>", at least "1.30" (the serving pods\' preStop hook uses the sleep action).',
  },
  {
    key: "endpointPublicAccess",
    kind: "boolean",
    default: true,
    description:
      "Whether the EKS API endpoint is reachable from the internet (restricted to publicAccessCidrs).",
  },
  {
    key: "publicAccessCidrs",
    kind: "stringList",
    default: ["0.0.0.0/0"],
    description: "CIDRs allowed to reach the public EKS API endpoint.",
  },
  {
    key: "endpointPrivateAccess",
    kind: "boolean",
    default: true,
    description: "Whether the EKS API endpoint is reachable from inside the VPC (nodes use it).",
  },
  {
    key: "adminPrincipalArns",
    kind: "stringList",
    default: [],
    description:
      "IAM role/user ARNs given cluster-admin EKS access entries (the deploying identity is admin already).",
  },
  {
    key: "systemNodeInstanceType",
    kind: "string",
    default: "t3.large",
    description:
      "Instance type of the CPU system node group (controllers, CoreDNS; CPU serving when gpuEnabled is false).",
  },
  {
    key: "systemNodeCount",
    kind: "integer",
    default: 2,
    description: "Nodes in the CPU system node group (1-50).",
  },
  {
    key: "gpuEnabled",
    kind: "boolean",
    default: true,
    description:
      "Serve on GPU nodes; false = CPU-only serving for dev (no GPU node group, no device plugin).",
  },
  {
    key: "gpuInstanceTypes",
    kind: "stringList",
    default: ["g5.xlarge"],
    description:
      "Instance types of the GPU node group (x86_64 NVIDIA families: g4dn, g5, g6, g6e, p4d, p5, ...).",
  },
  {
    key: "gpuNodesMin",
    kind: "integer",
    default: 1,
    description: "GPU node group minimum size (0-100, <= gpuNodesDesired).",
  },
  {
    key: "gpuNodesDesired",
    kind: "integer",
    default: 1,
    description: "GPU node group desired size (gpuNodesMin..gpuNodesMax).",
  },
  {
    key: "gpuNodesMax",
    kind: "integer",
    default: 3,
    description: "GPU node group maximum size (1-100, >= gpuNodesDesired).",
  },
  {
    key: "gpuNodeDiskSizeGiB",
    kind: "integer",
    default: 100,
    description: "Root volume size of each GPU node in GiB (20-16384).",
  },
  {
    key: "gpuCapacityType",
    kind: "string",
    default: "ON_DEMAND",
    description: 'GPU node capacity: "ON_DEMAND" or "SPOT".',
  },
  {
    key: "nvidiaDevicePluginChartVersion",
    kind: "string",
    default: "0.17.1",
    description:
      "Version of the nvidia-device-plugin Helm chart (https://nvidia.github.io/k8s-device-plugin).",
  },
  {
    key: "lbControllerChartVersion",
    kind: "string",
    default: "1.13.3",
    description: "Version of the aws-load-balancer-controller Helm chart (https://aws.github.io/eks-charts).",
  },
  {
    key: "clusterAutoscaler",
    kind: "boolean",
    default: true,
    description:
      "Install the Kubernetes Cluster Autoscaler: adds GPU (and system) nodes for Pending pods, up to gpuNodesMax (system: 2 x systemNodeCount), and removes idle ones down to the group minimum.",
  },
  {
    key: "clusterAutoscalerChartVersion",
    kind: "string",
    default: DEFAULT_CLUSTER_AUTOSCALER_CHART_VERSION,
    description:
      "Version of the cluster-autoscaler Helm chart (https://kubernetes.github.io/autoscaler); the image follows clusterVersion.",
  },
  {
    key: "modelName",
    kind: "string",
    default: "churn",
    description: "Name of the served model in the registry (models/<name>/<version>/ in the bucket).",
  },
  {
    key: "seedBundledModel",
    kind: "boolean",
    default: true,
    description:
      "Upload the bundled model (serving/models/churn/1.0.0) to the model bucket so the first deploy serves it.",
  },
  {
    key: "modelNoncurrentVersionDays",
    kind: "integer",
    default: 30,
    description: "Days the model bucket keeps replaced (noncurrent) object versions (1-3650).",
  },
  {
    key: "ecrKeepImages",
    kind: "integer",
    default: 20,
    description: "Images the ECR lifecycle policy keeps (1-1000); older ones expire.",
  },
  {
    key: "certificateArn",
    kind: "string",
    default: "",
    description:
      'ACM certificate ARN (same region) for an HTTPS listener, which also turns on gRPC (the ALB routes gRPC on HTTPS only); "" = HTTP only, no gRPC.',
  },
  {
    key: "allowedIngressCidrs",
    kind: "stringList",
    default: ["0.0.0.0/0"],
    description: "CIDRs allowed to reach the load balancer listeners.",
  },
  {
    key: "albAccessLogs",
    kind: "boolean",
    default: true,
    description:
      "Write ALB access logs (one line per request) to a dedicated private S3 bucket (SSE-S3, TLS-only, expiring after albAccessLogRetentionDays).",
  },
  {
    key: "albAccessLogRetentionDays",
    kind: "integer",
    default: 90,
    description: "Days the ALB access-log bucket keeps a log object before it expires (1-3650).",
  },
  {
    key: "servingNamespace",
    kind: "string",
    default: "model-serving",
    description: "Kubernetes namespace of the serving workloads.",
  },
  {
    key: "servingPort",
    kind: "integer",
    default: 8080,
    description: "Container port of the model server (1024-65535).",
  },
  { key: "activeColor", kind: "string", default: "blue", description: 'The live color: "blue" or "green".' },
  {
    key: "canaryPercent",
    kind: "integer",
    default: 0,
    description: "Share of traffic (0-100) sent to the standby color.",
  },
  {
    key: "blue",
    kind: "color",
    default: BLUE_DEFAULT,
    description:
      'Blue color: {modelVersion, replicas, maxReplicas, image ("" = follows the stack\'s build; <repo>@sha256:<digest> pins it), accelerator ("" = the model\'s manifest, "gpu" or "cpu"), maxBatchSize (1-65536), maxBatchDelayMs (0-60000), experiment (optional A/B test: {name, treatmentVersion, treatmentPercent 1-99, assignmentKey "header:<name>" or "body:<field>", default header:X-User-Id})}. Set fields with `pulumi config set --path blue.modelVersion 1.0.0`.',
  },
  {
    key: "green",
    kind: "color",
    default: GREEN_DEFAULT,
    description:
      'Green color: {modelVersion ("" = none), replicas, maxReplicas, image ("" = follows the stack\'s build; <repo>@sha256:<digest> pins it), accelerator ("" = the model\'s manifest, "gpu" or "cpu"), maxBatchSize (1-65536), maxBatchDelayMs (0-60000), experiment (optional A/B test: {name, treatmentVersion, treatmentPercent 1-99, assignmentKey "header:<name>" or "body:<field>", default header:X-User-Id})}. Set fields with `pulumi config set --path green.modelVersion 1.1.0`.',
  },
  {
    key: "servingCpu",
    kind: "string",
    // "" rather than no default: the CLI passes Pulumi.yaml defaults to the program as if set,
    // and a declared key without one would be required in every stack.
    default: "",
    description:
      'CPU request per serving pod (Kubernetes quantity, e.g. "2" or "500m"); "" = by mode: "2" with GPUs, "500m" when gpuEnabled is false (fits the system nodes).',
  },
  {
    key: "servingMemory",
    kind: "string",
    default: "",
    description:
      'Memory request and limit per serving pod (Kubernetes quantity, at least "256Mi"); "" = by mode: "4Gi" with GPUs, "1Gi" when gpuEnabled is false.',
  },
  {
    key: "servingAccessLog",
    kind: "string",
    default: DEFAULT_ACCESS_LOG,
    description:
      'Which requests the server writes an access-log line for (ACCESS_LOG): "all", "errors" (status >= 400) or "none". Request counts and latencies are in the metrics either way.',
  },
  {
    key: "servingInferenceThread",
    kind: "string",
    default: DEFAULT_INFERENCE_THREAD,
    description:
      'Where the server runs inference (INFERENCE_THREAD): "main" (the event-loop thread) or "worker" (a worker thread, so HTTP keeps being served while a batch computes).',
  },
  {
    key: "drainDelaySeconds",
    kind: "integer",
    default: 5,
    description: "Seconds the server keeps serving after SIGTERM while reporting not-ready (0-300).",
  },
  {
    key: "preStopDelaySeconds",
    kind: "integer",
    default: 15,
    description: "Seconds the pod's preStop hook waits before SIGTERM (0-300).",
  },
  {
    key: "deregistrationDelaySeconds",
    kind: "integer",
    default: 30,
    description: "ALB target group deregistration delay in seconds (0-3600).",
  },
  {
    key: "rollout",
    kind: "rollout",
    default: DEFAULT_ROLLOUT_POLICY,
    description:
      "How `npm run rollout` moves traffic: {steps (percent to the receiving color before the flip, ascending, 1-99), bakeSeconds (1-86400), maxErrorRate (0-1), maxErrorRateRatio (>= 1), maxLatencyRatio (>= 1), minRequests (>= 1), maxInconclusiveWindows (0-100), goldenTolerance (>= 0), stickySeconds (0 = off, up to 604800)}. Set fields with `pulumi config set --path rollout.bakeSeconds 120`.",
  },
  {
    key: "alarmP99LatencyMs",
    kind: "integer",
    default: 1000,
    description:
      "p99 target response time in ms above which a color's CloudWatch latency alarm fires (1-60000).",
  },
  // ---- Day-2 guards (issue 14) ----
  {
    key: "environment",
    kind: "string",
    default: "dev",
    description:
      '"dev" or "production". Production requires certificateArn, a live color of at least 2 replicas and pinned EKS add-on versions.',
  },
  {
    key: "previewAllowedCidrs",
    kind: "stringList",
    default: [],
    description:
      "Source CIDRs (at most 3) allowed to use the preview and color-pin routes, besides the stack's secret preview token; [] = any source with the token.",
  },
  {
    key: "vpcCniAddonVersion",
    kind: "string",
    default: "",
    description:
      'vpc-cni EKS add-on version, e.g. "v1.20.4-eksbuild.1"; "" = EKS\'s default, chosen once at creation and then kept.',
  },
  {
    key: "kubeProxyAddonVersion",
    kind: "string",
    default: "",
    description:
      'kube-proxy EKS add-on version (its minor is clusterVersion\'s), e.g. "v1.35.0-eksbuild.2"; "" = EKS\'s default, chosen once at creation and then kept.',
  },
  {
    key: "corednsAddonVersion",
    kind: "string",
    default: "",
    description:
      'coredns EKS add-on version, e.g. "v1.12.4-eksbuild.1"; "" = EKS\'s default, chosen once at creation and then kept.',
  },
  {
    key: "metricsServerAddonVersion",
    kind: "string",
    default: "",
    description:
      'metrics-server EKS add-on version, e.g. "v0.8.0-eksbuild.1"; "" = EKS\'s default, chosen once at creation and then kept.',
  },
  {
    key: "onnxruntimeCudaSha256",
    kind: "string",
    default: "",
    description:
      "sha256 (64 hex) of the Microsoft.ML.OnnxRuntime.Gpu.Linux NuGet package the CUDA image installs (serving/Dockerfile); required once a color computes on a GPU.",
  },
];

const COLOR_FIELDS = [
  "modelVersion",
  "replicas",
  "maxReplicas",
  "image",
  "accelerator",
  "maxBatchSize",
  "maxBatchDelayMs",
  "experiment",
] as const;
const EXPERIMENT_FIELDS = ["name", "treatmentVersion", "treatmentPercent", "assignmentKey"] as const;
const ROLLOUT_FIELDS = Object.keys(DEFAULT_ROLLOUT_POLICY) as (keyof RolloutPolicy)[];
/** Fields of the object-valued keys, for `pulumi config set <key>.<field>` without --path. */
const OBJECT_FIELDS: Readonly<Record<string, readonly string[]>> = {
  blue: COLOR_FIELDS,
  green: COLOR_FIELDS,
  rollout: ROLLOUT_FIELDS,
};

// ---------------------------------------------------------------------------------------------
// Formats (exported for tests and for components that check values of their own args).
// ---------------------------------------------------------------------------------------------

const REGION_RE = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
/** An EC2 instance type: family (letters, digits, "-" options) "." size, e.g. g5.xlarge, m7i-flex.large. */
export const INSTANCE_TYPE_RE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
/** x86_64 NVIDIA GPU families run the AL2023_x86_64_NVIDIA AMI: g*, p*; Graviton "g5g" needs the ARM AMI. */
const X86_NVIDIA_FAMILY_RE = /^(g\d+[a-fh-z]*|gr\d+[a-z]*|p\d+[a-z]*)(-[a-z]+)?\.[a-z0-9]+$/;
const SEMVER_RE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const CLUSTER_VERSION_RE = /^1\.(\d{2})$/;
/** Kubernetes 1.30 turned on the pod lifecycle `sleep` action the serving pods' preStop hook uses. */
const MIN_CLUSTER_MINOR = 30;
const IAM_PRINCIPAL_ARN_RE = /^arn:aws(-cn|-us-gov)?:iam::\d{12}:(role|user)\/[\w+=,.@/-]{1,512}$/;
const ACM_ARN_RE = /^arn:aws(-cn|-us-gov)?:acm:([a-z0-9-]+):\d{12}:certificate\/[0-9a-f-]{36}$/;
const MODEL_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const DNS_LABEL_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** registry/path[:tag][@sha256:digest] — what a Deployment's `image` field accepts. */
const IMAGE_REF_RE =
  /^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

/** True for a canonical IPv4 CIDR ("10.0.0.0/16": valid octets, prefix 0-32, no host bits set). */
export function isCanonicalIpv4Cidr(value: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (!m) return false;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return false;
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const hostSize = 2 ** (32 - prefix);
  return address % hostSize === 0;
}

/** The prefix length of a CIDR ("10.0.0.0/16" -> 16). */
function prefixOf(cidr: string): number {
  return Number(cidr.split("/")[1]);
}

export function isInstanceType(value: string): boolean {
  return INSTANCE_TYPE_RE.test(value);
}

/**
 * True for instance types the AL2023_x86_64_NVIDIA AMI runs on (g4dn, g5, g6, g6e, gr6, p4d, p5, ...).
 * Excluded: Graviton GPU families (g5g, which need the ARM AMI) and g4ad (AMD GPUs).
 */
export function isX86NvidiaInstanceType(value: string): boolean {
  return isInstanceType(value) && X86_NVIDIA_FAMILY_RE.test(value) && !value.startsWith("g4ad.");
}

export function isSemver(value: string): boolean {
  return SEMVER_RE.test(value);
}

/** True for "1.<minor>" with minor >= {@link MIN_CLUSTER_MINOR}. */
function isSupportedClusterVersion(value: string): boolean {
  const m = CLUSTER_VERSION_RE.exec(value);
  return m !== null && Number(m[1]) >= MIN_CLUSTER_MINOR;
}

// ---------------------------------------------------------------------------------------------
// Coercion: raw value -> typed value, or an issue naming the key, the expected type and the value.
// ---------------------------------------------------------------------------------------------

/** A value as it appears in messages: JSON (strings quoted). */
const show = (v: unknown): string =>
  // JSON would show NaN and Infinity (YAML's .nan, .inf) as null.
  typeof v === "number" && !Number.isFinite(v) ? String(v) : (JSON.stringify(v) ?? String(v));

class CoercionError extends Error {}

function coerceString(key: string, v: unknown): string {
  if (typeof v === "string") return v;
  // YAML may hand over unquoted scalars (1.33, 8080); keep their text.
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  throw new CoercionError(`${key} must be a string, got ${show(v)}`);
}

function coerceInteger(key: string, v: unknown): number {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "string" && /^-?\d+$/.test(v.trim())) return Number(v.trim());
  throw new CoercionError(`${key} must be an integer, got ${show(v)}`);
}

function coerceBoolean(key: string, v: unknown): boolean {
  if (typeof v === "boolean") return v;
  if (v === "true") return true;
  if (v === "false") return false;
  throw new CoercionError(`${key} must be true or false, got ${show(v)}`);
}

function parseJsonIfString(key: string, v: unknown, what: string): unknown {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v);
  } catch {
    throw new CoercionError(`${key} must be ${what} (JSON when set as one value), got ${show(v)}`);
  }
}

function coerceStringList(key: string, v: unknown): string[] {
  const value = parseJsonIfString(key, v, "a list of strings");
  if (!Array.isArray(value) || !value.every((s) => typeof s === "string")) {
    throw new CoercionError(`${key} must be a list of strings, got ${show(v)}`);
  }
  return value as string[];
}

function coerceNumber(key: string, v: unknown): number {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v.trim())) return Number(v.trim());
  throw new CoercionError(`${key} must be a number, got ${show(v)}`);
}

function coerceRollout(key: string, v: unknown): RolloutPolicy {
  const obj = coerceObject(key, v, ROLLOUT_FIELDS);
  // A partial object keeps the defaults of the fields it leaves out (stack files written before
  // a field existed parse unchanged).
  const d = DEFAULT_ROLLOUT_POLICY;
  const field = <T>(name: keyof RolloutPolicy, fallback: T, read: (k: string, x: unknown) => T): T =>
    obj[name] === undefined ? fallback : read(`${key}.${name}`, obj[name]);
  const steps = (k: string, x: unknown): number[] => {
    const list = parseJsonIfString(k, x, "a list of integers");
    if (!Array.isArray(list)) throw new CoercionError(`${k} must be a list of integers, got ${show(x)}`);
    return list.map((step, i) => coerceInteger(`${k}[${i}]`, step));
  };
  return {
    steps: field("steps", [...d.steps], steps),
    bakeSeconds: field("bakeSeconds", d.bakeSeconds, coerceInteger),
    maxErrorRate: field("maxErrorRate", d.maxErrorRate, coerceNumber),
    maxErrorRateRatio: field("maxErrorRateRatio", d.maxErrorRateRatio, coerceNumber),
    maxLatencyRatio: field("maxLatencyRatio", d.maxLatencyRatio, coerceNumber),
    minRequests: field("minRequests", d.minRequests, coerceInteger),
    maxInconclusiveWindows: field("maxInconclusiveWindows", d.maxInconclusiveWindows, coerceInteger),
    goldenTolerance: field("goldenTolerance", d.goldenTolerance, coerceNumber),
    stickySeconds: field("stickySeconds", d.stickySeconds, coerceInteger),
  };
}

/** An object value (JSON when set as one string) with only `fields`, or an issue naming the key. */
function coerceObject(key: string, v: unknown, fields: readonly string[]): Record<string, unknown> {
  const value = parseJsonIfString(key, v, "an object");
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CoercionError(`${key} must be an object {${fields.join(", ")}}, got ${show(v)}`);
  }
  const obj = value as Record<string, unknown>;
  const unknownFields = Object.keys(obj).filter((f) => !fields.includes(f));
  if (unknownFields.length > 0) {
    throw new CoercionError(
      `${key} has unknown field(s) ${unknownFields.map((f) => JSON.stringify(f)).join(", ")}; ` +
        `allowed: ${fields.join(", ")}`,
    );
  }
  return obj;
}

function coerceColor(key: string, v: unknown, defaults: ColorConfig): ColorConfig {
  const obj = coerceObject(key, v, COLOR_FIELDS);
  // Fields not set keep their defaults: `pulumi config set --path green.modelVersion 1.1.0`
  // creates an object with just that field.
  const text = (field: "modelVersion" | "image" | "accelerator"): string =>
    obj[field] === undefined ? defaults[field] : coerceString(`${key}.${field}`, obj[field]);
  const integer = (field: "replicas" | "maxReplicas" | "maxBatchSize" | "maxBatchDelayMs"): number =>
    obj[field] === undefined ? defaults[field] : coerceInteger(`${key}.${field}`, obj[field]);
  return {
    modelVersion: text("modelVersion"),
    replicas: integer("replicas"),
    maxReplicas: integer("maxReplicas"),
    image: text("image"),
    accelerator: text("accelerator") as ColorConfig["accelerator"],
    maxBatchSize: integer("maxBatchSize"),
    maxBatchDelayMs: integer("maxBatchDelayMs"),
    ...(obj.experiment !== undefined
      ? { experiment: coerceExperiment(`${key}.experiment`, obj.experiment) }
      : {}),
  };
}

/** `<color>.experiment`: name, treatmentVersion and treatmentPercent required; assignmentKey defaults. */
function coerceExperiment(key: string, v: unknown): ExperimentSpec {
  const obj = coerceObject(key, v, EXPERIMENT_FIELDS);
  const missing = (["name", "treatmentVersion", "treatmentPercent"] as const).filter(
    (f) => obj[f] === undefined,
  );
  if (missing.length > 0) {
    throw new CoercionError(`${key} needs ${missing.map((f) => `${key}.${f}`).join(", ")} (got ${show(v)})`);
  }
  return {
    name: coerceString(`${key}.name`, obj.name),
    treatmentVersion: coerceString(`${key}.treatmentVersion`, obj.treatmentVersion),
    treatmentPercent: coerceInteger(`${key}.treatmentPercent`, obj.treatmentPercent),
    assignmentKey:
      obj.assignmentKey === undefined
        ? DEFAULT_ASSIGNMENT_KEY
        : coerceString(`${key}.assignmentKey`, obj.assignmentKey),
  };
}

function coerce(spec: ConfigKeySpec, v: unknown): unknown {
  switch (spec.kind) {
    case "string":
      return coerceString(spec.key, v);
    case "integer":
      return coerceInteger(spec.key, v);
    case "boolean":
      return coerceBoolean(spec.key, v);
    case "stringList":
      return coerceStringList(spec.key, v);
    case "color":
      return coerceColor(spec.key, v, spec.default as ColorConfig);
    case "rollout":
      return coerceRollout(spec.key, v);
  }
}

// ---------------------------------------------------------------------------------------------
// Rules: the validation table. `violated(c)` true means `message(c)` is reported for `key`.
// ---------------------------------------------------------------------------------------------

export interface ConfigRule {
  /** The key the rule is about (the first key when it relates several). */
  readonly key: string;
  readonly violated: (c: StackConfig) => boolean;
  readonly message: (c: StackConfig) => string;
}

const intRange = (key: keyof StackConfig, min: number, max: number): ConfigRule => ({
  key,
  violated: (c) => (c[key] as number) < min || (c[key] as number) > max,
  message: (c) => `${key} must be an integer from ${min} to ${max}, got ${show(c[key])}`,
});

const oneOf = (key: keyof StackConfig, allowed: readonly string[]): ConfigRule => ({
  key,
  violated: (c) => !allowed.includes(c[key] as string),
  message: (c) =>
    `${key} must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${show(c[key])}`,
});

const matches = (key: keyof StackConfig, test: (v: string) => boolean, expected: string): ConfigRule => ({
  key,
  violated: (c) => !test(c[key] as string),
  message: (c) => `${key} must be ${expected}, got ${show(c[key])}`,
});

/** A rule over every element of a list key; the message names the index and the element. */
const eachOf = (key: keyof StackConfig, test: (v: string) => boolean, expected: string): ConfigRule => ({
  key,
  violated: (c) => (c[key] as readonly string[]).some((v) => !test(v)),
  message: (c) => {
    const list = c[key] as readonly string[];
    const bad = list.map((v, i) => [i, v] as const).filter(([, v]) => !test(v));
    return `${key} entries must be ${expected}, got ${bad.map(([i, v]) => `${key}[${i}]=${show(v)}`).join(", ")}`;
  },
});

/** A rule whose check returns the message itself (undefined when the value is fine). */
const problemOf = (key: keyof StackConfig, problem: (c: StackConfig) => string | undefined): ConfigRule => ({
  key,
  violated: (c) => problem(c) !== undefined,
  message: (c) => problem(c) ?? "",
});

const nonEmpty = (key: keyof StackConfig, why: string): ConfigRule => ({
  key,
  violated: (c) => (c[key] as readonly string[]).length === 0,
  message: () => `${key} must list at least one entry (${why}), got []`,
});

const noDuplicates = (key: keyof StackConfig): ConfigRule => ({
  key,
  violated: (c) => new Set(c[key] as readonly string[]).size !== (c[key] as readonly string[]).length,
  message: (c) => `${key} must not repeat entries, got ${show(c[key])}`,
});

function colorRules(color: Color): ConfigRule[] {
  return [
    {
      key: `${color}.modelVersion`,
      violated: (c) => c[color].modelVersion !== "" && !isSemver(c[color].modelVersion),
      message: (c) =>
        `${color}.modelVersion must be "" (none) or a semantic version such as 1.2.3, got ${show(c[color].modelVersion)}`,
    },
    {
      key: `${color}.replicas`,
      violated: (c) => c[color].replicas < 0 || c[color].replicas > 100,
      message: (c) => `${color}.replicas must be an integer from 0 to 100, got ${c[color].replicas}`,
    },
    {
      key: `${color}.maxReplicas`,
      violated: (c) => c[color].maxReplicas < 1 || c[color].maxReplicas > 100,
      message: (c) => `${color}.maxReplicas must be an integer from 1 to 100, got ${c[color].maxReplicas}`,
    },
    {
      key: `${color}.maxReplicas`,
      violated: (c) => c[color].maxReplicas < c[color].replicas,
      message: (c) =>
        `${color}.maxReplicas must be >= ${color}.replicas, got maxReplicas ${c[color].maxReplicas} < replicas ${c[color].replicas}`,
    },
    {
      key: `${color}.image`,
      violated: (c) => c[color].image !== "" && !IMAGE_REF_RE.test(c[color].image),
      message: (c) =>
        `${color}.image must be "" (the stack's image) or an image reference such as ` +
        `123456789012.dkr.ecr.us-west-2.amazonaws.com/serving@sha256:<64 hex>, got ${show(c[color].image)}`,
    },
    {
      key: `${color}.accelerator`,
      violated: (c) => !["", "gpu", "cpu"].includes(c[color].accelerator),
      message: (c) =>
        `${color}.accelerator must be "" (what the model's manifest asks for), "gpu" or "cpu", got ${show(c[color].accelerator)}`,
    },
    {
      key: `${color}.accelerator`,
      violated: (c) => c[color].accelerator === "gpu" && !c.gpuEnabled,
      message: () =>
        `${color}.accelerator is "gpu" but gpuEnabled is false: the stack has no GPU nodes. Set ${color}.accelerator to "cpu" or "", or gpuEnabled to true`,
    },
    ...(["maxBatchSize", "maxBatchDelayMs"] as const).map((field): ConfigRule => {
      const { min, max } = BATCHING_LIMITS[field];
      return {
        key: `${color}.${field}`,
        violated: (c) => c[color][field] < min || c[color][field] > max,
        message: (c) => `${color}.${field} must be an integer from ${min} to ${max}, got ${c[color][field]}`,
      };
    }),
    {
      key: `${color}.experiment`,
      violated: (c) => experimentProblemsOf(c, color).length > 0,
      message: (c) => experimentProblemsOf(c, color).join("; "),
    },
  ];
}

/** Problems with a color's experiment (none without one). */
function experimentProblemsOf(c: StackConfig, color: Color): string[] {
  const e = c[color].experiment;
  return e ? experimentSpecProblems(`${color}.experiment`, e, c[color].modelVersion) : [];
}

/** Most steps a rollout may take before the flip. */
const MAX_ROLLOUT_STEPS = 10;

/** A rule on one numeric field of `rollout`: violated when `ok` is false; `range` says what is allowed. */
const rolloutField = (
  field: Exclude<keyof RolloutPolicy, "steps">,
  ok: (v: number) => boolean,
  range: string,
): ConfigRule => ({
  key: `rollout.${field}`,
  violated: (c) => !ok(c.rollout[field]),
  message: (c) => `rollout.${field} must be ${range}, got ${show(c.rollout[field])}`,
});
const isInt = (v: number, min: number, max: number): boolean => Number.isInteger(v) && v >= min && v <= max;

const ROLLOUT_RULES: readonly ConfigRule[] = [
  {
    key: "rollout.steps",
    violated: (c) =>
      c.rollout.steps.length > MAX_ROLLOUT_STEPS ||
      c.rollout.steps.some((s, i) => !isInt(s, 1, 99) || (i > 0 && s <= c.rollout.steps[i - 1])),
    message: (c) =>
      `rollout.steps must be at most ${MAX_ROLLOUT_STEPS} strictly ascending integers from 1 to 99 (percent to ` +
      `the receiving color before the flip to 100), got ${show(c.rollout.steps)}`,
  },
  rolloutField("bakeSeconds", (v) => isInt(v, 1, 86400), "an integer from 1 to 86400"),
  rolloutField("maxErrorRate", (v) => v >= 0 && v <= 1, "a fraction from 0 to 1 (0.01 = 1% of requests)"),
  rolloutField(
    "maxErrorRateRatio",
    (v) => v >= 1,
    "a ratio >= 1 (receiving color's 5xx rate / live color's)",
  ),
  rolloutField("maxLatencyRatio", (v) => v >= 1, "a ratio >= 1 (receiving color's p99 / live color's)"),
  rolloutField("minRequests", (v) => isInt(v, 1, 1_000_000_000), "an integer from 1 to 1000000000"),
  rolloutField("maxInconclusiveWindows", (v) => isInt(v, 0, 100), "an integer from 0 to 100"),
  rolloutField(
    "goldenTolerance",
    (v) => v >= 0,
    "a number >= 0 (largest absolute difference per output value)",
  ),
  rolloutField(
    "stickySeconds",
    (v) => isInt(v, 0, 604800),
    "an integer from 0 (off) to 604800 (7 days, the ALB's limit)",
  ),
];

/** EKS add-on version keys and the add-on each pins. */
export const ADDON_VERSION_KEYS = {
  "vpc-cni": "vpcCniAddonVersion",
  "kube-proxy": "kubeProxyAddonVersion",
  coredns: "corednsAddonVersion",
  "metrics-server": "metricsServerAddonVersion",
} as const satisfies Record<string, keyof StackConfig>;
const ADDON_VERSION_RE = /^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;
/** ALB rule condition values: 5 per rule, 2 taken by the preview headers. */
export const MAX_PREVIEW_CIDRS = 3;

/** Issue 14's rules: add-on pins, preview sources, the CUDA package checksum, production guards. */
const DAY2_RULES: readonly ConfigRule[] = [
  oneOf("environment", ["dev", "production"]),
  eachOf("previewAllowedCidrs", isCanonicalIpv4Cidr, 'IPv4 network CIDRs such as "203.0.113.0/24"'),
  {
    key: "previewAllowedCidrs",
    violated: (c) => c.previewAllowedCidrs.length > MAX_PREVIEW_CIDRS,
    message: (c) =>
      `previewAllowedCidrs must list at most ${MAX_PREVIEW_CIDRS} CIDRs (an ALB rule takes 5 condition values; ` +
      `the preview headers use 2), got ${c.previewAllowedCidrs.length}`,
  },
  ...Object.values(ADDON_VERSION_KEYS).map((key) =>
    matches(
      key,
      (v) => v === "" || ADDON_VERSION_RE.test(v),
      '"" or an EKS add-on version such as "v1.20.4-eksbuild.1"',
    ),
  ),
  {
    key: "kubeProxyAddonVersion",
    violated: (c) => {
      const m = /^v1\.(\d+)\./.exec(c.kubeProxyAddonVersion);
      const k = CLUSTER_VERSION_RE.exec(c.clusterVersion);
      return m !== null && k !== null && m[1] !== k[1];
    },
    message: (c) =>
      `kubeProxyAddonVersion must have clusterVersion's minor (kube-proxy follows the control plane), got ` +
      `${show(c.kubeProxyAddonVersion)} with clusterVersion ${show(c.clusterVersion)}`,
  },
  matches(
    "onnxruntimeCudaSha256",
    (v) => v === "" || /^[0-9a-f]{64}$/.test(v),
    '"" or 64 lowercase hex characters',
  ),
  {
    key: "certificateArn",
    violated: (c) => c.environment === "production" && c.certificateArn === "",
    message: () =>
      'certificateArn must be set when environment is "production": production traffic is served over HTTPS only. ' +
      "Fix: `pulumi config set certificateArn arn:aws:acm:<region>:<account>:certificate/<id>`",
  },
  {
    key: `activeColor`,
    violated: (c) =>
      c.environment === "production" &&
      (c.activeColor === "blue" || c.activeColor === "green") &&
      c[c.activeColor].replicas < 2,
    message: (c) =>
      `${c.activeColor}.replicas must be at least 2 when environment is "production" (activeColor is ${c.activeColor}): with one ` +
      `replica a node drain evicts it before its replacement is healthy in the ALB, got ${c[c.activeColor].replicas}. ` +
      `Fix: \`pulumi config set --path ${c.activeColor}.replicas 2\``,
  },
  ...Object.entries(ADDON_VERSION_KEYS).map(([addon, key]): ConfigRule => ({
    key,
    violated: (c) => c.environment === "production" && c[key] === "",
    message: () =>
      `${key} must be pinned when environment is "production", so an add-on upgrade is a reviewed change. ` +
      `Find EKS's default: \`aws eks describe-addon-versions --addon-name ${addon} --kubernetes-version <clusterVersion> ` +
      `--query 'addons[].addonVersions[?compatibilities[?defaultVersion]].addonVersion' --output text\``,
  })),
];

/** The validation table, checked in order; every violated rule is reported. */
export const CONFIG_RULES: readonly ConfigRule[] = [
  matches("region", (v) => REGION_RE.test(v), 'an AWS region such as "us-west-2" (set aws:region)'),

  matches("vpcCidr", isCanonicalIpv4Cidr, 'an IPv4 network CIDR such as "10.0.0.0/16"'),
  {
    key: "vpcCidr",
    violated: (c) => isCanonicalIpv4Cidr(c.vpcCidr) && (prefixOf(c.vpcCidr) < 16 || prefixOf(c.vpcCidr) > 20),
    message: (c) =>
      `vpcCidr prefix must be from /16 to /20 (AWS allows /16 at most; smaller than /20 leaves no room for ` +
      `per-AZ subnets), got ${show(c.vpcCidr)}`,
  },
  intRange("availabilityZoneCount", 2, 6),
  oneOf("natGateways", ["single", "onePerAz"]),

  {
    key: "clusterVersion",
    violated: (c) => !isSupportedClusterVersion(c.clusterVersion),
    message: (c) =>
      `clusterVersion must be an EKS Kubernetes version "1.<minor>" with minor >= ${MIN_CLUSTER_MINOR} ` +
      `(the serving pods' preStop hook uses the sleep lifecycle action, on by default from Kubernetes ` +
      `1.${MIN_CLUSTER_MINOR}), such as "1.35", got ${show(c.clusterVersion)}`,
  },
  {
    key: "endpointPublicAccess",
    violated: (c) => !c.endpointPublicAccess && !c.endpointPrivateAccess,
    message: () =>
      "endpointPublicAccess and endpointPrivateAccess cannot both be false: the EKS API would be unreachable",
  },
  eachOf("publicAccessCidrs", isCanonicalIpv4Cidr, 'IPv4 network CIDRs such as "203.0.113.0/24"'),
  {
    key: "publicAccessCidrs",
    violated: (c) => c.endpointPublicAccess && c.publicAccessCidrs.length === 0,
    message: () =>
      "publicAccessCidrs must list at least one CIDR while endpointPublicAccess is true, got [] " +
      "(set endpointPublicAccess false for a private-only endpoint)",
  },
  {
    key: "endpointPrivateAccess",
    violated: (c) =>
      c.endpointPublicAccess && !c.endpointPrivateAccess && !c.publicAccessCidrs.includes("0.0.0.0/0"),
    message: (c) =>
      `endpointPrivateAccess must be true when publicAccessCidrs is restricted (${show(c.publicAccessCidrs)}): ` +
      "nodes in private subnets reach the API through the private endpoint",
  },
  eachOf(
    "adminPrincipalArns",
    (v) => IAM_PRINCIPAL_ARN_RE.test(v),
    "IAM role or user ARNs such as arn:aws:iam::123456789012:role/Admin (not sts assumed-role ARNs)",
  ),
  noDuplicates("adminPrincipalArns"),

  matches("systemNodeInstanceType", isInstanceType, 'an EC2 instance type such as "t3.large"'),
  intRange("systemNodeCount", 1, 50),

  {
    key: "gpuInstanceTypes",
    violated: (c) => c.gpuEnabled && c.gpuInstanceTypes.length === 0,
    message: () => "gpuInstanceTypes must list at least one instance type while gpuEnabled is true, got []",
  },
  eachOf(
    "gpuInstanceTypes",
    isX86NvidiaInstanceType,
    'x86_64 NVIDIA GPU instance types such as "g5.xlarge" (families g4dn, g5, g6, g6e, gr6, p4d, p5, ...)',
  ),
  noDuplicates("gpuInstanceTypes"),
  intRange("gpuNodesMin", 0, 100),
  intRange("gpuNodesMax", 1, 100),
  {
    key: "gpuNodesDesired",
    violated: (c) => c.gpuNodesDesired < c.gpuNodesMin || c.gpuNodesDesired > c.gpuNodesMax,
    message: (c) =>
      `gpuNodesDesired must satisfy gpuNodesMin <= gpuNodesDesired <= gpuNodesMax, got ` +
      `gpuNodesMin ${c.gpuNodesMin}, gpuNodesDesired ${c.gpuNodesDesired}, gpuNodesMax ${c.gpuNodesMax}`,
  },
  {
    key: "gpuNodesMin",
    violated: (c) => c.gpuNodesMin > c.gpuNodesMax,
    message: (c) =>
      `gpuNodesMin must be <= gpuNodesMax, got gpuNodesMin ${c.gpuNodesMin} > gpuNodesMax ${c.gpuNodesMax}`,
  },
  intRange("gpuNodeDiskSizeGiB", 20, 16384),
  oneOf("gpuCapacityType", ["ON_DEMAND", "SPOT"]),

  matches("nvidiaDevicePluginChartVersion", isSemver, 'a chart version such as "0.17.1" (no "v" prefix)'),
  matches("lbControllerChartVersion", isSemver, 'a chart version such as "1.13.3" (no "v" prefix)'),
  matches("clusterAutoscalerChartVersion", isSemver, 'a chart version such as "9.59.0" (no "v" prefix)'),
  {
    key: "clusterAutoscaler",
    // Only for a well-formed clusterVersion: a malformed one is reported by its own rule.
    violated: (c) =>
      c.clusterAutoscaler &&
      isSupportedClusterVersion(c.clusterVersion) &&
      clusterAutoscalerImageTag(c.clusterVersion) === undefined,
    message: (c) =>
      `clusterAutoscaler needs a Cluster Autoscaler release matching clusterVersion ${show(c.clusterVersion)} ` +
      `(its minor must equal the Kubernetes minor); known: ${Object.keys(CLUSTER_AUTOSCALER_IMAGE_TAGS).join(", ")}. ` +
      "Set clusterAutoscaler false, or add the release to infra/components/clusterAutoscaler.ts",
  },

  matches(
    "modelName",
    (v) => MODEL_NAME_RE.test(v),
    '1-63 of [a-z0-9._-] starting with a letter or digit, such as "churn"',
  ),
  intRange("modelNoncurrentVersionDays", 1, 3650),
  intRange("ecrKeepImages", 1, 1000),

  matches(
    "certificateArn",
    (v) => v === "" || ACM_ARN_RE.test(v),
    '"" (HTTP only) or an ACM certificate ARN such as arn:aws:acm:us-west-2:123456789012:certificate/<uuid>',
  ),
  {
    key: "certificateArn",
    // Only for a well-formed region: a missing or malformed one is reported by its own rule.
    violated: (c) => {
      const m = ACM_ARN_RE.exec(c.certificateArn);
      return m !== null && REGION_RE.test(c.region) && m[2] !== c.region;
    },
    message: (c) =>
      `certificateArn must be a certificate in the stack's region ${c.region} (an ALB only uses certificates ` +
      `from its own region), got ${show(c.certificateArn)}`,
  },
  nonEmpty("allowedIngressCidrs", "the load balancer would admit nobody"),
  eachOf(
    "allowedIngressCidrs",
    isCanonicalIpv4Cidr,
    'IPv4 network CIDRs such as "0.0.0.0/0" or "203.0.113.0/24"',
  ),
  intRange("albAccessLogRetentionDays", 1, 3650),

  matches(
    "servingNamespace",
    (v) => DNS_LABEL_RE.test(v),
    "a DNS-1123 label (lowercase a-z, 0-9, '-', at most 63)",
  ),
  {
    key: "servingNamespace",
    violated: (c) =>
      ["default", "kube-system", "kube-public", "kube-node-lease"].includes(c.servingNamespace),
    message: (c) =>
      `servingNamespace must be a namespace of its own, not a system namespace, got ${show(c.servingNamespace)}`,
  },
  intRange("servingPort", 1024, 65535),

  oneOf("activeColor", ["blue", "green"]),
  intRange("canaryPercent", 0, 100),
  ...colorRules("blue"),
  ...colorRules("green"),

  problemOf("servingCpu", (c) => cpuQuantityProblem("servingCpu", c.servingCpu)),
  problemOf("servingMemory", (c) =>
    memoryQuantityProblem("servingMemory", c.servingMemory, MIN_SERVING_MEMORY),
  ),
  oneOf("servingAccessLog", ACCESS_LOG_POLICIES),
  oneOf("servingInferenceThread", INFERENCE_THREADS),
  intRange("drainDelaySeconds", 0, 300),
  intRange("preStopDelaySeconds", 0, 300),
  intRange("deregistrationDelaySeconds", 0, 3600),

  ...ROLLOUT_RULES,
  intRange("alarmP99LatencyMs", 1, 60000),
  ...DAY2_RULES,
];

// ---------------------------------------------------------------------------------------------
// parseConfig / loadConfig
// ---------------------------------------------------------------------------------------------

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** Closest known key by edit distance, for "did you mean" hints on typos. */
function closestKey(key: string): string | undefined {
  const distance = (a: string, b: string): number => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0];
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const next = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = row[j];
        row[j] = next;
      }
    }
    return row[b.length];
  };
  let best: { key: string; d: number } | undefined;
  for (const spec of CONFIG_SCHEMA) {
    const d = distance(key.toLowerCase(), spec.key.toLowerCase());
    if (d <= 3 && (!best || d < best.d)) best = { key: spec.key, d };
  }
  return best?.key;
}

/**
 * `pulumi config set green.modelVersion 1.1.0` (without --path) stores a flat key named
 * "green.modelVersion"; fold such keys into their object (blue, green, rollout) so both spellings work. The same
 * field set both ways with different values is an issue: which one was meant is unknowable.
 */
function foldObjectFields(raw: RawConfig, issues: ConfigIssue[]): Record<string, unknown> {
  const out: Record<string, unknown> = { ...raw };
  for (const [key, value] of Object.entries(raw)) {
    const m = /^(\w+)\.(\w+)$/.exec(key);
    if (!m || !Object.hasOwn(OBJECT_FIELDS, m[1]) || !OBJECT_FIELDS[m[1]].includes(m[2])) continue;
    const [, objectKey, field] = m;
    let base: unknown = out[objectKey];
    if (typeof base === "string") {
      try {
        base = JSON.parse(base);
      } catch {
        continue; // left as is: coercion of `objectKey` reports the malformed value
      }
    }
    // Not an object (a list, a number): left as is too, rather than silently replaced.
    if (base !== undefined && base !== null && (typeof base !== "object" || Array.isArray(base))) continue;
    const obj: Record<string, unknown> = { ...(base as object | null | undefined) };
    if (obj[field] !== undefined && String(obj[field]) !== String(value)) {
      issues.push({
        key,
        message:
          `${key} is set twice, as the key ${JSON.stringify(key)} (${show(value)}) and inside ${objectKey} ` +
          `(${show(obj[field])}); keep one: \`pulumi config rm ${key}\` and use \`pulumi config set --path ${key} <value>\``,
      });
    }
    obj[field] = value;
    out[objectKey] = obj;
    delete out[key];
  }
  return out;
}

/**
 * Coercion step of parseConfig: raw values to typed ones with defaults applied, plus an issue for
 * every unknown key and every value of the wrong type (that key keeps its default meanwhile).
 */
export function coerceConfig(input: RawConfig): { config: StackConfig; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const raw = foldObjectFields(input, issues);
  const known = new Set<string>(CONFIG_SCHEMA.map((s) => s.key));
  for (const key of Object.keys(raw)) {
    if (key === "aws:region" || known.has(key)) continue;
    const hint = closestKey(key);
    // A deeper path set without --path (`green.experiment.name`) is stored as a flat key.
    const nested = /^(\w+)\.\w+\.\w+/.test(key) && known.has(key.split(".")[0]);
    issues.push({
      key,
      message:
        `unknown config key ${PROJECT_NAME}:${key}` +
        (nested
          ? ` (a path into ${key.split(".")[0]}: \`pulumi config rm ${key}\` and use \`pulumi config set --path ${key} <value>\`)`
          : hint
            ? ` (did you mean ${hint}?)`
            : ` (known keys: ${[...known].join(", ")})`),
    });
  }

  const values: Record<string, unknown> = {};
  const region = raw["aws:region"];
  if (region === undefined || region === null || region === "") {
    issues.push({
      key: "aws:region",
      message: "aws:region is required, e.g. `pulumi config set aws:region us-west-2`",
    });
    values.region = "";
  } else {
    values.region = typeof region === "string" ? region : String(region);
  }
  for (const spec of CONFIG_SCHEMA) {
    const v = raw[spec.key];
    try {
      values[spec.key] = v === undefined || v === null ? structuredClone(spec.default) : coerce(spec, v);
    } catch (err) {
      if (!(err instanceof CoercionError)) throw err;
      issues.push({ key: spec.key, message: err.message });
      values[spec.key] = structuredClone(spec.default);
    }
  }
  // Unset requests ("") follow the mode: what fits a GPU node does not fit a CPU system node.
  const resourceDefaults = servingResourceDefaults(values.gpuEnabled as boolean);
  if (values.servingCpu === "") values.servingCpu = resourceDefaults.cpu;
  if (values.servingMemory === "") values.servingMemory = resourceDefaults.memory;
  return { config: values as unknown as StackConfig, issues };
}

/** Validation step of parseConfig: the issues of every violated rule, skipping keys in `skip`. */
export function checkRules(cfg: StackConfig, skip: ReadonlySet<string> = new Set()): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const rule of CONFIG_RULES) {
    if (skip.has(rule.key.split(".")[0])) continue;
    if (rule.violated(cfg)) issues.push({ key: rule.key, message: rule.message(cfg) });
  }
  return issues;
}

/**
 * Coerces, defaults and validates raw config. Pure: no Pulumi runtime needed.
 * @throws ConfigError listing every problem, each naming the key, the allowed values and the value received.
 */
export function parseConfig(raw: RawConfig): StackConfig {
  const { config, issues } = coerceConfig(raw);
  // Rules only run on well-typed values: a key that failed coercion is reported once, above.
  const failed = new Set(issues.map((i) => (i.key === "aws:region" ? "region" : i.key)));
  issues.push(...checkRules(config, failed));
  if (issues.length > 0) throw new ConfigError(issues);
  return deepFreeze(config);
}

/**
 * Reads the stack's config from the Pulumi runtime (project namespace + `aws:region`) and parses it.
 * Config values arrive as strings (objects and lists as JSON); parseConfig coerces them.
 */
export function loadConfig(): StackConfig {
  const project = pulumi.getProject();
  const raw: Record<string, unknown> = {};
  const prefix = `${project}:`;
  for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (fullKey.startsWith(prefix)) raw[fullKey.slice(prefix.length)] = value;
  }
  const region = new pulumi.Config("aws").get("region");
  if (region !== undefined) raw["aws:region"] = region;
  return parseConfig(raw);
}
