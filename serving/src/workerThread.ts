/**
 * Starting a worker thread from one of the server's own modules, compiled or not, and waiting
 * for it to say it has started.
 */
import { extname } from "node:path";
import { Worker } from "node:worker_threads";

/**
 * A worker thread running the module at `path` (no extension: `.ts` under tsx, as in tests and
 * `npm start`; `.js` once compiled), given `workerData`.
 */
export function startWorkerThread(path: string, workerData: unknown): Worker {
  const file = `${path}${extname(__filename)}`;
  if (extname(file) !== ".ts") return new Worker(file, { workerData });
  // A worker's entry file bypasses require hooks (and Node 20 does not pass module hooks to
  // workers), so a .ts worker starts from a CommonJS stub that registers tsx first.
  const stub = `require(${JSON.stringify(require.resolve("tsx/cjs"))}); require(${JSON.stringify(file)});`;
  return new Worker(stub, { eval: true, workerData });
}

/**
 * Waits for a starting worker's verdict: `settle` maps each message to a value to resolve with,
 * an Error to reject with, or undefined to keep waiting (a log line, say). An error event or an
 * exit first rejects, naming `what` and `during` (e.g. "inference worker", "loading the model").
 */
export function whenWorkerStarted<M, T>(
  worker: Worker,
  what: string,
  during: string,
  settle: (message: M) => T | Error | undefined,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onMessage = (message: M): void => {
      const verdict = settle(message);
      if (verdict === undefined) return;
      cleanup();
      if (verdict instanceof Error) reject(verdict);
      else resolve(verdict);
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new Error(`${what} failed while ${during}: ${err.message}`));
    };
    const onExit = (code: number): void => {
      cleanup();
      reject(new Error(`${what} exited with code ${code} while ${during}`));
    };
    const cleanup = (): void => {
      worker.off("message", onMessage);
      worker.off("error", onError);
      worker.off("exit", onExit);
    };
    worker.on("message", onMessage);
    worker.on("error", onError);
    worker.on("exit", onExit);
  });
}
