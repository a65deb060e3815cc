/**
 * The local blue/green pair: two real model servers (serving/src, in this process) on loopback
 * ephemeral ports, behind the local router. `npm run local` and the rollout's end-to-end tests
 * both start it from here.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { loadConfig } from "../../serving/src/config";
import { createLogger, startServer, type ServerHandle } from "../../serving/src/server";
import type { Routing } from "../rollout/ports";
import { COLORS, type Color } from "../traffic";
import { BLUE_VERSION, GREEN_VERSION, LOCAL_MODEL_NAME, prepareLocalModels } from "./models";
import { LocalRouter } from "./router";

export interface ColorServerOptions {
  /** Model repository root. */
  readonly modelRoot: string;
  readonly modelName: string;
  readonly modelVersion: string;
  /** Server log level. Default: "warn". */
  readonly logLevel?: string;
}

/**
 * One color's server on 127.0.0.1:<ephemeral>, configured through the same environment
 * variables as its pod, with no drain delay (nothing deregisters it locally). Resolves once
 * the model is loaded and /v2/health/ready answers 200.
 */
export async function startColorServer(options: ColorServerOptions): Promise<ServerHandle> {
  const config = loadConfig({
    PORT: "0",
    // The local router routes HTTP only; a fixed gRPC port would also clash between the two colors.
    GRPC_PORT: "off",
    HOST: "127.0.0.1",
    MODEL_ROOT: options.modelRoot,
    MODEL_NAME: options.modelName,
    MODEL_VERSION: options.modelVersion,
    LOG_LEVEL: options.logLevel ?? "warn",
    DRAIN_DELAY_SECONDS: "0",
    // The server refuses a timeout not above drain + REQUEST_TIMEOUT_MS (10 s): + 5 as in the stack.
    SHUTDOWN_TIMEOUT_SECONDS: "15",
  });
  const server = await startServer(config, { logger: createLogger(config.logLevel, { fd: 2 }) });
  await server.loaded;
  if (!server.service.ready) {
    await server.shutdown("model failed to load");
    throw new Error(`${options.modelName}@${options.modelVersion} did not load from ${options.modelRoot}`);
  }
  return server;
}

export interface LocalPairOptions {
  /** State directory: the model repository goes to `<dir>/models`. */
  readonly dir: string;
  /** Routing at start. Default: blue live, canary 0. */
  readonly routing?: Routing;
  /** Server log level. Default: "warn". */
  readonly logLevel?: string;
}

export interface LocalPair {
  readonly router: LocalRouter;
  readonly servers: Readonly<Record<Color, ServerHandle>>;
  readonly trafficUrl: string;
  readonly adminUrl: string;
  readonly modelRoot: string;
  close(): Promise<void>;
}

/** Blue (churn 1.0.0) and green (churn 1.1.0, with a golden set) behind the router. */
export async function startLocalPair(options: LocalPairOptions): Promise<LocalPair> {
  const modelRoot = join(options.dir, "models");
  await mkdir(modelRoot, { recursive: true });
  await prepareLocalModels(modelRoot);
  const versions: Record<Color, string> = { blue: BLUE_VERSION, green: GREEN_VERSION };
  const started: ServerHandle[] = [];
  try {
    for (const color of COLORS) {
      started.push(
        await startColorServer({
          modelRoot,
          modelName: LOCAL_MODEL_NAME,
          modelVersion: versions[color],
          logLevel: options.logLevel,
        }),
      );
    }
  } catch (err) {
    await Promise.all(started.map((s) => s.shutdown("start failed")));
    throw err;
  }
  const servers = { blue: started[0], green: started[1] };
  const router = new LocalRouter({
    upstreams: {
      blue: { url: servers.blue.url, modelVersion: versions.blue },
      green: { url: servers.green.url, modelVersion: versions.green },
    },
    modelName: LOCAL_MODEL_NAME,
    modelRoot,
    routing: options.routing,
  });
  const { trafficUrl, adminUrl } = await router.listen();
  return {
    router,
    servers,
    trafficUrl,
    adminUrl,
    modelRoot,
    async close() {
      await router.close();
      await Promise.all(COLORS.map((c) => servers[c].shutdown("local pair stopped")));
    },
  };
}
