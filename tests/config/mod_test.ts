import assert from "node:assert/strict";
import { ConfigError, deepMerge, loadConfig } from "../../config/mod.ts";

function tempConfig(text: string): string {
  const path = Deno.makeTempFileSync({ suffix: ".yaml" });
  Deno.writeTextFileSync(path, text);
  return path;
}

Deno.test("loadConfig() reads the defaults and the dev overlay", () => {
  const c = loadConfig({ env: "dev", file: null });
  assert.equal(c.app.env, "dev");
  assert.deepEqual(c.features.windows_days, [7, 14, 30]);
  assert.equal(c.churn.window_days, 30);
  assert.equal(c.evaluation.threshold, 0.5);
});

Deno.test("loadConfig() applies the prod overlay", () => {
  const c = loadConfig({ env: "prod", file: null });
  assert.equal(c.evaluation.threshold, 0.6);
  assert.equal(c.logging.level, "WARNING");
});

Deno.test("loadConfig() deep-merges the CHURN_MLOPS_CONFIG file over the overlay", () => {
  const path = tempConfig("features:\n  windows_days: [3, 10]\nchurn:\n  population: all\n");
  const c = loadConfig({ env: "prod", file: path });
  assert.deepEqual(c.features.windows_days, [3, 10]);
  assert.equal(c.churn.population, "all");
  assert.equal(c.churn.window_days, 30);
  assert.equal(c.evaluation.threshold, 0.6);
});

Deno.test("loadConfig() names the file and key path of an unknown key", () => {
  const path = tempConfig("churn:\n  windw_days: 10\n");
  assert.throws(
    () => loadConfig({ env: "dev", file: path }),
    (e) => e instanceof ConfigError && e.message.includes(path) && e.message.includes("churn.windw_days: unknown key"),
  );
});

Deno.test("loadConfig() names the file and key path of a wrong type", () => {
  const path = tempConfig("features:\n  windows_days: [7, seven]\n");
  assert.throws(
    () => loadConfig({ env: "dev", file: path }),
    (e) => e instanceof ConfigError && e.message.includes(path) && e.message.includes("features.windows_days[1]"),
  );
});

Deno.test("loadConfig() fails on an unreadable file and an unknown environment", () => {
  assert.throws(
    () => loadConfig({ env: "dev", file: "/nonexistent/churn.yaml" }),
    (e) => e instanceof ConfigError && e.message.includes("Cannot read config file /nonexistent/churn.yaml"),
  );
  assert.throws(() => loadConfig({ env: "qa", file: null }), /Unknown CHURN_ENV "qa"/);
  const bad = tempConfig("a: [1, 2\n");
  assert.throws(
    () => loadConfig({ env: "dev", file: bad }),
    (e) => e instanceof ConfigError && e.message.includes(`Cannot parse config file ${bad}`),
  );
});

Deno.test("deepMerge() merges mappings and replaces lists", () => {
  assert.deepEqual(deepMerge({ a: { b: 1, c: [1, 2] } }, { a: { c: [3] }, d: 1 }), { a: { b: 1, c: [3] }, d: 1 });
});
