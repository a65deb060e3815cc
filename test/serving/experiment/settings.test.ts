import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../../serving/src/config";
import { treatmentLocation } from "../../../serving/src/service/createServedModels";

const BASE = {
  MODEL_URI: "s3://models-bucket/models/churn/1.0.0/",
  EXPERIMENT_NAME: "ranker-v2",
  EXPERIMENT_TREATMENT_VERSION: "1.1.0",
  EXPERIMENT_TREATMENT_PERCENT: "20",
  EXPERIMENT_ASSIGNMENT_KEY: "header:X-User-Id",
};

function problems(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message;
  }
  assert.fail("expected a ConfigError");
}

describe("server config: EXPERIMENT_*", () => {
  it("has no experiment when EXPERIMENT_NAME is unset", () => {
    assert.equal(loadConfig({}).experiment, undefined);
  });

  it("parses an experiment, with records under the model bucket's experiments/<name>/ by default", () => {
    assert.deepEqual(loadConfig(BASE).experiment, {
      name: "ranker-v2",
      treatmentVersion: "1.1.0",
      treatmentPercent: 20,
      assignmentKey: { kind: "header", name: "x-user-id" },
      recordsUri: "s3://models-bucket/experiments/ranker-v2/",
      bufferSize: 100_000,
      batchSize: 5_000,
      flushIntervalMs: 5_000,
    });
    assert.deepEqual(
      loadConfig({ ...BASE, EXPERIMENT_ASSIGNMENT_KEY: "body:user_id" }).experiment?.assignmentKey,
      {
        kind: "body",
        field: "user_id",
      },
    );
  });

  const cases: Array<[string, Record<string, string>, RegExp]> = [
    [
      "a missing treatment version",
      { EXPERIMENT_TREATMENT_VERSION: "" },
      /EXPERIMENT_TREATMENT_VERSION: required when EXPERIMENT_NAME is set/,
    ],
    [
      "a treatment equal to the control",
      { EXPERIMENT_TREATMENT_VERSION: "1.0.0" },
      /EXPERIMENT_TREATMENT_VERSION: must differ from the control's MODEL_VERSION \(1\.0\.0\), got "1\.0\.0"/,
    ],
    [
      "a share of 100",
      { EXPERIMENT_TREATMENT_PERCENT: "100" },
      /EXPERIMENT_TREATMENT_PERCENT: expected an integer from 1 to 99, got 100/,
    ],
    [
      "a share of 0",
      { EXPERIMENT_TREATMENT_PERCENT: "0" },
      /EXPERIMENT_TREATMENT_PERCENT: expected an integer from 1 to 99, got 0/,
    ],
    [
      "a key source without a kind",
      { EXPERIMENT_ASSIGNMENT_KEY: "X-User-Id" },
      /EXPERIMENT_ASSIGNMENT_KEY: expected "header:<name>".*got "X-User-Id"/,
    ],
    [
      "an uppercase name",
      { EXPERIMENT_NAME: "Ranker" },
      /EXPERIMENT_NAME: expected 1-63 of \[a-z0-9-\].*got "Ranker"/,
    ],
    [
      "a records URI without a trailing slash",
      { EXPERIMENT_RECORDS_URI: "s3://b-1/exp" },
      /EXPERIMENT_RECORDS_URI: expected s3:\/\/<bucket>\/<prefix>\/ \(ending in "\/"\), got "s3:\/\/b-1\/exp"/,
    ],
  ];
  for (const [what, env, message] of cases) {
    it(`refuses ${what}, naming the variable`, () => {
      assert.match(problems({ ...BASE, ...env }), message);
    });
  }

  it("refuses EXPERIMENT_* variables without EXPERIMENT_NAME", () => {
    assert.match(
      problems({ EXPERIMENT_TREATMENT_PERCENT: "20" }),
      /EXPERIMENT_TREATMENT_PERCENT: set without EXPERIMENT_NAME/,
    );
  });

  it("finds the treatment beside the control: S3 prefix, local directory, or repository version", () => {
    const loc = loadConfig(BASE).model;
    assert.equal(treatmentLocation(loc, "1.1.0").uri, "s3://models-bucket/models/churn/1.1.0/");
    const local = loadConfig({ MODEL_URI: "/models/churn/1.0.0/" }).model;
    assert.equal(treatmentLocation(local, "1.1.0").uri, "/models/churn/1.1.0");
    const repo = loadConfig({ MODEL_ROOT: "/repo", MODEL_NAME: "churn", MODEL_VERSION: "1.0.0" }).model;
    assert.deepEqual(
      { ...treatmentLocation(repo, "1.1.0"), cacheDir: "" },
      { ...repo, version: "1.1.0", cacheDir: "" },
    );
  });
});
