/**
 * The churn model through the Open Inference Protocol on both protocols of one server, at c=64:
 * REST `POST /v2/models/churn/infer` (JSON, autocannon) beside gRPC ModelInfer (raw contents, as
 * tritonclient sends them; a grpc-js client generated from serving/proto in this process, one
 * channel with 64 calls in flight), and the gRPC floor (bench/grpcFloor.ts: bare grpc-js answering
 * a constant) as gRPC's ceiling on this machine. Same server process and batcher, alternating slices.
 */
import { join } from "node:path";
import { credentials, loadPackageDefinition, type Client, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { startCpuWindow, waitForQuiet, type CpuUsage } from "./cpuMonitor";
import { describeEnv, scrapeCounters, type BenchContext } from "./context";
import { percentile, runLoad, type LoadResult } from "./load";
import { CPU_HEADER, cpuCells, fixed, loadCells, pct, table } from "./report";
import { freePort, REPO, startFloorServer, startModelServer } from "./serverProcess";

const CONNECTIONS = 64;
const FEATURES = [0.42, -1.37, 0.88, 1.05];
const REST_BODY = JSON.stringify({
  inputs: [{ name: "input", shape: [1, 4], datatype: "FP32", data: FEATURES }],
});

type Unary = (request: object, callback: (err: ServiceError | null, response: unknown) => void) => void;

export interface GrpcBenchResult {
  readonly env: Readonly<Record<string, string>>;
  readonly rest: LoadResult & { meanBatch: number };
  readonly grpc: LoadResult & { meanBatch: number };
  /** Bare grpc-js answering a constant, same client and load. */
  readonly grpcFloor: LoadResult;
}

export async function grpcSection(ctx: BenchContext): Promise<GrpcBenchResult> {
  const grpcPort = await freePort();
  const env: Record<string, string> = {
    LOG_LEVEL: "info",
    ...ctx.options.serverEnv,
    GRPC_PORT: String(grpcPort),
  };
  const server = await startModelServer({ launcher: "node", env, logFile: join(ctx.work, "grpc.log") });
  const floorServer = await startFloorServer("grpcFloor.ts");
  const pkg = loadPackageDefinition(
    loadSync(join(REPO, "serving", "proto", "open_inference_grpc.proto"), { keepCase: true, longs: String }),
  ) as unknown as { inference: { GRPCInferenceService: new (address: string, creds: unknown) => Client } };
  const client = new pkg.inference.GRPCInferenceService(
    `127.0.0.1:${grpcPort}`,
    credentials.createInsecure(),
  );
  const floorClient = new pkg.inference.GRPCInferenceService(floorServer.url, credentials.createInsecure());
  const raw = Buffer.alloc(16);
  FEATURES.forEach((v, i) => raw.writeFloatLE(v, i * 4));
  const request = {
    model_name: "churn",
    inputs: [{ name: "input", datatype: "FP32", shape: [1, 4] }],
    raw_input_contents: [raw],
  };
  const caller = (c: Client) => {
    const infer = (c as unknown as { ModelInfer: Unary }).ModelInfer.bind(c);
    return () =>
      new Promise<void>((resolve, reject) => infer(request, (err) => (err ? reject(err) : resolve())));
  };
  const call = caller(client);
  const floorCall = caller(floorClient);
  try {
    await call(); // one real answer from each before any load
    await floorCall();
    const slices = 2;
    const sliceSeconds = ctx.options.duration / slices;
    const restParts: LoadResult[] = [];
    const grpcParts: GrpcSlice[] = [];
    const floorParts: GrpcSlice[] = [];
    let restBatch = { rows: 0, runs: 0 };
    let grpcBatch = { rows: 0, runs: 0 };
    await grpcLoad(call, server.pid, CONNECTIONS, ctx.options.warmup, false);
    await grpcLoad(floorCall, floorServer.pid, CONNECTIONS, ctx.options.warmup, false);
    const quiet = (pid: number) =>
      waitForQuiet({ maxOthersCores: ctx.options.maxOthersCores, serverPids: [pid] });
    for (let s = 0; s < slices; s++) {
      let before = await scrapeCounters(server.url);
      restParts.push(
        await runLoad(
          { url: `${server.url}/v2/models/churn/infer`, body: REST_BODY, pid: server.pid },
          {
            connections: CONNECTIONS,
            durationSeconds: sliceSeconds,
            warmupSeconds: s === 0 ? ctx.options.warmup : 0,
            slices: 1,
            maxOthersCores: ctx.options.maxOthersCores,
          },
        ),
      );
      let after = await scrapeCounters(server.url);
      restBatch = addBatch(restBatch, before, after);
      await quiet(server.pid);
      before = after;
      grpcParts.push(await grpcLoad(call, server.pid, CONNECTIONS, sliceSeconds, true));
      after = await scrapeCounters(server.url);
      grpcBatch = addBatch(grpcBatch, before, after);
      await quiet(floorServer.pid);
      floorParts.push(await grpcLoad(floorCall, floorServer.pid, CONNECTIONS, sliceSeconds, true));
    }
    const rest = {
      ...mergeRest(restParts),
      meanBatch: restBatch.runs > 0 ? restBatch.rows / restBatch.runs : 0,
    };
    const grpc = {
      ...summarize(grpcParts),
      meanBatch: grpcBatch.runs > 0 ? grpcBatch.rows / grpcBatch.runs : 0,
    };
    const grpcFloor = summarize(floorParts);

    console.log("## Open Inference Protocol: REST and gRPC on one server, churn model, c=64\n");
    console.log(
      `Server: \`node dist/serving/src/main.js\`, ${describeEnv(env)}. REST: autocannon, JSON \`POST /v2/models/churn/infer\`. ` +
        "gRPC: ModelInfer with raw_input_contents from a grpc-js client in the bench process (one channel, 64 calls " +
        "in flight); the gRPC floor is bare grpc-js answering a constant, loaded the same way. Both load generators " +
        "share this machine's cores with the server (and this machine is shared with other jobs: see CPU others); " +
        `${slices} alternating slices each.\n`,
    );
    console.log(
      table(
        ["protocol", "conc", "req/s", "p50 ms", "p99 ms", "errors", "non-2xx", "mean batch", ...CPU_HEADER],
        [
          [
            "REST OIP JSON",
            String(CONNECTIONS),
            ...loadCells(rest),
            fixed(rest.meanBatch, 1),
            ...cpuCells(rest),
          ],
          [
            "gRPC ModelInfer (raw)",
            String(CONNECTIONS),
            ...loadCells(grpc),
            fixed(grpc.meanBatch, 1),
            ...cpuCells(grpc),
          ],
          [
            "gRPC floor (bare grpc-js)",
            String(CONNECTIONS),
            ...loadCells(grpcFloor),
            "—",
            ...cpuCells(grpcFloor),
          ],
        ],
      ),
    );
    console.log(
      `\ngRPC / REST req/s at c=64: ${pct(grpc.requestsPerSecond / rest.requestsPerSecond)}; gRPC served / gRPC floor: ` +
        `${pct(grpc.requestsPerSecond / grpcFloor.requestsPerSecond)}; server CPU per request ` +
        `${fixed(grpc.serverCpuUsPerRequest ?? 0, 0)} µs (gRPC), ${fixed(rest.serverCpuUsPerRequest ?? 0, 0)} µs (REST), ` +
        `${fixed(grpcFloor.serverCpuUsPerRequest ?? 0, 0)} µs (gRPC floor)\n`,
    );
    return { env, rest, grpc, grpcFloor };
  } finally {
    client.close();
    floorClient.close();
    await server.stop();
    await floorServer.stop();
  }
}

interface GrpcSlice {
  readonly latencies: number[];
  readonly seconds: number;
  readonly errors: number;
  readonly cpu?: CpuUsage;
}

/** Closed loop: `connections` calls in flight on one channel, each followed by the next, for `seconds`. */
async function grpcLoad(
  call: () => Promise<void>,
  pid: number,
  connections: number,
  seconds: number,
  record: boolean,
): Promise<GrpcSlice> {
  const latencies: number[] = [];
  let errors = 0;
  const endCpu = record ? startCpuWindow([pid]) : () => undefined;
  const started = performance.now();
  const until = started + seconds * 1000;
  const loop = async (): Promise<void> => {
    while (performance.now() < until) {
      const t = performance.now();
      try {
        await call();
        latencies.push(performance.now() - t);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  const cpu = endCpu();
  return {
    latencies,
    seconds: cpu?.seconds ?? (performance.now() - started) / 1000,
    errors,
    ...(cpu ? { cpu } : {}),
  };
}

function summarize(slices: readonly GrpcSlice[]): LoadResult {
  const latencies = slices.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const seconds = slices.reduce((n, s) => n + s.seconds, 0);
  const cpu = weightedCpu(slices.map((s) => ({ cpu: s.cpu, seconds: s.seconds })));
  return {
    connections: CONNECTIONS,
    requestsPerSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? 0,
    responses: latencies.length,
    errors: slices.reduce((n, s) => n + s.errors, 0),
    non2xx: 0,
    ...(cpu
      ? { cpu, serverCpuUsPerRequest: (cpu.server * seconds * 1e6) / Math.max(1, latencies.length) }
      : {}),
  };
}

/** REST slices measured one runLoad each: rates and CPU weighted by time, percentiles the slowest slice's (conservative). */
function mergeRest(parts: readonly LoadResult[]): LoadResult {
  const seconds = (r: LoadResult) => r.responses / r.requestsPerSecond;
  const total = parts.reduce((n, r) => n + seconds(r), 0);
  const responses = parts.reduce((n, r) => n + r.responses, 0);
  const cpu = weightedCpu(parts.map((r) => ({ cpu: r.cpu, seconds: seconds(r) })));
  return {
    connections: CONNECTIONS,
    requestsPerSecond: responses / total,
    p50Ms: Math.max(...parts.map((r) => r.p50Ms)),
    p99Ms: Math.max(...parts.map((r) => r.p99Ms)),
    maxMs: Math.max(...parts.map((r) => r.maxMs)),
    responses,
    errors: parts.reduce((n, r) => n + r.errors, 0),
    non2xx: parts.reduce((n, r) => n + r.non2xx, 0),
    ...(cpu ? { cpu, serverCpuUsPerRequest: (cpu.server * total * 1e6) / Math.max(1, responses) } : {}),
  };
}

function weightedCpu(parts: ReadonlyArray<{ cpu?: CpuUsage; seconds: number }>): CpuUsage | undefined {
  if (parts.some((p) => !p.cpu)) return undefined;
  const seconds = parts.reduce((n, p) => n + p.seconds, 0);
  const mean = (pick: (c: CpuUsage) => number) =>
    parts.reduce((n, p) => n + pick(p.cpu!) * p.seconds, 0) / seconds;
  return {
    server: mean((c) => c.server),
    generator: mean((c) => c.generator),
    others: mean((c) => c.others),
    seconds,
  };
}

function addBatch(
  acc: { rows: number; runs: number },
  before: Awaited<ReturnType<typeof scrapeCounters>>,
  after: Awaited<ReturnType<typeof scrapeCounters>>,
): { rows: number; runs: number } {
  return {
    rows: acc.rows + after.batchRows - before.batchRows,
    runs: acc.runs + after.batches - before.batches,
  };
}
