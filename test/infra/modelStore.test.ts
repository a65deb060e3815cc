import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { StackEvaluation } from "../../infra/harness";
import { evaluateStack } from "../../infra/harness";
import { readBundledModel } from "../../infra/components/modelStore";
import { BUNDLED_MODEL_DIR, REPO_ROOT } from "../../infra/paths";
import { sha256File } from "../../serving/src/model/checksum";
import { parseManifest, serializeManifest } from "../../serving/src/model/manifest";
import { cpuStack, devStack, policyOf, stateString, T, variantStack } from "./support/stacks";

const BUNDLE = path.join(REPO_ROOT, BUNDLED_MODEL_DIR);

describe("modelStore: the model registry bucket (mocks)", () => {
  let dev: StackEvaluation;
  let variant: StackEvaluation;
  let cpu: StackEvaluation;
  before(async () => {
    [dev, variant, cpu] = await Promise.all([devStack(), variantStack(), cpuStack()]);
  });
  const bucketId = (ev: StackEvaluation): string => ev.one(T.bucket, "models-bucket").id;

  describe("bucket", () => {
    it("is never force-destroyed with its objects", () => {
      assert.equal(dev.one(T.bucket, "models-bucket").inputs.forceDestroy, false);
    });

    it("is versioned", () => {
      const v = dev.one(T.versioning, "models-versioning");
      assert.equal(v.inputs.bucket, bucketId(dev));
      assert.deepEqual(v.inputs.versioningConfiguration, { status: "Enabled" });
    });

    it("encrypts with SSE-KMS under its own rotating key, with an S3 bucket key", () => {
      const key = dev.one(T.kmsKey, "models-key");
      const sse = dev.one(T.encryption, "models-encryption");
      assert.equal(sse.inputs.bucket, bucketId(dev));
      assert.deepEqual(sse.inputs.rules, [
        {
          applyServerSideEncryptionByDefault: {
            sseAlgorithm: "aws:kms",
            kmsMasterKeyId: stateString(key, "arn"),
          },
          bucketKeyEnabled: true,
        },
      ]);
      assert.equal(key.inputs.enableKeyRotation, true);
      assert.notEqual(
        stateString(key, "arn"),
        stateString(dev.one(T.kmsKey, "cluster-secrets"), "arn"),
        "a key of its own",
      );
    });

    it("blocks every kind of public access", () => {
      const pab = dev.one(T.publicAccess, "models-public-access");
      assert.deepEqual(
        { ...pab.inputs },
        {
          bucket: bucketId(dev),
          blockPublicAcls: true,
          blockPublicPolicy: true,
          ignorePublicAcls: true,
          restrictPublicBuckets: true,
        },
      );
    });

    it("disables ACLs: the bucket owner owns every object", () => {
      const ownership = dev.one(T.ownership, "models-ownership");
      assert.deepEqual(ownership.inputs.rule, { objectOwnership: "BucketOwnerEnforced" });
    });

    it("denies every request without TLS, on the bucket and its objects", () => {
      const policy = dev.one(T.bucketPolicy, "models-tls-only");
      const arn = stateString(dev.one(T.bucket, "models-bucket"), "arn");
      assert.equal(policy.inputs.bucket, bucketId(dev));
      assert.deepEqual(policyOf(policy), {
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [arn, `${arn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
        ],
      });
    });

    it("expires noncurrent versions after the configured days and aborts stale multipart uploads", () => {
      const rules = (ev: StackEvaluation): unknown => ev.one(T.lifecycle, "models-lifecycle").inputs.rules;
      const expected = (days: number): unknown => [
        {
          id: "expire-noncurrent-versions",
          status: "Enabled",
          filter: { prefix: "" },
          noncurrentVersionExpiration: { noncurrentDays: days },
          expiration: { expiredObjectDeleteMarker: true },
        },
        {
          id: "abort-incomplete-multipart-uploads",
          status: "Enabled",
          filter: { prefix: "" },
          abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
        },
      ];
      assert.deepEqual(rules(dev), expected(30));
      assert.deepEqual(rules(variant), expected(7));
    });

    it("exports the bucket name", () => {
      assert.equal(dev.outputs.modelBucketName, stateString(dev.one(T.bucket, "models-bucket"), "bucket"));
    });
  });

  describe("seeding the bundled model (first deploy)", () => {
    it("uploads model.onnx under models/churn/1.0.0/ whose sha256 equals the committed manifest's", async () => {
      const manifest = parseManifest(fs.readFileSync(path.join(BUNDLE, "manifest.json"), "utf8"));
      const model = dev.one(T.object, "models-seed-model");
      assert.equal(model.inputs.key, "models/churn/1.0.0/model.onnx");
      assert.equal(model.inputs.bucket, bucketId(dev));
      const source = model.inputs.source as { asset: string; path: string };
      assert.equal(source.asset, "file");
      // Staged by digest (the same path in every checkout), byte-identical to the bundle.
      assert.equal(source.path, `/tmp/onnx-eks-serving/model-assets/${manifest.sha256}/model.onnx`);
      assert.deepEqual(fs.readFileSync(source.path), fs.readFileSync(path.join(BUNDLE, "model.onnx")));
      assert.equal(await sha256File(source.path), manifest.sha256);
      assert.equal(model.inputs.checksumAlgorithm, "SHA256");
    });

    it("uploads the manifest under the same prefix, serialized as the registry CLI writes it", () => {
      const committed = parseManifest(fs.readFileSync(path.join(BUNDLE, "manifest.json"), "utf8"));
      const manifest = dev.one(T.object, "models-seed-manifest");
      assert.equal(manifest.inputs.key, "models/churn/1.0.0/manifest.json");
      assert.equal(manifest.inputs.contentType, "application/json");
      assert.equal(manifest.inputs.content, serializeManifest(committed));
      assert.deepEqual(parseManifest(manifest.inputs.content as string), committed);
    });

    it("seeds the version blue serves in Pulumi.dev.yaml", () => {
      const committed = parseManifest(fs.readFileSync(path.join(BUNDLE, "manifest.json"), "utf8"));
      assert.equal(committed.version, dev.config.blue.modelVersion);
      assert.equal(committed.name, dev.config.modelName);
    });

    it("uploads only after encryption, versioning and the TLS policy apply; the manifest after the model", () => {
      const model = dev.one(T.object, "models-seed-model");
      const manifest = dev.one(T.object, "models-seed-manifest");
      for (const name of [
        "models-encryption",
        "models-versioning",
        "models-ownership",
        "models-public-access",
      ]) {
        const r = dev.resources.find((x) => x.name === name);
        assert.ok(r && dev.dependsOn(model, r), `model object must wait for ${name}`);
      }
      assert.ok(
        dev.dependsOn(model, dev.one(T.bucketPolicy, "models-tls-only")),
        "model object after the bucket policy",
      );
      assert.ok(dev.dependsOn(manifest, model), "manifest after the model");
    });

    it("seedBundledModel false uploads nothing", () => {
      assert.deepEqual(cpu.all(T.object), []);
    });

    it("refuses to seed a bundle under another model name", async () => {
      await assert.rejects(evaluateStack("dev", { modelName: "fraud" }), (err: Error) => {
        assert.equal(
          err.message,
          'seedBundledModel is true but no bundled model is named "fraud" (modelName); bundled: "churn", "mlp". ' +
            "Set modelName to one of them or seedBundledModel to false",
        );
        return true;
      });
    });

    it("refuses a bundle whose model does not match its manifest's sha256", () => {
      const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bundle-")), "churn", "1.0.0");
      fs.mkdirSync(dir, { recursive: true });
      fs.copyFileSync(path.join(BUNDLE, "manifest.json"), path.join(dir, "manifest.json"));
      fs.writeFileSync(path.join(dir, "model.onnx"), "not the model");
      assert.throws(
        () => readBundledModel(dir),
        /model\.onnx has sha256 [0-9a-f]{64} but .*manifest\.json says [0-9a-f]{64}$/,
      );
    });

    it("refuses a bundle in a directory that does not match its manifest", () => {
      const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bundle-")), "churn", "2.0.0");
      fs.mkdirSync(dir, { recursive: true });
      for (const f of ["manifest.json", "model.onnx"])
        fs.copyFileSync(path.join(BUNDLE, f), path.join(dir, f));
      assert.throws(() => readBundledModel(dir), /describes churn\/1\.0\.0 but lives in churn\/2\.0\.0$/);
    });
  });
});
