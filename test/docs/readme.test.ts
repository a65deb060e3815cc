import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  findExamples,
  findGeneratedSections,
  parseCommand,
  README,
  regenerate,
  renderExample,
  renderGenerated,
} from "../../tools/readmeExamples";
import { CONFIG_SCHEMA } from "../../infra/config";

describe("README examples (regenerate with `npm run docs`)", () => {
  const markdown = readFileSync(README, "utf8");
  const examples = findExamples(markdown);

  it("has generated examples", () => {
    assert.ok(
      examples.length > 0,
      "README.md should quote command output through <!-- output of: ... --> blocks",
    );
  });

  for (const ex of examples) {
    it(`quotes what \`${ex.command}\` prints today`, async () => {
      const body = await renderExample(ex.command);
      assert.equal(
        /\n\(exit code \d+\)$/.test(body),
        ex.refused,
        ex.refused
          ? "a `refused output of:` example must fail"
          : `the command fails; fix the example (or mark it \`refused output of:\`):\n${body}`,
      );
      assert.equal(ex.body, body, "run `npm run docs` and commit README.md");
    });
  }

  for (const sec of findGeneratedSections(markdown)) {
    it(`holds the generated ${sec.name} as the code makes it today`, () => {
      assert.equal(sec.body, renderGenerated(sec.name), "run `npm run docs` and commit README.md");
    });
  }

  it("documents every config key in the generated reference", () => {
    const ref = renderGenerated("config-reference");
    for (const spec of CONFIG_SCHEMA) assert.ok(ref.includes(`**\`${spec.key}\`**`), spec.key);
    assert.ok(
      ref.split("\n").every((l) => l.length <= 100),
      "no line of the reference is wider than 100 columns",
    );
    assert.ok(findGeneratedSections(markdown).some((s) => s.name === "config-reference"));
  });

  describe("the generator", () => {
    it("finds a marked block and replaces only its body", async () => {
      const md = [
        "intro",
        "<!-- output of: npm run plan -- --help -->",
        "```text",
        "stale",
        "```",
        "outro",
      ].join("\n");
      const out = await regenerate(md);
      const lines = out.split("\n");
      assert.equal(lines[0], "intro");
      assert.equal(lines[2], "```text");
      assert.equal(lines[3], "$ npm run plan -- --help");
      assert.match(lines[4], /^Usage: npm run plan -- --set/);
      assert.equal(lines.at(-2), "```");
      assert.equal(lines.at(-1), "outro");
      assert.equal(await regenerate(out), out, "regenerating is idempotent");
    });

    it("keeps a block inside a list item indented, and allows the blank line prettier adds", async () => {
      const md = [
        "1. step",
        "",
        "   <!-- output of: npm run plan -- --help -->",
        "",
        "   ```text",
        "   ```",
        "",
      ].join("\n");
      const lines = (await regenerate(md)).split("\n");
      assert.equal(lines[5], "   $ npm run plan -- --help");
      assert.match(lines[6], /^ {3}Usage: npm run plan -- --set/);
      assert.ok(
        lines.slice(5, -2).every((l) => l === "" || l.startsWith("   ")),
        "every body line keeps the item's indentation",
      );
      assert.equal(lines.at(-2), "   ```");
    });

    it("refuses commands it cannot run as the user would type them", () => {
      assert.throws(() => parseCommand("pulumi up"), /must look like "npm run <script> -- <args>"/);
      assert.throws(() => parseCommand("npm run plan -- --set 'a=b c'"), /must not need shell quoting/);
      assert.deepEqual(parseCommand("npm run plan -- --set canaryPercent=10 --json"), {
        script: "plan",
        argv: ["--set", "canaryPercent=10", "--json"],
      });
    });

    it("tells a refused example from one that must succeed", () => {
      const md = (marker: string) => `${marker}\n\n\`\`\`text\n\`\`\``;
      assert.deepEqual(
        findExamples(md("<!-- refused output of: npm run plan -- --set activeColor=green -->")).map((e) => [
          e.command,
          e.refused,
        ]),
        [["npm run plan -- --set activeColor=green", true]],
      );
      assert.equal(findExamples(md("<!-- output of: npm run plan -- --help -->"))[0].refused, false);
    });

    it("refuses a marker without a block", () => {
      assert.throws(
        () => findExamples("<!-- output of: npm run plan -->\ntext"),
        /must be followed by a fenced block/,
      );
    });

    it("shows a refused change's exit code", async () => {
      const body = await renderExample("npm run plan -- --set activeColor=green");
      assert.match(body, /^\$ npm run plan -- --set activeColor=green\nThe change is refused/);
      assert.match(body, /\n\(exit code 1\)$/);
    });
  });
});
