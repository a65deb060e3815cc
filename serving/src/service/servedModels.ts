/**
 * What the protocol layers call: the served model, or, with an A/B experiment, its control and
 * treatment versions side by side (each verified, warmed up and batched on its own). Readiness
 * covers every loaded version; `select` says which one answers a request.
 */
import { NotFoundError, UnavailableError } from "../errors";
import type { Variant } from "../experiment/assignment";
import type { OutcomeInput } from "../experiment/records";
import type { ServerMetrics } from "../metrics";
import type { HostTensor, TensorMap } from "../runtime/runtime";
import type { Experiment, RequestParts } from "./experiment";
import type { LoadedModel, ModelService, ModelState } from "./modelService";

/** The model version chosen for one request. */
export interface Selection {
  readonly model: LoadedModel;
  /** Present when an experiment assigned the request. */
  readonly experiment?: { readonly name: string; readonly variant: Variant; readonly assigned: boolean };
  /** Runs the request through this version's batcher. */
  infer(feeds: TensorMap, outputs?: readonly string[]): Promise<Record<string, HostTensor>>;
  /**
   * Records the answer under `id` for the experiment (no-op outside one): the id clients send
   * back with the outcome. `predictions` is each row's predicted label or value, when known.
   */
  record(id: string, predictions?: readonly (string | number)[]): void;
}

const NO_RECORD = (): void => undefined;

export class ServedModels {
  private readonly plain = new WeakMap<LoadedModel, Selection>();

  constructor(
    /** The model (an experiment's control). */
    readonly control: ModelService,
    readonly experiment?: Experiment,
    private readonly metrics?: ServerMetrics,
  ) {}

  private get services(): ModelService[] {
    return this.experiment ? [this.control, this.experiment.treatment] : [this.control];
  }

  /** Ready when every version is loaded, verified and warm, and not draining. */
  get ready(): boolean {
    return this.services.every((s) => s.ready);
  }

  /** The state of the least ready version (failed > loading > draining > stopped > ready). */
  get state(): ModelState {
    const order: ModelState[] = ["failed", "loading", "draining", "stopped", "ready"];
    return order.find((st) => this.services.some((s) => s.state === st)) ?? "ready";
  }

  /** Why not ready (naming the variant in an experiment), or "ready". */
  get stateReason(): string {
    if (!this.experiment) return this.control.stateReason;
    const variants: Array<[string, ModelService]> = [
      ["control", this.control],
      ["treatment", this.experiment.treatment],
    ];
    const notReady = variants.filter(([, s]) => !s.ready);
    if (notReady.length === 0) return "ready";
    return notReady.map(([variant, s]) => `${variant}: ${s.stateReason}`).join("; ");
  }

  /** The control model (what metadata describes); undefined before it is loaded. */
  get model(): LoadedModel | undefined {
    return this.control.model;
  }

  /**
   * The error to refuse an inference with before reading it, when every served version's queue
   * is full (whichever variant an experiment would assign, it would be refused); else undefined.
   */
  shedIfSaturated(): UnavailableError | undefined {
    const services = this.services;
    return services.every((s) => s.saturated) ? services[0].shedIfSaturated() : undefined;
  }

  get queueDepth(): number {
    return this.services.reduce((n, s) => n + s.queueDepth, 0);
  }

  get inferencesRunning(): number {
    return this.services.reduce((n, s) => n + s.inferencesRunning, 0);
  }

  /** Loads every version; resolves when each is ready or has failed for good. */
  async start(): Promise<void> {
    await Promise.all(this.services.map((s) => s.start()));
    if (this.experiment && this.ready) this.metrics?.ready.set(1);
  }

  startDraining(): void {
    for (const s of this.services) s.startDraining();
    if (this.experiment) this.metrics?.ready.set(0);
  }

  /** Finishes every inference, releases the models, then writes every buffered record. */
  async stop(): Promise<void> {
    await Promise.all(this.services.map((s) => s.stop()));
    await this.experiment?.records.close();
  }

  /** Runs a request on the control model (callers that have no request to assign). */
  infer(feeds: TensorMap, outputs?: readonly string[]): Promise<Record<string, HostTensor>> {
    return this.control.infer(feeds, outputs);
  }

  /** The loaded model of `version` (default: the control): 503 before it loads, 404 for a version not served. */
  modelOf(version?: string): LoadedModel {
    return this.serviceOf(version)[1];
  }

  /**
   * The version that answers a request: the one `version` names (a pinned request is no
   * experiment sample), else the experiment's assignment, else the one model. 503 before the
   * models are loaded; 404 for a version this server does not serve.
   */
  select(parts: RequestParts, version?: string): Selection {
    const experiment = this.experiment;
    if (!experiment || version !== undefined) {
      const [service, model] = this.serviceOf(version);
      // One Selection per loaded model, not one per request: the hot path of every plain request.
      let selection = this.plain.get(model);
      if (!selection) {
        selection = { model, infer: (feeds, outputs) => service.infer(feeds, outputs), record: NO_RECORD };
        this.plain.set(model, selection);
      }
      return selection;
    }
    const control = this.loaded(this.control);
    const treatment = this.loaded(experiment.treatment);
    const assignment = experiment.assign(experiment.keyOf(parts));
    const [service, model] =
      assignment.variant === "treatment" ? [experiment.treatment, treatment] : [this.control, control];
    const durations = this.metrics?.experimentInferenceDuration;
    const labels = { experiment: experiment.name, variant: assignment.variant };
    return {
      model,
      experiment: { name: experiment.name, variant: assignment.variant, assigned: assignment.assigned },
      infer: (feeds, outputs) => {
        const started = performance.now();
        const result = service.infer(feeds, outputs);
        if (durations) {
          result.then(() => durations.observe(labels, (performance.now() - started) / 1000), NO_RECORD);
        }
        return result;
      },
      record: (id, predictions) =>
        experiment.recordPrediction(assignment, id, model.manifest.version, predictions),
    };
  }

  /** Records outcomes for the experiment; 404 when this server runs none, 503 when the buffer is full. */
  recordOutcomes(inputs: readonly OutcomeInput[]): {
    experiment: string;
    variants: Array<Variant | undefined>;
  } {
    if (!this.experiment) {
      throw new NotFoundError(
        "this server runs no experiment (EXPERIMENT_NAME is unset): no outcomes to record",
      );
    }
    return { experiment: this.experiment.name, variants: this.experiment.recordOutcomes(inputs) };
  }

  /** Versions served, control first. */
  get versions(): string[] {
    return this.services.flatMap((s) => (s.model ? [s.model.manifest.version] : []));
  }

  /** A version's model once loaded (also while draining: in-flight traffic is still served). */
  private loaded(service: ModelService): LoadedModel {
    const model = service.model;
    if (!model) throw new UnavailableError(`model is not ready: ${this.stateReason}`, 5);
    return model;
  }

  private serviceOf(version: string | undefined): [ModelService, LoadedModel] {
    const control = this.loaded(this.control);
    if (version === undefined || version === control.manifest.version) return [this.control, control];
    const treatment = this.experiment?.treatment;
    if (treatment) {
      const model = this.loaded(treatment);
      if (version === model.manifest.version) return [treatment, model];
    }
    throw this.unknownVersion(version);
  }

  private unknownVersion(version: string): NotFoundError {
    const name = this.control.model?.manifest.name ?? "";
    const served = this.versions.map((v) => `"${v}"`).join(" and ");
    return new NotFoundError(
      `unknown version "${version}" of model "${name}": this server serves version${this.versions.length > 1 ? "s" : ""} ${served}`,
    );
  }
}
