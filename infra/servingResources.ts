/**
 * Resource requests of a serving pod: the Kubernetes quantity formats the stack accepts for CPU
 * and memory, and the requests a pod gets when the stack config leaves them unset, which depend
 * on where the pods run.
 *
 * With GPUs a pod has a GPU node to itself (one `nvidia.com/gpu` per pod, g5.xlarge: 4 vCPU,
 * 16 GiB), so it asks for 2 CPUs and 4 GiB. CPU-only (dev) pods share the small system nodes
 * (t3.large: 2 vCPU, 8 GiB, of which the kubelet reserves some and CoreDNS, the VPC CNI,
 * kube-proxy, metrics-server and the load balancer controller take more), so a request of 2 CPUs
 * would never be scheduled there; they ask for half a CPU and 1 GiB.
 */

/** Requests per pod when `servingCpu` / `servingMemory` are "" (the default), by mode. */
export const SERVING_RESOURCE_DEFAULTS = {
  gpu: { cpu: "2", memory: "4Gi" },
  cpuOnly: { cpu: "500m", memory: "1Gi" },
} as const;

/** The default requests for a mode: GPU nodes (`gpuEnabled`) or the CPU system nodes. */
export function servingResourceDefaults(gpuEnabled: boolean): { cpu: string; memory: string } {
  return { ...SERVING_RESOURCE_DEFAULTS[gpuEnabled ? "gpu" : "cpuOnly"] };
}

/** CPU: whole or decimal cores ("2", "1.5") or whole millicores ("500m"; 1m is the finest unit). */
const CPU_QUANTITY_RE = /^(?:(\d+(?:\.\d+)?)|(\d+)m)$/;
/** Memory: bytes with an optional decimal (k, M, G, ...) or binary (Ki, Mi, Gi, ...) suffix. */
const MEMORY_QUANTITY_RE = /^(\d+(?:\.\d+)?)(k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
const MEMORY_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** Cores of a CPU quantity ("500m" -> 0.5), or undefined when it is not one. */
export function cpuCores(quantity: string): number | undefined {
  const m = CPU_QUANTITY_RE.exec(quantity);
  if (!m) return undefined;
  return m[2] !== undefined ? Number(m[2]) / 1000 : Number(m[1]);
}

/** Bytes of a memory quantity ("1Gi" -> 1073741824), or undefined when it is not one. */
export function memoryBytes(quantity: string): number | undefined {
  const m = MEMORY_QUANTITY_RE.exec(quantity);
  if (!m) return undefined;
  return Number(m[1]) * MEMORY_UNITS[m[2] ?? ""];
}

/** Smallest memory request accepted: the server process alone (Node.js, onnxruntime) needs more. */
export const MIN_SERVING_MEMORY = "256Mi";

/**
 * The problem with a CPU request, or undefined when it is fine. `key` names it in the message
 * (a config key such as servingCpu).
 */
export function cpuQuantityProblem(key: string, quantity: string): string | undefined {
  const cores = cpuCores(quantity);
  if (cores === undefined || cores <= 0) {
    return `${key} must be a positive Kubernetes CPU quantity such as "2", "1.5" or "500m", got ${JSON.stringify(quantity)}`;
  }
  return undefined;
}

/** The problem with a memory quantity (at least `min`), or undefined when it is fine. */
export function memoryQuantityProblem(key: string, quantity: string, min = "1"): string | undefined {
  const bytes = memoryBytes(quantity);
  if (bytes === undefined || bytes <= 0) {
    return `${key} must be a positive Kubernetes memory quantity such as "4Gi" or "512Mi", got ${JSON.stringify(quantity)}`;
  }
  if (bytes < (memoryBytes(min) as number))
    return `${key} must be at least ${min}, got ${JSON.stringify(quantity)}`;
  return undefined;
}
