/**
 * Execution providers: parsing the configured preference list and the fallback order tried when
 * a provider cannot be created (no CUDA libraries, no GPU).
 */

/** Providers onnxruntime-node 1.30 can use on Linux. `cuda`/`tensorrt` need the CUDA build of the binaries. */
export const EXECUTION_PROVIDERS = ["cpu", "cuda", "tensorrt"] as const;
export type ExecutionProvider = (typeof EXECUTION_PROVIDERS)[number];

/** Parses `EXECUTION_PROVIDERS` ("cuda,cpu"): known names, no duplicates, at least one. */
export function parseExecutionProviders(raw: string): ExecutionProvider[] {
  const names = raw
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== "");
  if (names.length === 0)
    throw new Error(`expected a comma-separated list of ${EXECUTION_PROVIDERS.join(", ")}`);
  const seen = new Set<string>();
  for (const name of names) {
    if (!(EXECUTION_PROVIDERS as readonly string[]).includes(name)) {
      throw new Error(
        `unknown execution provider ${JSON.stringify(name)}; expected ${EXECUTION_PROVIDERS.join(", ")}`,
      );
    }
    if (seen.has(name)) throw new Error(`execution provider ${JSON.stringify(name)} is listed twice`);
    seen.add(name);
  }
  return names as ExecutionProvider[];
}

/**
 * The provider lists to try, in order: the full list, then each shorter suffix. `cuda,cpu` tries
 * `[cuda, cpu]` then `[cpu]`. A list without `cpu` never falls back to it: asking for `cuda` alone
 * means a GPU pod must not silently serve on CPU.
 */
export function fallbackChain(providers: readonly ExecutionProvider[]): ExecutionProvider[][] {
  return providers.map((_, i) => providers.slice(i));
}

/** What a model computes on (the manifest's and the stack's `accelerator`). */
export type Accelerator = "gpu" | "cpu";

/**
 * The provider preference for an accelerator: "gpu" prefers CUDA and falls back to the CPU
 * provider (with a warning) where CUDA cannot start; "cpu" never tries CUDA. The stack sets
 * EXECUTION_PROVIDERS from it per color.
 */
export function providersFor(accelerator: Accelerator): ExecutionProvider[] {
  return accelerator === "gpu" ? ["cuda", "cpu"] : ["cpu"];
}

/** Shared libraries a provider needs beside onnxruntime-node's binding (the CPU one is built in). */
export const PROVIDER_LIBRARIES: Readonly<Record<ExecutionProvider, readonly string[]>> = {
  cpu: [],
  cuda: ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"],
  tensorrt: ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_tensorrt.so"],
};

/**
 * Why `provider` cannot start here, judged before onnxruntime is asked: its libraries are missing
 * from `bindingDir` (the npm package ships the CPU provider only; the CUDA image adds the rest).
 * Undefined when they are all there. Asking onnxruntime anyway would end the same way, with a
 * native error line on stderr that reads like a crash.
 */
export function missingProviderLibraries(
  provider: ExecutionProvider,
  bindingDir: string,
  exists: (path: string) => boolean,
): string | undefined {
  const missing = PROVIDER_LIBRARIES[provider].filter((lib) => !exists(`${bindingDir}/${lib}`));
  if (missing.length === 0) return undefined;
  return `the ${provider} provider's libraries are not installed (${missing.join(", ")} not in ${bindingDir})`;
}
