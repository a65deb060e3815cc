import assert from "node:assert/strict";
import {
  intraOpThreads,
  ServingColor,
  servingColorArgProblems,
  type ServingColorArgs,
  versionLabelValue,
} from "../../infra/components/servingColor";
import { evaluateStack, type RecordedResource, type StackEvaluation } from "../../infra/harness";
import { valueAt } from "../../infra/plan/diff";
import { minDeregistrationDelaySeconds } from "../../infra/traffic";
import {
  BATCHING_LIMITS,
  ConfigError as ServerConfigError,
  loadConfig as loadServerConfig,
} from "../../serving/src/config";
import {
  devStack,
  expectAt,
  gpuStack,
  MLP_OVERRIDES,
  mlpStack,
  SERVER,
  STAGED_GREEN,
  stagedStack,
  T,
} from "./support/stacks";

function env(r: RecordedResource, name: string): unknown {
  return valueAt(r.inputs, `${SERVER}.env[name=${name}].value`);
}

/** The serving container's env of a Deployment, as name -> value. */
function envOf(r: RecordedResource): Record<string, string> {
  return Object.fromEntries(
    (valueAt(r.inputs, `${SERVER}.env`) as { name: string; value: string }[]).map((e) => [e.name, e.value]),
  );
}

/** The env variables the batching/access-log/thread config keys set. */
const TUNING_VARS = ["MAX_BATCH_SIZE", "MAX_BATCH_DELAY_MS", "ACCESS_LOG", "INFERENCE_THREAD"] as const;
function tuningOf(r: RecordedResource): Record<string, unknown> {
  return Object.fromEntries(TUNING_VARS.map((name) => [name, env(r, name)]));
}

/** Per-color batching and stack-level server settings, none of them a default. */
const TUNED: Readonly<Record<string, unknown>> = {
  "blue.maxBatchSize": 128,
  "green.maxBatchSize": 64,
  "green.maxBatchDelayMs": 2,
  servingAccessLog: "all",
  servingInferenceThread: "worker",
};

/** Valid arguments of one color, for the argument checks and a bare component. */
const ARGS: ServingColorArgs = {
  color: "green",
  namespace: "ns",
  serviceAccountName: "model-server",
  image: "img",
  modelBucketName: "bucket",
  modelName: "churn",
  modelVersion: "1.1.0",
  replicas: 2,
  maxReplicas: 4,
  targetGroupArn: "arn",
  region: "us-west-2",
};

describe("servingColor: the two colors under mocks", () => {
  /** Shipped dev config: blue 1.0.0 x1, green empty x0, GPUs on. */
  let dev: StackEvaluation;
  /** Green staged: 1.1.0 x1. */
  let staged: StackEvaluation;
  /** CPU-only dev. */
  let cpu: StackEvaluation;
  /** Staged green, with {@link TUNED} batching, access log and inference thread. */
  let tuned: StackEvaluation;
  /** The bundled MLP on blue: its manifest asks for a GPU. */
  let mlp: StackEvaluation;
  before(async () => {
    [dev, staged, cpu, tuned, mlp] = await Promise.all([
      devStack(),
      stagedStack(),
      evaluateStack("dev", { gpuEnabled: "false" }),
      evaluateStack("dev", { ...STAGED_GREEN, ...TUNED }),
      mlpStack(),
    ]);
  });

  describe("namespace and ServiceAccount", () => {
    it("the namespace enforces, audits and warns Pod Security Standards restricted", () => {
      const ns = dev.one(T.namespace, "serving");
      expectAt(ns, "metadata.name", "model-serving");
      for (const mode of ["enforce", "audit", "warn"]) {
        expectAt(ns, `metadata.labels["pod-security.kubernetes.io/${mode}"]`, "restricted");
      }
    });

    it("the namespace turns on the load balancer controller's readiness-gate injection", () => {
      expectAt(
        dev.one(T.namespace, "serving"),
        'metadata.labels["elbv2.k8s.aws/pod-readiness-gate-inject"]',
        "enabled",
      );
    });

    it("the model-server ServiceAccount is annotated with the serving IRSA role's ARN", () => {
      const sa = dev.one(T.serviceAccount, "serving-model-server");
      const role = dev.one(T.role, "serving-identity-irsa-role");
      expectAt(sa, "metadata.name", "model-server");
      expectAt(sa, "metadata.namespace", "model-serving");
      expectAt(sa, 'metadata.annotations["eks.amazonaws.com/role-arn"]', role.state.arn);
      assert.match(String(role.state.arn), /^arn:aws:iam::123456789012:role\//);
    });
  });

  describe("TargetGroupBindings", () => {
    for (const color of ["blue", "green"] as const) {
      it(`${color}'s binding references the ${color} target group ARN and the ${color} Service and port`, () => {
        const tgb = dev.one(T.binding, `serving-${color}-tgb`);
        const tg = dev.one(T.targetGroup, `serving-${color}`);
        const svc = dev.one(T.service, `serving-${color}-svc`);
        expectAt(tgb, "apiVersion", "elbv2.k8s.aws/v1beta1");
        expectAt(tgb, "kind", "TargetGroupBinding");
        expectAt(tgb, "spec.targetGroupARN", tg.state.arn);
        expectAt(tgb, "spec.targetType", "ip");
        expectAt(tgb, "spec.serviceRef", { name: `model-server-${color}`, port: 8080 });
        expectAt(svc, "metadata.name", `model-server-${color}`);
        expectAt(svc, "spec.ports", [{ name: "http", port: 8080, targetPort: "http", protocol: "TCP" }]);
        expectAt(svc, "spec.type", "ClusterIP");
        assert.equal(
          valueAt(tgb.inputs, "spec.networking"),
          undefined,
          `${tgb.name}: Pulumi owns the SG rules`,
        );
      });
    }

    it("the two bindings point at different target groups", () => {
      const arns = ["blue", "green"].map((c) =>
        valueAt(dev.one(T.binding, `serving-${c}-tgb`).inputs, "spec.targetGroupARN"),
      );
      assert.notEqual(arns[0], arns[1]);
    });

    it("each Service selects only its own color's pods", () => {
      for (const color of ["blue", "green"]) {
        expectAt(dev.one(T.service, `serving-${color}-svc`), "spec.selector", {
          "app.kubernetes.io/name": "model-server",
          "app.kubernetes.io/instance": `model-server-${color}`,
          "serving.onnx-eks-serving/color": color,
        });
      }
    });

    it("bindings wait for the load balancer controller release (CRDs and webhooks)", () => {
      const release = dev.one(T.release, "lb-controller-release");
      for (const color of ["blue", "green"]) {
        const tgb = dev.one(T.binding, `serving-${color}-tgb`);
        assert.ok(dev.dependsOn(tgb, release), `${tgb.name} must depend on ${release.name}`);
      }
    });
  });

  describe("Deployments", () => {
    it("each Deployment waits for its binding, so the readiness gate is injected into its first pods", () => {
      for (const color of ["blue", "green"]) {
        const d = dev.one(T.deployment, `serving-${color}`);
        const tgb = dev.one(T.binding, `serving-${color}-tgb`);
        assert.ok(d.dependsOn.includes(tgb.urn), `${d.name} must depend on ${tgb.name}`);
      }
    });

    it("each Deployment waits for the header rule that keeps its target group in use", () => {
      for (const color of ["blue", "green"]) {
        const d = dev.one(T.deployment, `serving-${color}`);
        const route = dev.one(T.rule, `serving-route-${color}`);
        assert.ok(d.dependsOn.includes(route.urn), `${d.name} must depend on ${route.name}`);
      }
    });

    it("the blue Deployment waits for the seeded bundled model objects it serves", () => {
      const d = dev.one(T.deployment, "serving-blue");
      for (const obj of dev.all("aws:s3/bucketObjectv2:BucketObjectv2")) {
        assert.ok(d.dependsOn.includes(obj.urn), `${d.name} must depend on ${obj.name}`);
      }
    });

    it("pods get the server's environment contract with MODEL_URI pointing at the version prefix", () => {
      const d = dev.one(T.deployment, "serving-blue");
      const bucket = dev.outputs.modelBucketName;
      const expected: Record<string, string> = {
        PORT: "8080",
        GRPC_PORT: "off",
        PROBE_PORT: "8082",
        HOST: "0.0.0.0",
        LOG_LEVEL: "info",
        MODEL_URI: `s3://${bucket}/models/churn/1.0.0/`,
        MODEL_NAME: "churn",
        MODEL_VERSION: "1.0.0",
        MODEL_CACHE_DIR: "/var/cache/models",
        // churn's manifest says cpu: the CPU provider, sized for a CPU node (500m -> 1 thread).
        EXECUTION_PROVIDERS: "cpu",
        INTRA_OP_THREADS: "1",
        REQUEST_TIMEOUT_MS: "10000",
        DRAIN_DELAY_SECONDS: "5",
        SHUTDOWN_TIMEOUT_SECONDS: "20",
        AWS_REGION: "us-west-2",
        ACCESS_LOG: "errors",
        MAX_BATCH_SIZE: "32",
        MAX_BATCH_DELAY_MS: "0",
        INFERENCE_THREAD: "main",
      };
      assert.deepEqual(envOf(d), expected, `${d.name}: container env`);
    });

    it("by default both colors set the server's batching, access-log and thread defaults explicitly", () => {
      for (const color of ["blue", "green"]) {
        assert.deepEqual(
          tuningOf(dev.one(T.deployment, `serving-${color}`)),
          { MAX_BATCH_SIZE: "32", MAX_BATCH_DELAY_MS: "0", ACCESS_LOG: "errors", INFERENCE_THREAD: "main" },
          `serving-${color}`,
        );
      }
    });

    it("blue.* and green.* batching reach only their own color; servingAccessLog and servingInferenceThread reach both", () => {
      assert.deepEqual(tuningOf(tuned.one(T.deployment, "serving-blue")), {
        MAX_BATCH_SIZE: "128",
        MAX_BATCH_DELAY_MS: "0",
        ACCESS_LOG: "all",
        INFERENCE_THREAD: "worker",
      });
      assert.deepEqual(tuningOf(tuned.one(T.deployment, "serving-green")), {
        MAX_BATCH_SIZE: "64",
        MAX_BATCH_DELAY_MS: "2",
        ACCESS_LOG: "all",
        INFERENCE_THREAD: "worker",
      });
    });

    it("each color's container env, read by the server's own loadConfig, gives the configured settings", () => {
      const expected = {
        blue: { maxBatchSize: 128, maxBatchDelayMs: 0, version: "1.0.0" },
        green: { maxBatchSize: 64, maxBatchDelayMs: 2, version: "1.1.0" },
      };
      for (const color of ["blue", "green"] as const) {
        const server = loadServerConfig(envOf(tuned.one(T.deployment, `serving-${color}`)));
        assert.deepEqual(
          {
            maxBatchSize: server.maxBatchSize,
            maxBatchDelayMs: server.maxBatchDelayMs,
            accessLog: server.accessLog,
            inferenceThread: server.inferenceThread,
            version: server.model.version,
          },
          { ...expected[color], accessLog: "all", inferenceThread: "worker" },
          `serving-${color}`,
        );
      }
    });

    it("a ServingColor given no batching, access-log or thread args sets the server's defaults", async () => {
      const ev = await evaluateStack(
        "dev",
        {},
        {
          program: () => {
            new ServingColor("bare", ARGS);
            return {};
          },
        },
      );
      assert.deepEqual(tuningOf(ev.one(T.deployment, "bare")), {
        MAX_BATCH_SIZE: "32",
        MAX_BATCH_DELAY_MS: "0",
        ACCESS_LOG: "errors",
        INFERENCE_THREAD: "main",
      });
    });

    it("the image is the stack's image by digest", () => {
      expectAt(dev.one(T.deployment, "serving-blue"), `${SERVER}.image`, dev.outputs.imageRef);
      assert.match(String(dev.outputs.imageRef), /@sha256:[0-9a-f]{64}$/);
    });

    it("the model cache and /tmp are emptyDirs, the only writable paths", () => {
      const d = dev.one(T.deployment, "serving-blue");
      expectAt(d, `${SERVER}.volumeMounts`, [
        { name: "tmp", mountPath: "/tmp" },
        { name: "model-cache", mountPath: "/var/cache/models" },
      ]);
      expectAt(d, "spec.template.spec.volumes[name=tmp].emptyDir", { sizeLimit: "1Gi" });
      expectAt(d, "spec.template.spec.volumes[name=model-cache].emptyDir", { sizeLimit: "20Gi" });
    });

    it("probes: startup and readiness on /ready (startup allows 10 minutes), liveness on /health, all on the probe listener's port", () => {
      const d = dev.one(T.deployment, "serving-blue");
      expectAt(d, `${SERVER}.startupProbe.httpGet.path`, "/ready");
      expectAt(d, `${SERVER}.startupProbe.periodSeconds`, 10);
      expectAt(d, `${SERVER}.startupProbe.failureThreshold`, 60);
      expectAt(d, `${SERVER}.readinessProbe.httpGet.path`, "/ready");
      expectAt(d, `${SERVER}.livenessProbe.httpGet.path`, "/health");
      for (const p of ["startupProbe", "readinessProbe", "livenessProbe"]) {
        expectAt(d, `${SERVER}.${p}.httpGet.port`, "probes");
      }
      expectAt(d, `${SERVER}.ports`, [
        { name: "http", containerPort: 8080, protocol: "TCP" },
        { name: "probes", containerPort: 8082, protocol: "TCP" },
      ]);
      assert.equal(loadServerConfig(envOf(d)).probePort, 8082);
    });

    it("preStop sleep, termination grace, server drain and ALB deregistration delay agree", () => {
      const d = dev.one(T.deployment, "serving-blue");
      const tg = dev.one(T.targetGroup, "serving-blue");
      const preStop = valueAt(d.inputs, `${SERVER}.lifecycle.preStop.sleep.seconds`) as number;
      const drain = Number(env(d, "DRAIN_DELAY_SECONDS"));
      const shutdown = Number(env(d, "SHUTDOWN_TIMEOUT_SECONDS"));
      const requestTimeout = Number(env(d, "REQUEST_TIMEOUT_MS")) / 1000;
      const grace = valueAt(d.inputs, "spec.template.spec.terminationGracePeriodSeconds") as number;
      const dereg = tg.inputs.deregistrationDelay as number;
      assert.deepEqual([preStop, drain, requestTimeout, shutdown, grace, dereg], [15, 5, 10, 20, 40, 30]);
      assert.ok(
        shutdown > drain + requestTimeout,
        "the server's forced exit comes after drain + one request",
      );
      assert.ok(grace > preStop + shutdown, "the kubelet's SIGKILL comes after the server's own exit");
      assert.ok(
        dereg >=
          minDeregistrationDelaySeconds({
            preStopDelaySeconds: preStop,
            drainDelaySeconds: drain,
            deregistrationDelaySeconds: dereg,
          }),
        "the ALB drains at least as long as the pod may accept and finish a request",
      );
    });

    it("the pod security context is restricted (PSS) at pod and container level", () => {
      const d = dev.one(T.deployment, "serving-blue");
      expectAt(d, "spec.template.spec.securityContext", {
        runAsNonRoot: true,
        runAsUser: 10001,
        runAsGroup: 10001,
        fsGroup: 10001,
        seccompProfile: { type: "RuntimeDefault" },
      });
      expectAt(d, `${SERVER}.securityContext`, {
        runAsNonRoot: true,
        runAsUser: 10001,
        runAsGroup: 10001,
        seccompProfile: { type: "RuntimeDefault" },
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      });
      expectAt(d, "spec.template.spec.automountServiceAccountToken", false);
      expectAt(d, "spec.template.spec.serviceAccountName", "model-server");
    });

    it("a gpu color (the MLP's manifest) requests and limits one nvidia.com/gpu, tolerates the GPU taint, selects GPU nodes and uses CUDA", () => {
      assert.deepEqual(mlp.outputs.accelerators, { blue: "gpu", green: "cpu" });
      expectAt(
        mlp.one(T.deployment, "serving-blue"),
        `${SERVER}.env[name=MODEL_URI].value`,
        `s3://${mlp.outputs.modelBucketName}/models/mlp/1.0.0/`,
      );
      const d = mlp.one(T.deployment, "serving-blue");
      expectAt(d, `${SERVER}.resources`, {
        requests: { cpu: "2", memory: "4Gi", "nvidia.com/gpu": "1" },
        limits: { memory: "4Gi", "nvidia.com/gpu": "1" },
      });
      expectAt(d, "spec.template.spec.tolerations", [
        { key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" },
      ]);
      expectAt(d, "spec.template.spec.nodeSelector", { "node.onnx-eks-serving/accelerator": "nvidia" });
      expectAt(d, `${SERVER}.env[name=EXECUTION_PROVIDERS].value`, "cuda,cpu");
    });

    it("a cpu color on a GPU stack (churn's manifest) has no GPU request or toleration, CPU-node requests and the CPU provider", () => {
      assert.deepEqual(dev.outputs.accelerators, { blue: "cpu", green: "cpu" });
      const d = dev.one(T.deployment, "serving-blue");
      expectAt(d, `${SERVER}.resources`, {
        requests: { cpu: "500m", memory: "1Gi" },
        limits: { memory: "1Gi" },
      });
      expectAt(d, "spec.template.spec.tolerations", undefined);
      expectAt(d, "spec.template.spec.nodeSelector", undefined);
      expectAt(d, `${SERVER}.env[name=EXECUTION_PROVIDERS].value`, "cpu");
    });

    it("accelerator in config overrides the manifest both ways", async () => {
      const forced = await evaluateStack("dev", { ...MLP_OVERRIDES, "blue.accelerator": "cpu" });
      expectAt(
        forced.one(T.deployment, "serving-blue"),
        `${SERVER}.env[name=EXECUTION_PROVIDERS].value`,
        "cpu",
      );
      const gpuChurn = await gpuStack();
      expectAt(
        gpuChurn.one(T.deployment, "serving-blue"),
        `${SERVER}.resources.limits["nvidia.com/gpu"]`,
        "1",
      );
    });

    it("without gpuEnabled, pods have no GPU request, toleration or GPU node selector, and use the CPU provider", () => {
      for (const color of ["blue", "green"]) {
        const d = cpu.one(T.deployment, `serving-${color}`);
        expectAt(d, "spec.template.spec.tolerations", undefined);
        expectAt(d, "spec.template.spec.nodeSelector", undefined);
        expectAt(d, `${SERVER}.env[name=EXECUTION_PROVIDERS].value`, "cpu");
      }
    });

    it("without gpuEnabled, pods request 500m and 1Gi by default, so they fit the t3.large system nodes", () => {
      for (const color of ["blue", "green"]) {
        const d = cpu.one(T.deployment, `serving-${color}`);
        expectAt(d, `${SERVER}.resources`, {
          requests: { cpu: "500m", memory: "1Gi" },
          limits: { memory: "1Gi" },
        });
        expectAt(d, `${SERVER}.env[name=INTRA_OP_THREADS].value`, "1");
      }
    });

    it("explicit servingCpu and servingMemory win over the mode's defaults", async () => {
      const sized = await evaluateStack("dev", {
        gpuEnabled: "false",
        servingCpu: "1500m",
        servingMemory: "1536Mi",
      });
      const d = sized.one(T.deployment, "serving-blue");
      expectAt(d, `${SERVER}.resources`, {
        requests: { cpu: "1500m", memory: "1536Mi" },
        limits: { memory: "1536Mi" },
      });
      expectAt(d, `${SERVER}.env[name=INTRA_OP_THREADS].value`, "1");
    });

    it("pods spread over zones (and hosts) without blocking a rollout", () => {
      const d = dev.one(T.deployment, "serving-blue");
      const spread = valueAt(d.inputs, "spec.template.spec.topologySpreadConstraints") as Record<
        string,
        unknown
      >[];
      assert.deepEqual(
        spread.map((s) => [s.topologyKey, s.whenUnsatisfiable, s.maxSkew]),
        [
          ["topology.kubernetes.io/zone", "ScheduleAnyway", 1],
          ["kubernetes.io/hostname", "ScheduleAnyway", 1],
        ],
        `${d.name}: topologySpreadConstraints`,
      );
    });

    it("labels: app.kubernetes.io/* plus the color, with the model version only on the Deployment and its pods", () => {
      const d = dev.one(T.deployment, "serving-blue");
      const labels = {
        "app.kubernetes.io/name": "model-server",
        "app.kubernetes.io/instance": "model-server-blue",
        "app.kubernetes.io/component": "inference",
        "app.kubernetes.io/part-of": "onnx-eks-serving",
        "app.kubernetes.io/managed-by": "pulumi",
        "serving.onnx-eks-serving/color": "blue",
      };
      expectAt(d, "metadata.labels", { ...labels, "app.kubernetes.io/version": "1.0.0" });
      expectAt(d, "spec.template.metadata.labels", { ...labels, "app.kubernetes.io/version": "1.0.0" });
      for (const [type, name] of [
        [T.service, "serving-blue-svc"],
        [T.binding, "serving-blue-tgb"],
        [T.pdb, "serving-blue-pdb"],
        [T.hpa, "serving-blue-hpa"],
      ] as const) {
        expectAt(dev.one(type, name), "metadata.labels", labels);
      }
    });

    it("rolling updates never drop below the configured replicas", () => {
      expectAt(dev.one(T.deployment, "serving-blue"), "spec.strategy", {
        type: "RollingUpdate",
        rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 },
      });
    });
  });

  describe("replicas, HPA and PDB", () => {
    it("a color with replicas 0 keeps its Deployment (scaled to 0), Service, binding and PDB, and has no HPA", () => {
      expectAt(dev.one(T.deployment, "serving-green"), "spec.replicas", 0);
      // The HPA that scaled it before still owns spec.replicas: this one apply is forced.
      expectAt(
        dev.one(T.deployment, "serving-green"),
        'metadata.annotations["pulumi.com/patchForce"]',
        "true",
      );
      for (const [type, name] of [
        [T.service, "serving-green-svc"],
        [T.binding, "serving-green-tgb"],
        [T.pdb, "serving-green-pdb"],
      ] as const) {
        assert.equal(dev.all(type, name).length, 1, `${type} ${name} must exist`);
      }
      assert.deepEqual(dev.all(T.hpa, "serving-green-hpa"), [], "no HPA for a color without pods");
    });

    it("a color without a model version gets no MODEL_URI", () => {
      assert.equal(env(dev.one(T.deployment, "serving-green"), "MODEL_URI"), undefined);
    });

    it("a color with pods has an HPA from replicas to maxReplicas on CPU, targeting its Deployment", () => {
      const hpa = dev.one(T.hpa, "serving-blue-hpa");
      expectAt(hpa, "spec.minReplicas", 1);
      expectAt(hpa, "spec.maxReplicas", 2);
      expectAt(hpa, "spec.scaleTargetRef", {
        apiVersion: "apps/v1",
        kind: "Deployment",
        name: "model-server-blue",
      });
      expectAt(hpa, "spec.metrics[0].resource", {
        name: "cpu",
        target: { type: "Utilization", averageUtilization: 70 },
      });
      // The HPA owns spec.replicas (its floor is minReplicas): the Deployment leaves it out, so
      // no later apply conflicts with kube-controller-manager or resets a scaled-up color.
      expectAt(dev.one(T.deployment, "serving-blue"), "spec.replicas", undefined);
      expectAt(dev.one(T.deployment, "serving-blue"), "metadata.annotations", undefined);
    });

    it("staging green creates its HPA and sets its replicas and model", () => {
      expectAt(staged.one(T.hpa, "serving-green-hpa"), "spec.minReplicas", 1);
      const d = staged.one(T.deployment, "serving-green");
      expectAt(d, "spec.replicas", undefined);
      assert.equal(env(d, "MODEL_URI"), `s3://${staged.outputs.modelBucketName}/models/churn/1.1.0/`);
    });

    it("PDBs allow one voluntary disruption at a time and evict unhealthy pods", () => {
      for (const color of ["blue", "green"]) {
        const pdb = dev.one(T.pdb, `serving-${color}-pdb`);
        expectAt(pdb, "spec.maxUnavailable", 1);
        expectAt(pdb, "spec.unhealthyPodEvictionPolicy", "AlwaysAllow");
        expectAt(pdb, "spec.selector.matchLabels", {
          "app.kubernetes.io/name": "model-server",
          "app.kubernetes.io/instance": `model-server-${color}`,
          "serving.onnx-eks-serving/color": color,
        });
      }
    });
  });
});

describe("servingColor: argument checks and helpers (no mocks)", () => {
  it("a version with semver build metadata becomes a valid label value", () => {
    const label = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/; // Kubernetes' label value syntax
    for (const [version, value] of [
      ["1.2.0", "1.2.0"],
      ["1.2.0-rc.1", "1.2.0-rc.1"],
      ["1.2.0+build.5", "1.2.0_build.5"],
      [`1.0.0-${"a".repeat(70)}`, `1.0.0-${"a".repeat(57)}`],
    ]) {
      assert.equal(versionLabelValue(version), value);
      assert.match(value, label);
      assert.ok(value.length <= 63);
    }
  });

  it("valid arguments have no problems", () => {
    assert.deepEqual(servingColorArgProblems(ARGS), []);
  });

  it("pods without a model version are refused naming the keys", () => {
    assert.deepEqual(servingColorArgProblems({ ...ARGS, modelVersion: "" }), [
      "green.modelVersion must be set when green.replicas is 2",
    ]);
  });

  it("maxReplicas below replicas is refused naming both keys", () => {
    assert.deepEqual(servingColorArgProblems({ ...ARGS, maxReplicas: 1 }), [
      "green.maxReplicas must be an integer from max(1, green.replicas = 2) to 1000, got 1",
    ]);
  });

  it("batching out of the server's range is refused naming the color's keys", () => {
    assert.deepEqual(servingColorArgProblems({ ...ARGS, maxBatchSize: 0, maxBatchDelayMs: 60_001 }), [
      "green.maxBatchSize must be an integer from 1 to 65536, got 0",
      "green.maxBatchDelayMs must be an integer from 0 to 60000, got 60001",
    ]);
    assert.deepEqual(servingColorArgProblems({ ...ARGS, maxBatchSize: 2.5 }), [
      "green.maxBatchSize must be an integer from 1 to 65536, got 2.5",
    ]);
  });

  it("an experiment is checked with the stack config's rules, naming the color's keys", () => {
    const experiment = {
      name: "ranker-v2",
      treatmentVersion: "1.2.0",
      treatmentPercent: 20,
      assignmentKey: "body:user_id",
    };
    assert.deepEqual(servingColorArgProblems({ ...ARGS, experiment }), []);
    assert.deepEqual(
      servingColorArgProblems({
        ...ARGS,
        experiment: { ...experiment, treatmentVersion: ARGS.modelVersion!, treatmentPercent: 100 },
      }),
      [
        `green.experiment.treatmentVersion must differ from the color's modelVersion "${ARGS.modelVersion}", got "${ARGS.modelVersion}"`,
        "green.experiment.treatmentPercent must be an integer from 1 to 99, got 100",
      ],
    );
  });

  it("an unknown access-log policy or inference thread is refused naming the config key", () => {
    assert.deepEqual(
      servingColorArgProblems({
        ...ARGS,
        accessLog: "verbose" as ServingColorArgs["accessLog"],
        inferenceThread: "gpu" as ServingColorArgs["inferenceThread"],
      }),
      [
        'servingAccessLog must be one of "all", "errors", "none", got "verbose"',
        'servingInferenceThread must be one of "main", "worker", got "gpu"',
      ],
    );
  });

  it("the server accepts each BATCHING_LIMITS bound the stack validates against, and refuses one beyond", () => {
    const serverWith = (vars: Record<string, string>) => () => loadServerConfig(vars);
    for (const [field, variable] of [
      ["maxBatchSize", "MAX_BATCH_SIZE"],
      ["maxBatchDelayMs", "MAX_BATCH_DELAY_MS"],
    ] as const) {
      const { min, max, default: fallback } = BATCHING_LIMITS[field];
      assert.equal(loadServerConfig({ [variable]: String(min) })[field], min);
      assert.equal(loadServerConfig({ [variable]: String(max) })[field], max);
      assert.equal(loadServerConfig({})[field], fallback, `${variable} default`);
      assert.throws(serverWith({ [variable]: String(min - 1) }), ServerConfigError);
      assert.throws(serverWith({ [variable]: String(max + 1) }), ServerConfigError);
    }
  });

  it("a malformed quantity is refused naming the config key", () => {
    assert.deepEqual(servingColorArgProblems({ ...ARGS, memory: "4 GB" }), [
      'servingMemory must be a positive Kubernetes memory quantity such as "4Gi" or "512Mi", got "4 GB"',
    ]);
  });

  const threads: [string, number][] = [
    ["2", 2],
    ["4", 4],
    ["500m", 1],
    ["2500m", 2],
    ["1.5", 1],
  ];
  for (const [cpuQuantity, expected] of threads) {
    it(`INTRA_OP_THREADS for a CPU request of ${cpuQuantity} is ${expected}`, () => {
      assert.equal(intraOpThreads(cpuQuantity), expected);
    });
  }
});
