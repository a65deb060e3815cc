import assert from "node:assert/strict";
import { parseRolloutArgs, RolloutUsageError, targetFromFlags } from "../../../infra/rollout/args";

describe("npm run rollout: command line", () => {
  it("defaults to the dev stack, no dry run, text", () => {
    assert.deepEqual(parseRolloutArgs([]), {
      help: false,
      stack: "dev",
      local: false,
      dryRun: false,
      json: false,
    });
  });

  it("parses the local flags", () => {
    assert.deepEqual(
      parseRolloutArgs([
        "--local",
        "--to",
        "green",
        "--canary",
        "10",
        "--bake-seconds",
        "2",
        "--min-requests",
        "5",
        "--json",
      ]),
      {
        help: false,
        stack: "dev",
        local: true,
        dryRun: false,
        json: true,
        toColor: "green",
        canary: 10,
        bakeSeconds: 2,
        minRequests: 5,
      },
    );
  });

  const refused: [string[], RegExp][] = [
    [["--local", "--stack", "prod"], /--local and --stack exclude each other/],
    [["--to", "green"], /--to is for --local only/],
    [["--stack", "prod", "--canary", "10"], /--canary is for --local only/],
    [["--local", "--to", "red"], /--to must be blue or green, got "red"/],
    [["--local", "--canary", "101"], /--canary must be an integer from 0 to 100, got "101"/],
    [["--local", "--bake-seconds", "0"], /--bake-seconds must be an integer from 1 to 86400, got "0"/],
    [["--bogus"], /Unknown option '--bogus'/],
  ];
  for (const [argv, message] of refused) {
    it(`refuses ${argv.join(" ")}`, () =>
      assert.throws(
        () => parseRolloutArgs(argv),
        (e: unknown) => e instanceof RolloutUsageError && message.test(e.message),
      ));
  }

  const blueLive = { activeColor: "blue" as const, canaryPercent: 0 };
  const targets: [string, "blue" | "green" | undefined, number | undefined, unknown][] = [
    ["no flag: the stack file decides", undefined, undefined, undefined],
    ["--to green: green takes everything", "green", undefined, { activeColor: "green", canaryPercent: 0 }],
    [
      "--to green --canary 10: green is the 10% canary",
      "green",
      10,
      { activeColor: "blue", canaryPercent: 10 },
    ],
    ["--canary 25: the standby takes 25%", undefined, 25, { activeColor: "blue", canaryPercent: 25 }],
    [
      "--to blue --canary 5 with blue live: green becomes live, blue 5%",
      "blue",
      5,
      { activeColor: "green", canaryPercent: 5 },
    ],
  ];
  for (const [name, to, canary, expected] of targets) {
    it(`target: ${name}`, () => assert.deepEqual(targetFromFlags(blueLive, to, canary), expected));
  }
});
