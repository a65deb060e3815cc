/**
 * Starting a worker thread from one of the server's own modules, compiled or not.
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
