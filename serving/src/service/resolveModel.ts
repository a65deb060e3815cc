/**
 * Addressing the served model by name and optional version, as every protocol does (REST paths,
 * gRPC `model_name`/`model_version`): the loaded model, or NotFound for another model or version,
 * or Unavailable before it is loaded.
 */
import { NotFoundError, UnavailableError } from "../errors";
import type { LoadedModel, ModelService } from "./modelService";

export function resolveModel(service: ModelService, name: string, version?: string): LoadedModel {
  const model = service.model;
  if (!model) throw new UnavailableError(`model "${name}" is not ready: ${service.stateReason}`, 5);
  const { manifest } = model;
  if (name !== manifest.name) {
    throw new NotFoundError(`unknown model "${name}": this server serves "${manifest.name}"`);
  }
  if (version !== undefined && version !== manifest.version) {
    throw new NotFoundError(
      `unknown version "${version}" of model "${name}": this server serves version "${manifest.version}"`,
    );
  }
  return model;
}
