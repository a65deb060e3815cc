/**
 * `connectAws`: the rollout engine's ports for a deployed stack, from its outputs and config.
 * The Pulumi stack is reached through the Automation API on the project directory (the CLI's
 * checkout); AWS through the SDK's default credential chain (in CI, the deploy role).
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { createS3Client } from "../../../serving/src/model/s3Client";
import { otherColor } from "../../traffic";
import type { Clock, RolloutPorts } from "../ports";
import { systemClock } from "../systemClock";
import { AwsCapacity } from "./capacity";
import { AwsGolden, previewHeaders } from "./golden";
import { CloudWatchMetrics } from "./metrics";
import { S3RolloutRecord } from "./record";
import { openStack, type StackDriver } from "./stackDriver";
import { parseRolloutTargets, ROLLOUT_TARGETS_OUTPUT } from "./targets";
import { AwsTraffic, type Elbv2Sender } from "./traffic";

export interface ConnectAwsOptions {
  /** Stack name (`dev`). */
  readonly stack: string;
  /** The Pulumi project directory (holds Pulumi.yaml). */
  readonly workDir: string;
  /** Receives the output of each targeted `pulumi up`. Default: stderr. */
  readonly log?: (text: string) => void;
}

/** Everything `connectAws` builds on, injectable so tests assemble the ports without AWS or Pulumi. */
export interface AwsClients {
  readonly driver: StackDriver;
  readonly elbv2: Elbv2Sender;
  readonly cloudwatch: ConstructorParameters<typeof CloudWatchMetrics>[0]["cloudwatch"];
  readonly s3: ConstructorParameters<typeof S3RolloutRecord>[0]["s3"];
  readonly clock: Clock;
}

/**
 * Headers that reach the preview route: `previewHeader` plus, on stacks that restrict the route
 * (infra/components/previewAccess.ts), `previewTokenHeader: previewToken` (a secret output; the
 * Automation API hands outputs over decrypted).
 */
export function previewRouteHeaders(
  outputs: Readonly<Record<string, { readonly value: unknown } | undefined>>,
): Record<string, string> {
  const name = outputs.previewTokenHeader?.value;
  const token = outputs.previewToken?.value;
  return {
    ...previewHeaders(outputs.previewHeader?.value),
    ...(typeof name === "string" && typeof token === "string" && token !== "" ? { [name]: token } : {}),
  };
}

/** The ports over already-built clients; `stack` names the rollout record. */
export async function portsFor(stack: string, clients: AwsClients): Promise<RolloutPorts> {
  const { driver, elbv2, cloudwatch, s3, clock } = clients;
  const outputs = await driver.outputs();
  const targets = parseRolloutTargets(outputs[ROLLOUT_TARGETS_OUTPUT]?.value);
  const text = (name: string): string => {
    const v = outputs[name]?.value;
    if (typeof v !== "string" || v === "") {
      throw new Error(`the stack output ${name} is missing or empty: run a plain \`pulumi up\` first`);
    }
    return v;
  };
  const sleep = (ms: number) => clock.sleep(ms);
  const traffic = new AwsTraffic({ driver, elbv2, targets, sleep });
  const bucket = text("modelBucketName");
  return {
    traffic,
    metrics: new CloudWatchMetrics({ cloudwatch, targets, now: clock.now, sleep }),
    capacity: new AwsCapacity({ driver, elbv2, targets, now: clock.now, sleep }),
    golden: new AwsGolden({
      s3,
      bucket,
      modelName: targets.modelName,
      url: text("url"),
      headers: previewRouteHeaders(outputs),
      previewColor: async () => otherColor((await traffic.current()).activeColor),
    }),
    record: new S3RolloutRecord({ s3, bucket, stack }),
    clock,
  };
}

/** The engine's ports for stack `stack` of the project in `workDir`, on AWS. */
export async function connectAws(opts: ConnectAwsOptions): Promise<RolloutPorts> {
  const log = opts.log ?? ((t: string) => void process.stderr.write(t));
  const driver = await openStack({ stack: opts.stack, workDir: opts.workDir, log });
  const region = (await driver.config())["aws:region"];
  if (!region) throw new Error(`stack ${opts.stack} has no aws:region in its config`);
  return portsFor(opts.stack, {
    driver,
    elbv2: new ElasticLoadBalancingV2Client({ region }),
    cloudwatch: new CloudWatchClient({ region }),
    s3: createS3Client({ region }),
    clock: systemClock,
  });
}
