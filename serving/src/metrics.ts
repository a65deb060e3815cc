/**
 * Prometheus metrics, on a registry of their own (so several servers can live in one process, as
 * in tests). Names follow Prometheus practice: `model_server_` prefix, base units (`_seconds`),
 * counters ending in `_total`, and labels of bounded cardinality only (route templates, never raw
 * URLs or request ids).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { BatchObserver } from "./batching/batcher";
import { SeriesCounter, SeriesHistogram } from "./metricSeries";

export const METRIC_PREFIX = "model_server_";

/** Options of {@link ServerMetrics}. */
export interface ServerMetricsOptions {
  /** Also export process/Node.js metrics (CPU, memory, event-loop lag, GC) with the same prefix. Default: false. */
  readonly defaultMetrics?: boolean;
}

export class ServerMetrics {
  readonly registry = new Registry();

  // The metrics every request or batch records are series metrics (metricSeries.ts): their label
  // sets resolve once to handles, where prom-client re-hashes labels on every call.
  readonly requests = new SeriesCounter({
    name: `${METRIC_PREFIX}requests_total`,
    help:
      "Requests answered, by protocol (http, grpc), route (HTTP route template or gRPC method path), " +
      "method and status (HTTP status code, or gRPC status code name).",
    labelNames: ["route", "method", "status", "protocol"] as const,
    registers: [this.registry],
  });

  readonly requestDuration = new SeriesHistogram({
    name: `${METRIC_PREFIX}request_duration_seconds`,
    help: "Request latency from the first byte received to the response sent, by protocol, route and method.",
    labelNames: ["route", "method", "protocol"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly inferenceDuration = new SeriesHistogram({
    name: `${METRIC_PREFIX}inference_duration_seconds`,
    help: "Duration of one model run (one batch), by model.",
    labelNames: ["model"] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly batchSize = new SeriesHistogram({
    name: `${METRIC_PREFIX}batch_size`,
    help: "Rows per model run after dynamic batching, by model.",
    labelNames: ["model"] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });

  /** Latest queue depth per model; exported at scrape time, not written to the gauge per request. */
  private readonly depths = new Map<string, number>();

  readonly queueDepth = new Gauge({
    name: `${METRIC_PREFIX}queue_depth`,
    help: "Inference requests waiting for a batch, by model.",
    labelNames: ["model"] as const,
    registers: [this.registry],
    collect: () => {
      for (const [model, depth] of this.depths) this.queueDepth.set({ model }, depth);
    },
  });

  readonly queueWait = new SeriesHistogram({
    name: `${METRIC_PREFIX}queue_wait_seconds`,
    help: "Time a request waited in the batching queue before its batch started, by model.",
    labelNames: ["model"] as const,
    buckets: [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  readonly rejections = new Counter({
    name: `${METRIC_PREFIX}inference_rejections_total`,
    help: "Inference requests refused or abandoned by the batcher, by model and reason (queue_full, timeout, closed).",
    labelNames: ["model", "reason"] as const,
    registers: [this.registry],
  });

  readonly inferenceFailures = new Counter({
    name: `${METRIC_PREFIX}inference_failures_total`,
    help: "Model runs that failed (every request in the batch gets an error), by model.",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });

  readonly modelInfo = new Gauge({
    name: `${METRIC_PREFIX}model_info`,
    help: "The model being served: always 1, labelled with its name, version, sha256 and execution provider.",
    labelNames: ["name", "version", "sha256", "provider"] as const,
    registers: [this.registry],
  });

  readonly ready = new Gauge({
    name: `${METRIC_PREFIX}ready`,
    help: "1 while the server reports ready (model loaded, verified and warm, not draining), else 0.",
    registers: [this.registry],
  });

  // A/B experiments: labels are the experiment (one per pod), the variant (control, treatment)
  // and small enums, so cardinality stays bounded.
  readonly experimentRequests = new Counter({
    name: `${METRIC_PREFIX}experiment_requests_total`,
    help: "Requests an experiment routed, by experiment, variant and assignment (key: hashed from the assignment key; no_key: none given, sent to control and not a sample).",
    labelNames: ["experiment", "variant", "assignment"] as const,
    registers: [this.registry],
  });

  readonly experimentInferenceDuration = new Histogram({
    name: `${METRIC_PREFIX}experiment_inference_duration_seconds`,
    help: "Time from handing a request to its variant's batcher to its result (queueing included), by experiment and variant.",
    labelNames: ["experiment", "variant"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly experimentRecords = new Counter({
    name: `${METRIC_PREFIX}experiment_records_total`,
    help: "Experiment records by kind (prediction, outcome) and result (accepted; refused: outcome answered 503, buffer full; dropped: prediction served but not recorded, buffer full).",
    labelNames: ["experiment", "kind", "result"] as const,
    registers: [this.registry],
  });

  readonly experimentRecordWrites = new Counter({
    name: `${METRIC_PREFIX}experiment_record_writes_total`,
    help: "Record batches written to the experiment's store, by result (ok, failed: retried).",
    labelNames: ["experiment", "result"] as const,
    registers: [this.registry],
  });

  readonly experimentRecordBuffer = new Gauge({
    name: `${METRIC_PREFIX}experiment_record_buffer`,
    help: "Experiment records held in memory, waiting or being written.",
    labelNames: ["experiment"] as const,
    registers: [this.registry],
  });

  constructor(options: ServerMetricsOptions = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
    this.ready.set(0);
  }

  /** A batcher observer that records into these metrics under the model's name. */
  batchObserver(model: string): BatchObserver {
    this.depths.set(model, 0);
    const batchSize = this.batchSize.labels({ model });
    const inferenceDuration = this.inferenceDuration.labels({ model });
    const queueWait = this.queueWait.labels({ model });
    return {
      onBatch: (rows, _requests, seconds, failed) => {
        batchSize.observe(rows);
        inferenceDuration.observe(seconds);
        if (failed) this.inferenceFailures.inc({ model });
      },
      // It changes twice per request; a Map write is all that costs until a scrape reads it.
      onQueueDepth: (depth) => this.depths.set(model, depth),
      onQueueWait: (seconds) => queueWait.observe(seconds),
      onRejected: (reason) => this.rejections.inc({ model, reason }),
    };
  }
}
