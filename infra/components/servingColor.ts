import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import {
  ACCESS_LOG_POLICIES,
  BATCHING_LIMITS,
  DEFAULT_ACCESS_LOG,
  DEFAULT_INFERENCE_THREAD,
  INFERENCE_THREADS,
  type AccessLogPolicy,
  type InferenceThread,
} from "../../serving/src/config";
import {
  experimentPrefix,
  experimentSpecProblems,
  type ExperimentSpec,
} from "../../serving/src/experiment/settings";
import { versionPrefix } from "../../serving/src/model/manifest";
import { DEFAULT_GRPC_PORT } from "./grpcRouting";

/** The probe listener's port in the pods (see ServingColorArgs.probePort). */
export const DEFAULT_PROBE_PORT = 8082;
import { providersFor } from "../../serving/src/runtime/providers";
import {
  cpuCores,
  cpuQuantityProblem,
  memoryQuantityProblem,
  MIN_SERVING_MEMORY,
  servingResourceDefaults,
} from "../servingResources";
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  shutdownTimeoutSeconds,
  terminationGracePeriodSeconds,
  type Color,
} from "../traffic";

/** Base name of every object of a color: `model-server-blue`, `model-server-green`. */
export const APP_NAME = "model-server";
/** Label that says which color an object belongs to. */
export const COLOR_LABEL = "serving.onnx-eks-serving/color";
/** Where the server caches downloaded models (an emptyDir). */
export const MODEL_CACHE_DIR = "/var/cache/models";
/** The uid the image runs as (serving/Dockerfile). */
export const SERVER_UID = 10001;

/**
 * pulumi-kubernetes' per-resource switch for a forced server-side apply (takes fields other
 * managers own). Used only to set `replicas: 0` on a color the HPA scaled before.
 */
export const PATCH_FORCE_ANNOTATION = "pulumi.com/patchForce";

/** The NVIDIA device plugin's resource name. */
export const GPU_RESOURCE = "nvidia.com/gpu";

export interface ServingColorArgs {
  /** Which color this is; part of every name and label. */
  readonly color: Color;
  /** Namespace to create everything in (the ServingNamespace). */
  readonly namespace: pulumi.Input<string>;
  /** ServiceAccount the pods run as (`model-server`, IRSA-annotated). */
  readonly serviceAccountName: pulumi.Input<string>;
  /** Server image, by digest (`<repo>@sha256:...`). */
  readonly image: pulumi.Input<string>;
  /** Model bucket; pods fetch `s3://<bucket>/models/<modelName>/<modelVersion>/`. */
  readonly modelBucketName: pulumi.Input<string>;
  /** Registered model name. */
  readonly modelName: string;
  /** Model version to serve; "" (or absent) only allowed with `replicas: 0`. Default: "". */
  readonly modelVersion?: string;
  /** Pods to run, and the HPA's floor. 0 keeps every object but runs no pod (and no HPA). */
  readonly replicas: number;
  /** The HPA's ceiling; at least `replicas` and 1. */
  readonly maxReplicas: number;
  /** The color's ALB target group; the TargetGroupBinding registers pod IPs in it. */
  readonly targetGroupArn: pulumi.Input<string>;
  /** AWS region, for the S3 client (AWS_REGION). */
  readonly region: pulumi.Input<string>;
  /** Port the server listens on (PORT) and the Service exposes. Default: 8080. */
  readonly servingPort?: number;
  /**
   * Port of the server's probe listener (PROBE_PORT): the kubelet's startup, readiness and
   * liveness probes go there, answered by a thread of their own, so a busy serving port cannot
   * make them time out (which would take a loaded pod out of service or restart it). Not exposed
   * by the Service; the ALB's health check stays on the serving port. Default: 8082.
   */
  readonly probePort?: number;
  /**
   * The color computes on a GPU: one NVIDIA GPU per pod, GPU nodes, the CUDA provider first.
   * false = CPU: no GPU request or toleration, CPU nodes, the CPU provider. Default: true.
   */
  readonly gpuEnabled?: boolean;
  /** Node labels of the GPU node group, used as nodeSelector when gpuEnabled. Default: {}. */
  readonly gpuNodeSelector?: Readonly<Record<string, string>>;
  /** Taint key of the GPU nodes, tolerated (NoSchedule) when gpuEnabled. Default: "nvidia.com/gpu". */
  readonly gpuTaintKey?: string;
  /**
   * CPU request per pod (Kubernetes quantity; no CPU limit, to avoid throttling).
   * Default: "2" with gpuEnabled, "500m" without (SERVING_RESOURCE_DEFAULTS).
   */
  readonly cpu?: string;
  /** Memory request and limit per pod (Kubernetes quantity). Default: "4Gi" with gpuEnabled, "1Gi" without. */
  readonly memory?: string;
  /** Size limit of the model cache emptyDir (Kubernetes quantity). Default: "20Gi". */
  readonly modelCacheSizeLimit?: string;
  /** Seconds the preStop hook sleeps so the ALB deregisters the pod first. Default: 15. */
  readonly preStopDelaySeconds?: number;
  /** Seconds the server keeps accepting after SIGTERM (DRAIN_DELAY_SECONDS). Default: 5. */
  readonly drainDelaySeconds?: number;
  /** Per-request deadline of the server (REQUEST_TIMEOUT_MS). Default: 10000. */
  readonly requestTimeoutMs?: number;
  /** HPA target average CPU utilization, percent of the request. Default: 70. */
  readonly targetCpuUtilizationPercent?: number;
  /** Server log level (LOG_LEVEL). Default: "info". */
  readonly logLevel?: string;
  /** Most rows one `session.run` gets (MAX_BATCH_SIZE), 1-65536. Default: 32. */
  readonly maxBatchSize?: number;
  /**
   * Longest the oldest queued request waits for its batch to fill, in ms (MAX_BATCH_DELAY_MS),
   * 0-60000. Default: 0 (a batch starts as soon as the model is free).
   */
  readonly maxBatchDelayMs?: number;
  /** Which requests get an access-log line (ACCESS_LOG): "all", "errors" or "none". Default: "errors". */
  readonly accessLog?: AccessLogPolicy;
  /** Where the server runs `session.run` (INFERENCE_THREAD): "main" or "worker". Default: "main". */
  readonly inferenceThread?: InferenceThread;
  /**
   * An A/B experiment: the pods also load `treatmentVersion` (from the same bucket), assign each
   * request by a stable hash of (name, assignment key), and write prediction and outcome records
   * under `experiments/<name>/` of the model bucket. Needs `modelVersion`. Default: none.
   */
  readonly experiment?: ExperimentSpec;
  /** Value of app.kubernetes.io/part-of. Default: "onnx-eks-serving". */
  readonly partOf?: string;
  /**
   * What the TargetGroupBinding waits for: the load balancer controller's Helm release (its
   * CRDs and webhooks). Default: none.
   */
  readonly bindingDependsOn?: pulumi.Input<pulumi.Resource>[];
  /**
   * What the Deployment waits for besides this color's binding: the listener rule that keeps
   * the target group in use (else the readiness gate never turns true) and, for the bundled
   * version, the seeded model objects. Default: none.
   */
  readonly rolloutDependsOn?: pulumi.Input<pulumi.Resource>[];
  /**
   * The color's gRPC target group (see grpcRouting.ts). Given, the server serves gRPC on
   * `grpcPort` (GRPC_PORT), the Service exposes it and a second TargetGroupBinding registers it;
   * absent, GRPC_PORT is "off". Default: none.
   */
  readonly grpcTargetGroupArn?: pulumi.Input<string>;
  /** Port the server serves gRPC on when grpcTargetGroupArn is set. Default: 8081. */
  readonly grpcPort?: number;
}

/** The server's batching, access-log and thread settings of a color, defaults applied. */
function serverTuning(args: ServingColorArgs) {
  return {
    maxBatchSize: args.maxBatchSize ?? BATCHING_LIMITS.maxBatchSize.default,
    maxBatchDelayMs: args.maxBatchDelayMs ?? BATCHING_LIMITS.maxBatchDelayMs.default,
    accessLog: args.accessLog ?? DEFAULT_ACCESS_LOG,
    inferenceThread: args.inferenceThread ?? DEFAULT_INFERENCE_THREAD,
  };
}

/** Checks the arguments before anything is created; each message names the argument. */
export function servingColorArgProblems(args: ServingColorArgs): string[] {
  const p: string[] = [];
  const c = args.color;
  const int = (v: number, min: number, max: number): boolean => Number.isInteger(v) && v >= min && v <= max;
  if (!int(args.replicas, 0, 1000))
    p.push(`${c}.replicas must be an integer from 0 to 1000, got ${args.replicas}`);
  if (!int(args.maxReplicas, Math.max(1, args.replicas), 1000)) {
    p.push(
      `${c}.maxReplicas must be an integer from max(1, ${c}.replicas = ${args.replicas}) to 1000, got ${args.maxReplicas}`,
    );
  }
  if (args.replicas > 0 && (args.modelVersion ?? "") === "") {
    p.push(`${c}.modelVersion must be set when ${c}.replicas is ${args.replicas}`);
  }
  const defaults = servingResourceDefaults(args.gpuEnabled ?? true);
  for (const problem of [
    cpuQuantityProblem("servingCpu", args.cpu ?? defaults.cpu),
    memoryQuantityProblem("servingMemory", args.memory ?? defaults.memory, MIN_SERVING_MEMORY),
    memoryQuantityProblem("modelCacheSizeLimit", args.modelCacheSizeLimit ?? "20Gi"),
  ]) {
    if (problem !== undefined) p.push(problem);
  }
  const tuning = serverTuning(args);
  for (const field of ["maxBatchSize", "maxBatchDelayMs"] as const) {
    const { min, max } = BATCHING_LIMITS[field];
    const value = tuning[field];
    if (!int(value, min, max)) p.push(`${c}.${field} must be an integer from ${min} to ${max}, got ${value}`);
  }
  const oneOf = (key: string, value: string, allowed: readonly string[]): void => {
    if (!allowed.includes(value)) {
      p.push(
        `${key} must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${JSON.stringify(value)}`,
      );
    }
  };
  oneOf("servingAccessLog", tuning.accessLog, ACCESS_LOG_POLICIES);
  oneOf("servingInferenceThread", tuning.inferenceThread, INFERENCE_THREADS);
  if (args.experiment)
    p.push(...experimentSpecProblems(`${c}.experiment`, args.experiment, args.modelVersion ?? ""));
  const util = args.targetCpuUtilizationPercent ?? 70;
  if (!int(util, 1, 100)) p.push(`targetCpuUtilizationPercent must be an integer from 1 to 100, got ${util}`);
  return p;
}

/** The server's EXPERIMENT_* variables for a color's experiment (records under `experiments/<name>/`). */
function experimentEnv(e: ExperimentSpec, bucket: pulumi.Input<string>): k8s.types.input.core.v1.EnvVar[] {
  return [
    { name: "EXPERIMENT_NAME", value: e.name },
    { name: "EXPERIMENT_TREATMENT_VERSION", value: e.treatmentVersion },
    { name: "EXPERIMENT_TREATMENT_PERCENT", value: String(e.treatmentPercent) },
    { name: "EXPERIMENT_ASSIGNMENT_KEY", value: e.assignmentKey },
    { name: "EXPERIMENT_RECORDS_URI", value: pulumi.interpolate`s3://${bucket}/${experimentPrefix(e.name)}` },
  ];
}

/** INTRA_OP_THREADS from the CPU request, so onnxruntime does not spawn a thread per node core. */
export function intraOpThreads(cpu: string): number {
  const cores = cpuCores(cpu);
  if (cores === undefined) return 0;
  return Math.max(1, Math.floor(cores));
}

/**
 * One serving color: Deployment, Service, TargetGroupBinding, PodDisruptionBudget and (with
 * pods) a HorizontalPodAutoscaler. Instantiated once per color; nothing here depends on which
 * color is live or on the canary share, so a flip never touches these objects.
 *
 * Ordering, so that a color's pods are Ready only when healthy in the ALB:
 * Service -> TargetGroupBinding (needs the controller) -> Deployment. The controller's webhook
 * injects the target-health readiness gate at pod creation only if a binding already selects
 * the pod, and Pulumi awaits the Deployment until its pods are Ready, gates included.
 */
export class ServingColor extends pulumi.ComponentResource {
  public readonly color: Color;
  public readonly deployment: k8s.apps.v1.Deployment;
  public readonly service: k8s.core.v1.Service;
  /** elbv2.k8s.aws/v1beta1 TargetGroupBinding: Service -> this color's target group. */
  public readonly targetGroupBinding: k8s.apiextensions.CustomResource;
  /** With grpcTargetGroupArn: the Service's gRPC port -> this color's gRPC target group. */
  public readonly grpcTargetGroupBinding?: k8s.apiextensions.CustomResource;
  public readonly podDisruptionBudget: k8s.policy.v1.PodDisruptionBudget;
  /** Absent when replicas is 0 (an HPA cannot scale from or to zero by default). */
  public readonly horizontalPodAutoscaler?: k8s.autoscaling.v2.HorizontalPodAutoscaler;
  /** Labels that select this color's pods. */
  public readonly selectorLabels: Readonly<Record<string, string>>;
  /** `s3://<bucket>/models/<name>/<version>/`, or undefined without a model version. */
  public readonly modelUri?: pulumi.Output<string>;

  constructor(name: string, args: ServingColorArgs, opts?: pulumi.ComponentResourceOptions) {
    super("onnx-eks-serving:serving:ServingColor", name, {}, opts);
    const problems = servingColorArgProblems(args);
    if (problems.length > 0) throw new Error(`ServingColor ${name}: ${problems.join("; ")}`);

    const color = args.color;
    this.color = color;
    const objectName = `${APP_NAME}-${color}`;
    const port = args.servingPort ?? 8080;
    const gpu = args.gpuEnabled ?? true;
    const defaults = servingResourceDefaults(gpu);
    const cpu = args.cpu ?? defaults.cpu;
    const memory = args.memory ?? defaults.memory;
    const modelVersion = args.modelVersion ?? "";
    const timings = {
      preStopDelaySeconds: args.preStopDelaySeconds ?? 15,
      drainDelaySeconds: args.drainDelaySeconds ?? 5,
      requestTimeoutMs: args.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    };

    // Stable labels: no model version, so only the Deployment changes with the version.
    this.selectorLabels = Object.freeze({
      "app.kubernetes.io/name": APP_NAME,
      "app.kubernetes.io/instance": objectName,
      [COLOR_LABEL]: color,
    });
    const labels = {
      ...this.selectorLabels,
      "app.kubernetes.io/component": "inference",
      "app.kubernetes.io/part-of": args.partOf ?? "onnx-eks-serving",
      "app.kubernetes.io/managed-by": "pulumi",
    };
    const versionedLabels = modelVersion
      ? { ...labels, "app.kubernetes.io/version": versionLabelValue(modelVersion) }
      : labels;
    const meta = { namespace: args.namespace, labels };
    const parent = { parent: this };
    // gRPC only when the load balancer routes it (a certificate); else the server keeps it off.
    const grpcPort = args.grpcTargetGroupArn !== undefined ? (args.grpcPort ?? DEFAULT_GRPC_PORT) : undefined;
    const probePort = args.probePort ?? DEFAULT_PROBE_PORT;
    if (probePort === port || probePort === grpcPort) {
      throw new Error(
        `${name}: probePort ${probePort} is also the ${probePort === port ? "serving" : "gRPC"} port`,
      );
    }

    this.service = new k8s.core.v1.Service(
      `${name}-svc`,
      {
        metadata: { ...meta, name: objectName },
        spec: {
          type: "ClusterIP",
          selector: { ...this.selectorLabels },
          ports: [
            { name: "http", port, targetPort: "http", protocol: "TCP" },
            ...(grpcPort !== undefined
              ? [{ name: "grpc", port: grpcPort, targetPort: "grpc", protocol: "TCP", appProtocol: "grpc" }]
              : []),
          ],
        },
      },
      parent,
    );

    this.targetGroupBinding = new k8s.apiextensions.CustomResource(
      `${name}-tgb`,
      {
        apiVersion: "elbv2.k8s.aws/v1beta1",
        kind: "TargetGroupBinding",
        metadata: { ...meta, name: objectName },
        spec: {
          serviceRef: { name: this.service.metadata.name, port },
          targetGroupARN: args.targetGroupArn,
          targetType: "ip",
          // No `networking` block: Pulumi owns the security-group rules, the controller only
          // registers and deregisters targets.
        },
      },
      {
        parent: this,
        dependsOn: args.bindingDependsOn ?? [],
        // spec.targetGroupARN is immutable (the controller's webhook refuses a change), so a new
        // target group (e.g. servingPort changed) replaces the binding; its fixed name means the
        // old one goes first.
        replaceOnChanges: ["spec.targetGroupARN"],
        deleteBeforeReplace: true,
      },
    );

    if (grpcPort !== undefined) {
      this.grpcTargetGroupBinding = new k8s.apiextensions.CustomResource(
        `${name}-tgb-grpc`,
        {
          apiVersion: "elbv2.k8s.aws/v1beta1",
          kind: "TargetGroupBinding",
          metadata: { ...meta, name: `${objectName}-grpc` },
          spec: {
            serviceRef: { name: this.service.metadata.name, port: grpcPort },
            targetGroupARN: args.grpcTargetGroupArn,
            targetType: "ip",
          },
        },
        { parent: this, dependsOn: args.bindingDependsOn ?? [] },
      );
    }

    if (modelVersion) {
      const prefix = versionPrefix(args.modelName, modelVersion);
      this.modelUri = pulumi.interpolate`s3://${args.modelBucketName}/${prefix}`;
    }
    const tuning = serverTuning(args);
    const env: k8s.types.input.core.v1.EnvVar[] = [
      { name: "PORT", value: String(port) },
      { name: "GRPC_PORT", value: grpcPort !== undefined ? String(grpcPort) : "off" },
      { name: "PROBE_PORT", value: String(probePort) },
      { name: "HOST", value: "0.0.0.0" },
      { name: "LOG_LEVEL", value: args.logLevel ?? "info" },
      { name: "ACCESS_LOG", value: tuning.accessLog },
      ...(this.modelUri
        ? [
            { name: "MODEL_URI", value: this.modelUri },
            { name: "MODEL_NAME", value: args.modelName },
            { name: "MODEL_VERSION", value: modelVersion },
          ]
        : []),
      ...(args.experiment ? experimentEnv(args.experiment, args.modelBucketName) : []),
      { name: "MODEL_CACHE_DIR", value: MODEL_CACHE_DIR },
      { name: "EXECUTION_PROVIDERS", value: providersFor(gpu ? "gpu" : "cpu").join(",") },
      { name: "INTRA_OP_THREADS", value: String(intraOpThreads(cpu)) },
      // Batching and threading are always set, defaults included: the pod spec says what runs.
      { name: "MAX_BATCH_SIZE", value: String(tuning.maxBatchSize) },
      { name: "MAX_BATCH_DELAY_MS", value: String(tuning.maxBatchDelayMs) },
      { name: "INFERENCE_THREAD", value: tuning.inferenceThread },
      { name: "REQUEST_TIMEOUT_MS", value: String(timings.requestTimeoutMs) },
      { name: "DRAIN_DELAY_SECONDS", value: String(timings.drainDelaySeconds) },
      { name: "SHUTDOWN_TIMEOUT_SECONDS", value: String(shutdownTimeoutSeconds(timings)) },
      { name: "AWS_REGION", value: args.region },
    ];

    const probe = (
      path: string,
      periodSeconds: number,
      timeoutSeconds: number,
      failureThreshold: number,
    ) => ({
      httpGet: { path, port: "probes", scheme: "HTTP" },
      periodSeconds,
      timeoutSeconds,
      failureThreshold,
    });
    const restricted = {
      runAsNonRoot: true,
      runAsUser: SERVER_UID,
      runAsGroup: SERVER_UID,
      seccompProfile: { type: "RuntimeDefault" },
    };
    const spread = (topologyKey: string) => ({
      topologyKey,
      maxSkew: 1,
      // ScheduleAnyway: a small GPU pool may sit in one zone; spreading must not block a rollout.
      whenUnsatisfiable: "ScheduleAnyway",
      labelSelector: { matchLabels: { ...this.selectorLabels } },
      // Spread each ReplicaSet on its own, so a rollout's new pods spread too.
      matchLabelKeys: ["pod-template-hash"],
    });

    this.deployment = new k8s.apps.v1.Deployment(
      name,
      {
        metadata: {
          namespace: args.namespace,
          name: objectName,
          labels: versionedLabels,
          // Scaling a color to 0 takes spec.replicas back from the HPA that owned it (its
          // managed-fields entry outlives the HPA): force that one apply, nothing else.
          ...(args.replicas > 0 ? {} : { annotations: { [PATCH_FORCE_ANNOTATION]: "true" } }),
        },
        spec: {
          // With an HPA (replicas > 0) the Deployment carries no `replicas`: the HPA owns the
          // field through the scale subresource and its floor is minReplicas. Applying a value
          // here would conflict with kube-controller-manager (server-side apply) once the HPA
          // has scaled, and forcing it would shrink a color under load. Without pods there is
          // no HPA (minReplicas 0 needs the HPAScaleToZero gate) and `replicas: 0` is set.
          ...(args.replicas > 0 ? {} : { replicas: 0 }),
          selector: { matchLabels: { ...this.selectorLabels } },
          revisionHistoryLimit: 5,
          // Model download + CUDA start-up can be slow; the startup probe allows 10 minutes.
          progressDeadlineSeconds: 900,
          strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
          template: {
            metadata: {
              labels: versionedLabels,
              annotations: {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": String(port),
                "prometheus.io/path": "/metrics",
              },
            },
            spec: {
              serviceAccountName: args.serviceAccountName,
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              terminationGracePeriodSeconds: terminationGracePeriodSeconds(timings),
              securityContext: { ...restricted, fsGroup: SERVER_UID },
              ...(gpu
                ? {
                    nodeSelector: { ...args.gpuNodeSelector },
                    tolerations: [
                      { key: args.gpuTaintKey ?? GPU_RESOURCE, operator: "Exists", effect: "NoSchedule" },
                    ],
                  }
                : {}),
              topologySpreadConstraints: [
                spread("topology.kubernetes.io/zone"),
                spread("kubernetes.io/hostname"),
              ],
              containers: [
                {
                  name: "server",
                  image: args.image,
                  imagePullPolicy: "IfNotPresent",
                  ports: [
                    { name: "http", containerPort: port, protocol: "TCP" },
                    ...(grpcPort !== undefined
                      ? [{ name: "grpc", containerPort: grpcPort, protocol: "TCP" }]
                      : []),
                    { name: "probes", containerPort: probePort, protocol: "TCP" },
                  ],
                  env,
                  resources: {
                    requests: { cpu, memory, ...(gpu ? { [GPU_RESOURCE]: "1" } : {}) },
                    limits: { memory, ...(gpu ? { [GPU_RESOURCE]: "1" } : {}) },
                  },
                  // /ready turns 200 after download, sha256 check, session and warm-up.
                  startupProbe: probe("/ready", 10, 5, 60),
                  readinessProbe: { ...probe("/ready", 5, 3, 2), successThreshold: 1 },
                  livenessProbe: probe("/health", 10, 5, 3),
                  lifecycle: {
                    // Keep serving while the controller deregisters the pod from the target group.
                    preStop: { sleep: { seconds: timings.preStopDelaySeconds } },
                  },
                  securityContext: {
                    ...restricted,
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ["ALL"] },
                  },
                  volumeMounts: [
                    { name: "tmp", mountPath: "/tmp" },
                    { name: "model-cache", mountPath: MODEL_CACHE_DIR },
                  ],
                },
              ],
              volumes: [
                { name: "tmp", emptyDir: { sizeLimit: "1Gi" } },
                { name: "model-cache", emptyDir: { sizeLimit: args.modelCacheSizeLimit ?? "20Gi" } },
              ],
            },
          },
        },
      },
      {
        parent: this,
        dependsOn: [
          this.targetGroupBinding,
          // Both bindings first: the webhook injects a readiness gate per binding selecting the pod.
          ...(this.grpcTargetGroupBinding ? [this.grpcTargetGroupBinding] : []),
          ...(args.bindingDependsOn ?? []),
          ...(args.rolloutDependsOn ?? []),
        ],
        // Pulumi's own await must outlast progressDeadlineSeconds, so the Deployment's
        // ProgressDeadlineExceeded is what fails a broken rollout.
        customTimeouts: { create: "20m", update: "20m" },
      },
    );

    this.podDisruptionBudget = new k8s.policy.v1.PodDisruptionBudget(
      `${name}-pdb`,
      {
        metadata: { ...meta, name: objectName },
        spec: {
          // maxUnavailable (not minAvailable) so a 1-replica color never blocks a node drain.
          maxUnavailable: 1,
          selector: { matchLabels: { ...this.selectorLabels } },
          unhealthyPodEvictionPolicy: "AlwaysAllow",
        },
      },
      parent,
    );

    if (args.replicas > 0) {
      this.horizontalPodAutoscaler = new k8s.autoscaling.v2.HorizontalPodAutoscaler(
        `${name}-hpa`,
        {
          metadata: { ...meta, name: objectName },
          spec: {
            scaleTargetRef: {
              apiVersion: "apps/v1",
              kind: "Deployment",
              name: this.deployment.metadata.name,
            },
            minReplicas: args.replicas,
            maxReplicas: args.maxReplicas,
            metrics: [
              {
                type: "Resource",
                resource: {
                  name: "cpu",
                  target: { type: "Utilization", averageUtilization: args.targetCpuUtilizationPercent ?? 70 },
                },
              },
            ],
            behavior: {
              // GPU pods are slow to start: scale down one pod at a time after 5 quiet minutes.
              scaleDown: {
                stabilizationWindowSeconds: 300,
                policies: [{ type: "Pods", value: 1, periodSeconds: 60 }],
              },
            },
          },
        },
        parent,
      );
    }

    this.registerOutputs({
      deploymentName: this.deployment.metadata.name,
      serviceName: this.service.metadata.name,
      modelUri: this.modelUri,
    });
  }
}

/**
 * A model version as a Kubernetes label value (at most 63 of [A-Za-z0-9._-], alphanumeric at both
 * ends): semver build metadata's "+" becomes "_" (`1.2.0+build.5` -> `1.2.0_build.5`). The
 * MODEL_URI and MODEL_VERSION env carry the exact version.
 */
export function versionLabelValue(version: string): string {
  return version
    .replace(/\+/g, "_")
    .slice(0, 63)
    .replace(/[^A-Za-z0-9]+$/, "");
}
