/**
 * Wires the components into the serving environment. `infra/index.ts` calls `createStack` with
 * the parsed config; the mock harness calls it the same way, as often as it likes.
 *
 * Order of concerns: network -> cluster (+ GPU nodes) -> cluster autoscaler -> model store, image,
 * identities -> load balancer controller -> load balancer, serving colors, traffic (the blue/green part).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { ADDON_VERSION_KEYS, type Accelerator, type StackConfig } from "./config";
import { AccessLogBucket } from "./components/accessLogBucket";
import { Cluster } from "./components/cluster";
import { ClusterAutoscaler } from "./components/clusterAutoscaler";
import { GPU_NODE_LABELS, GPU_TOLERATION, GpuNodeGroup } from "./components/gpuNodeGroup";
import { COLOR_HEADER, LoadBalancer, PREVIEW_HEADER_VALUE } from "./components/loadBalancer";
import { LoadBalancerController } from "./components/loadBalancerController";
import { ModelStore } from "./components/modelStore";
import { PREVIEW_TOKEN_HEADER, PreviewAccess } from "./components/previewAccess";
import { Network } from "./components/network";
import { ServingIdentity } from "./components/servingIdentity";
import { ServingImage } from "./components/servingImage";
import { ServingColor } from "./components/servingColor";
import { ServingMonitoring } from "./components/servingMonitoring";
import { ServingNamespace } from "./components/servingNamespace";
import { TrafficRouter } from "./components/trafficRouter";
import { REPO_ROOT, requireAbsolute } from "./paths";
import {
  bundledAccelerator,
  BUNDLED_MODELS_DIR,
  colorRequests,
  imageVariant,
  resolveAccelerator,
} from "./accelerators";
import { colorImage, imagePinViolations } from "./imagePins";
import { COLORS, planTraffic, TrafficError, type Color, type TrafficPlan } from "./traffic";
import type { RolloutTargets } from "./rollout/aws/targets";

export interface CreateStackOptions {
  /**
   * Repository root (build context, Dockerfile, bundled model); must be absolute, so nothing
   * depends on the working directory. Default {@link REPO_ROOT} (resolved from this file).
   */
  readonly repoRoot?: string;
}

/** What infra/index.ts exports: the traffic plan (see infra/traffic.ts) and the endpoints. */
export interface StackOutputs extends TrafficPlan {
  readonly clusterName: pulumi.Output<string>;
  /** Kubeconfig for kubectl (secret). */
  readonly kubeconfig: pulumi.Output<string>;
  readonly modelBucketName: pulumi.Output<string>;
  /** Bucket the ALB writes its access logs to; "" when albAccessLogs is false. */
  readonly albAccessLogBucketName: pulumi.Output<string>;
  /** `<repository>@sha256:<digest>` of the image this stack built. */
  readonly imageRef: pulumi.Output<string>;
  /** The image blue runs (its pin, or the build); what `blue.image` pins it to. */
  readonly blueImage: pulumi.Output<string>;
  /** The image green runs (its pin, or the build); what `green.image` pins it to. */
  readonly greenImage: pulumi.Output<string>;
  /** Where each color computes ("gpu" or "cpu"), after the manifest default. */
  readonly accelerators: Readonly<Record<Color, Accelerator>>;
  /** DNS name of the serving ALB. */
  readonly albDnsName: pulumi.Output<string>;
  /** `http(s)://<albDnsName>`: live traffic, weighted over the two colors. */
  readonly url: pulumi.Output<string>;
  /** Same endpoint as `url`; requests carrying {@link previewHeader} reach the standby color only. */
  readonly previewUrl: pulumi.Output<string>;
  /** `X-Serving-Color: preview`: the header that selects the preview route. */
  readonly previewHeader: string;
  /**
   * `<albDnsName>:443`: Open Inference Protocol gRPC over TLS, weighted like `url` (the same
   * preview header reaches the standby); "" without a certificate (the ALB routes gRPC on HTTPS only).
   */
  readonly grpcEndpoint: pulumi.Output<string>;
  /** Console address of the CloudWatch dashboard (per-color requests, 5xx, p99, healthy hosts). */
  readonly dashboardUrl: string;
  /** Names, ARNs and URNs `npm run rollout` acts on (see infra/rollout/aws/targets.ts). */
  readonly rolloutTargets: pulumi.Output<RolloutTargets>;
  /** Name of the header every preview or color-pin request must also carry: `X-Serving-Preview-Token`. */
  readonly previewTokenHeader: string;
  /** Its value (secret): `pulumi stack output previewToken --show-secrets`. */
  readonly previewToken: pulumi.Output<string>;
}

/**
 * The bundled version directory of model `name` (`serving/models/<name>/<version>/`, the first
 * version when several), which seedBundledModel publishes. Throws naming the bundled models when
 * `name` has none.
 */
export function bundledVersionDir(repoRoot: string, name: string): string {
  const root = path.join(repoRoot, BUNDLED_MODELS_DIR);
  const dir = path.join(root, name);
  const versions = fs.existsSync(dir)
    ? fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort()
    : [];
  if (versions.length === 0) {
    const bundled = fs
      .readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => `"${e.name}"`);
    throw new Error(
      `seedBundledModel is true but no bundled model is named "${name}" (modelName); bundled: ${bundled.join(", ")}. ` +
        `Set modelName to one of them or seedBundledModel to false`,
    );
  }
  return path.join(dir, versions[0]);
}

/** EKS cluster name for the stack: `<project>-<stack>`, limited to what EKS accepts. */
export function clusterNameFor(project: string, stack: string): string {
  return `${project}-${stack}`
    .replace(/[^A-Za-z0-9_-]/g, "-")
    .replace(/^[^A-Za-z0-9]+/, "")
    .slice(0, 100);
}

export function createStack(cfg: StackConfig, opts: CreateStackOptions = {}): StackOutputs {
  const repoRoot = requireAbsolute(opts.repoRoot ?? REPO_ROOT, "createStack: repoRoot");
  const project = pulumi.getProject();
  const stack = pulumi.getStack();
  const clusterName = clusterNameFor(project, stack);
  const tags = { "app.kubernetes.io/part-of": project, "pulumi:project": project, "pulumi:stack": stack };
  // Traffic guards and drain timings first: a refused flip or canary fails the preview before
  // any resource is registered, and the old routing stays as it is.
  const traffic = planTraffic(cfg, { stack });
  // A live color pins its image while the standby is warm (infra/imagePins.ts).
  const pinProblems = imagePinViolations(cfg);
  if (pinProblems.length > 0) throw new TrafficError(pinProblems.join("\n"));
  // GPU or CPU per color; the image carries CUDA only when a color computes on a GPU.
  const accelerators = Object.fromEntries(
    COLORS.map((color) => [
      color,
      resolveAccelerator(
        cfg[color].accelerator,
        bundledAccelerator(repoRoot, cfg.modelName, cfg[color].modelVersion),
        cfg.gpuEnabled,
      ),
    ]),
  ) as Record<Color, Accelerator>;
  const variant = imageVariant(COLORS.map((c) => ({ ...cfg[c], accelerator: accelerators[c] })));
  if (variant === "cuda" && cfg.onnxruntimeCudaSha256 === "") {
    throw new Error(
      `onnxruntimeCudaSha256 must be set: ${COLORS.filter((c) => accelerators[c] === "gpu").join(" and ")} ` +
        "computes on a GPU, so the stack builds the CUDA image, which installs onnxruntime's CUDA provider " +
        "libraries from the NuGet package serving/Dockerfile names and refuses a package it cannot verify. " +
        "Fix: `pulumi config set onnxruntimeCudaSha256 <sha256 of the .nupkg>` (see serving/Dockerfile for the URL)",
    );
  }

  // ---- Network and cluster ---------------------------------------------------------------------
  const network = new Network("network", {
    cidrBlock: cfg.vpcCidr,
    availabilityZoneCount: cfg.availabilityZoneCount,
    natGateways: cfg.natGateways,
    clusterName,
    tags,
  });
  const cluster = new Cluster("cluster", {
    clusterName,
    region: cfg.region,
    version: cfg.clusterVersion,
    vpcId: network.vpcId,
    privateSubnetIds: network.privateSubnetIds,
    publicSubnetIds: network.publicSubnetIds,
    endpointPublicAccess: cfg.endpointPublicAccess,
    publicAccessCidrs: cfg.publicAccessCidrs,
    endpointPrivateAccess: cfg.endpointPrivateAccess,
    adminPrincipalArns: cfg.adminPrincipalArns,
    systemNodeInstanceType: cfg.systemNodeInstanceType,
    systemNodeCount: cfg.systemNodeCount,
    systemNodesAutoscaled: cfg.clusterAutoscaler,
    addonVersions: Object.fromEntries(
      Object.entries(ADDON_VERSION_KEYS).map(([addon, key]) => [addon, cfg[key]]),
    ),
    tags,
  });
  // GPU nodes and the device plugin exist only with gpuEnabled; CPU-only dev stacks serve on
  // the system nodes (serving pods then neither request GPUs nor tolerate the GPU taint).
  const gpu = cfg.gpuEnabled
    ? new GpuNodeGroup("gpu", {
        clusterName: cluster.clusterName,
        kubernetesVersion: cluster.eksCluster.version,
        nodeRoleArn: cluster.nodeRoleArn,
        subnetIds: cluster.privateSubnetIds,
        provider: cluster.provider,
        instanceTypes: cfg.gpuInstanceTypes,
        minSize: cfg.gpuNodesMin,
        desiredSize: cfg.gpuNodesDesired,
        maxSize: cfg.gpuNodesMax,
        autoscaled: cfg.clusterAutoscaler,
        diskSizeGiB: cfg.gpuNodeDiskSizeGiB,
        capacityType: cfg.gpuCapacityType,
        devicePluginChartVersion: cfg.nvidiaDevicePluginChartVersion,
        // Like the system nodes: the node role, vpc-cni and kube-proxy first.
        dependsOn: cluster.nodeDependencies,
        devicePluginDependsOn: cluster.workloadDependencies,
        tags,
      })
    : undefined;
  // Node autoscaling: without it pods an HPA adds beyond the nodes' capacity stay Pending. It
  // scales every managed node group of the cluster (GPU: gpuNodesMin..gpuNodesMax; system:
  // systemNodeCount..2 x systemNodeCount), so it is installed with or without GPUs.
  if (cfg.clusterAutoscaler) {
    new ClusterAutoscaler("cluster-autoscaler", {
      provider: cluster.provider,
      clusterName: cluster.clusterName,
      kubernetesVersion: cfg.clusterVersion,
      region: cfg.region,
      oidcProviderArn: cluster.oidcProviderArn,
      oidcIssuer: cluster.oidcIssuer,
      chartVersion: cfg.clusterAutoscalerChartVersion,
      // After every node group, so their Auto Scaling groups exist and are tagged when it starts.
      dependsOn: [...cluster.workloadDependencies, ...(gpu ? [gpu.nodeGroup] : [])],
      tags,
    });
  }
  /** What a serving pod needs before it can be scheduled, run and be scaled by its HPA. */
  const servingNodeDependencies: pulumi.Resource[] = [
    ...cluster.workloadDependencies,
    cluster.metricsServer,
    ...(gpu ? gpu.workloadDependencies : []),
  ];

  // ---- Model registry, image, identities ------------------------------------------------------
  const modelStore = new ModelStore("models", {
    noncurrentVersionDays: cfg.modelNoncurrentVersionDays,
    seedModelDir: cfg.seedBundledModel ? bundledVersionDir(repoRoot, cfg.modelName) : undefined,
    tags,
  });
  const seeded = modelStore.seededModel;
  /** Objects a Deployment serving `version` must wait for (the seeded bundle, if that is the version). */
  const modelObjectsFor = (version: string): pulumi.Resource[] =>
    seeded && seeded.manifest.version === version ? modelStore.seededObjects : [];

  const image = new ServingImage("serving", {
    contextDir: repoRoot,
    accelerator: variant,
    cudaPackageSha256: cfg.onnxruntimeCudaSha256,
    keepImages: cfg.ecrKeepImages,
    tags,
  });
  const servingIdentity = new ServingIdentity("serving-identity", {
    oidcProviderArn: cluster.oidcProviderArn,
    oidcIssuer: cluster.oidcIssuer,
    namespace: cfg.servingNamespace,
    bucketArn: modelStore.bucketArn,
    kmsKeyArn: modelStore.kmsKeyArn,
    region: cfg.region,
    tags,
  });

  // ---- Load balancer: ALB, security groups, blue and green target groups, listeners -----------
  // The per-request record of production traffic comes from the ALB, written by AWS to S3: the
  // serving pods log only errors by default (a line per request costs them CPU and a log bill).
  const albLogs = cfg.albAccessLogs
    ? new AccessLogBucket("alb-logs", {
        region: cfg.region,
        expirationDays: cfg.albAccessLogRetentionDays,
        tags,
      })
    : undefined;
  // The header routes (preview, color pins) need the stack's secret token and, when set, a source
  // address in previewAllowedCidrs.
  const previewAccess = new PreviewAccess("preview-access", { sourceCidrs: cfg.previewAllowedCidrs });
  const lb = new LoadBalancer("serving", {
    vpcId: cluster.vpcId,
    publicSubnetIds: cluster.publicSubnetIds,
    clusterSecurityGroupId: cluster.clusterSecurityGroupId,
    servingPort: cfg.servingPort,
    allowedIngressCidrs: cfg.allowedIngressCidrs,
    certificateArn: cfg.certificateArn,
    deregistrationDelaySeconds: cfg.deregistrationDelaySeconds,
    accessLogs: albLogs,
    routeGuard: previewAccess.guard,
    tags,
  });

  // ---- Target registration: the AWS Load Balancer Controller -----------------------------------
  const lbController = new LoadBalancerController("lb-controller", {
    provider: cluster.provider,
    clusterName: cluster.clusterName,
    region: cfg.region,
    vpcId: cluster.vpcId,
    oidcProviderArn: cluster.oidcProviderArn,
    oidcIssuer: cluster.oidcIssuer,
    chartVersion: cfg.lbControllerChartVersion,
    targetGroupArns: pulumi.all([
      lb.targetGroups.blue.arn,
      lb.targetGroups.green.arn,
      ...(lb.grpcTargetGroups ? [lb.grpcTargetGroups.blue.arn, lb.grpcTargetGroups.green.arn] : []),
    ]),
    dependsOn: cluster.workloadDependencies,
    tags,
  });

  // ---- Serving colors (blue, green) and the traffic router --------------------------------------
  const serving = new ServingNamespace(
    "serving",
    {
      name: cfg.servingNamespace,
      serviceAccountName: servingIdentity.serviceAccount,
      roleArn: servingIdentity.roleArn,
    },
    { provider: cluster.provider },
  );
  const colors = {} as Record<Color, ServingColor>;
  for (const color of COLORS) {
    const c = cfg[color];
    colors[color] = new ServingColor(
      `serving-${color}`,
      {
        color,
        namespace: serving.namespaceName,
        serviceAccountName: serving.serviceAccountName,
        image: colorImage(c.image, image.imageRef),
        modelBucketName: modelStore.bucketName,
        modelName: cfg.modelName,
        modelVersion: c.modelVersion,
        replicas: c.replicas,
        maxReplicas: c.maxReplicas,
        targetGroupArn: lb.targetGroups[color].arn,
        region: cfg.region,
        servingPort: cfg.servingPort,
        gpuEnabled: accelerators[color] === "gpu",
        gpuNodeSelector: {
          "node.onnx-eks-serving/accelerator": GPU_NODE_LABELS["node.onnx-eks-serving/accelerator"],
        },
        gpuTaintKey: GPU_TOLERATION.key,
        ...colorRequests(
          { cpu: cfg.servingCpu, memory: cfg.servingMemory },
          cfg.gpuEnabled,
          accelerators[color],
        ),
        preStopDelaySeconds: cfg.preStopDelaySeconds,
        drainDelaySeconds: cfg.drainDelaySeconds,
        // Batching is per color, so a change can be staged on the standby and flipped; the access
        // log and the inference thread are the same for both.
        maxBatchSize: c.maxBatchSize,
        maxBatchDelayMs: c.maxBatchDelayMs,
        ...(c.experiment ? { experiment: c.experiment } : {}),
        accessLog: cfg.servingAccessLog,
        inferenceThread: cfg.servingInferenceThread,
        // The controller's CRDs and webhooks exist before a binding is created.
        bindingDependsOn: [lbController.release],
        // Pods start only once their target group is in use (else the readiness gate never turns
        // true), nodes can run them, the IRSA policy is in place and their model version exists.
        rolloutDependsOn: [
          lb.colorRoutes[color],
          ...servingNodeDependencies,
          ...servingIdentity.permissions,
          ...modelObjectsFor(c.modelVersion),
          ...(lb.grpcColorRoutes ? [lb.grpcColorRoutes[color]] : []),
          ...(c.experiment ? modelObjectsFor(c.experiment.treatmentVersion) : []),
        ],
        // gRPC (with a certificate only): the color's gRPC target group, bound like the HTTP one.
        ...(lb.grpcTargetGroups ? { grpcTargetGroupArn: lb.grpcTargetGroups[color].arn } : {}),
      },
      { provider: cluster.provider },
    );
  }
  const grpcRouted = (color: Color) => {
    const group = lb.grpcTargetGroups?.[color];
    const binding = colors[color].grpcTargetGroupBinding;
    if (!group || !binding) throw new Error(`gRPC routing for ${color} needs its target group and binding`);
    return { targetGroupArn: group.arn, binding };
  };
  const router = new TrafficRouter("serving-traffic", {
    listenerArn: lb.servingListener.arn,
    routeGuard: previewAccess.guard,
    activeColor: traffic.activeColor,
    canaryPercent: cfg.canaryPercent,
    stickySeconds: cfg.rollout.stickySeconds,
    colors: {
      blue: {
        targetGroupArn: lb.targetGroups.blue.arn,
        binding: colors.blue.targetGroupBinding,
        deployment: colors.blue.deployment,
      },
      green: {
        targetGroupArn: lb.targetGroups.green.arn,
        binding: colors.green.targetGroupBinding,
        deployment: colors.green.deployment,
      },
    },
    tags,
    // gRPC routing follows the HTTP routing: same weights, same standby (grpcRouting.ts).
    ...(lb.grpcTargetGroups ? { grpcColors: { blue: grpcRouted("blue"), green: grpcRouted("green") } } : {}),
  });

  // ---- Monitoring: per-color alarms and the dashboard; what the rollout acts on -----------------
  const monitoring = new ServingMonitoring("serving-monitoring", {
    region: cfg.region,
    dashboardName: clusterName,
    loadBalancerArnSuffix: lb.loadBalancer.arnSuffix,
    targetGroupArnSuffixes: { blue: lb.targetGroups.blue.arnSuffix, green: lb.targetGroups.green.arnSuffix },
    // The alarm and the rollout's analysis share the error threshold.
    maxErrorRate: cfg.rollout.maxErrorRate,
    p99LatencyMs: cfg.alarmP99LatencyMs,
    tags,
  });
  const targeted = (r: pulumi.CustomResource, id: pulumi.Input<string>) =>
    pulumi.all([id, r.urn]).apply(([i, urn]) => ({ id: i, urn }));
  const colorTargets = (color: Color) => {
    const { deployment, horizontalPodAutoscaler: hpa } = colors[color];
    return pulumi.output({
      targetGroupArn: lb.targetGroups[color].arn,
      targetGroupArnSuffix: lb.targetGroups[color].arnSuffix,
      deployment: targeted(deployment, deployment.metadata.name),
      ...(hpa ? { hpa: targeted(hpa, hpa.metadata.name) } : {}),
    });
  };
  const rolloutTargets: pulumi.Output<RolloutTargets> = pulumi.output({
    modelName: cfg.modelName,
    namespace: cfg.servingNamespace,
    loadBalancerArnSuffix: lb.loadBalancer.arnSuffix,
    weightedRule: targeted(router.weightedRule, router.weightedRule.arn),
    previewRule: targeted(router.previewRule, router.previewRule.arn),
    colors: { blue: colorTargets("blue"), green: colorTargets("green") },
    // With gRPC, the rollout moves and verifies its rules together with the HTTP ones.
    ...(router.grpcWeightedRule && router.grpcPreviewRule && lb.grpcTargetGroups
      ? {
          grpc: {
            weightedRule: targeted(router.grpcWeightedRule, router.grpcWeightedRule.arn),
            previewRule: targeted(router.grpcPreviewRule, router.grpcPreviewRule.arn),
            targetGroupArns: { blue: lb.grpcTargetGroups.blue.arn, green: lb.grpcTargetGroups.green.arn },
          },
        }
      : {}),
  });

  return {
    clusterName: cluster.clusterName,
    kubeconfig: cluster.kubeconfig,
    modelBucketName: modelStore.bucketName,
    albAccessLogBucketName: albLogs ? albLogs.bucketName : pulumi.output(""),
    imageRef: image.imageRef,
    blueImage: pulumi.output(colorImage(cfg.blue.image, image.imageRef)),
    greenImage: pulumi.output(colorImage(cfg.green.image, image.imageRef)),
    accelerators,
    albDnsName: lb.dnsName,
    url: lb.url,
    previewUrl: lb.url,
    previewHeader: `${COLOR_HEADER}: ${PREVIEW_HEADER_VALUE}`,
    grpcEndpoint: lb.grpcEndpoint,
    previewTokenHeader: PREVIEW_TOKEN_HEADER,
    previewToken: previewAccess.token,
    dashboardUrl: monitoring.dashboardUrl,
    rolloutTargets,
    ...traffic,
  };
}
