/**
 * The serving image: an ECR repository (immutable tags, scan on push, KMS-encrypted, lifecycle
 * keeping the last N images) and the `serving/` image built by the stack with BuildKit
 * (@pulumi/docker-build) and pushed there. Workloads reference it by digest.
 *
 * Tags are immutable in ECR, so a tag must never be reused for different content. The tag is a
 * hash of everything the build reads: the Dockerfile, the build args, the platform and every
 * file of the build context that .dockerignore lets through. Same inputs, same tag (nothing to
 * push); any change, a new tag. So a preview's diff alone tells whether the image changes.
 *
 * Previews (`pulumi preview`, which the pull-request workflow runs with read-only AWS
 * credentials) build the image but never push it; see the comment at the Image below.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as dockerBuild from "@pulumi/docker-build";
import { requireAbsolute, SERVING_DOCKERFILE } from "../paths";

export type Accelerator = "cuda" | "cpu";

export interface ServingImageArgs {
  /** Build context directory (the repository root), absolute. Required. */
  readonly contextDir: string;
  /** Dockerfile path, absolute. Default `<contextDir>/serving/Dockerfile`. */
  readonly dockerfile?: string;
  /** Value of the ACCELERATOR build arg: "cuda" for GPU nodes, "cpu" otherwise. Default "cuda". */
  readonly accelerator?: Accelerator;
  /**
   * sha256 of onnxruntime's CUDA NuGet package (build arg ORT_CUDA_NUPKG_SHA256), which the CUDA
   * image verifies before installing it; required with accelerator "cuda". Default "".
   */
  readonly cudaPackageSha256?: string;
  /** Target platform (the node groups run x86_64). Default "linux/amd64". */
  readonly platform?: "linux/amd64" | "linux/arm64";
  /** Images the lifecycle policy keeps; older ones expire. Default 20. */
  readonly keepImages?: number;
  /**
   * Build the image during `pulumi preview` too (it is never pushed then), so a pull request
   * with a broken Dockerfile or server build fails its preview rather than the deploy after the
   * merge. false skips the build in previews (faster; breakage then surfaces at `pulumi up`).
   * Default true.
   */
  readonly buildOnPreview?: boolean;
  /** Tags for AWS resources. Default {}. */
  readonly tags?: Readonly<Record<string, string>>;
  /**
   * Absolute directory the build context is staged under (see {@link stageBuildContext}); the
   * same on every machine that deploys the stack. Default {@link DEFAULT_STAGING_ROOT}.
   */
  readonly stagingRoot?: string;
}

/** ECR lifecycle policy: keep the newest `keep` images, expire the rest. */
export function ecrLifecyclePolicy(keep: number): string {
  return JSON.stringify({
    rules: [
      {
        rulePriority: 1,
        description: `Keep the last ${keep} images`,
        selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: keep },
        action: { type: "expire" },
      },
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// .dockerignore semantics (moby/patternmatcher): patterns relative to the context, `*` and `?`
// within a path segment, `**` across segments, `!` re-includes, the last matching pattern wins,
// and a pattern matching a directory matches everything below it.
// ---------------------------------------------------------------------------------------------

interface IgnorePattern {
  readonly negate: boolean;
  readonly regex: RegExp;
}

function globToRegex(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") {
      if (glob[i + 1] === "*") {
        i++;
        if (glob[i + 1] === "/") {
          i++;
          re += "(?:.*/)?";
        } else re += ".*";
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i);
      if (end === -1) re += "\\[";
      else {
        re += `[${glob
          .slice(i + 1, end)
          .replace(/^!/, "^")
          .replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else if (c === "\\" && i + 1 < glob.length) {
      re += `\\${glob[++i]}`;
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** Parses .dockerignore text into patterns. */
export function parseDockerignore(text: string): IgnorePattern[] {
  const patterns: IgnorePattern[] = [];
  for (const rawLine of text.split(/\r?\n/)) {
    let line = rawLine.trim();
    if (line === "" || line.startsWith("#")) continue;
    const negate = line.startsWith("!");
    if (negate) line = line.slice(1).trim();
    line = path.posix.normalize(line).replace(/^\/+/, "").replace(/\/+$/, "");
    if (line === "" || line === ".") continue;
    patterns.push({ negate, regex: globToRegex(line) });
  }
  return patterns;
}

/** True when `relPath` (posix, relative to the context) is excluded by the patterns. */
export function isIgnored(relPath: string, patterns: readonly IgnorePattern[]): boolean {
  const parents: string[] = [];
  const parts = relPath.split("/");
  for (let i = 1; i <= parts.length; i++) parents.push(parts.slice(0, i).join("/"));
  let ignored = false;
  for (const p of patterns) {
    if (parents.some((candidate) => p.regex.test(candidate))) ignored = !p.negate;
  }
  return ignored;
}

/** Directories never hashed: VCS metadata and installed packages (the build installs from the lockfile). */
const ALWAYS_SKIPPED = new Set([".git", "node_modules"]);

/**
 * The ignore file BuildKit (and pulumi-docker-build's context hash) applies: `<Dockerfile>.dockerignore`
 * when it exists, else `<context>/.dockerignore`; undefined when neither does.
 */
export function dockerignoreFor(contextDir: string, dockerfile?: string): string | undefined {
  const candidates = [
    ...(dockerfile ? [`${dockerfile}.dockerignore`] : []),
    path.join(contextDir, ".dockerignore"),
  ];
  return candidates.find((f) => fs.existsSync(f));
}

/** Files of the build context after .dockerignore, as sorted posix paths relative to the context. */
export function contextFiles(contextDir: string, dockerfile?: string): string[] {
  const ignoreFile = dockerignoreFor(contextDir, dockerfile);
  const patterns = ignoreFile ? parseDockerignore(fs.readFileSync(ignoreFile, "utf8")) : [];
  const canReinclude = patterns.some((p) => p.negate);
  const out: string[] = [];
  const walk = (rel: string): void => {
    const abs = path.join(contextDir, rel);
    for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
      const childRel = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (ALWAYS_SKIPPED.has(entry.name)) continue;
        // An ignored directory can be skipped whole unless a "!" pattern might re-include a file in it.
        if (!canReinclude && isIgnored(childRel, patterns)) continue;
        walk(childRel);
      } else if ((entry.isFile() || entry.isSymbolicLink()) && !isIgnored(childRel, patterns)) {
        out.push(childRel);
      }
    }
  };
  walk("");
  return out.sort();
}

/**
 * The image tag: a hash of the Dockerfile, build args, platform and context files (path, exec bit
 * and content). Deterministic, so an unchanged tree yields the same tag on every machine.
 */
export function contentTag(args: {
  contextDir: string;
  dockerfile: string;
  buildArgs: Record<string, string>;
  platform: string;
}): string {
  const hash = createHash("sha256");
  const field = (name: string, value: string | Buffer): void => {
    hash.update(`${name}\u0000${value.length}\u0000`);
    hash.update(value);
  };
  field("dockerfile", fs.readFileSync(args.dockerfile));
  field("platform", args.platform);
  field("buildArgs", JSON.stringify(Object.entries(args.buildArgs).sort(([a], [b]) => a.localeCompare(b))));
  const ignoreFile = dockerignoreFor(args.contextDir, args.dockerfile);
  field("dockerignore", ignoreFile ? fs.readFileSync(ignoreFile) : "");
  field("dockerfilePath", path.relative(args.contextDir, args.dockerfile).split(path.sep).join("/"));
  for (const rel of contextFiles(args.contextDir, args.dockerfile)) {
    const abs = path.join(args.contextDir, rel);
    const stat = fs.statSync(abs);
    field("path", `${rel}\u0000${stat.mode & 0o111 ? "x" : "-"}`);
    field("content", createHash("sha256").update(fs.readFileSync(abs)).digest("hex"));
  }
  return `ctx-${hash.digest("hex").slice(0, 24)}`;
}

/** Where build contexts are staged by default: one absolute path on every machine and checkout. */
export const DEFAULT_STAGING_ROOT = "/tmp/onnx-eks-serving/build-contexts";

/** A build context copied to a path and modes that depend on its content only. */
export interface StagedContext {
  /** `<stagingRoot>/<tag>`: the context location the provider sees. */
  readonly dir: string;
  /** `<dir>/serving/Dockerfile` (or the Dockerfile's path relative to the original context). */
  readonly dockerfile: string;
  /** The content tag, also the directory name. */
  readonly tag: string;
}

/**
 * Copies the build context (the files .dockerignore lets through, the ignore file and the
 * Dockerfile) to `<stagingRoot>/<contentTag>/`, with modes 0644 or 0755 (from the exec bit alone),
 * directories 0755, whatever the checkout's path or umask.
 *
 * Why: pulumi-docker-build diffs an Image on `context.location` and the Dockerfile's path (as
 * strings) and on a context hash that covers each file's content, path and full mode
 * (provider/internal/image.go Diff, context.go hashFile). A second checkout of the same commit,
 * or a checkout under another umask, would otherwise rebuild and push under the unchanged
 * content tag, which the IMMUTABLE repository refuses (ImageTagAlreadyExistsException). Staged,
 * every input the provider diffs on is a function of the tag: same content, same tag, no change.
 *
 * Idempotent and safe to run concurrently: a finished directory holds `.staged` and is reused;
 * a new one is written under a temporary name and renamed into place.
 */
export function stageBuildContext(args: {
  contextDir: string;
  dockerfile: string;
  buildArgs: Record<string, string>;
  platform: string;
  stagingRoot?: string;
  /** Staged contexts to keep under the root, this one included. Default {@link DEFAULT_KEEP_STAGED}. */
  keepStaged?: number;
}): StagedContext {
  const root = requireAbsolute(args.stagingRoot ?? DEFAULT_STAGING_ROOT, "stageBuildContext: stagingRoot");
  const tag = contentTag(args);
  const relDockerfile = path.relative(args.contextDir, args.dockerfile);
  if (relDockerfile.startsWith("..") || path.isAbsolute(relDockerfile)) {
    throw new Error(
      `the Dockerfile ${args.dockerfile} must live inside the build context ${args.contextDir}`,
    );
  }
  const dir = path.join(root, tag);
  const staged = { dir, dockerfile: path.join(dir, relDockerfile), tag };
  if (fs.existsSync(path.join(dir, ".staged"))) {
    // Mark it recently used, so pruning keeps the contexts stacks deploy now.
    const now = new Date();
    fs.utimesSync(path.join(dir, ".staged"), now, now);
    return staged;
  }

  fs.mkdirSync(root, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(root, `.${tag}-`));
  const copy = (from: string, rel: string, executable: boolean): void => {
    const to = path.join(tmp, rel);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    fs.writeFileSync(to, fs.readFileSync(from));
    // chmod after writing: the mode given to writeFile would be masked by the umask.
    fs.chmodSync(to, executable ? 0o755 : 0o644);
  };
  for (const rel of contextFiles(args.contextDir, args.dockerfile)) {
    const abs = path.join(args.contextDir, rel);
    copy(abs, rel, (fs.statSync(abs).mode & 0o111) !== 0);
  }
  const ignoreFile = dockerignoreFor(args.contextDir, args.dockerfile);
  if (ignoreFile) copy(ignoreFile, path.relative(args.contextDir, ignoreFile), false);
  copy(args.dockerfile, relDockerfile, false);
  const fixDirModes = (d: string): void => {
    fs.chmodSync(d, 0o755);
    for (const e of fs.readdirSync(d, { withFileTypes: true }))
      if (e.isDirectory()) fixDirModes(path.join(d, e.name));
  };
  fixDirModes(tmp);
  fs.writeFileSync(path.join(tmp, ".staged"), `${tag}\n`);
  fs.chmodSync(path.join(tmp, ".staged"), 0o644);
  try {
    fs.renameSync(tmp, dir);
  } catch (err) {
    // Another process staged the same content first: use its copy.
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(path.join(dir, ".staged"))) throw err;
  }
  pruneStagedContexts(root, args.keepStaged ?? DEFAULT_KEEP_STAGED, dir);
  return staged;
}

/** Staged contexts kept by default: the provider reads only the current one (its Diff hashes the new inputs). */
export const DEFAULT_KEEP_STAGED = 10;

/**
 * Removes all but the `keep` most recently staged contexts under `root` (never `current`), so
 * every code change does not leave a copy behind for good. Old ones are safe to remove:
 * pulumi-docker-build hashes only the new context location when it diffs.
 */
export function pruneStagedContexts(root: string, keep: number, current?: string): void {
  const staged = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^ctx-[0-9a-f]{24}$/.test(e.name))
    .map((e) => path.join(root, e.name))
    .filter((d) => d !== current && fs.existsSync(path.join(d, ".staged")))
    .map((d) => ({ d, t: fs.statSync(path.join(d, ".staged")).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { d } of staged.slice(Math.max(0, keep - (current ? 1 : 0)))) {
    fs.rmSync(d, { recursive: true, force: true });
  }
}

export class ServingImage extends pulumi.ComponentResource {
  /** `<repositoryUrl>@sha256:<digest>`: what Deployments run. */
  readonly imageRef: pulumi.Output<string>;
  readonly repositoryUrl: pulumi.Output<string>;
  /** The content tag pushed with this build. */
  readonly tag: string;
  readonly image: dockerBuild.Image;

  constructor(name: string, args: ServingImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("onnx-eks-serving:index:ServingImage", name, {}, opts);
    // Absolute paths only: they are resource inputs, and a relative one would depend on the cwd.
    const contextDir = requireAbsolute(args.contextDir, `ServingImage ${name}: contextDir`);
    const dockerfile = requireAbsolute(
      args.dockerfile ?? path.join(contextDir, SERVING_DOCKERFILE),
      `ServingImage ${name}: dockerfile`,
    );
    const platform = args.platform ?? "linux/amd64";
    const keep = args.keepImages ?? 20;
    const tags = { ...args.tags };
    if (!fs.existsSync(dockerfile))
      throw new Error(`ServingImage ${name}: Dockerfile ${dockerfile} does not exist`);
    if (!Number.isInteger(keep) || keep < 1)
      throw new Error(`ServingImage ${name}: keepImages must be >= 1, got ${keep}`);
    const accelerator = args.accelerator ?? "cuda";
    const cudaSha = args.cudaPackageSha256 ?? "";
    if (accelerator === "cuda" && !/^[0-9a-f]{64}$/.test(cudaSha)) {
      throw new Error(
        `ServingImage ${name}: cudaPackageSha256 must be the sha256 (64 hex) of onnxruntime's CUDA NuGet package for the CUDA image, got ${JSON.stringify(cudaSha)}`,
      );
    }
    const buildArgs: Record<string, string> = {
      ACCELERATOR: accelerator,
      ...(accelerator === "cuda" ? { ORT_CUDA_NUPKG_SHA256: cudaSha } : {}),
    };
    const staged = stageBuildContext({
      contextDir,
      dockerfile,
      buildArgs,
      platform,
      stagingRoot: args.stagingRoot,
    });
    this.tag = staged.tag;

    const repo = new aws.ecr.Repository(
      `${name}-repo`,
      {
        imageTagMutability: "IMMUTABLE",
        imageScanningConfiguration: { scanOnPush: true },
        encryptionConfigurations: [{ encryptionType: "KMS" }],
        // Images running in the cluster must outlive an accidental repository replacement.
        forceDelete: false,
        tags,
      },
      { parent: this },
    );
    new aws.ecr.LifecyclePolicy(
      `${name}-lifecycle`,
      { repository: repo.name, policy: ecrLifecyclePolicy(keep) },
      { parent: this },
    );

    const auth = aws.ecr.getAuthorizationTokenOutput({ registryId: repo.registryId }, { parent: this });
    const registry = repo.repositoryUrl.apply((url) => url.split("/")[0]);
    this.image = new dockerBuild.Image(
      `${name}-image`,
      {
        // The staged copy: its path, modes and content are functions of the tag alone.
        context: { location: staged.dir },
        dockerfile: { location: staged.dockerfile },
        buildArgs,
        platforms: [platform],
        tags: [pulumi.interpolate`${repo.repositoryUrl}:${this.tag}`],
        // What a preview does (docker-build semantics, @pulumi/docker-build Image docs):
        // - buildOnPreview: the image is built in previews too (the provider's default, set
        //   explicitly because the PR workflow relies on it). On a stack's very first preview the
        //   repository URL, hence the tag, is unknown and the provider skips the build.
        // - push: honoured by `pulumi up` only. "Images built during previews are never exported
        //   to registries", so a preview never pushes, whatever the credentials allow.
        // - Only cache exports run in previews: keep `cacheTo` (and registry `exports`) unset, or
        //   every PR preview would write to the registry and fail on read-only credentials.
        // - The registry login needs ecr:GetAuthorizationToken, which read-only credentials
        //   (ReadOnlyAccess) include; a push would also need ecr:PutImage and the upload actions.
        buildOnPreview: args.buildOnPreview ?? true,
        push: true,
        registries: [{ address: registry, username: auth.userName, password: auth.password }],
      },
      { parent: this },
    );

    this.repositoryUrl = repo.repositoryUrl;
    this.imageRef = pulumi.interpolate`${repo.repositoryUrl}@${this.image.digest}`;
    this.registerOutputs({ imageRef: this.imageRef, repositoryUrl: this.repositoryUrl });
  }
}
