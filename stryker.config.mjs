// @ts-check
/**
 * Mutation testing of the core modules (`npm run mutate`; not in CI: tens of minutes on 2 cores).
 *
 * Each module is mutated against the test files written for it (MODULES below, passed to the
 * mocha runner as `mochaOptions.spec`, which replaces the `.mocharc.json` spec), so a mutant is
 * killed by the tests that own the rule, not by some far-away integration test.
 * `MUTATE_MODULES="batcher manifest" npm run mutate` runs a subset, one Stryker run per module
 * (names are MODULES' keys); `MUTATE_MODULES=batcher npx stryker run` is one run by hand.
 *
 * Module-load initialisers (regexes, rule tables, schemas, constants built at import time):
 * - `coverageAnalysis: "perTest"` records which tests reach each mutant, so an ordinary mutant
 *   runs only the tests that execute it (hot-swapped in a live runner: fast).
 * - A mutant that runs while a module loads ("static") cannot be hot-swapped: the mocha runner
 *   cannot re-import a module, so the code that reads it was built from the original at load.
 *   `ignoreStatic: false` makes Stryker start a fresh runner process with the mutant active from
 *   the first import and run every test of the selected spec files against it. Slower (one
 *   process per static mutant), but honest: with `ignoreStatic: true` those mutants are either
 *   dropped from the score or, when a test also reaches them, run without the reload and reported
 *   as survivors although the mutated value was never built (issue 19).
 * - `testFiles` (Stryker's own option) is deliberately not used: with it Stryker activates static
 *   mutants only after the files load, which re-creates the problem above.
 *
 * No TypeScript checker: tsx strips types, so every mutant runs and is judged by behaviour alone
 * (a type checker per mutant would also take longer than the tests on this machine).
 *
 * Cost: a static mutant of config.ts loads Pulumi anew (about 2 s of CPU), and config.ts has
 * 620 of them (its schema and rule table are built at load): 16 minutes of the whole run's 23 on
 * a quiet 2-core machine (README, Testing). The others take seconds to minutes.
 */

/** Module key -> the file mutated and the spec files that test it. */
const MODULES = {
  traffic: { mutate: "infra/traffic.ts", spec: ["test/infra/traffic.test.ts"] },
  config: {
    mutate: "infra/config.ts",
    spec: ["test/infra/config.test.ts", "test/infra/configValidation.test.ts"],
  },
  batcher: {
    mutate: "serving/src/batching/batcher.ts",
    spec: ["test/serving/batching/batcher.test.ts", "test/serving/batching/chunking.test.ts"],
  },
  request: {
    mutate: "serving/src/http/oip/request.ts",
    // The parser on its own, and through the server's routes.
    spec: [
      "test/serving/http/oipRequest.test.ts",
      "test/serving/http/oip.test.ts",
      "test/serving/http/binary.test.ts",
    ],
  },
  rollout: { mutate: "infra/rollout/engine.ts", spec: ["test/infra/rollout/engine.test.ts"] },
  manifest: { mutate: "serving/src/model/manifest.ts", spec: ["test/serving/model/manifest.test.ts"] },
};

const names = (process.env.MUTATE_MODULES ?? Object.keys(MODULES).join(","))
  .split(",")
  .map((name) => name.trim())
  .filter(Boolean);
const selected = names.map((name) => {
  const module = MODULES[/** @type {keyof typeof MODULES} */ (name)];
  if (!module) {
    throw new Error(`MUTATE_MODULES: unknown module "${name}"; known: ${Object.keys(MODULES).join(", ")}`);
  }
  return module;
});
const reportName = names.join("+");

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
const config = {
  testRunner: "mocha",
  mutate: selected.map((m) => m.mutate),
  mochaOptions: {
    // .mocharc.json still supplies `require: tsx/cjs`, the extension and the timeout.
    spec: [...new Set(selected.flatMap((m) => m.spec))],
  },
  coverageAnalysis: "perTest",
  ignoreStatic: false,
  // Incremental: a mutant whose code and covering tests are unchanged since the last run of the
  // same module keeps its result (Stryker diffs both); everything else runs. MUTATE_FORCE=1 runs all.
  incremental: true,
  incrementalFile: `reports/mutation/${reportName}.incremental.json`,
  force: process.env.MUTATE_FORCE === "1",
  // Two cores, shared: one runner per core.
  concurrency: 2,
  // The server's tests wait on real I/O; give a slow, shared machine slack.
  timeoutMS: 10000,
  reporters: ["clear-text", "progress-append-only", "html", "json"],
  htmlReporter: { fileName: `reports/mutation/${reportName}.html` },
  jsonReporter: { fileName: `reports/mutation/${reportName}.json` },
  // Score per file in the clear-text table; the run never fails on it (the README records it).
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
};

export default config;
