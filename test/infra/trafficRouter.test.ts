import assert from "node:assert/strict";
import { loadBalancerArgProblems } from "../../infra/components/loadBalancer";
import { receivingColors } from "../../infra/components/trafficRouter";
import { evaluateStack, type RecordedResource, type StackEvaluation } from "../../infra/harness";
import { valueAt } from "../../infra/plan/diff";
import { diffOutputs } from "../../infra/plan/report";
import {
  devStack,
  expectAt,
  FLIP_READY,
  STAGED_GREEN as STAGED,
  T,
  VARIANT_CERTIFICATE as CERT,
} from "./support/stacks";

const arnOf = (ev: StackEvaluation, color: string): unknown =>
  ev.one(T.targetGroup, `serving-${color}`).state.arn;
const weighted = (ev: StackEvaluation): RecordedResource => ev.one(T.rule, "serving-traffic-weighted");
const preview = (ev: StackEvaluation): RecordedResource => ev.one(T.rule, "serving-traffic-preview");
/** The stack's generated preview token, as the random provider reported it. */
const token = (ev: StackEvaluation): string =>
  ev.one("random:index/randomPassword:RandomPassword", "preview-access-token").state.result as string;
function weightsOf(ev: StackEvaluation): Record<string, unknown> {
  const groups = valueAt(weighted(ev).inputs, "actions[0].forward.targetGroups") as {
    arn: string;
    weight: number;
  }[];
  const byArn = Object.fromEntries(groups.map((g) => [g.arn, g.weight]));
  return { blue: byArn[String(arnOf(ev, "blue"))], green: byArn[String(arnOf(ev, "green"))] };
}
/** Asserts that `r` directly waits for `dep` (or, with `expected` false, does not wait for it at all). */
function expectDependency(
  ev: StackEvaluation,
  r: RecordedResource,
  dep: RecordedResource,
  expected = true,
): void {
  const actual = expected ? r.dependsOn.includes(dep.urn) : ev.dependsOn(r, dep);
  assert.equal(
    actual,
    expected,
    `${r.type} ${r.name} ${expected ? "must" : "must not"} depend on ${dep.type} ${dep.name}`,
  );
}

describe("trafficRouter and loadBalancer under mocks", () => {
  let dev: StackEvaluation;
  let canary: StackEvaluation;
  let flipped: StackEvaluation;
  let https: StackEvaluation;
  before(async () => {
    dev = await devStack();
    canary = await evaluateStack("dev", { ...STAGED, canaryPercent: "10" });
    flipped = await evaluateStack("dev", { ...FLIP_READY, activeColor: "green" });
    https = await evaluateStack("dev", {
      certificateArn: CERT,
      allowedIngressCidrs: ["203.0.113.0/24", "198.51.100.0/24"],
    });
  });

  describe("weights", () => {
    it("dev: blue 100, green 0, both target groups always listed, blue first", () => {
      const groups = valueAt(weighted(dev).inputs, "actions[0].forward.targetGroups");
      assert.deepEqual(groups, [
        { arn: arnOf(dev, "blue"), weight: 100 },
        { arn: arnOf(dev, "green"), weight: 0 },
      ]);
    });

    it("canary 10%: blue 90, green 10", () => assert.deepEqual(weightsOf(canary), { blue: 90, green: 10 }));

    it("flip to green: blue 0, green 100", () =>
      assert.deepEqual(weightsOf(flipped), { blue: 0, green: 100 }));

    it("the weighted rule matches every path and comes after the header rules", () => {
      const rule = weighted(dev);
      expectAt(rule, "conditions", [{ pathPattern: { values: ["/*"] } }]);
      expectAt(rule, "priority", 1000);
      expectAt(rule, "listenerArn", dev.one(T.listener, "serving-http").state.arn);
    });

    it("the outputs report the routing", () => {
      const pick = (ev: StackEvaluation) => {
        const { activeColor, standbyColor, weights, liveModelVersion, standbyModelVersion } = ev.outputs;
        return { activeColor, standbyColor, weights, liveModelVersion, standbyModelVersion };
      };
      assert.deepEqual(pick(dev), {
        activeColor: "blue",
        standbyColor: "green",
        weights: { blue: 100, green: 0 },
        liveModelVersion: "1.0.0",
        standbyModelVersion: "",
      });
      assert.deepEqual(pick(flipped), {
        activeColor: "green",
        standbyColor: "blue",
        weights: { blue: 0, green: 100 },
        liveModelVersion: "1.1.0",
        standbyModelVersion: "1.0.0",
      });
    });

    it("rollbackCommand: after the flip it sends 100% back to blue; during the canary it stops the canary", () => {
      assert.equal(
        flipped.outputs.rollbackCommand,
        "pulumi config set activeColor blue --stack dev && pulumi config set canaryPercent 0 --stack dev && " +
          "pulumi up --stack dev",
      );
      assert.equal(
        canary.outputs.rollbackCommand,
        "pulumi config set canaryPercent 0 --stack dev && pulumi up --stack dev",
      );
    });

    it("url and previewUrl are the ALB's address; the preview header is named", () => {
      const dns = dev.one(T.alb, "serving").state.dnsName;
      assert.equal(dev.outputs.albDnsName, dns);
      assert.equal(dev.outputs.url, `http://${dns}`);
      assert.equal(dev.outputs.previewUrl, `http://${dns}`);
      assert.equal(dev.outputs.previewHeader, "X-Serving-Color: preview");
      assert.equal(https.outputs.url, `https://${https.one(T.alb, "serving").state.dnsName}`);
    });
  });

  describe("preview route", () => {
    it("X-Serving-Color: preview forwards to the standby (green) target group only", () => {
      const rule = preview(dev);
      expectAt(rule, "conditions", [
        { httpHeader: { httpHeaderName: "X-Serving-Color", values: ["preview"] } },
        { httpHeader: { httpHeaderName: "X-Serving-Preview-Token", values: [token(dev)] } },
      ]);
      expectAt(rule, "actions", [{ type: "forward", targetGroupArn: arnOf(dev, "green") }]);
      expectAt(rule, "priority", 10);
    });

    it("after a flip the preview route follows the new standby (blue) only", () => {
      expectAt(preview(flipped), "actions", [{ type: "forward", targetGroupArn: arnOf(flipped, "blue") }]);
    });

    it("the preview route waits for the standby's binding and Deployment", () => {
      for (const [ev, standby] of [
        [dev, "green"],
        [flipped, "blue"],
      ] as const) {
        expectDependency(ev, preview(ev), ev.one(T.binding, `serving-${standby}-tgb`));
        expectDependency(ev, preview(ev), ev.one(T.deployment, `serving-${standby}`));
      }
    });
  });

  describe("ordering: no weight moves before the receiving color is rolled out", () => {
    const cases: [string, () => StackEvaluation, string[], string[]][] = [
      ["dev (blue 100%)", () => dev, ["blue"], ["green"]],
      ["canary (blue 90%, green 10%)", () => canary, ["blue", "green"], []],
      ["flip (green 100%)", () => flipped, ["green"], ["blue"]],
    ];
    for (const [label, ev, receiving, idle] of cases) {
      it(`${label}: the weighted rule depends on the binding and Deployment of ${receiving.join(" and ")}`, () => {
        const e = ev();
        for (const color of receiving) {
          expectDependency(e, weighted(e), e.one(T.binding, `serving-${color}-tgb`));
          expectDependency(e, weighted(e), e.one(T.deployment, `serving-${color}`));
        }
        for (const color of idle) {
          expectDependency(e, weighted(e), e.one(T.deployment, `serving-${color}`), false);
        }
      });
    }

    it("receivingColors lists the colors with weight > 0", () => {
      assert.deepEqual(receivingColors({ blue: 100, green: 0 }), ["blue"]);
      assert.deepEqual(receivingColors({ blue: 90, green: 10 }), ["blue", "green"]);
      assert.deepEqual(receivingColors({ blue: 0, green: 100 }), ["green"]);
    });

    it("the listener and the per-color header rules do not wait for any Deployment (they let pods become Ready)", () => {
      const deployments = dev.all(T.deployment);
      for (const r of [
        dev.one(T.listener, "serving-http"),
        dev.one(T.rule, "serving-route-blue"),
        dev.one(T.rule, "serving-route-green"),
      ]) {
        for (const d of deployments) expectDependency(dev, r, d, false);
      }
    });
  });

  describe("preview and color-pin routes are restricted (issue 14)", () => {
    const headerRules = (ev: StackEvaluation): RecordedResource[] => [
      preview(ev),
      ev.one(T.rule, "serving-route-blue"),
      ev.one(T.rule, "serving-route-green"),
    ];

    it("the token is a stack-generated random password: alphanumeric, 40 characters", () => {
      const password = dev.one("random:index/randomPassword:RandomPassword", "preview-access-token");
      assert.deepEqual(
        [
          password.inputs.length,
          password.inputs.special,
          password.inputs.upper,
          password.inputs.lower,
          password.inputs.numeric,
        ],
        [40, false, true, true, true],
      );
      assert.match(token(dev), /^[A-Za-z0-9]{40}$/);
    });

    it("every header rule needs the token, and its conditions are secret inputs (encrypted in state)", () => {
      for (const rule of headerRules(dev)) {
        const conditions = rule.inputs.conditions as Array<Record<string, unknown>>;
        assert.deepEqual(
          conditions[1],
          {
            httpHeader: { httpHeaderName: "X-Serving-Preview-Token", values: [token(dev)] },
          },
          rule.name,
        );
        assert.ok(rule.secretInputs.includes("conditions"), `${rule.name}: conditions must be secret`);
      }
      // The weighted rule carries no secret.
      assert.deepEqual(weighted(dev).secretInputs, []);
    });

    it("the token is exported as a secret output only, with the header to send it in", () => {
      assert.equal(dev.outputs.previewTokenHeader, "X-Serving-Preview-Token");
      assert.equal(dev.outputs.previewToken, token(dev));
      const shown = diffOutputs({ previewToken: "a" }, { previewToken: "b" });
      assert.deepEqual(shown, [{ path: "previewToken", kind: "changed", old: "[secret]", new: "[secret]" }]);
    });

    it("previewAllowedCidrs adds a source-IP condition to every header rule, not to the weighted one", async () => {
      const cidrs = ["203.0.113.0/24", "198.51.100.7/32"];
      const restricted = await evaluateStack("dev", { previewAllowedCidrs: cidrs });
      for (const rule of headerRules(restricted)) {
        const conditions = rule.inputs.conditions as Array<Record<string, unknown>>;
        assert.deepEqual(conditions[2], { sourceIp: { values: cidrs } }, rule.name);
        assert.equal(conditions.length, 3, rule.name);
      }
      expectAt(weighted(restricted), "conditions", [{ pathPattern: { values: ["/*"] } }]);
    });
  });

  describe("per-color header rules keep both target groups in use", () => {
    for (const color of ["blue", "green"]) {
      it(`X-Serving-Color: ${color} forwards to the ${color} target group`, () => {
        const rule = dev.one(T.rule, `serving-route-${color}`);
        expectAt(rule, "conditions", [
          { httpHeader: { httpHeaderName: "X-Serving-Color", values: [color] } },
          { httpHeader: { httpHeaderName: "X-Serving-Preview-Token", values: [token(dev)] } },
        ]);
        expectAt(rule, "actions", [{ type: "forward", targetGroupArn: arnOf(dev, color) }]);
      });
    }
  });

  describe("guards refuse traffic to a color that cannot serve", () => {
    it("activeColor green while green has no replicas and no model version fails before any resource", async () => {
      await assert.rejects(
        evaluateStack("dev", { activeColor: "green" }),
        (e: unknown) =>
          e instanceof Error &&
          e.name === "TrafficError" &&
          e.message.startsWith('2 problems:\n- activeColor is "green" but green.replicas is 0') &&
          e.message.includes('- activeColor is "green" but green.modelVersion is not set'),
      );
    });

    it("canaryPercent 10 to a green without replicas fails naming green.replicas", async () => {
      await assert.rejects(
        evaluateStack("dev", { "green.modelVersion": "1.1.0", canaryPercent: "10" }),
        (e: unknown) =>
          e instanceof Error &&
          e.message ===
            "canaryPercent is 10 but the standby color green has green.replicas 0: canary traffic would have no " +
              "pods to reach. Fix: `pulumi config set --path green.replicas 1` and `pulumi up` first, or " +
              "`pulumi config set canaryPercent 0`.",
      );
    });

    it("a deregistration delay shorter than preStop + drain + request timeout fails naming the keys", async () => {
      await assert.rejects(
        evaluateStack("dev", { deregistrationDelaySeconds: "20" }),
        /^TrafficError: deregistrationDelaySeconds \(20\) must be at least preStopDelaySeconds \(15\) \+ drainDelaySeconds \(5\)/,
      );
    });
  });

  describe("listeners", () => {
    it("without a certificate: one HTTP:80 listener whose default answers 503 until a color is routed", () => {
      assert.deepEqual(
        dev.all(T.listener).map((l) => [l.name, l.inputs.port, l.inputs.protocol]),
        [["serving-http", 80, "HTTP"]],
      );
      expectAt(dev.one(T.listener, "serving-http"), "defaultActions", [
        {
          type: "fixed-response",
          fixedResponse: {
            contentType: "application/json",
            statusCode: "503",
            messageBody: '{"error":"no serving color is routed yet"}',
          },
        },
      ]);
    });

    it("with a certificate: HTTPS:443 with the TLS 1.3 policy serves, HTTP:80 redirects to it", () => {
      const tls = https.one(T.listener, "serving-https");
      expectAt(tls, "port", 443);
      expectAt(tls, "protocol", "HTTPS");
      expectAt(tls, "certificateArn", CERT);
      expectAt(tls, "sslPolicy", "ELBSecurityPolicy-TLS13-1-2-2021-06");
      expectAt(https.one(T.listener, "serving-http"), "defaultActions", [
        { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
      ]);
      for (const rule of https.all(T.rule)) expectAt(rule, "listenerArn", tls.state.arn);
    });
  });

  describe("load balancer, target groups and security groups", () => {
    it("the ALB is internet-facing in the public subnets, drops invalid headers, behind its own SG", () => {
      const alb = dev.one(T.alb, "serving");
      expectAt(alb, "loadBalancerType", "application");
      expectAt(alb, "internal", false);
      expectAt(alb, "dropInvalidHeaderFields", true);
      expectAt(alb, "subnets", valueAt(dev.one("awsx:ec2:Vpc", "network-vpc").state, "publicSubnetIds"));
      expectAt(alb, "securityGroups", [dev.one(T.sg, "serving-alb").id]);
    });

    for (const color of ["blue", "green"]) {
      it(`the ${color} target group: HTTP:8080, target type ip, health check GET /ready, deregistration 30 s`, () => {
        const tg = dev.one(T.targetGroup, `serving-${color}`);
        expectAt(tg, "protocol", "HTTP");
        expectAt(tg, "port", 8080);
        expectAt(tg, "targetType", "ip");
        expectAt(tg, "deregistrationDelay", 30);
        expectAt(tg, "healthCheck", {
          enabled: true,
          protocol: "HTTP",
          port: "traffic-port",
          path: "/ready",
          matcher: "200",
          interval: 10,
          timeout: 5,
          healthyThreshold: 2,
          unhealthyThreshold: 2,
        });
      });
    }

    it("the ALB SG admits only the listener ports, only from allowedIngressCidrs", () => {
      const rules = (ev: StackEvaluation) => {
        const sgId = ev.one(T.sg, "serving-alb").id;
        return ev
          .all(T.ingress)
          .filter((r) => r.inputs.securityGroupId === sgId)
          .map((r) => [r.inputs.fromPort, r.inputs.toPort, r.inputs.ipProtocol, r.inputs.cidrIpv4])
          .sort();
      };
      assert.deepEqual(rules(dev), [[80, 80, "tcp", "0.0.0.0/0"]]);
      assert.deepEqual(rules(https), [
        [443, 443, "tcp", "198.51.100.0/24"],
        [443, 443, "tcp", "203.0.113.0/24"],
        [80, 80, "tcp", "198.51.100.0/24"],
        [80, 80, "tcp", "203.0.113.0/24"],
      ]);
    });

    it("the ALB SG's only egress is the serving port to the cluster SG (the pods)", () => {
      const sgId = dev.one(T.sg, "serving-alb").id;
      const clusterSg = valueAt(dev.one(T.cluster, "cluster-eks").state, "vpcConfig.clusterSecurityGroupId");
      const egress = dev.all(T.egress).filter((r) => r.inputs.securityGroupId === sgId);
      assert.equal(egress.length, 1, "exactly one egress rule on the ALB SG");
      expectAt(egress[0], "ipProtocol", "tcp");
      expectAt(egress[0], "fromPort", 8080);
      expectAt(egress[0], "toPort", 8080);
      expectAt(egress[0], "referencedSecurityGroupId", clusterSg);
      expectAt(egress[0], "cidrIpv4", undefined);
      expectAt(dev.one(T.sg, "serving-alb"), "egress", undefined);
      expectAt(dev.one(T.sg, "serving-alb"), "ingress", undefined);
    });

    it("the cluster SG admits the ALB SG on the serving port only", () => {
      const sgId = dev.one(T.sg, "serving-alb").id;
      const clusterSg = valueAt(dev.one(T.cluster, "cluster-eks").state, "vpcConfig.clusterSecurityGroupId");
      const rule = dev.one(T.ingress, "serving-pods-from-alb");
      expectAt(rule, "securityGroupId", clusterSg);
      expectAt(rule, "referencedSecurityGroupId", sgId);
      expectAt(rule, "ipProtocol", "tcp");
      expectAt(rule, "fromPort", 8080);
      expectAt(rule, "toPort", 8080);
    });
  });
});

describe("loadBalancer: argument checks (no mocks)", () => {
  const ARGS = { vpcId: "vpc-1", publicSubnetIds: ["a", "b"], clusterSecurityGroupId: "sg-1" };

  it("defaults are valid", () => assert.deepEqual(loadBalancerArgProblems(ARGS), []));

  it("a malformed CIDR is refused naming allowedIngressCidrs and the entry", () => {
    assert.deepEqual(
      loadBalancerArgProblems({ ...ARGS, allowedIngressCidrs: ["10.0.0.0/8", "10.0.0.300/8"] }),
      ['allowedIngressCidrs entries must be CIDRs such as 203.0.113.0/24, got "10.0.0.300/8"'],
    );
  });

  it("a certificate that is not an ACM ARN is refused naming certificateArn", () => {
    assert.deepEqual(
      loadBalancerArgProblems({ ...ARGS, certificateArn: "arn:aws:iam::123456789012:server-certificate/x" }),
      [
        'certificateArn must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>), got "arn:aws:iam::123456789012:server-certificate/x"',
      ],
    );
  });

  it("a deregistration delay beyond the ALB's 3600 s is refused", () => {
    assert.deepEqual(loadBalancerArgProblems({ ...ARGS, deregistrationDelaySeconds: 4000 }), [
      "deregistrationDelaySeconds must be an integer from 0 to 3600, got 4000",
    ]);
  });
});
