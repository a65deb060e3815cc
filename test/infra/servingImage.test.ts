import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { evaluateStack, type StackEvaluation } from "../../infra/harness";
import {
  contentTag,
  contextFiles,
  DEFAULT_STAGING_ROOT,
  ecrLifecyclePolicy,
  isIgnored,
  parseDockerignore,
  ServingImage,
} from "../../infra/components/servingImage";
import { REPO_ROOT } from "../../infra/paths";
import {
  cpuStack,
  devStack,
  gpuStack,
  stateString,
  T,
  TEST_CUDA_SHA256,
  variantStack,
} from "./support/stacks";

describe("servingImage: ECR repository and the image build (mocks)", () => {
  let dev: StackEvaluation;
  let variant: StackEvaluation;
  let cpu: StackEvaluation;
  let gpu: StackEvaluation;
  before(async () => {
    [dev, variant, cpu, gpu] = await Promise.all([devStack(), variantStack(), cpuStack(), gpuStack()]);
  });

  it("the repository has immutable tags, scan on push and KMS encryption, and is never force-deleted", () => {
    const repo = dev.one(T.repository, "serving-repo");
    assert.equal(repo.inputs.imageTagMutability, "IMMUTABLE");
    assert.deepEqual(repo.inputs.imageScanningConfiguration, { scanOnPush: true });
    assert.deepEqual(repo.inputs.encryptionConfigurations, [{ encryptionType: "KMS" }]);
    assert.equal(repo.inputs.forceDelete, false);
  });

  it("the lifecycle policy keeps the last ecrKeepImages images", () => {
    const policy = (ev: StackEvaluation): unknown =>
      JSON.parse(ev.one(T.ecrLifecycle, "serving-lifecycle").inputs.policy as string);
    const expected = (n: number): unknown => ({
      rules: [
        {
          rulePriority: 1,
          description: `Keep the last ${n} images`,
          selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: n },
          action: { type: "expire" },
        },
      ],
    });
    assert.deepEqual(policy(dev), expected(20));
    assert.deepEqual(policy(variant), expected(5));
    assert.equal(
      dev.one(T.ecrLifecycle, "serving-lifecycle").inputs.repository,
      stateString(dev.one(T.repository, "serving-repo"), "name"),
    );
  });

  it("builds serving/Dockerfile from the repository root, staged by content, for linux/amd64 and pushes it", () => {
    const image = dev.one(T.image, "serving-image");
    const tag = contentTag({
      contextDir: REPO_ROOT,
      dockerfile: path.join(REPO_ROOT, "serving", "Dockerfile"),
      buildArgs: { ACCELERATOR: "cpu" },
      platform: "linux/amd64",
    });
    const staged = path.join(DEFAULT_STAGING_ROOT, tag);
    assert.deepEqual(image.inputs.context, { location: staged });
    assert.deepEqual(image.inputs.dockerfile, { location: path.join(staged, "serving", "Dockerfile") });
    assert.deepEqual(
      fs.readFileSync(path.join(staged, "serving", "Dockerfile")),
      fs.readFileSync(path.join(REPO_ROOT, "serving", "Dockerfile")),
    );
    assert.deepEqual(image.inputs.platforms, ["linux/amd64"]);
    assert.equal(image.inputs.push, true);
  });

  it("in a preview (the PR workflow) it builds but exports nothing: no cache export, no registry export", () => {
    for (const ev of [dev, cpu]) {
      const image = ev.one(T.image, "serving-image");
      assert.equal(image.inputs.buildOnPreview, true, "a broken build fails the PR's preview");
      // `push` is honoured by `pulumi up` only; docker-build never exports images in a preview.
      assert.equal(image.inputs.push, true);
      // Cache exports do run in previews, and would write to the registry: there must be none.
      assert.equal(image.inputs.cacheTo, undefined);
      assert.equal(image.inputs.exports, undefined);
      assert.equal(image.inputs.load, undefined);
    }
  });

  it("buildOnPreview: false skips the build in previews", async () => {
    const ev = await evaluateStack(
      "dev",
      {},
      {
        program: () => {
          new ServingImage("no-preview-build", {
            contextDir: REPO_ROOT,
            accelerator: "cpu",
            buildOnPreview: false,
          });
          return {};
        },
      },
    );
    const image = ev.one(T.image, "no-preview-build-image");
    assert.equal(image.inputs.buildOnPreview, false);
    assert.equal(image.inputs.push, true);
  });

  it("builds for CUDA only when a color computes on a GPU, passing the CUDA package checksum", () => {
    // dev: churn's manifest says cpu, so no color needs CUDA.
    assert.deepEqual(dev.one(T.image, "serving-image").inputs.buildArgs, { ACCELERATOR: "cpu" });
    assert.deepEqual(cpu.one(T.image, "serving-image").inputs.buildArgs, { ACCELERATOR: "cpu" });
    assert.deepEqual(gpu.one(T.image, "serving-image").inputs.buildArgs, {
      ACCELERATOR: "cuda",
      ORT_CUDA_NUPKG_SHA256: TEST_CUDA_SHA256,
    });
  });

  it("a GPU color without onnxruntimeCudaSha256 fails the preview naming the key", async () => {
    await assert.rejects(evaluateStack("dev", { "blue.accelerator": "gpu" }), (err: Error) => {
      assert.match(err.message, /^onnxruntimeCudaSha256 must be set: blue computes on a GPU/);
      return true;
    });
  });

  it("tags the image with the content hash of its build inputs", () => {
    const repoUrl = stateString(dev.one(T.repository, "serving-repo"), "repositoryUrl");
    const expected = contentTag({
      contextDir: REPO_ROOT,
      dockerfile: path.join(REPO_ROOT, "serving", "Dockerfile"),
      buildArgs: { ACCELERATOR: "cpu" },
      platform: "linux/amd64",
    });
    assert.match(expected, /^ctx-[0-9a-f]{24}$/);
    assert.deepEqual(dev.one(T.image, "serving-image").inputs.tags, [`${repoUrl}:${expected}`]);
    assert.notDeepEqual(
      gpu.one(T.image, "serving-image").inputs.tags,
      [`${repoUrl}:${expected}`],
      "CPU and CUDA builds never share a tag",
    );
  });

  it("logs in to the repository's registry with an ECR token", () => {
    const repoUrl = stateString(dev.one(T.repository, "serving-repo"), "repositoryUrl");
    assert.deepEqual(dev.one(T.image, "serving-image").inputs.registries, [
      { address: repoUrl.split("/")[0], username: "AWS", password: "mock-ecr-password" },
    ]);
  });

  it("exports imageRef as <repository>@<digest>", () => {
    const repoUrl = stateString(dev.one(T.repository, "serving-repo"), "repositoryUrl");
    const digest = stateString(dev.one(T.image, "serving-image"), "digest");
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(dev.outputs.imageRef, `${repoUrl}@${digest}`);
  });
});

describe("servingImage: content tag and .dockerignore", () => {
  let dir: string;
  const write = (rel: string, content: string): void => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  };
  const tag = (buildArgs: Record<string, string> = { ACCELERATOR: "cuda" }): string =>
    contentTag({
      contextDir: dir,
      dockerfile: path.join(dir, "serving", "Dockerfile"),
      buildArgs,
      platform: "linux/amd64",
    });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctx-"));
    write("serving/Dockerfile", "FROM node:20\nCOPY . .\n");
    write("serving/src/main.ts", "console.log(1)\n");
    write("package.json", "{}\n");
    write(".dockerignore", "node_modules\ninfra\n**/*.md\n!serving/README.md\n");
    write("infra/index.ts", "export {}\n");
    write("README.md", "# readme\n");
    write("serving/README.md", "# serving\n");
    write("node_modules/x/index.js", "module.exports = 1\n");
  });

  it("lists the files .dockerignore lets through, never .git or node_modules", () => {
    write(".git/HEAD", "ref: refs/heads/main\n");
    assert.deepEqual(contextFiles(dir), [
      ".dockerignore",
      "package.json",
      "serving/Dockerfile",
      "serving/README.md",
      "serving/src/main.ts",
    ]);
  });

  it("is stable for an unchanged tree", () => {
    assert.equal(tag(), tag());
  });

  it("changes when a file in the context changes", () => {
    const before = tag();
    write("serving/src/main.ts", "console.log(2)\n");
    assert.notEqual(tag(), before);
  });

  it("changes when a file is added, or made executable", () => {
    const before = tag();
    write("serving/src/extra.ts", "");
    const added = tag();
    assert.notEqual(added, before);
    fs.chmodSync(path.join(dir, "serving/src/extra.ts"), 0o755);
    assert.notEqual(tag(), added);
  });

  it("does not change when an ignored file changes", () => {
    const before = tag();
    write("infra/index.ts", "export const x = 1\n");
    write("README.md", "# changed\n");
    write("node_modules/x/index.js", "module.exports = 2\n");
    assert.equal(tag(), before);
  });

  it("changes with the Dockerfile and with the build args", () => {
    const before = tag();
    assert.notEqual(tag({ ACCELERATOR: "cpu" }), before);
    write("serving/Dockerfile", "FROM node:22\nCOPY . .\n");
    assert.notEqual(tag(), before);
  });

  const cases: Array<[string, string, boolean]> = [
    ["node_modules", "node_modules/a/b.js", true],
    ["/dist/", "dist/x.js", true],
    ["*.log", "a.log", true],
    ["*.log", "logs/a.log", false],
    ["**/*.log", "logs/deep/a.log", true],
    ["serving/*/tmp", "serving/x/tmp/file", true],
    ["docs?", "docs1/a", true],
    ["# a comment", "# a comment", false],
  ];
  for (const [pattern, file, ignored] of cases) {
    it(`pattern ${JSON.stringify(pattern)} ${ignored ? "ignores" : "keeps"} ${file}`, () => {
      assert.equal(isIgnored(file, parseDockerignore(pattern)), ignored);
    });
  }

  it("a later ! pattern re-includes, the last match wins", () => {
    const patterns = parseDockerignore("*.md\n!README.md\nREADME.md\n");
    assert.equal(isIgnored("README.md", patterns), true);
    assert.equal(isIgnored("README.md", parseDockerignore("*.md\n!README.md\n")), false);
  });

  it("ecrLifecyclePolicy is valid JSON with one expire rule", () => {
    assert.equal(JSON.parse(ecrLifecyclePolicy(3)).rules[0].selection.countNumber, 3);
  });
});
