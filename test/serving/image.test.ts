/**
 * Checks on the container build that need no Docker: the serving-only package manifest covers
 * exactly what serving/src imports, and every file the Dockerfile copies from the build context
 * exists and passes the .dockerignore allow-list.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const REPO = resolve(__dirname, "../..");

interface ServingPackageModule {
  RUNTIME_DEPENDENCIES: string[];
  servingManifest(
    pkg: unknown,
    opts?: { build?: boolean },
  ): {
    dependencies: Record<string, string>;
    devDependencies?: Record<string, string>;
    version: string;
  };
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

/** Package names imported by serving/src (bare specifiers, node: builtins excluded). */
function importedPackages(): Set<string> {
  const names = new Set<string>();
  for (const file of sourceFiles(join(REPO, "serving", "src"))) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:from\s+|require\(|import\()\s*"([^"./][^"]*)"/g)) {
      const spec = m[1];
      if (spec.startsWith("node:")) continue;
      const parts = spec.split("/");
      names.add(spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]);
    }
  }
  return names;
}

describe("server image build", () => {
  let mod: ServingPackageModule;
  const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as {
    version: string;
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
  before(async () => {
    const url = pathToFileURL(join(REPO, "serving", "tools", "servingPackage.mjs")).href;
    mod = (await import(url)) as ServingPackageModule;
  });

  it("lists exactly the packages serving/src imports as the image's runtime dependencies", () => {
    assert.deepEqual([...importedPackages()].sort(), [...mod.RUNTIME_DEPENDENCIES].sort());
  });

  it("derives a serving-only manifest with the repository's ranges and no Pulumi SDKs", () => {
    const manifest = mod.servingManifest(pkg);
    assert.equal(manifest.version, pkg.version);
    for (const [name, range] of Object.entries(manifest.dependencies))
      assert.equal(range, pkg.dependencies[name], name);
    assert.ok(
      !Object.keys(manifest.dependencies).some(
        (n) => n.startsWith("@pulumi/") || n === "tsx" || n === "commander",
      ),
    );
    assert.equal(manifest.devDependencies, undefined);
    assert.deepEqual(Object.keys(mod.servingManifest(pkg, { build: true }).devDependencies ?? {}), [
      "typescript",
      "@types/node",
    ]);
  });

  it("copies only files that exist and that .dockerignore lets into the context", () => {
    const allowed = readFileSync(join(REPO, ".dockerignore"), "utf8")
      .split("\n")
      .filter((l) => l.startsWith("!"))
      .map((l) => l.slice(1).replace(/\/$/, ""));
    const dockerfile = readFileSync(join(REPO, "serving", "Dockerfile"), "utf8");
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+)$/gm)].flatMap((m) => {
      const args = m[1].split(/\s+/).filter((a) => !a.startsWith("--"));
      return args.slice(0, -1);
    });
    assert.ok(sources.length >= 8, `found ${sources.length} COPY sources`);
    for (const source of sources) {
      const path = relative(REPO, join(REPO, source)).replace(/\/$/, "");
      assert.ok(existsSync(join(REPO, path)), `${path} is copied but does not exist`);
      assert.ok(
        allowed.some((a) => path === a || path.startsWith(`${a}/`)),
        `${path} is copied but .dockerignore excludes it`,
      );
    }
  });

  it("runs as a non-root user on node, under tini, with production settings", () => {
    const dockerfile = readFileSync(join(REPO, "serving", "Dockerfile"), "utf8");
    const final = dockerfile.slice(dockerfile.indexOf("AS runtime"));
    assert.match(final, /^USER 10001:10001$/m);
    assert.match(final, /^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/m);
    assert.match(final, /^CMD \["node", "dist\/serving\/src\/main\.js"\]$/m);
    assert.match(final, /^EXPOSE 8080 8081 8082$/m);
    assert.match(final, /^\s+PROBE_PORT=8082 \\$/m);
    assert.match(final, /^STOPSIGNAL SIGTERM$/m);
    assert.doesNotMatch(final, /tsx|npm (ci|install)/, "no TypeScript runner or installs in the final stage");
  });
});
