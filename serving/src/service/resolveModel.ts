/**
 * Addressing the served model by name and optional version, as every protocol does (REST paths,
 * gRPC `model_name`/`model_version`): the loaded model of that version, NotFound for another
 * model or a version not served, Unavailable before the models are loaded.
 */
import { NotFoundError, UnavailableError } from "../errors";
import type { LoadedModel } from "./modelService";
import type { ServedModels } from "./servedModels";

export function resolveModel(service: ServedModels, name: string, version?: string): LoadedModel {
  const model = service.model;
  if (!model) throw new UnavailableError(`model "${name}" is not ready: ${service.stateReason}`, 5);
  if (name !== model.manifest.name) {
    throw new NotFoundError(`unknown model "${name}": this server serves "${model.manifest.name}"`);
  }
  return service.modelOf(version);
}
