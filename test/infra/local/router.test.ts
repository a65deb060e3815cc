/**
 * The local router against two real HTTP upstreams that answer with their own color: the header
 * rules, the weights, the counts and the admin API.
 */
import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { LocalRouter } from "../../../infra/local/router";
import { COLOR_HEADER } from "../../../infra/routeRules";
import type { Color } from "../../../infra/traffic";

/** An upstream answering `{"color": ...}`, or the status in `?status=`, after `?delay=` ms. */
async function colorServer(color: Color): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const q = new URL(req.url ?? "/", "http://x").searchParams;
    setTimeout(
      () => {
        res.writeHead(Number(q.get("status") ?? 200), { "content-type": "application/json" });
        res.end(JSON.stringify({ color }));
      },
      Number(q.get("delay") ?? 0),
    );
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe("local router (a development stand-in for the ALB)", () => {
  let blue: Awaited<ReturnType<typeof colorServer>>;
  let green: Awaited<ReturnType<typeof colorServer>>;
  let router: LocalRouter;
  let trafficUrl: string;
  let adminUrl: string;

  before(async () => {
    blue = await colorServer("blue");
    green = await colorServer("green");
    router = new LocalRouter({
      upstreams: {
        blue: { url: blue.url, modelVersion: "1.0.0" },
        green: { url: green.url, modelVersion: "1.1.0" },
      },
      modelName: "churn",
      modelRoot: "/nonexistent",
    });
    ({ trafficUrl, adminUrl } = await router.listen());
  });
  after(async () => {
    await router.close();
    await blue.close();
    await green.close();
  });
  beforeEach(() => router.apply({ activeColor: "blue", canaryPercent: 0 }));

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${trafficUrl}${path}`, { headers });
    return { status: res.status, body: (await res.json()) as { color?: string; error?: string } };
  };

  it("sends weighted traffic by the routing's weights: exactly 10 of 100 at canary 10", async () => {
    router.apply({ activeColor: "blue", canaryPercent: 10 });
    const since = Date.now();
    const colors: string[] = [];
    for (let i = 0; i < 100; i++) colors.push((await get("/")).body.color!);
    assert.equal(colors.filter((c) => c === "green").length, 10);
    const w = router.stats.window(since, Date.now() + 1);
    assert.deepEqual([w.blue.requests, w.green.requests], [90, 10]);
  });

  it("applies the header rules before the weights: preview -> standby, blue/green -> that color", async () => {
    router.apply({ activeColor: "green", canaryPercent: 0 });
    assert.equal((await get("/", { [COLOR_HEADER]: "preview" })).body.color, "blue");
    assert.equal((await get("/", { [COLOR_HEADER]: "Green" })).body.color, "green");
    assert.equal((await get("/", { [COLOR_HEADER]: "blue" })).body.color, "blue");
    assert.equal((await get("/", { [COLOR_HEADER]: "purple" })).body.color, "green");
    assert.equal((await get("/")).body.color, "green");
  });

  it("counts each color's 5xx and p99 over a window", async () => {
    const since = Date.now();
    for (let i = 0; i < 3; i++) await get("/?status=503", { [COLOR_HEADER]: "green" });
    await get("/?delay=120", { [COLOR_HEADER]: "green" });
    await get("/", { [COLOR_HEADER]: "blue" });
    const w = router.stats.window(since, Date.now() + 1);
    assert.deepEqual([w.green.requests, w.green.errors5xx, w.blue.requests, w.blue.errors5xx], [4, 3, 1, 0]);
    assert.ok(w.green.p99Ms! >= 120, `green p99 ${w.green.p99Ms}`);
  });

  it("answers 502 for an unreachable color and counts it as that color's 5xx", async () => {
    const down = new LocalRouter({
      upstreams: {
        blue: { url: "http://127.0.0.1:1", modelVersion: "1" },
        green: { url: green.url, modelVersion: "2" },
      },
      modelName: "churn",
      modelRoot: "/nonexistent",
    });
    const { trafficUrl: url } = await down.listen();
    try {
      const since = Date.now();
      const res = await fetch(`${url}/`);
      assert.equal(res.status, 502);
      assert.match(((await res.json()) as { error: string }).error, /^blue unreachable/);
      assert.equal(down.stats.window(since, Date.now() + 1).blue.errors5xx, 1);
    } finally {
      await down.close();
    }
  });

  it("admin API: reads and applies the routing; a bad one is a 400 naming the field", async () => {
    const put = (body: unknown) =>
      fetch(`${adminUrl}/routing`, { method: "PUT", body: JSON.stringify(body) }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as unknown,
      }));
    assert.deepEqual(await put({ activeColor: "green", canaryPercent: 25 }), {
      status: 200,
      body: { activeColor: "green", canaryPercent: 25 },
    });
    assert.deepEqual(await (await fetch(`${adminUrl}/routing`)).json(), {
      activeColor: "green",
      canaryPercent: 25,
    });
    assert.deepEqual(await put({ activeColor: "green", canaryPercent: 101 }), {
      status: 400,
      body: { error: "canaryPercent must be an integer from 0 to 100, got 101" },
    });
    assert.deepEqual(await put({ activeColor: "red", canaryPercent: 0 }), {
      status: 400,
      body: { error: 'activeColor must be "blue" or "green", got "red"' },
    });
    assert.equal((await fetch(`${adminUrl}/metrics?start=x`)).status, 400);
    assert.deepEqual(router.currentRouting, { activeColor: "green", canaryPercent: 25 });
  });
});
