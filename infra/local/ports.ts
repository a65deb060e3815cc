/**
 * The rollout ports for the local pair: traffic, metrics and readiness through the router's
 * admin API, golden sets from the local model repository sent through the router with the
 * color's pin header, and the rollout record in a file of the state directory.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { GOLDEN_FILE, parseGoldenSet } from "../../serving/src/model/golden";
import { fileRecord } from "../rollout/fileRecord";
import type { ColorWindow, GoldenAnswer, GoldenCase, RolloutPorts, Routing } from "../rollout/ports";
import { systemClock } from "../rollout/systemClock";
import { COLOR_HEADER } from "../routeRules";
import type { Color } from "../traffic";
import type { LocalRouterState } from "./router";

/** File name of the rollout record in the local state directory. */
export const RECORD_FILE = "rollout-record.json";

async function json<T>(url: string, init?: RequestInit): Promise<T> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init?.method ?? "GET"} ${url}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

type Scalar = number | string | boolean;

/** Outputs by name from an OIP inference response body. */
function outputsOf(body: unknown): Record<string, readonly Scalar[]> {
  const outputs = (body as { outputs?: { name: string; data: Scalar[] }[] }).outputs ?? [];
  return Object.fromEntries(outputs.map((o) => [o.name, o.data]));
}

export interface LocalPortsOptions {
  /** The router's admin URL. */
  readonly adminUrl: string;
  /** Directory for the rollout record. */
  readonly stateDir: string;
  /** Default: the wall clock. */
  readonly clock?: RolloutPorts["clock"];
}

/** Reads the router's state (model, URLs, versions). */
export function localState(adminUrl: string): Promise<LocalRouterState> {
  return json<LocalRouterState>(`${adminUrl}/state`);
}

export async function localPorts(options: LocalPortsOptions): Promise<RolloutPorts> {
  const admin = options.adminUrl;
  const state = await localState(admin).catch((err: unknown) => {
    throw new Error(
      `the local pair's router does not answer at ${admin} (${(err as Error).message}): ` +
        "is `npm run local` still running?",
    );
  });
  return {
    traffic: {
      current: () => json<Routing>(`${admin}/routing`),
      async apply(routing) {
        await json(`${admin}/routing`, {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(routing),
        });
        // Verify before the step counts, as Argo Rollouts verifies ALB weights.
        const now = await json<Routing>(`${admin}/routing`);
        if (now.activeColor !== routing.activeColor || now.canaryPercent !== routing.canaryPercent) {
          throw new Error(`router reports ${JSON.stringify(now)} after applying ${JSON.stringify(routing)}`);
        }
      },
    },
    metrics: {
      window: (start, end) =>
        json<Record<Color, ColorWindow>>(`${admin}/metrics?start=${start.getTime()}&end=${end.getTime()}`),
    },
    capacity: {
      async readyReplicas(color) {
        return (await json<{ readyReplicas: number }>(`${admin}/colors/${color}/ready`)).readyReplicas;
      },
      async ensureAtLeast(color, replicas) {
        const ready = (await json<{ readyReplicas: number }>(`${admin}/colors/${color}/ready`)).readyReplicas;
        if (ready < replicas) {
          throw new Error(
            `the local pair runs one server per color: ${color} cannot run ${replicas} Ready replicas (it has ${ready})`,
          );
        }
      },
    },
    golden: {
      async cases(version) {
        const file = join(state.modelRoot, state.modelName, version, GOLDEN_FILE);
        let text: string;
        try {
          text = await readFile(file, "utf8");
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
          throw err;
        }
        return parseGoldenSet(text);
      },
      async send(color, cases: readonly GoldenCase[]) {
        const answers: GoldenAnswer[] = [];
        for (const c of cases) {
          const res = await fetch(`${state.trafficUrl}/v2/models/${state.modelName}/infer`, {
            method: "POST",
            headers: { "content-type": "application/json", [COLOR_HEADER]: color },
            body: JSON.stringify(c.request),
            signal: AbortSignal.timeout(10_000),
          });
          const text = await res.text();
          answers.push({
            status: res.status,
            outputs: res.status === 200 ? outputsOf(JSON.parse(text)) : {},
          });
        }
        return answers;
      },
    },
    record: fileRecord(join(options.stateDir, RECORD_FILE)),
    clock: options.clock ?? systemClock,
  };
}
