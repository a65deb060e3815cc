/**
 * Issue 14: what a real `pulumi up` would hit on day 2. Each case here fails without its fix.
 * (HPA vs replicas, GPU node labels and add-on ordering, preview routes, production guards and
 * accelerators are covered next to their components; these are the cross-cutting ones.)
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { colorRequests, imageVariant, resolveAccelerator } from "../../infra/accelerators";
import { contextFiles, dockerignoreFor, stageBuildContext } from "../../infra/components/servingImage";
import { evaluateStack, REPO_ROOT, type StackEvaluation } from "../../infra/harness";
import { imagePinViolations } from "../../infra/imagePins";
import { planChange } from "../../infra/plan/plan";
import { previewRouteHeaders } from "../../infra/rollout/aws";
import type { TrafficConfig } from "../../infra/traffic";
import { BLUE_PIN, devStack, SERVER, T } from "./support/stacks";

/**
 * A checkout of this commit's build inputs (context files, ignore file, Dockerfile) at a new
 * absolute path, with file modes as `umask` leaves them (git writes 0666 & ~umask, 0777 for +x).
 */
function checkout(umask: number, edit?: (root: string) => void): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "checkout-"));
  const dockerfile = path.join(REPO_ROOT, "serving", "Dockerfile");
  const files = [...contextFiles(REPO_ROOT, dockerfile), "serving/Dockerfile"];
  const ignore = dockerignoreFor(REPO_ROOT, dockerfile);
  if (ignore) files.push(path.relative(REPO_ROOT, ignore));
  for (const rel of files) {
    const from = path.join(REPO_ROOT, rel);
    const to = path.join(root, rel);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.copyFileSync(from, to);
    const exec = (fs.statSync(from).mode & 0o111) !== 0;
    fs.chmodSync(to, (exec ? 0o777 : 0o666) & ~umask);
  }
  edit?.(root);
  return root;
}

describe("day 2 (issue 14)", () => {
  let dev: StackEvaluation;
  before(async () => {
    dev = await devStack();
  });

  describe("ECR tags: two checkouts of one commit plan no image change", () => {
    it("different absolute paths and umasks give identical image inputs (tag, context, Dockerfile)", async () => {
      const a = checkout(0o022);
      const b = checkout(0o002);
      assert.notEqual(
        fs.statSync(path.join(a, "package.json")).mode & 0o777,
        fs.statSync(path.join(b, "package.json")).mode & 0o777,
      );
      const plan = await planChange("dev", {}, { baseRepoRoot: a, repoRoot: b });
      assert.deepEqual(
        plan.diff.changed.map((c) => `${c.type} ${c.name}`),
        [],
        "no resource changes between two checkouts of one commit",
      );
      const image = plan.after.one(T.image, "serving-image");
      assert.deepEqual(image.inputs, plan.before.one(T.image, "serving-image").inputs);
      // The provider sees a staged copy with normalized modes, not either checkout.
      const location = (image.inputs.context as { location: string }).location;
      assert.ok(!location.startsWith(a) && !location.startsWith(b), location);
      assert.equal(fs.statSync(path.join(location, "package.json")).mode & 0o777, 0o644);
      assert.equal(fs.statSync(path.join(location, "serving", "src")).mode & 0o777, 0o755);
    });

    it("staging keeps the most recently used contexts only", () => {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), "staging-"));
      const dirs: string[] = [];
      for (let i = 0; i < 4; i++) {
        const repo = checkout(0o022, (r) =>
          fs.appendFileSync(path.join(r, "serving", "src", "version.ts"), `\n// ${i}\n`),
        );
        const dockerfile = path.join(repo, "serving", "Dockerfile");
        dirs.push(
          stageBuildContext({
            contextDir: repo,
            dockerfile,
            buildArgs: {},
            platform: "linux/amd64",
            stagingRoot: root,
            keepStaged: 2,
          }).dir,
        );
        // mtime resolution: make the order unambiguous
        const t = new Date(Date.now() + i * 1000);
        fs.utimesSync(path.join(dirs[i], ".staged"), t, t);
      }
      assert.deepEqual(
        fs
          .readdirSync(root)
          .filter((n) => n.startsWith("ctx-"))
          .sort(),
        dirs
          .slice(2)
          .map((d) => path.basename(d))
          .sort(),
      );
    });

    it("a changed file gives a new tag and a new staged context", async () => {
      const a = checkout(0o022);
      const b = checkout(0o022, (root) =>
        fs.appendFileSync(path.join(root, "serving", "src", "version.ts"), "\n// a server change\n"),
      );
      const [before, after] = await Promise.all([
        evaluateStack("dev", {}, { repoRoot: a }),
        evaluateStack("dev", {}, { repoRoot: b }),
      ]);
      const [x, y] = [before.one(T.image, "serving-image"), after.one(T.image, "serving-image")];
      assert.notDeepEqual(x.inputs.tags, y.inputs.tags);
      assert.notDeepEqual(x.inputs.context, y.inputs.context);
    });
  });

  describe("a color pins its image: a server change reaches the standby only", () => {
    it("a change under serving/ plans the image and the standby's Deployment, never the live one", async () => {
      const base = checkout(0o022);
      const changed = checkout(0o022, (root) =>
        fs.appendFileSync(path.join(root, "serving", "src", "version.ts"), "\n// a server change\n"),
      );
      const staged = { "blue.image": BLUE_PIN, "green.modelVersion": "1.0.0", "green.replicas": 1 };
      const plan = await planChange(
        "dev",
        {},
        { baseOverrides: staged, baseRepoRoot: base, repoRoot: changed },
      );
      assert.deepEqual(plan.diff.changed.map((c) => `${c.type} ${c.name}`).sort(), [
        `${T.image} serving-image`,
        `${T.deployment} serving-green`,
      ]);
      const green = plan.diff.changed.find((c) => c.name === "serving-green");
      assert.deepEqual(
        green?.changes.map((c) => c.path),
        [`${SERVER}.image`],
      );
      assert.equal(plan.after.one(T.deployment, "serving-blue").inputs.spec !== undefined, true);
      assert.equal(plan.after.outputs.blueImage, BLUE_PIN);
      assert.equal(plan.after.outputs.greenImage, plan.after.outputs.imageRef);
    });

    it("the first deploy (one warm color) follows the build and ends with a serving URL", () => {
      assert.equal(dev.outputs.blueImage, dev.outputs.imageRef);
      const image = dev.one(T.deployment, "serving-blue");
      assert.equal(
        (image.inputs.spec as { template: { spec: { containers: Array<{ image: string }> } } }).template.spec
          .containers[0].image,
        dev.outputs.imageRef,
      );
      assert.match(String(dev.outputs.url), /^http:\/\/.+\.elb\.amazonaws\.com$/);
    });

    it("the live color must pin while the standby is warm, named with the fix", async () => {
      await assert.rejects(
        evaluateStack("dev", { "green.modelVersion": "1.1.0", "green.replicas": 1 }),
        (err: Error) => {
          assert.equal(
            err.message,
            'blue.image is "" (it follows the stack\'s build) while blue is live and green is warm: a server change ' +
              "would roll both colors at once. Pin blue to the image it runs: " +
              '`pulumi config set --path blue.image "$(pulumi stack output blueImage)"`.',
          );
          return true;
        },
      );
    });

    it("imagePinViolations, as a table", () => {
      const color = (image: string, replicas: number, modelVersion = "1.0.0") => ({
        image,
        replicas,
        modelVersion,
      });
      const cases: Array<
        [string, TrafficConfig & { blue: { image: string }; green: { image: string } }, number]
      > = [
        [
          "one warm color following the build",
          { activeColor: "blue", canaryPercent: 0, blue: color("", 1), green: color("", 0, "") },
          0,
        ],
        [
          "live pinned, standby following",
          { activeColor: "blue", canaryPercent: 0, blue: color(BLUE_PIN, 1), green: color("", 1) },
          0,
        ],
        [
          "live following, standby warm",
          { activeColor: "blue", canaryPercent: 0, blue: color("", 1), green: color("", 1) },
          1,
        ],
        [
          "flipped, green live following, blue warm",
          { activeColor: "green", canaryPercent: 0, blue: color(BLUE_PIN, 1), green: color("", 1) },
          1,
        ],
        [
          "standby without a model is not warm",
          { activeColor: "blue", canaryPercent: 0, blue: color("", 2), green: color("", 1, "") },
          0,
        ],
      ];
      for (const [name, cfg, n] of cases) assert.equal(imagePinViolations(cfg).length, n, name);
    });
  });

  describe("registry objects outlive the resource that wrote them", () => {
    it("the seeded model and manifest are retained on delete (seedBundledModel false keeps them)", async () => {
      for (const name of ["models-seed-model", "models-seed-manifest"]) {
        assert.equal(dev.one(T.object, name).options.retainOnDelete, true, name);
      }
      const off = await evaluateStack("dev", { seedBundledModel: "false" });
      assert.deepEqual(
        off.all(T.object),
        [],
        "turning seeding off removes them from the program, not from S3",
      );
    });
  });

  describe("TargetGroupBinding follows its target group by replacement", () => {
    it("a new targetGroupARN replaces the binding (the field is immutable), deleting the old one first", () => {
      for (const color of ["blue", "green"]) {
        const binding = dev.one(T.binding, `serving-${color}-tgb`);
        assert.deepEqual(binding.options.replaceOnChanges, ["spec.targetGroupARN"]);
        assert.equal(binding.options.deleteBeforeReplace, true);
      }
    });
  });

  describe("EKS add-on versions never float", () => {
    it("unpinned: EKS's default at creation, then ignored; pinned: the configured version", async () => {
      for (const addon of ["vpc-cni", "kube-proxy", "coredns", "metrics-server"]) {
        assert.deepEqual(dev.one(T.addon, `cluster-${addon}`).options.ignoreChanges, ["addonVersion"], addon);
      }
      const pinned = await evaluateStack("dev", {
        vpcCniAddonVersion: "v1.20.4-eksbuild.1",
        kubeProxyAddonVersion: "v1.35.0-eksbuild.2",
      });
      const cni = pinned.one(T.addon, "cluster-vpc-cni");
      assert.equal(cni.inputs.addonVersion, "v1.20.4-eksbuild.1");
      assert.deepEqual(cni.options.ignoreChanges, []);
      assert.equal(pinned.one(T.addon, "cluster-kube-proxy").inputs.addonVersion, "v1.35.0-eksbuild.2");
      assert.deepEqual(pinned.one(T.addon, "cluster-coredns").options.ignoreChanges, ["addonVersion"]);
    });
  });

  describe("GPU where it pays: accelerator rules (no mocks)", () => {
    it("resolveAccelerator: config wins, then the manifest, then cpu; never gpu without GPU nodes", () => {
      const cases: Array<[Parameters<typeof resolveAccelerator>, string]> = [
        [["", "gpu", true], "gpu"],
        [["", "cpu", true], "cpu"],
        [["", undefined, true], "cpu"],
        [["gpu", "cpu", true], "gpu"],
        [["cpu", "gpu", true], "cpu"],
        [["", "gpu", false], "cpu"],
      ];
      for (const [args, expected] of cases)
        assert.equal(resolveAccelerator(...args), expected, JSON.stringify(args));
    });

    it("imageVariant: CUDA only when a color with a model computes on a GPU", () => {
      assert.equal(
        imageVariant([
          { modelVersion: "1.0.0", accelerator: "cpu" },
          { modelVersion: "", accelerator: "gpu" },
        ]),
        "cpu",
      );
      assert.equal(
        imageVariant([
          { modelVersion: "1.0.0", accelerator: "cpu" },
          { modelVersion: "2.0.0", accelerator: "gpu" },
        ]),
        "cuda",
      );
    });

    it("colorRequests: a CPU color on a GPU stack gets CPU-node sizes unless set otherwise", () => {
      const gpuDefaults = { cpu: "2", memory: "4Gi" };
      assert.deepEqual(colorRequests(gpuDefaults, true, "gpu"), gpuDefaults);
      assert.deepEqual(colorRequests(gpuDefaults, true, "cpu"), { cpu: "500m", memory: "1Gi" });
      assert.deepEqual(colorRequests({ cpu: "1500m", memory: "4Gi" }, true, "cpu"), {
        cpu: "1500m",
        memory: "1Gi",
      });
      assert.deepEqual(colorRequests({ cpu: "500m", memory: "1Gi" }, false, "cpu"), {
        cpu: "500m",
        memory: "1Gi",
      });
    });

    it("the CUDA image pins onnxruntime's CUDA package to the installed version and fails closed without its sha256", () => {
      const dockerfile = fs.readFileSync(path.join(REPO_ROOT, "serving", "Dockerfile"), "utf8");
      const installed = (
        JSON.parse(fs.readFileSync(require.resolve("onnxruntime-node/package.json"), "utf8")) as {
          version: string;
        }
      ).version;
      assert.match(dockerfile, new RegExp(`^ARG ORT_VERSION=${installed.replace(/\./g, "\\.")}$`, "m"));
      assert.match(
        dockerfile,
        /^ARG ORT_CUDA_NUPKG_SHA256=""$/m,
        "no digest is baked in: none could be obtained here",
      );
      assert.match(dockerfile, /\[ -n "\$\{ORT_CUDA_NUPKG_SHA256\}" \] \|\| \{ echo .*refusing/);
      assert.match(dockerfile, /sha256sum -c -/);
      // The feed onnxruntime-node's own installer resolves (install-metadata.js: nuget, PackageBaseAddress).
      assert.match(
        dockerfile,
        /https:\/\/api\.nuget\.org\/v3-flatcontainer\/microsoft\.ml\.onnxruntime\.gpu\.linux\/\$\{ORT_VERSION\}\/\$\{pkg\}/,
      );
      // The install script is no longer run: nothing unverified reaches the image.
      assert.doesNotMatch(dockerfile, /ONNXRUNTIME_NODE_INSTALL=cuda12/);
    });
  });

  describe("the rollout's golden requests carry the preview token", () => {
    it("previewRouteHeaders adds previewTokenHeader: previewToken to previewHeader, from the stack outputs", () => {
      const outputs = {
        previewHeader: { value: dev.outputs.previewHeader },
        previewTokenHeader: { value: dev.outputs.previewTokenHeader },
        previewToken: { value: dev.outputs.previewToken },
      };
      assert.deepEqual(previewRouteHeaders(outputs), {
        "X-Serving-Color": "preview",
        "X-Serving-Preview-Token": dev.outputs.previewToken,
      });
      // A stack deployed before the token existed: the header alone.
      assert.deepEqual(previewRouteHeaders({ previewHeader: { value: "X-Serving-Color: preview" } }), {
        "X-Serving-Color": "preview",
      });
    });
  });
});
