import assert from "node:assert/strict";
import {
  assertDrainTimings,
  assertTrafficAllowed,
  compareVersions,
  drainViolations,
  minDeregistrationDelaySeconds,
  otherColor,
  planTraffic,
  rollbackCommand,
  shutdownTimeoutSeconds,
  standbyColor,
  terminationGracePeriodSeconds,
  TrafficConfig,
  TrafficError,
  trafficViolations,
  weights,
  type Color,
} from "../../infra/traffic";

/** The shipped defaults: blue live with v1, green empty. */
const BASE: TrafficConfig = {
  activeColor: "blue",
  canaryPercent: 0,
  blue: { modelVersion: "1.0.0", replicas: 2 },
  green: { modelVersion: "", replicas: 0 },
};
/** Green staged with v1.1.0 next to blue. */
const STAGED: TrafficConfig = { ...BASE, green: { modelVersion: "1.1.0", replicas: 2 } };
const TIMINGS = { preStopDelaySeconds: 15, drainDelaySeconds: 5, deregistrationDelaySeconds: 30 };
/** Blue live with `blue`, green warm with `green`, no canary. */
const blueLive = (blue: string, green: string): TrafficConfig => ({
  activeColor: "blue",
  canaryPercent: 0,
  blue: { modelVersion: blue, replicas: 2 },
  green: { modelVersion: green, replicas: 1 },
});
/** rollbackCommand's flip from blue back to green on stack dev. */
const FLIP_TO_GREEN =
  "pulumi config set activeColor green --stack dev && pulumi config set canaryPercent 0 --stack dev && " +
  "pulumi up --stack dev";
/** rollbackCommand's answer when green is newer than live blue: nothing to roll back. */
const greenStaged = (blue: string, green: string): string =>
  `# nothing to roll back: blue (${blue}) serves 100% and green (${green}, newer) is staged, not previous. ` +
  `If green was live before, run: ${FLIP_TO_GREEN}`;

describe("traffic: weights(activeColor, canaryPercent)", () => {
  const table: [Color, number, { blue: number; green: number }][] = [
    ["blue", 0, { blue: 100, green: 0 }],
    ["blue", 1, { blue: 99, green: 1 }],
    ["blue", 10, { blue: 90, green: 10 }],
    ["blue", 50, { blue: 50, green: 50 }],
    ["blue", 100, { blue: 0, green: 100 }],
    ["green", 0, { blue: 0, green: 100 }],
    ["green", 10, { blue: 10, green: 90 }],
    ["green", 25, { blue: 25, green: 75 }],
    ["green", 100, { blue: 100, green: 0 }],
  ];
  for (const [active, canary, expected] of table) {
    it(`${active} active, canary ${canary}% -> blue ${expected.blue}, green ${expected.green}`, () => {
      assert.deepEqual({ ...weights(active, canary) }, expected);
    });
  }

  for (const bad of [-1, 101, 10.5, Number.NaN]) {
    it(`rejects canaryPercent ${bad} naming the key and the range`, () => {
      assert.throws(
        () => weights("blue", bad),
        (e: unknown) =>
          e instanceof TrafficError &&
          e.message === `canaryPercent must be an integer from 0 to 100, got ${JSON.stringify(bad)}`,
      );
    });
  }

  it("rejects an unknown activeColor naming the key", () => {
    assert.throws(
      () => weights("red" as Color, 0),
      /^TrafficError: activeColor must be "blue" or "green", got "red"$/,
    );
  });

  it("standby is the other color", () => {
    assert.equal(standbyColor("blue"), "green");
    assert.equal(standbyColor("green"), "blue");
    assert.equal(otherColor("green"), "blue");
  });
});

describe("traffic: guards", () => {
  it("the shipped defaults (blue live, green empty) pass", () => {
    assert.deepEqual(trafficViolations(BASE), []);
  });

  it("blue live with green staged and a 10% canary passes", () => {
    assert.deepEqual(trafficViolations({ ...STAGED, canaryPercent: 10 }), []);
  });

  it("activeColor green with green.replicas 0 throws naming green.replicas and the fix", () => {
    const cfg: TrafficConfig = {
      ...BASE,
      activeColor: "green",
      green: { modelVersion: "1.1.0", replicas: 0 },
    };
    assert.throws(
      () => assertTrafficAllowed(cfg),
      (e: unknown) =>
        e instanceof TrafficError &&
        e.message ===
          'activeColor is "green" but green.replicas is 0: the live color needs pods. ' +
            "Fix: `pulumi config set --path green.replicas 1` (and a model version), " +
            "or `pulumi config set activeColor blue`.",
    );
  });

  it("activeColor green without green.modelVersion throws naming green.modelVersion", () => {
    const cfg: TrafficConfig = { ...BASE, activeColor: "green", green: { modelVersion: "", replicas: 2 } };
    assert.deepEqual(trafficViolations(cfg), [
      'activeColor is "green" but green.modelVersion is not set: the live color must serve a model. ' +
        "Fix: `pulumi config set --path green.modelVersion <version>` (a version pushed with " +
        "`npm run model -- push`), or `pulumi config set activeColor blue`.",
      "green.replicas is 2 but green.modelVersion is not set: its pods would have no model to load. " +
        "Fix: `pulumi config set --path green.modelVersion <version>`, or " +
        "`pulumi config set --path green.replicas 0`.",
    ]);
  });

  it("activeColor green with neither replicas nor version reports both, in one error", () => {
    const cfg: TrafficConfig = { ...BASE, activeColor: "green" };
    assert.throws(
      () => assertTrafficAllowed(cfg),
      (e: unknown) =>
        e instanceof TrafficError &&
        e.message.startsWith('2 problems:\n- activeColor is "green" but green.replicas is 0') &&
        e.message.includes('\n- activeColor is "green" but green.modelVersion is not set'),
    );
  });

  it("canaryPercent > 0 to a standby with 0 replicas throws naming the standby's replicas", () => {
    const cfg: TrafficConfig = { ...BASE, canaryPercent: 10, green: { modelVersion: "1.1.0", replicas: 0 } };
    assert.deepEqual(trafficViolations(cfg), [
      "canaryPercent is 10 but the standby color green has green.replicas 0: canary traffic would have " +
        "no pods to reach. Fix: `pulumi config set --path green.replicas 1` and `pulumi up` first, or " +
        "`pulumi config set canaryPercent 0`.",
    ]);
  });

  it("canaryPercent > 0 to a standby without a model version throws naming the standby's modelVersion", () => {
    const cfg: TrafficConfig = {
      ...BASE,
      activeColor: "green",
      canaryPercent: 5,
      green: { modelVersion: "1.1.0", replicas: 2 },
      blue: { modelVersion: "", replicas: 0 },
    };
    assert.deepEqual(trafficViolations(cfg), [
      "canaryPercent is 5 but the standby color blue has blue.replicas 0: canary traffic would have no " +
        "pods to reach. Fix: `pulumi config set --path blue.replicas 1` and `pulumi up` first, or " +
        "`pulumi config set canaryPercent 0`.",
      "canaryPercent is 5 but the standby color blue has no blue.modelVersion: canary traffic needs a " +
        "model to reach. Fix: `pulumi config set --path blue.modelVersion <version>` and `pulumi up` " +
        "first, or `pulumi config set canaryPercent 0`.",
    ]);
  });

  it("a standby with replicas but no model version is refused even without traffic", () => {
    const cfg: TrafficConfig = { ...BASE, green: { replicas: 1 } };
    assert.deepEqual(trafficViolations(cfg), [
      "green.replicas is 1 but green.modelVersion is not set: its pods would have no model to load. " +
        "Fix: `pulumi config set --path green.modelVersion <version>`, or " +
        "`pulumi config set --path green.replicas 0`.",
    ]);
  });

  it("canary 0 to an empty standby is allowed (weight 0 sends it nothing)", () => {
    assert.deepEqual(trafficViolations({ ...BASE, canaryPercent: 0 }), []);
  });
});

describe("traffic: drain timings (preStop, server drain, ALB deregistration)", () => {
  it("the defaults agree: 15 s preStop + 5 s drain + 10 s request timeout = 30 s deregistration", () => {
    assert.equal(minDeregistrationDelaySeconds(TIMINGS), 30);
    assert.deepEqual(drainViolations(TIMINGS), []);
  });

  it("server shutdown timeout = drain + request timeout + 5 = 20 s", () => {
    assert.equal(shutdownTimeoutSeconds(TIMINGS), 20);
    assert.equal(shutdownTimeoutSeconds({ drainDelaySeconds: 5, requestTimeoutMs: 2500 }), 13);
  });

  it("termination grace = preStop + shutdown timeout + 5 = 40 s", () => {
    assert.equal(terminationGracePeriodSeconds(TIMINGS), 40);
    assert.equal(terminationGracePeriodSeconds({ ...TIMINGS, preStopDelaySeconds: 20 }), 45);
  });

  it("a deregistration delay shorter than preStop + drain + request timeout is refused with the fix", () => {
    assert.throws(
      () => assertDrainTimings({ ...TIMINGS, deregistrationDelaySeconds: 25 }),
      (e: unknown) =>
        e instanceof TrafficError &&
        e.message ===
          "deregistrationDelaySeconds (25) must be at least preStopDelaySeconds (15) + drainDelaySeconds (5) " +
            "+ the server's request timeout (10) = 30, so the ALB keeps a draining pod's connections open " +
            "until its last request has finished. Fix: `pulumi config set deregistrationDelaySeconds 30`, " +
            "or lower preStopDelaySeconds/drainDelaySeconds.",
    );
  });

  it("raising preStop raises the required deregistration delay", () => {
    assert.equal(drainViolations({ ...TIMINGS, preStopDelaySeconds: 20 }).length, 1);
    assert.deepEqual(
      drainViolations({ ...TIMINGS, preStopDelaySeconds: 20, deregistrationDelaySeconds: 35 }),
      [],
    );
  });

  it("a preStop delay of exactly 5 s is accepted", () => {
    assert.deepEqual(
      drainViolations({ preStopDelaySeconds: 5, drainDelaySeconds: 5, deregistrationDelaySeconds: 20 }),
      [],
    );
  });

  it("a preStop delay below 5 s is refused naming the key", () => {
    assert.deepEqual(drainViolations({ ...TIMINGS, preStopDelaySeconds: 2 }), [
      "preStopDelaySeconds must be at least 5 (the time the load balancer controller needs to deregister " +
        "a terminating pod before it stops serving), got 2",
    ]);
  });
});

describe("traffic: rollbackCommand", () => {
  const table: [string, TrafficConfig, string][] = [
    [
      "canary running: stop it",
      { ...STAGED, canaryPercent: 10 },
      "pulumi config set canaryPercent 0 --stack dev && pulumi up --stack dev",
    ],
    [
      "canary at 100%: back to the active color",
      { ...STAGED, canaryPercent: 100 },
      "pulumi config set canaryPercent 0 --stack dev && pulumi up --stack dev",
    ],
    [
      "just flipped to green (blue still warm with the older version): back to blue",
      { ...STAGED, activeColor: "green" },
      "pulumi config set activeColor blue --stack dev && pulumi config set canaryPercent 0 --stack dev && " +
        "pulumi up --stack dev",
    ],
    [
      "flipped to blue (green warm with the older version): back to green",
      blueLive("1.2.0", "1.1.0"),
      FLIP_TO_GREEN,
    ],
    [
      "same version on both (an image-only change): back to the standby",
      { ...STAGED, activeColor: "green", blue: { modelVersion: "1.1.0", replicas: 2 } },
      "pulumi config set activeColor blue --stack dev && pulumi config set canaryPercent 0 --stack dev && " +
        "pulumi up --stack dev",
    ],
    [
      "standby not warm: nothing to roll back to",
      BASE,
      '# nothing to roll back to: blue serves 100% and the standby green is not warm (green.replicas 0, green.modelVersion "")',
    ],
    [
      "standby scaled to 0 with its version kept (the usual old color): nothing to roll back to",
      { ...STAGED, activeColor: "green", blue: { modelVersion: "1.0.0", replicas: 0 } },
      '# nothing to roll back to: green serves 100% and the standby blue is not warm (blue.replicas 0, blue.modelVersion "1.0.0")',
    ],
    [
      "standby with pods but no version: nothing to roll back to",
      { ...BASE, green: { replicas: 2 } },
      '# nothing to roll back to: blue serves 100% and the standby green is not warm (green.replicas 2, green.modelVersion "")',
    ],
    ["standby one patch older: back to it", blueLive("1.0.1", "1.0.0"), FLIP_TO_GREEN],
    [
      "standby one patch newer: staged, not previous",
      blueLive("1.0.0", "1.0.1"),
      greenStaged("1.0.0", "1.0.1"),
    ],
    [
      "live is the release of the standby's pre-release: back to the pre-release",
      blueLive("1.1.0", "1.1.0-rc.1"),
      FLIP_TO_GREEN,
    ],
    [
      "standby is the release of the live pre-release: staged, not previous",
      blueLive("1.1.0-rc.1", "1.1.0"),
      greenStaged("1.1.0-rc.1", "1.1.0"),
    ],
    [
      "versions that are not semantic versions cannot be ordered: back to the standby",
      blueLive("1.0.0", "2.0.0.1"),
      FLIP_TO_GREEN,
    ],
    [
      "standby newer (staged, or the version just rolled back): nothing to roll back, flip named",
      STAGED,
      greenStaged("1.0.0", "1.1.0"),
    ],
  ];
  for (const [name, cfg, expected] of table) {
    it(name, () => assert.equal(rollbackCommand(cfg, { stack: "dev" }), expected));
  }

  it("without a stack name the commands carry no --stack flag", () => {
    assert.equal(
      rollbackCommand({ ...STAGED, activeColor: "green" }),
      "pulumi config set activeColor blue && pulumi config set canaryPercent 0 && pulumi up",
    );
  });

  it("quotes a stack name that is not a plain word", () => {
    assert.equal(
      rollbackCommand({ ...STAGED, canaryPercent: 5 }, { stack: "my stack" }),
      "pulumi config set canaryPercent 0 --stack 'my stack' && pulumi up --stack 'my stack'",
    );
  });

  it("quotes a stack name containing a single quote so the shell reads it back unchanged", () => {
    assert.equal(
      rollbackCommand({ ...STAGED, canaryPercent: 5 }, { stack: "it's" }),
      "pulumi config set canaryPercent 0 --stack 'it'\\''s' && pulumi up --stack 'it'\\''s'",
    );
  });

  it("leaves an org/project/stack path unquoted", () => {
    assert.equal(
      rollbackCommand({ ...STAGED, canaryPercent: 5 }, { stack: "acme/onnx-eks-serving/prod.eu-1_a" }),
      "pulumi config set canaryPercent 0 --stack acme/onnx-eks-serving/prod.eu-1_a && " +
        "pulumi up --stack acme/onnx-eks-serving/prod.eu-1_a",
    );
  });
});

describe("traffic: compareVersions", () => {
  const table: [string, string, number | undefined][] = [
    ["1.0.0", "1.0.0", 0],
    ["1.1.0", "1.0.0", 1],
    ["1.0.0", "1.1.0", -1],
    ["1.10.0", "1.9.0", 1],
    ["2.0.0", "1.99.99", 1],
    ["1.0.0-rc.1", "1.0.0", -1],
    ["1.0.0-rc.2", "1.0.0-rc.10", -1],
    ["1.0.0-alpha", "1.0.0-alpha.1", -1],
    ["1.0.0-beta", "1.0.0-alpha", 1],
    ["1.0.1", "1.0.0", 1],
    ["1.0.0", "1.0.1", -1],
    ["10.0.0", "9.0.0", 1],
    ["1.0.0", "1.0.0-rc.1", 1],
    ["1.0.0-rc.1", "1.0.0-rc.1", 0],
    ["1.0.0-1", "1.0.0-alpha", -1],
    ["1.0.0-alpha", "1.0.0-1", 1],
    // Numeric identifiers sort below alphanumeric ones even where ASCII would not ("-" < "1").
    ["1.0.0-1", "1.0.0--x", -1],
    ["1.0.0-10", "1.0.0-11", -1],
    ["1.0.0-1.2", "1.0.0-1.3", -1],
    ["1.0.0-x1", "1.0.0-2", 1],
    ["1.0.0-1x", "1.0.0-2", 1],
    ["1.0.0-2", "1.0.0-x1", -1],
    ["1.0.0-2", "1.0.0-1x", -1],
    ["1.0.0-11", "1.0.0-10", 1],
    ["latest", "1.0.0", undefined],
    ["1.0.0", "latest", undefined],
    ["v1.0.0", "1.0.0", undefined],
    ["1.0.0", "1.0.0.1", undefined],
    ["1.0.0-", "1.0.0", undefined],
  ];
  for (const [a, b, expected] of table) {
    it(`${a} vs ${b} -> ${expected}`, () => assert.equal(compareVersions(a, b), expected));
  }

  // The precedence chain of semver.org section 11, compared every way round.
  const chain = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.1.0",
    "2.0.0",
  ];
  it("orders the semver.org precedence chain, every pair both ways", () => {
    const wrong: string[] = [];
    chain.forEach((a, i) =>
      chain.forEach((b, j) => {
        const got = compareVersions(a, b);
        if (got !== Math.sign(i - j)) wrong.push(`${a} vs ${b}: ${got}, expected ${Math.sign(i - j)}`);
      }),
    );
    assert.deepEqual(wrong, []);
    assert.deepEqual(
      [...chain].reverse().sort((a, b) => compareVersions(a, b)!),
      chain,
    );
  });
});

describe("traffic: planTraffic", () => {
  it("derives every output of a flip to green", () => {
    assert.deepEqual(
      { ...planTraffic({ ...STAGED, ...TIMINGS, activeColor: "green" }, { stack: "dev" }) },
      {
        activeColor: "green",
        standbyColor: "blue",
        weights: { blue: 0, green: 100 },
        liveModelVersion: "1.1.0",
        standbyModelVersion: "1.0.0",
        rollbackCommand:
          "pulumi config set activeColor blue --stack dev && pulumi config set canaryPercent 0 --stack dev && " +
          "pulumi up --stack dev",
      },
    );
  });

  it("reports traffic and timing problems together", () => {
    assert.throws(
      () => planTraffic({ ...BASE, ...TIMINGS, activeColor: "green", deregistrationDelaySeconds: 10 }),
      (e: unknown) =>
        e instanceof TrafficError &&
        e.message.startsWith("3 problems:\n") &&
        e.message.includes("green.replicas is 0") &&
        e.message.includes("green.modelVersion is not set") &&
        e.message.includes("deregistrationDelaySeconds (10)"),
    );
  });
});
