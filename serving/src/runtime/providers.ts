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
