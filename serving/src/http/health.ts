/**
 * Liveness and readiness, in the seed's shape (`/health`, `/ready`) and the Open Inference
 * Protocol's (`/v2/health/live`, `/v2/health/ready`). Liveness is cheap and only says the
 * process answers; readiness is 200 only while the model is loaded, verified and warm and the
 * server is not draining — 503 otherwise, so Kubernetes and the ALB stop sending traffic.
 */
import type { FastifyPluginAsync } from "fastify";
import type { ServedModels } from "../service/servedModels";

export interface HealthOptions {
  readonly service: ServedModels;
}

export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (app, { service }) => {
  app.get("/health", async () => ({ status: "ok" }));

  app.get("/ready", async (_request, reply) => {
    const model = service.model;
    if (service.ready && model) {
      return { status: "ready", model: model.manifest.name, version: model.manifest.version };
    }
    return reply.status(503).send({ status: service.state, error: service.stateReason });
  });

  app.get("/v2/health/live", async () => ({ live: true }));

  app.get("/v2/health/ready", async (_request, reply) => {
    if (service.ready) return { ready: true };
    return reply.status(503).send({ ready: false, error: service.stateReason });
  });
};
