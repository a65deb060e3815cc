#!/usr/bin/env node
// Prints a package.json for the server image, derived from the repository's package.json:
// only the server's runtime dependencies (no Pulumi SDKs, no registry CLI), at the exact
// ranges the repository declares. `npm install` next to the repository's package-lock.json
// then keeps every locked version and drops everything the server does not use.
//
//   node serving/tools/servingPackage.mjs [--build] < package.json > serving-package.json
//
// --build adds what compiling serving/src needs (typescript, @types/node) as devDependencies.
// Plain JavaScript on purpose: it runs in the image build before anything is installed.
import { readFileSync } from "node:fs";

/** Packages serving/src imports at run time (test/serving/servingPackage.test.ts keeps this list honest). */
export const RUNTIME_DEPENDENCIES = [
  "@aws-sdk/client-s3",
  "@grpc/grpc-js",
  "@grpc/proto-loader",
  "fastify",
  "fastify-plugin",
  "grpc-health-check",
  "onnxruntime-node",
  "pino",
  "prom-client",
];

/** Packages the image build needs to compile serving/src with tsc. */
export const BUILD_DEPENDENCIES = ["typescript", "@types/node"];

/** The serving-only manifest for a repository package.json object. */
export function servingManifest(pkg, { build = false } = {}) {
  const pick = (names, from) =>
    Object.fromEntries(
      names.map((name) => {
        const range = from?.[name];
        if (!range) throw new Error(`package.json does not declare ${name}, which the server image needs`);
        return [name, range];
      }),
    );
  return {
    name: `${pkg.name}-server`,
    version: pkg.version,
    private: true,
    description:
      "The Node ONNX inference server (generated from the repository package.json by serving/tools/servingPackage.mjs).",
    license: pkg.license,
    engines: pkg.engines,
    dependencies: pick(RUNTIME_DEPENDENCIES, pkg.dependencies),
    ...(build ? { devDependencies: pick(BUILD_DEPENDENCIES, pkg.devDependencies) } : {}),
  };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const pkg = JSON.parse(readFileSync(0, "utf8"));
  const manifest = servingManifest(pkg, { build: process.argv.includes("--build") });
  process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
}
