import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { startS3Server } from "../../tools/s3Server";

const REPO = path.resolve(__dirname, "..", "..");

describe("npm run s3: the local S3-compatible registry", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "local-s3-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("keeps objects in --dir across a restart", async () => {
    const first = await startS3Server({ buckets: ["b"], directory: path.join(dir, "data") });
    await first
      .client()
      .send(new PutObjectCommand({ Bucket: "b", Key: "models/x/1.0.0/a.txt", Body: "kept" }));
    await first.stop();
    assert.ok(existsSync(path.join(dir, "data")), "a directory the caller named is not removed");
    const second = await startS3Server({ buckets: ["b"], directory: path.join(dir, "data") });
    try {
      const got = await second
        .client()
        .send(new GetObjectCommand({ Bucket: "b", Key: "models/x/1.0.0/a.txt" }));
      assert.equal(await got.Body?.transformToString(), "kept");
    } finally {
      await second.stop();
    }
  });

  it("removes a temporary directory on stop", async () => {
    const server = await startS3Server();
    await server.stop();
    assert.equal(existsSync(server.directory), false);
  });

  it("prints the endpoint and environment, answers S3 there, and exits 0 on Ctrl-C", async function () {
    this.timeout(60_000);
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "tools/s3.ts", "--dir", dir, "--bucket", "reg"],
      {
        cwd: REPO,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      const deadline = Date.now() + 45_000;
      while (!/Ctrl-C stops it/.test(out) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      const endpoint = /AWS_ENDPOINT_URL_S3=(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      assert.ok(endpoint, `endpoint printed: ${out}`);
      assert.match(out, /export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER/);
      assert.match(out, /npm run model -- push .* --bucket reg/);
      // The bucket exists: an anonymous GET of a missing key there is an S3 error about the key
      // (or access), never NoSuchBucket.
      const res = await fetch(`${endpoint}/reg/missing`);
      assert.doesNotMatch(await res.text(), /NoSuchBucket/);
    } finally {
      child.kill("SIGINT");
    }
    assert.equal(await exited, 0);
  });
});
