/**
 * Liveness and readiness, in the seed's shape (`/health`, `/ready`) and the Open Inference
 * Protocol's (`/v2/health/live`, `/v2/health/ready`). Liveness is cheap and only says the
 * process answers; readiness is 200 only while the model is loaded, verified and warm and the
 * server is not draining — 503 otherwise, so Kubernetes and the ALB stop sending traffic.
 * The answers are defined in probes/probeAnswers.ts, shared with the probe listener (PROBE_PORT).
 */
import type { FastifyPluginAsync } from "fastify";
import { PROBE_PATHS, probeAnswer, snapshotOf } from "../probes/probeAnswers";
import type { ServedModels } from "../service/servedModels";

export interface HealthOptions {
  readonly service: ServedModels;
}

export const healthRoutes: FastifyPluginAsync<HealthOptions> = async (app, { service }) => {
  for (const path of PROBE_PATHS) {
    app.get(path, async (_request, reply) => {
      const answer = probeAnswer(path, snapshotOf(service));
      return reply.status(answer.statusCode).send(answer.body);
    });
  }
};
