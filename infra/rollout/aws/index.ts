/**
 * PLACEHOLDER on the engine branch: the AWS adapters (Pulumi Automation API for traffic,
 * CloudWatch GetMetricData for metrics, the cluster for capacity, the ALB preview route for the
 * golden set, the record in the model bucket) are written on the AWS branch, which replaces
 * this file. The contract the rollout CLI relies on is the signature below.
 */
import type { RolloutPorts } from "../ports";

export interface ConnectAwsOptions {
  /** Pulumi stack name (`Pulumi.<stack>.yaml`). */
  readonly stack: string;
  /** The Pulumi project directory (holds Pulumi.yaml). */
  readonly workDir: string;
}

export async function connectAws(opts: ConnectAwsOptions): Promise<RolloutPorts> {
  throw new Error(`connectAws(${opts.stack}): the AWS rollout adapters are not implemented on this branch`);
}
