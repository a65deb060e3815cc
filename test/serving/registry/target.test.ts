import { strict as assert } from "node:assert";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { RegistryConfigError } from "../../../serving/src/model/registry/errors";
import { resolveRegistryTarget } from "../../../serving/src/model/registry/target";

/**
 * A stand-in `pulumi` executable on PATH, so the real child-process path runs: it logs its
 * arguments and answers `stack output modelBucketName` and `config get aws:region`.
 */
const FAKE_PULUMI = `#!/bin/sh
echo "$*" >> "$FAKE_PULUMI_LOG"
if [ -n "$FAKE_PULUMI_FAIL" ]; then echo "$FAKE_PULUMI_FAIL" >&2; exit 255; fi
case "$1 $2 $3" in
  "stack output modelBucketName") echo "$FAKE_BUCKET" ;;
  "config get aws:region") if [ -n "$FAKE_REGION" ]; then echo "$FAKE_REGION"; else echo "error: configuration key 'aws:region' not found" >&2; exit 255; fi ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
`;

describe("resolveRegistryTarget", () => {
  let bin: string;
  let empty: string;
  let log: string;

  before(async () => {
    bin = await mkdtemp(join(tmpdir(), "fake-pulumi-"));
    empty = await mkdtemp(join(tmpdir(), "no-pulumi-"));
    await writeFile(join(bin, "pulumi"), FAKE_PULUMI);
    await chmod(join(bin, "pulumi"), 0o755);
    log = join(bin, "calls.log");
  });

  beforeEach(async () => {
    await writeFile(log, "");
  });

  after(async () => {
    await rm(bin, { recursive: true, force: true });
    await rm(empty, { recursive: true, force: true });
  });

  function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      PATH: `${bin}:/usr/bin:/bin`,
      FAKE_PULUMI_LOG: log,
      FAKE_BUCKET: "stack-models-abc123",
      ...extra,
    };
  }

  async function calls(): Promise<string[]> {
    return (await readFile(log, "utf8")).split("\n").filter((l) => l !== "");
  }

  it("flags win: no pulumi call for the bucket, region from --region", async () => {
    const target = await resolveRegistryTarget({ bucket: "my-models", region: "eu-west-1", env: env() });
    assert.deepEqual(target, { bucket: "my-models", bucketFrom: "flag", region: "eu-west-1" });
    assert.deepEqual(await calls(), []);
  });

  it("without --bucket reads the stack output modelBucketName of --stack, and the stack's aws:region", async () => {
    const target = await resolveRegistryTarget({ stack: "org/dev", env: env({ FAKE_REGION: "us-west-2" }) });
    assert.deepEqual(target, { bucket: "stack-models-abc123", bucketFrom: "stack", region: "us-west-2" });
    assert.deepEqual(await calls(), [
      "stack output modelBucketName --stack org/dev",
      "config get aws:region --stack org/dev",
    ]);
  });

  it("AWS_REGION wins over the stack config; AWS_ENDPOINT_URL_S3 is picked up", async () => {
    const target = await resolveRegistryTarget({
      env: env({
        AWS_REGION: "ap-south-1",
        FAKE_REGION: "us-west-2",
        AWS_ENDPOINT_URL_S3: "http://127.0.0.1:9000",
      }),
    });
    assert.deepEqual(target, {
      bucket: "stack-models-abc123",
      bucketFrom: "stack",
      region: "ap-south-1",
      endpoint: "http://127.0.0.1:9000",
    });
    assert.deepEqual(await calls(), ["stack output modelBucketName"]);
  });

  it("--endpoint wins over AWS_ENDPOINT_URL_S3; an unset stack region leaves it to the SDK", async () => {
    const target = await resolveRegistryTarget({
      bucket: "b-1",
      endpoint: "http://127.0.0.1:1234",
      env: env({ AWS_ENDPOINT_URL_S3: "http://127.0.0.1:9000" }),
    });
    assert.deepEqual(target, { bucket: "b-1", bucketFrom: "flag", endpoint: "http://127.0.0.1:1234" });
  });

  it("without --bucket and without the pulumi CLI says so and how to fix it", async () => {
    await assert.rejects(resolveRegistryTarget({ env: { PATH: empty } }), {
      name: "RegistryConfigError",
      message:
        "--bucket was not given and reading the stack output modelBucketName failed: " +
        "the pulumi CLI is not installed or not on PATH; pass --bucket (and --region)",
    });
  });

  it("a failing pulumi command is reported with its first stderr line", async () => {
    await assert.rejects(
      resolveRegistryTarget({
        stack: "prod",
        env: env({ FAKE_PULUMI_FAIL: "error: no stack named 'prod' found" }),
      }),
      {
        name: "RegistryConfigError",
        message:
          "--bucket was not given and reading the stack output modelBucketName failed: " +
          "`pulumi stack output modelBucketName --stack prod` failed: error: no stack named 'prod' found",
      },
    );
  });

  it("an empty stack output is refused", async () => {
    await assert.rejects(resolveRegistryTarget({ env: env({ FAKE_BUCKET: "" }) }), (err: Error) => {
      return err instanceof RegistryConfigError && /stack output modelBucketName is empty/.test(err.message);
    });
  });

  it("an invalid bucket name is refused naming the rule", async () => {
    await assert.rejects(resolveRegistryTarget({ bucket: "My_Bucket", env: env() }), {
      name: "RegistryConfigError",
      message:
        'bucket name "My_Bucket" is invalid: expected 3-63 of [a-z0-9.-], starting and ending with a letter or digit',
    });
  });
});
