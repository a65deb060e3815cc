import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import ts from "typescript";
import * as pulumiTsUtils from "@pulumi/pulumi/tsutils";
import { ModelStore } from "../../infra/components/modelStore";
import { ServingImage } from "../../infra/components/servingImage";
import { evaluateStack } from "../../infra/harness";
import { REPO_ROOT } from "../../infra/paths";
import { devStack, ENTRY_POINT, evaluateEntryPoint, resourceShape, T } from "./support/stacks";

const INFRA = path.join(REPO_ROOT, "infra");

/** Pulumi's own reader of `./tsconfig.json` (internal to @pulumi/pulumi, untyped there). */
const { loadTypeScriptCompilerOptions } = pulumiTsUtils as unknown as {
  loadTypeScriptCompilerOptions(tsConfigPath: string): Record<string, unknown>;
};

/** A tsconfig file parsed the way tsc and ts-node do (extends resolved), with overrides on top. */
function parseTsconfig(file: string, overrides: Record<string, unknown> = {}): ts.ParsedCommandLine {
  const raw = ts.readConfigFile(file, ts.sys.readFile);
  assert.equal(raw.error, undefined, `${file} should parse`);
  const config = { ...raw.config, compilerOptions: { ...raw.config.compilerOptions, ...overrides } };
  return ts.parseJsonConfigFileContent(config, ts.sys, path.dirname(file), undefined, file);
}

describe("project: `main: infra/`, run by the Pulumi CLI from infra/", () => {
  it("Pulumi.yaml points main at infra/, whose entry point is package.json's main", () => {
    const project = yaml.load(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as {
      main?: string;
    };
    assert.equal(project.main, "infra/");
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { main: string };
    assert.equal(pkg.main, "infra/index.ts");
    assert.equal(path.join(REPO_ROOT, pkg.main), ENTRY_POINT);
  });

  it("infra/tsconfig.json gives Pulumi's runtime exactly the repository's compiler options", () => {
    // What @pulumi/pulumi/cmd/run/run.js does from the program directory: it reads ./tsconfig.json's
    // own compilerOptions and lays them over its defaults for TypeScript >= 4.7; ts-node then
    // parses the file (resolving `extends`) with those options on top.
    const file = path.join(INFRA, "tsconfig.json");
    const pulumiDefaults = { target: "ES2020", module: "nodenext", moduleResolution: "nodenext" };
    const effective = parseTsconfig(file, { ...pulumiDefaults, ...loadTypeScriptCompilerOptions(file) });
    const repo = parseTsconfig(path.join(REPO_ROOT, "tsconfig.json"));
    assert.deepEqual(effective.errors, []);
    const { configFilePath: _e, ...effectiveOptions } = effective.options;
    const { configFilePath: _r, ...repoOptions } = repo.options;
    assert.deepEqual(effectiveOptions, repoOptions);
    assert.equal(effectiveOptions.strict, true);
    assert.equal(effectiveOptions.module, ts.ModuleKind.CommonJS);
  });

  it("`tsc -p infra` covers the program only; the root tsconfig covers infra/ once, with no project reference", () => {
    const infraFiles = parseTsconfig(path.join(INFRA, "tsconfig.json")).fileNames;
    assert.ok(infraFiles.includes(ENTRY_POINT), "infra/tsconfig.json includes infra/index.ts");
    assert.deepEqual(
      infraFiles.filter((f) => !f.startsWith(INFRA + path.sep)),
      [],
    );
    const repo = parseTsconfig(path.join(REPO_ROOT, "tsconfig.json"));
    assert.equal(repo.fileNames.filter((f) => f === ENTRY_POINT).length, 1);
    assert.equal(repo.projectReferences, undefined);
  });

  it("evaluates the entry point from infra/ with the same resources and inputs as from the repository root", async () => {
    const fromRoot = await devStack();
    // The program's modules are loaded afresh from infra/, as a `pulumi up` loads them, so that
    // module-level paths are computed there too (the harness stays loaded: it is not the program).
    const forgetProgramModules = (): void => {
      for (const file of Object.keys(require.cache)) {
        if (file.startsWith(INFRA + path.sep) && !file.startsWith(path.join(INFRA, "harness") + path.sep))
          delete require.cache[file];
      }
    };
    const cwd = process.cwd();
    process.chdir(INFRA);
    let fromInfra;
    try {
      forgetProgramModules();
      fromInfra = await evaluateEntryPoint();
    } finally {
      process.chdir(cwd);
      forgetProgramModules();
    }
    assert.equal(fromInfra.resources.length, fromRoot.resources.length);
    assert.deepEqual(resourceShape(fromInfra), resourceShape(fromRoot));
    // The paths that used to depend on the working directory, spelled out.
    const image = fromInfra.one(T.image, "serving-image");
    // The context is staged under a path derived from its content (servingImage.ts), the same from any cwd.
    assert.match(
      (image.inputs.context as { location: string }).location,
      /^\/tmp\/onnx-eks-serving\/build-contexts\/ctx-[0-9a-f]{24}$/,
    );
    assert.deepEqual(image.inputs.dockerfile, {
      location: path.join((image.inputs.context as { location: string }).location, "serving", "Dockerfile"),
    });
    assert.deepEqual(fromInfra.one(T.object, "models-seed-model").inputs.source, {
      asset: "file",
      path: "/tmp/onnx-eks-serving/model-assets/2fd3e5d9b45745c05b3e98745de49f2d7f9ce2da5f7f60a7a5f0f5ed7a1b35a7/model.onnx",
    });
  });

  it("refuses relative paths for the repository root, build context, Dockerfile and bundled model", async () => {
    const refused = (program: () => void, message: RegExp): Promise<void> =>
      assert.rejects(
        evaluateStack(
          "dev",
          {},
          {
            program: () => {
              program();
              return {};
            },
          },
        ),
        message,
      );
    await assert.rejects(
      evaluateStack("dev", {}, { repoRoot: "." }),
      /^Error: createStack: repoRoot must be an absolute path \(resolve it from __dirname or REPO_ROOT in infra\/paths\.ts\), got "\."$/,
    );
    await refused(
      () => new ServingImage("relative", { contextDir: "." }),
      /ServingImage relative: contextDir must be an absolute path .*, got "\."/,
    );
    await refused(
      () => new ServingImage("relative", { contextDir: REPO_ROOT, dockerfile: "serving/Dockerfile" }),
      /ServingImage relative: dockerfile must be an absolute path .*, got "serving\/Dockerfile"/,
    );
    await refused(
      () => new ModelStore("relative", { seedModelDir: "serving/models/churn/1.0.0" }),
      /ModelStore relative: seedModelDir must be an absolute path .*, got "serving\/models\/churn\/1\.0\.0"/,
    );
  });
});
