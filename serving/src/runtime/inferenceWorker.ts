/**
 * The inference worker thread: hosts one onnxruntime session (the same `createOnnxRuntime` as
 * the main-thread runtime) and runs what the main thread sends, one message at a time. Started by
 * {@link createWorkerRuntime}; never imported by the main thread.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Logger } from "../logger";
import { createOnnxRuntime } from "./onnxRuntime";
import type { InferenceRuntime } from "./runtime";
import { transferables, type FromWorker, type ToWorker, type WorkerInit } from "./workerProtocol";

const port = parentPort;
if (!port) throw new Error("inferenceWorker must run in a worker thread (see workerRuntime.ts)");
const { modelPath, ...sessionOptions } = workerData as WorkerInit;
const send = (message: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

/** Log lines go to the main thread's logger, so they share its stream and format. */
const logger: Logger = {
  debug: (obj, msg) => send({ type: "log", level: "debug", obj, msg }),
  info: (obj, msg) => send({ type: "log", level: "info", obj, msg }),
  warn: (obj, msg) => send({ type: "log", level: "warn", obj, msg }),
  error: (obj, msg) => send({ type: "log", level: "error", obj, msg }),
};

async function serve(runtime: InferenceRuntime, message: ToWorker): Promise<void> {
  if (message.type === "dispose") {
    await runtime.dispose();
    port!.close(); // nothing else keeps the thread alive: it exits
    return;
  }
  try {
    const outputs = await runtime.run(message.feeds, message.outputs);
    send({ type: "result", id: message.id, outputs }, transferables(outputs));
  } catch (err) {
    send({ type: "error", id: message.id, message: (err as Error).message });
  }
}

createOnnxRuntime(modelPath, { ...sessionOptions, logger }).then(
  (runtime) => {
    port.on("message", (message: ToWorker) => void serve(runtime, message));
    send({ type: "ready", inputs: runtime.inputs, outputs: runtime.outputs, provider: runtime.provider });
  },
  (err: unknown) => {
    send({ type: "failed", message: (err as Error).message });
    port.close();
  },
);
