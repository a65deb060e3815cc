import assert from "node:assert/strict";
import { validateModelVersion, versionPrefix } from "../../../serving/src/model/manifest";
import { compareVersions } from "../../../serving/src/model/registry/versions";

describe("model versions", () => {
  it("accepts semver build metadata, as one path segment of the registry key", () => {
    assert.equal(validateModelVersion("1.2.0+build.5"), "1.2.0+build.5");
    assert.equal(
      versionPrefix("churn", "1.2.0-rc.1+exp.sha-5114f85"),
      "models/churn/1.2.0-rc.1+exp.sha-5114f85/",
    );
    assert.throws(() => validateModelVersion("1.2.0+"), /is invalid/);
    assert.throws(() => validateModelVersion("1.2.0+a/b"), /is invalid/);
  });

  it("orders by precedence, ignoring build metadata except to break ties", () => {
    const sorted = ["1.2.0+build.5", "1.2.0-rc.1", "1.10.0", "1.2.0", "1.2.0+build-2", "1.2.0-rc.1+b"].sort(
      compareVersions,
    );
    assert.deepEqual(sorted, [
      "1.2.0-rc.1",
      "1.2.0-rc.1+b",
      "1.2.0",
      "1.2.0+build-2",
      "1.2.0+build.5",
      "1.10.0",
    ]);
  });
});
