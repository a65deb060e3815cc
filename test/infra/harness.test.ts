import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError } from "../../infra/config";
import {
  applyOverrides,
  evaluateStack,
  mockInvoke,
  readStackConfig,
  type StackEvaluation,
} from "../../infra/harness";
import { UnmockedInvokeError } from "../../infra/harness/mocks";
import {
  cpuStack,
  devStack,
  evaluateEntryPoint,
  resourceShape as shape,
  T,
  VARIANT_CERTIFICATE,
  variantStack,
} from "./support/stacks";

describe("harness: evaluating the program under mocks", () => {
  let dev: StackEvaluation;
  before(async () => {
    dev = await devStack();
  });

  it("evaluates the program again in the same process with identical resources and inputs", async () => {
    const again = await evaluateStack("dev");
    assert.equal(again.resources.length, dev.resources.length);
    assert.deepEqual(shape(again), shape(dev));
    assert.deepEqual(again.outputs, dev.outputs);
  });

  it("keeps concurrent evaluations apart", async () => {
    const [cpu, gpu] = await Promise.all([evaluateStack("dev", { gpuEnabled: false }), evaluateStack("dev")]);
    assert.equal(cpu.all(T.nodeGroup, "gpu-nodes").length, 0);
    assert.equal(gpu.all(T.nodeGroup, "gpu-nodes").length, 1);
    assert.deepEqual(shape(gpu), shape(dev));
    assert.equal(cpu.config.gpuEnabled, false);
  });

  it("changing one key changes only the resources that read it", async () => {
    const changed = await evaluateStack("dev", { ecrKeepImages: "7" });
    const before = new Map(dev.resources.map((r) => [r.urn, JSON.stringify(r.inputs)]));
    const differing = changed.resources
      .filter((r) => before.get(r.urn) !== JSON.stringify(r.inputs))
      .map((r) => r.name);
    assert.deepEqual(differing, ["serving-lifecycle"]);
  });

  it("records every resource with its parent component", () => {
    const bucket = dev.one(T.bucket, "models-bucket");
    assert.equal(dev.byUrn(bucket.parent).type, "onnx-eks-serving:index:ModelStore");
    assert.deepEqual(
      dev
        .childrenOf(dev.one("onnx-eks-serving:index:ModelStore"))
        .map((r) => r.name)
        .sort(),
      [
        "models-bucket",
        "models-encryption",
        "models-key",
        "models-lifecycle",
        "models-ownership",
        "models-public-access",
        "models-seed-manifest",
        "models-seed-model",
        "models-tls-only",
        "models-versioning",
      ],
    );
  });

  it("records explicit dependsOn and the dependencies inputs carry", () => {
    const cluster = dev.one(T.cluster);
    const logGroup = dev.one(T.logGroup, "cluster-control-plane");
    assert.ok(cluster.dependsOn.includes(logGroup.urn), "explicit dependsOn");
    const nodes = dev.one(T.nodeGroup, "cluster-system");
    assert.deepEqual(
      nodes.propertyDependencies.clusterName,
      [cluster.urn],
      "clusterName came from the cluster",
    );
    assert.ok(nodes.dependsOn.includes(cluster.urn));
    assert.equal(dev.dependsOn(logGroup, nodes), false, "no dependency the other way");
  });

  it("one() names the candidates when the lookup is ambiguous or empty", () => {
    assert.throws(
      () => dev.one(T.nodeGroup),
      /expected exactly one aws:eks\/nodeGroup:NodeGroup, found 2 \(resources of that type: cluster-system, gpu-nodes\)/,
    );
    assert.throws(() => dev.one("aws:rds/instance:Instance"), /found 0 \(none of that type\)/);
  });

  it("rejects an invalid config at program level with the key named, before any resource", async () => {
    await assert.rejects(evaluateStack("dev", { canaryPercent: 150 }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(
        err.message,
        "Invalid stack configuration: canaryPercent must be an integer from 0 to 100, got 150",
      );
      return true;
    });
    await assert.rejects(
      evaluateStack("dev", { gpuNodesMin: "3", gpuNodesMax: "2" }),
      /gpuNodesMin must be <= gpuNodesMax, got gpuNodesMin 3 > gpuNodesMax 2/,
    );
  });

  it("evaluates infra/index.ts itself: it exports the contract's outputs", async () => {
    const ev = await evaluateEntryPoint();
    const contract = [
      "clusterName",
      "kubeconfig",
      "modelBucketName",
      "imageRef",
      "albDnsName",
      "url",
      "previewUrl",
      "activeColor",
      "standbyColor",
      "weights",
      "liveModelVersion",
      "standbyModelVersion",
      "rollbackCommand",
    ];
    assert.deepEqual(
      contract.filter((k) => !(k in ev.outputs)),
      [],
      "outputs missing from infra/index.ts",
    );
    for (const key of ["clusterName", "kubeconfig", "modelBucketName", "imageRef"]) {
      assert.deepEqual(ev.outputs[key], dev.outputs[key], `output ${key}`);
    }
    assert.equal(ev.resources.length, dev.resources.length);
  });

  it("variation: a certificate turns the listener to HTTPS with that certificate", async () => {
    const variant = await variantStack();
    const https = variant.all(T.listener).filter((l) => l.inputs.certificateArn === VARIANT_CERTIFICATE);
    assert.equal(https.length, 1, "one listener carries the certificate");
    assert.equal(https[0].inputs.protocol, "HTTPS");
    assert.deepEqual(
      dev.all(T.listener).filter((l) => l.inputs.protocol === "HTTPS"),
      [],
    );
  });

  it("variation: the CPU-only stack still builds everything it needs", async () => {
    const cpu = await cpuStack();
    for (const type of [T.cluster, T.image, T.repository]) assert.equal(cpu.all(type).length, 1, type);
    assert.deepEqual(
      cpu.all(T.bucket).map((b) => b.name),
      ["models-bucket", "alb-logs-bucket"],
    );
    assert.equal(cpu.all(T.release, "lb-controller-release").length, 1);
  });
});

describe("harness: stack files, overrides and invoke mocks", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "stackfiles-"));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: onnx-eks-serving\nruntime: nodejs\n");
  });

  it("reads Pulumi.<stack>.yaml: project keys without namespace, aws:region kept, other namespaces dropped", () => {
    fs.writeFileSync(
      path.join(dir, "Pulumi.qa.yaml"),
      'config:\n  aws:region: eu-west-1\n  aws:profile: qa\n  onnx-eks-serving:canaryPercent: "5"\n  onnx-eks-serving:green:\n    modelVersion: 1.1.0\n  other:key: x\n',
    );
    assert.deepEqual(readStackConfig("qa", dir), {
      "aws:region": "eu-west-1",
      canaryPercent: "5",
      green: { modelVersion: "1.1.0" },
    });
  });

  it("rejects encrypted values it cannot decrypt, naming the key", () => {
    fs.writeFileSync(
      path.join(dir, "Pulumi.qa.yaml"),
      "config:\n  onnx-eks-serving:certificateArn:\n    secure: AAABAJ==\n",
    );
    assert.throws(
      () => readStackConfig("qa", dir),
      /onnx-eks-serving:certificateArn is a secret; the offline harness cannot decrypt it/,
    );
  });

  it("names a missing stack file", () => {
    assert.throws(() => readStackConfig("nope", dir), /Pulumi\.nope\.yaml does not exist/);
  });

  it("applies dotted overrides into objects (also JSON strings) without mutating the input", () => {
    const raw = Object.freeze({
      green: '{"modelVersion":"","replicas":0}',
      blue: Object.freeze({ modelVersion: "1.0.0" }),
    });
    const out = applyOverrides(raw, {
      "green.modelVersion": "1.1.0",
      "blue.replicas": 3,
      activeColor: "green",
    });
    assert.deepEqual(out, {
      green: { modelVersion: "1.1.0", replicas: 0 },
      blue: { modelVersion: "1.0.0", replicas: 3 },
      activeColor: "green",
    });
    assert.equal(raw.green, '{"modelVersion":"","replicas":0}');
  });

  it("an invoke without a mock fails loudly, naming its token", () => {
    assert.throws(
      () => mockInvoke({ token: "aws:rds/getInstance:getInstance", inputs: {} }),
      (err: unknown) =>
        err instanceof UnmockedInvokeError && /aws:rds\/getInstance:getInstance/.test(err.message),
    );
  });
});
