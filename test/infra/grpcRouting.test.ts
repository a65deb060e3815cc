/**
 * gRPC through the ALB under mocks: with a certificate, gRPC target groups per color with the
 * grpc.health.v1 check, bound to the pods' gRPC port, rules that match gRPC calls before their
 * HTTP twins, and weights that move with HTTP's on every flip and canary; without one, no gRPC.
 */
import assert from "node:assert/strict";
import { loadBalancerArgProblems } from "../../infra/components/loadBalancer";
import { evaluateStack, type RecordedResource, type StackEvaluation } from "../../infra/harness";
import { valueAt } from "../../infra/plan/diff";
import { planChange } from "../../infra/plan/plan";
import { parseRolloutTargets } from "../../infra/rollout/aws/targets";
import {
  devStack,
  expectAt,
  irsaRole,
  policyOf,
  SERVER,
  FLIP_READY,
  STAGED_GREEN as STAGED,
  stateString,
  T,
  VARIANT_CERTIFICATE as CERT,
} from "./support/stacks";

const RULE = T.rule;
const GRPC = { httpHeader: { httpHeaderName: "content-type", values: ["application/grpc*"] } };
const colorHeader = (value: string) => ({
  httpHeader: { httpHeaderName: "X-Serving-Color", values: [value] },
});

const tgArn = (ev: StackEvaluation, name: string): string => stateString(ev.one(T.targetGroup, name), "arn");

/** Per-color weights of a weighted rule, by the target groups' color. */
function weightsOf(ev: StackEvaluation, rule: string, suffix: string): Record<string, number> {
  const groups = valueAt(ev.one(RULE, rule).inputs, "actions[0].forward.targetGroups") as {
    arn: string;
    weight: number;
  }[];
  assert.deepEqual(
    groups.map((g) => g.arn),
    [tgArn(ev, `serving-blue${suffix}`), tgArn(ev, `serving-green${suffix}`)],
    `${rule}: blue then green`,
  );
  return { blue: groups[0].weight, green: groups[1].weight };
}

function envOf(d: RecordedResource): Record<string, unknown> {
  const env = valueAt(d.inputs, `${SERVER}.env`) as { name: string; value: unknown }[];
  return Object.fromEntries(env.map((e) => [e.name, e.value]));
}

describe("gRPC through the ALB under mocks", () => {
  let dev: StackEvaluation;
  let https: StackEvaluation;
  before(async () => {
    dev = await devStack();
    https = await evaluateStack("dev", { ...STAGED, certificateArn: CERT });
  });

  describe("without a certificate gRPC stays off", () => {
    it("no gRPC target group, binding or rule; pods run with GRPC_PORT=off; grpcEndpoint is empty", () => {
      assert.deepEqual(
        dev.all(T.targetGroup).map((r) => r.name),
        ["serving-blue", "serving-green"],
      );
      assert.equal(dev.all(RULE).filter((r) => r.name.includes("grpc")).length, 0);
      assert.deepEqual(
        dev.all(T.binding).map((r) => r.name),
        ["serving-blue-tgb", "serving-green-tgb"],
      );
      for (const color of ["blue", "green"]) {
        const d = dev.one(T.deployment, `serving-${color}`);
        assert.equal(envOf(d).GRPC_PORT, "off");
        expectAt(d, `${SERVER}.ports`, [
          { name: "http", containerPort: 8080, protocol: "TCP" },
          { name: "probes", containerPort: 8082, protocol: "TCP" },
        ]);
      }
      assert.equal(dev.outputs.grpcEndpoint, "");
    });
  });

  describe("with a certificate", () => {
    it("a gRPC target group per color: protocol version GRPC on port 8081, health-checked by grpc.health.v1", () => {
      for (const color of ["blue", "green"]) {
        const tg = https.one(T.targetGroup, `serving-${color}-grpc`);
        expectAt(tg, "protocol", "HTTP");
        expectAt(tg, "protocolVersion", "GRPC");
        expectAt(tg, "port", 8081);
        expectAt(tg, "targetType", "ip");
        expectAt(tg, "healthCheck", {
          enabled: true,
          protocol: "HTTP",
          port: "traffic-port",
          path: "/grpc.health.v1.Health/Check",
          matcher: "0",
          interval: 10,
          timeout: 5,
          healthyThreshold: 2,
          unhealthyThreshold: 2,
        });
        // The HTTP group is unchanged beside it.
        expectAt(https.one(T.targetGroup, `serving-${color}`), "protocolVersion", "HTTP1");
      }
    });

    it("binds each color's pods through their Service's gRPC port, as the HTTP binding does", () => {
      for (const color of ["blue", "green"]) {
        const binding = https.one(T.binding, `serving-${color}-tgb-grpc`);
        expectAt(binding, "metadata.name", `model-server-${color}-grpc`);
        expectAt(binding, "spec.serviceRef.port", 8081);
        expectAt(binding, "spec.targetGroupARN", tgArn(https, `serving-${color}-grpc`));
        expectAt(binding, "spec.targetType", "ip");
        expectAt(https.one(T.service, `serving-${color}-svc`), "spec.ports", [
          { name: "http", port: 8080, targetPort: "http", protocol: "TCP" },
          { name: "grpc", port: 8081, targetPort: "grpc", protocol: "TCP", appProtocol: "grpc" },
        ]);
        const d = https.one(T.deployment, `serving-${color}`);
        assert.equal(envOf(d).GRPC_PORT, "8081");
        expectAt(d, `${SERVER}.ports`, [
          { name: "http", containerPort: 8080, protocol: "TCP" },
          { name: "grpc", containerPort: 8081, protocol: "TCP" },
          { name: "probes", containerPort: 8082, protocol: "TCP" },
        ]);
        // Both bindings exist before the pods (one readiness gate each), and the gRPC group is in use.
        assert.ok(d.dependsOn.includes(binding.urn), `${d.name} must wait for ${binding.name}`);
        const pin = https.one(RULE, `serving-route-${color}-grpc`);
        assert.ok(d.dependsOn.includes(pin.urn), `${d.name} must wait for ${pin.name}`);
      }
    });

    it("the ALB reaches the pods' gRPC port and the pods admit it from the ALB only", () => {
      const sg = https.one(T.sg, "serving-alb").id;
      const egress = https.one(T.egress, "serving-alb-out-pods-grpc");
      expectAt(egress, "fromPort", 8081);
      expectAt(egress, "toPort", 8081);
      expectAt(egress, "securityGroupId", sg);
      const ingress = https.one(T.ingress, "serving-pods-from-alb-grpc");
      expectAt(ingress, "fromPort", 8081);
      expectAt(ingress, "referencedSecurityGroupId", sg);
    });

    it("the controller may register targets in the gRPC groups too", () => {
      const policy = policyOf(irsaRole(https, "lb-controller-irsa").policy as RecordedResource);
      const register = policy.Statement.find((s) => s.Sid === "RegisterPodTargets");
      assert.deepEqual(
        (register?.Resource as string[]).slice().sort(),
        https
          .all(T.targetGroup)
          .map((tg) => stateString(tg, "arn"))
          .sort(),
      );
      assert.equal(https.all(T.targetGroup).length, 4);
    });

    it("listener rules: gRPC calls match before their HTTP twins, with the same headers", () => {
      const listener = stateString(https.one(T.listener, "serving-https"), "arn");
      // [gRPC rule, priority, its HTTP twin, color it forwards to]
      const expected: Array<[string, number, string, string]> = [
        ["serving-traffic-grpc-preview", 5, "serving-traffic-preview", "green"],
        ["serving-route-blue-grpc", 15, "serving-route-blue", "blue"],
        ["serving-route-green-grpc", 16, "serving-route-green", "green"],
      ];
      for (const [name, priority, twin, color] of expected) {
        const rule = https.one(RULE, name);
        expectAt(rule, "listenerArn", listener);
        expectAt(rule, "priority", priority);
        // The twin's conditions (header, preview token, source CIDRs) plus the gRPC content type.
        const twinConditions = valueAt(https.one(RULE, twin).inputs, "conditions") as unknown[];
        assert.deepEqual(twinConditions[0], colorHeader(name.includes("preview") ? "preview" : color));
        assert.ok(twinConditions.length >= 2, `${twin} is guarded by the preview token`);
        expectAt(rule, "conditions", [...twinConditions, GRPC]);
        expectAt(rule, "actions", [
          { type: "forward", targetGroupArn: tgArn(https, `serving-${color}-grpc`) },
        ]);
      }
      const weighted = https.one(RULE, "serving-traffic-grpc-weighted");
      expectAt(weighted, "priority", 999);
      expectAt(weighted, "conditions", [GRPC]);
      // Each gRPC rule precedes the HTTP rule of the same purpose.
      const priority = (n: string) => valueAt(https.one(RULE, n).inputs, "priority") as number;
      assert.ok(priority("serving-traffic-grpc-preview") < priority("serving-traffic-preview"));
      assert.ok(priority("serving-route-green-grpc") < priority("serving-route-blue"));
      assert.ok(priority("serving-traffic-grpc-weighted") < priority("serving-traffic-weighted"));
    });

    it("the gRPC weighted rule waits for the receiving colors' gRPC binding and Deployment", () => {
      const rule = https.one(RULE, "serving-traffic-grpc-weighted");
      for (const dep of [
        https.one(T.binding, "serving-blue-tgb-grpc"),
        https.one(T.deployment, "serving-blue"),
      ]) {
        assert.ok(rule.dependsOn.includes(dep.urn), `${rule.name} must wait for ${dep.name}`);
      }
    });

    it("rolloutTargets names the gRPC rules and groups, so npm run rollout moves them with the HTTP ones", () => {
      const targets = parseRolloutTargets(https.outputs.rolloutTargets);
      const rule = (n: string) => https.one(RULE, n);
      assert.deepEqual(targets.grpc, {
        weightedRule: {
          id: rule("serving-traffic-grpc-weighted").state.arn,
          urn: rule("serving-traffic-grpc-weighted").urn,
        },
        previewRule: {
          id: rule("serving-traffic-grpc-preview").state.arn,
          urn: rule("serving-traffic-grpc-preview").urn,
        },
        targetGroupArns: {
          blue: tgArn(https, "serving-blue-grpc"),
          green: tgArn(https, "serving-green-grpc"),
        },
      });
      assert.equal(parseRolloutTargets(dev.outputs.rolloutTargets).grpc, undefined);
    });

    it("outputs grpcEndpoint <alb>:443", () => {
      assert.equal(https.outputs.grpcEndpoint, `${https.one(T.alb, "serving").state.dnsName}:443`);
    });
  });

  describe("one weight for both protocols", () => {
    const cases: Array<[string, Record<string, unknown>, Record<string, number>]> = [
      ["blue live", {}, { blue: 100, green: 0 }],
      ["canary 10% to green", { canaryPercent: "10" }, { blue: 90, green: 10 }],
      ["canary 50% to green", { canaryPercent: "50" }, { blue: 50, green: 50 }],
      ["flipped to green", { activeColor: "green" }, { blue: 0, green: 100 }],
      [
        "green live, canary 25% to blue",
        { activeColor: "green", canaryPercent: "25" },
        { blue: 25, green: 75 },
      ],
    ];
    for (const [what, overrides, weights] of cases) {
      it(`${what}: HTTP and gRPC carry ${JSON.stringify(weights)}`, async () => {
        const ev = await evaluateStack("dev", {
          ...FLIP_READY,
          "blue.modelVersion": "1.0.0",
          "blue.replicas": 1,
          certificateArn: CERT,
          ...overrides,
        });
        assert.deepEqual(weightsOf(ev, "serving-traffic-weighted", ""), weights);
        assert.deepEqual(weightsOf(ev, "serving-traffic-grpc-weighted", "-grpc"), weights);
        const standby = ev.outputs.standbyColor as string;
        expectAt(
          ev.one(RULE, "serving-traffic-grpc-preview"),
          "actions[0].targetGroupArn",
          tgArn(ev, `serving-${standby}-grpc`),
        );
      });
    }

    it("a flip changes exactly the HTTP and gRPC weighted and preview rules, the same way", async () => {
      const flip = await planChange(
        "dev",
        { activeColor: "green" },
        { baseOverrides: { ...FLIP_READY, certificateArn: CERT } },
      );
      assert.equal(flip.diff.added.length + flip.diff.removed.length, 0);
      assert.deepEqual(flip.diff.changed.map((c) => `${c.type} ${c.name}`).sort(), [
        `${RULE} serving-traffic-grpc-preview`,
        `${RULE} serving-traffic-grpc-weighted`,
        `${RULE} serving-traffic-preview`,
        `${RULE} serving-traffic-weighted`,
      ]);
      const changes = (name: string) =>
        flip.diff.changed.find((c) => c.name === name)!.changes.map((c) => [c.path, c.old, c.new]);
      assert.deepEqual(changes("serving-traffic-weighted"), [
        ["actions[0].forward.targetGroups[0].weight", 100, 0],
        ["actions[0].forward.targetGroups[1].weight", 0, 100],
      ]);
      assert.deepEqual(changes("serving-traffic-grpc-weighted"), changes("serving-traffic-weighted"));
    });
  });

  it("with gRPC on, refuses a third source CIDR on the header routes (5 condition values per ALB rule)", () => {
    const args = {
      vpcId: "vpc-1",
      publicSubnetIds: [],
      clusterSecurityGroupId: "sg-1",
      certificateArn: CERT,
      routeGuard: { token: "t", sourceCidrs: ["203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24"] },
    };
    assert.deepEqual(loadBalancerArgProblems(args), [
      "with a certificate (gRPC on), the header routes allow at most 2 source CIDRs (an ALB rule holds 5 " +
        "condition values and gRPC's use one for the content type), got 3",
    ]);
    assert.deepEqual(loadBalancerArgProblems({ ...args, certificateArn: "" }), []);
  });

  it("refuses a gRPC port equal to the serving port", () => {
    assert.deepEqual(
      loadBalancerArgProblems({
        vpcId: "vpc-1",
        publicSubnetIds: [],
        clusterSecurityGroupId: "sg-1",
        servingPort: 8081,
      }),
      ["grpcPort must be an integer from 1 to 65535 other than servingPort (8081), got 8081"],
    );
  });
});
