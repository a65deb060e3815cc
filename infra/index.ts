/**
 * The Pulumi program: read the stack config once, build the environment, export its outputs.
 * Everything else lives in ./stack.ts (wiring) and ./components (one concern per file).
 */
import { loadConfig } from "./config";
import { createStack } from "./stack";

const outputs = createStack(loadConfig());

export const clusterName = outputs.clusterName;
export const kubeconfig = outputs.kubeconfig;
export const modelBucketName = outputs.modelBucketName;
export const albAccessLogBucketName = outputs.albAccessLogBucketName;
export const imageRef = outputs.imageRef;
export const blueImage = outputs.blueImage;
export const greenImage = outputs.greenImage;
export const accelerators = outputs.accelerators;
export const albDnsName = outputs.albDnsName;
export const url = outputs.url;
export const previewUrl = outputs.previewUrl;
export const previewHeader = outputs.previewHeader;
export const grpcEndpoint = outputs.grpcEndpoint;
export const previewTokenHeader = outputs.previewTokenHeader;
export const previewToken = outputs.previewToken;
export const activeColor = outputs.activeColor;
export const standbyColor = outputs.standbyColor;
export const weights = outputs.weights;
export const liveModelVersion = outputs.liveModelVersion;
export const standbyModelVersion = outputs.standbyModelVersion;
export const rollbackCommand = outputs.rollbackCommand;
export const dashboardUrl = outputs.dashboardUrl;
export const rolloutTargets = outputs.rolloutTargets;
