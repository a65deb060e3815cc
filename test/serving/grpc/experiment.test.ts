/**
 * An A/B experiment over gRPC: ModelInfer is assigned by call metadata exactly as REST is by
 * headers (same key, same variant), answers carry the variant and a prediction id, and a pinned
 * model_version is no experiment sample.
 */
import assert from "node:assert/strict";
import { startExperimentServer, type ExperimentServer } from "../experiment/support";
import { inferenceClient, type RpcClient } from "./support";

interface InferResponse {
  model_version: string;
  parameters: Record<string, { string_param?: string }>;
}

describe("A/B experiment over gRPC", () => {
  let exp: ExperimentServer;
  let client: RpcClient;
  before(async () => {
    exp = await startExperimentServer();
    client = inferenceClient(`127.0.0.1:${exp.server.grpcPort}`);
  });
  after(async () => {
    client.close();
    await exp.close();
  });

  const request = {
    model_name: "test-model",
    inputs: [{ name: "input", datatype: "FP32", shape: [1, 2], contents: { fp32_contents: [1, 2] } }],
  };

  it("assigns by metadata as REST assigns by header: same user, same variant and version", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const user = `user-${i}`;
      const res = await client.call<InferResponse>("ModelInfer", request, undefined, { "x-user-id": user });
      const rest = await fetch(`${exp.server.url}/v2/models/test-model/infer`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-user-id": user },
        body: JSON.stringify({ inputs: [{ name: "input", datatype: "FP32", shape: [1, 2], data: [1, 2] }] }),
      });
      const restBody = (await rest.json()) as { model_version: string; parameters: { variant: string } };
      const variant = res.parameters.variant.string_param!;
      assert.equal(variant, restBody.parameters.variant, user);
      assert.equal(res.model_version, restBody.model_version, user);
      assert.equal(res.model_version, variant === "treatment" ? "2.0.0" : "1.0.0", user);
      assert.equal(res.parameters.experiment.string_param, "swap-test");
      assert.match(res.parameters.prediction_id.string_param!, /^[0-9a-f-]{36}$/);
      seen.add(variant);
    }
    assert.deepEqual([...seen].sort(), ["control", "treatment"], "12 users reach both variants");
  });

  it("a pinned model_version is served as asked, outside the experiment", async () => {
    const res = await client.call<InferResponse>(
      "ModelInfer",
      { ...request, model_version: "2.0.0" },
      undefined,
      {
        "x-user-id": "user-0",
      },
    );
    assert.equal(res.model_version, "2.0.0");
    assert.deepEqual(res.parameters, {});
  });
});
