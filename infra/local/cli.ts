/**
 * `npm run local [-- --load <req/s>] [--state-dir <dir>]`: a real blue (churn 1.0.0) and green
 * (churn 1.1.0) server on loopback behind the local router, a development stand-in for the ALB
 * (not a production path). Prints the addresses, writes them to `<state-dir>/local.json` for
 * `npm run rollout -- --local`, and runs until SIGINT/SIGTERM. `--load` sends a steady stream
 * of POST /predict through the router (default 50 req/s; 0 = none) so the rollout has traffic
 * to analyse.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { COLOR_HEADER } from "../routeRules";
import { startLoad, type RunningLoad } from "./load";
import { startLocalPair } from "./pair";
import { ADDRESS_FILE, defaultLocalStateDir, type LocalAddress } from "./stateDir";

const USAGE = `Usage: npm run local -- [--load <req/s>] [--state-dir <dir>]

  --load <req/s>     steady POST /predict load through the router (default 50; 0 = none)
  --state-dir <dir>  models, address file and rollout record (default: $TMPDIR/onnx-eks-serving-local)`;

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        load: { type: "string" },
        "state-dir": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    console.error(`error: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const rate = Number(values.load ?? 50);
  if (!Number.isFinite(rate) || rate < 0 || rate > 5000) {
    console.error(`error: --load must be a number of requests per second from 0 to 5000, got ${values.load}`);
    return 2;
  }
  const dir = values["state-dir"] ?? defaultLocalStateDir();
  await mkdir(dir, { recursive: true });
  const pair = await startLocalPair({ dir });
  const address: LocalAddress = { trafficUrl: pair.trafficUrl, adminUrl: pair.adminUrl, pid: process.pid };
  const addressFile = join(dir, ADDRESS_FILE);
  await writeFile(addressFile, JSON.stringify(address, null, 2) + "\n");
  const load: RunningLoad | undefined = rate > 0 ? startLoad({ url: pair.trafficUrl, rate }) : undefined;
  const s = pair.router.state();
  console.log(
    [
      "Local blue/green pair (the router is a development stand-in for the ALB, not a production path)",
      `  blue   ${pair.servers.blue.url}  churn ${s.colors.blue.modelVersion}`,
      `  green  ${pair.servers.green.url}  churn ${s.colors.green.modelVersion} (golden set in ${pair.modelRoot})`,
      `  router ${pair.trafficUrl}  (${s.routing.activeColor} live, canary ${s.routing.canaryPercent}%)`,
      `  admin  ${pair.adminUrl}  (GET /routing, PUT /routing, GET /metrics?start=&end=, GET /state)`,
      `  load   ${rate > 0 ? `${rate} req/s of POST /predict` : "none"}`,
      "",
      "Try:",
      `  curl -s -XPOST ${pair.trafficUrl}/predict -H 'content-type: application/json' -d '{"features":[0.5,0.3,0.8,0.2]}'`,
      `  curl -s -XPOST ${pair.trafficUrl}/predict -H '${COLOR_HEADER}: preview' -H 'content-type: application/json' -d '{"features":[0.5,0.3,0.8,0.2]}'`,
      "  npm run rollout -- --local --to green --dry-run",
      "  npm run rollout -- --local --to green --canary 10",
      "  npm run rollout -- --local --to green",
      "  npm run rollout -- --local --to blue        # rollback: immediate",
      "Ctrl-C stops the pair.",
    ].join("\n"),
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  console.log("stopping");
  if (load) {
    const stats = await load.stop();
    console.log(`load: ${stats.sent} sent, answers by status ${JSON.stringify(stats.byStatus)}`);
  }
  await rm(addressFile, { force: true });
  await pair.close();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
