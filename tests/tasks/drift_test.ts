import assert from "node:assert/strict";
import { loadConfig } from "../../config/mod.ts";
import { formatDate } from "../../pipeline/dates.ts";
import { computeScoringRows } from "../../pipeline/features.ts";
import { getColumn } from "../../pipeline/table.ts";
import { runTask } from "../../tasks/cli.ts";
import { demoDriftTask, type DriftReport, driftTask, profileOf, runDemoDrift, runDrift } from "../../tasks/drift.ts";
import { forEachUserChunk } from "../../tasks/features.ts";
import { readArrowTable } from "../../tasks/io.ts";
import { pipelineTask } from "../../tasks/pipeline.ts";
import { Registry } from "../../tasks/registry.ts";
import { FsStore, getJson, KvStore } from "../../tasks/store/mod.ts";
import { configIn, monitoringSetup } from "./monitoring_fixture.ts";

/** Inputs that do not trend with time on the synthetic data, in the model's order (numeric, then categorical). */
const STABLE = ["is_paid", "logins_count", "quiz_attempts_count", "plan", "country", "marketing_source"];
/** Inputs the demo shifts. */
const SHIFTED = ["watch_minutes_7d", "quiz_attempts_7d", "quiz_avg_score_7d", "logins_14d"];

// One pipeline run shared by the tests of this file, removed when the file's tests are done.
const { config, dir } = await monitoringSetup();
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

async function readReport(path = `${dir}/reports/data_drift_latest.json`): Promise<DriftReport> {
  return JSON.parse(await Deno.readTextFile(path));
}

Deno.test("runDrift checks every model input of the production model and writes the report and a history entry", async () => {
  const { report, files } = await runDrift(config, { now: new Date("2026-06-01T01:00:00.000Z") });
  const store = new FsStore("/");
  const { version, model } = await new Registry(store, config).resolve("production");
  const inputs = [
    ...model.preprocessor.numeric.map((s) => s.name),
    ...model.preprocessor.categorical.map((s) => s.name),
  ];
  assert.deepEqual(Object.keys(report.psi_by_feature), inputs);
  assert.equal(report.features_checked, inputs.length);
  assert.equal(report.model_version, version);
  assert.deepEqual(await readReport(), report);
  assert.match(files[1], /reports\/drift_history\/20260601T010000000Z-[0-9a-f]{6}\.json$/);
  assert.deepEqual(await getJson(store, files[1]), report);
  // The status is the worst feature status; the max PSI is the worst feature's.
  const psis = Object.values(report.psi_by_feature);
  assert.equal(report.overall_max_psi, Math.max(...psis));
  assert.equal(report.psi_by_feature[report.worst_feature], report.overall_max_psi);
  const statuses = Object.values(report.status_by_feature);
  assert.equal(report.status, statuses.includes("FAIL") ? "FAIL" : statuses.includes("WARN") ? "WARN" : "OK");
  assert.equal(report.status_counts.OK + report.status_counts.WARN + report.status_counts.FAIL, inputs.length);
  // What was compared: the training dates from the model's metrics, the latest date of user_daily.
  const metrics = await new Registry(store, config).metrics(version);
  assert.deepEqual(report.reference.train_dates, metrics!.split.train_dates);
  assert.equal(report.current.as_of_date, "2026-05-30");
  assert.equal(report.worst_features.length, 5);
  assert.deepEqual(report.worst_features.map((f) => f.psi), psis.sort((a, b) => b - a).slice(0, 5));
  for (const f of report.worst_features) {
    assert.ok(f.buckets.length >= 2);
    assert.ok(Math.abs(f.buckets.reduce((s, b) => s + b.current, 0) - 1) < 1e-9);
  }
});

Deno.test("runDrift compares the population that scoring would score on the date", async () => {
  const { report } = await runDrift(config, { asOfDate: "2026-04-20", features: STABLE });
  // The same rows, counted independently: the scoring rows of that date under the active population.
  const { model } = await new Registry(new FsStore("/"), config).resolve("production");
  let rows = 0, excluded = 0;
  await forEachUserChunk(`${dir}/processed/user_daily.arrow`, async (chunk) => {
    const r = computeScoringRows(chunk, {
      date: Date.UTC(2026, 3, 20) / 86_400_000,
      windows: model.features.windows_days,
      windowDays: model.features.churn_window_days,
      population: "active",
    });
    rows += r.table.length;
    excluded += r.excluded;
    await Promise.resolve();
  });
  assert.equal(report.current.as_of_date, "2026-04-20");
  assert.equal(report.current.rows, rows);
  assert.equal(report.current.excluded_by_population, excluded);
  assert.ok(excluded > 0);
});

Deno.test("drift on inputs that do not move is OK and the task exits 0", async () => {
  const [file] = await configIn(dir, {
    extraYaml: `drift:\n  features: [${STABLE.join(", ")}]\n`,
    name: "stable.yaml",
  });
  const code = await runTask(driftTask, ["--config", file]);
  assert.equal(code, 0);
  const report = await readReport();
  assert.equal(report.status, "OK");
  assert.deepEqual(Object.keys(report.psi_by_feature), STABLE);
  assert.ok(report.overall_max_psi < 0.1, `${report.overall_max_psi}`);
});

Deno.test("the --features flag narrows the check, and an unknown name is an error naming it (exit 1)", async () => {
  const [file] = await configIn(dir, { name: "plain.yaml" });
  assert.equal(await runTask(driftTask, ["--config", file, "--features", "plan,country"]), 0);
  assert.deepEqual(Object.keys((await readReport()).psi_by_feature), ["plan", "country"]);
  await assert.rejects(
    runDrift(loadConfig({ env: "dev", file }), { features: ["plan", "engagement_score"] }),
    (e: Error) =>
      e instanceof RangeError && e.message.includes('"engagement_score"') && e.message.includes("drift.features"),
  );
  assert.equal(await runTask(driftTask, ["--config", file, "--features", "plan,nope"]), 1);
  assert.equal(await runTask(driftTask, ["--config", file, "--as-of-date", "2026/01/01"]), 2);
});

Deno.test("a date outside user_daily is an error naming the range", async () => {
  await assert.rejects(runDrift(config, { asOfDate: "2027-01-01" }), /user_daily covers 2026-01-01 to 2026-05-30/);
});

Deno.test("the demo shifts the latest days and the drift check on it fails with exit code 2", async () => {
  const out = `${dir}/demo_drift`;
  const [file] = await configIn(dir, {
    extraYaml: `drift:\n  features: [${[...STABLE, ...SHIFTED].join(", ")}]\n`,
    name: "demo.yaml",
  });
  const code = await runTask(demoDriftTask, ["--config", file, "--output-dir", out, "--strength", "1"]);
  assert.equal(code, 2);
  const report = await readReport();
  assert.equal(report.status, "FAIL");
  assert.equal(report.current.user_daily, `${out}/user_daily.arrow`);
  for (const f of SHIFTED) assert.equal(report.status_by_feature[f], "FAIL", `${f}: ${report.psi_by_feature[f]}`);
  for (const f of ["plan", "country", "marketing_source", "is_paid"]) {
    assert.equal(report.status_by_feature[f], "OK", f);
  }
  assert.ok(SHIFTED.includes(report.worst_feature), report.worst_feature);
  // The shifted grid is a well-formed copy of the original: same rows, only the latest 30 days differ.
  const real = await readArrowTable(`${dir}/processed/user_daily.arrow`);
  const shifted = await readArrowTable(`${out}/user_daily.arrow`);
  assert.equal(shifted.length, real.length);
  const dates = getColumn(real, "as_of_date", "date").data;
  const a = getColumn(real, "watch_minutes_sum", "f64").data, b = getColumn(shifted, "watch_minutes_sum", "f64").data;
  for (let r = 0; r < real.length; r++) {
    if (formatDate(dates[r]) < "2026-05-01") assert.equal(b[r], a[r]);
  }
  // drift on the real data again: the shifted inputs are back under the fail threshold.
  assert.equal(await runTask(driftTask, ["--config", file, "--features", SHIFTED.join(",")]), 0);
  // Strength 0 shifts nothing: the demo's drift equals the real data's.
  const zero = await runDemoDrift(loadConfig({ env: "dev", file }), { strength: 0, outputDir: `${dir}/demo_zero` });
  const realRun = await runDrift(loadConfig({ env: "dev", file }));
  assert.deepEqual(zero.drift!.report.psi_by_feature, realRun.report.psi_by_feature);
  assert.equal(await runTask(demoDriftTask, ["--config", file, "--strength", "-1"]), 2);
});

Deno.test("a production model without a reference profile fails the check clearly (exit 1)", async () => {
  const other = await monitoringSetup({ profile: false });
  try {
    await assert.rejects(runDrift(other.config), /has no reference profile \(reference_profile\).*deno task retrain/);
    assert.equal(await runTask(driftTask, ["--config", other.configFile]), 1);
    const { version, model } = await new Registry(new FsStore("/"), other.config).resolve("production");
    assert.throws(
      () => profileOf({ ...model, reference_profile: { schema_version: 1 } } as typeof model, version),
      /has an invalid reference profile: features must be a non-empty array/,
    );
  } finally {
    await other.dispose();
  }
});

Deno.test("with the Deno KV backend the drift reports are written to KV", async () => {
  const kvDir = await Deno.makeTempDir({ prefix: "churn_drift_kv_" });
  try {
    const [, kvConfig] = await configIn(kvDir, { extraYaml: `store:\n  backend: kv\n  kv_path: ${kvDir}/kv.sqlite\n` });
    assert.equal(await pipelineTask.run({ config: kvConfig, flags: {}, positionals: [], log: () => {} }), 0);
    const { report, files } = await runDrift(kvConfig);
    const store = await KvStore.open(`${kvDir}/kv.sqlite`);
    try {
      assert.deepEqual(await getJson(store, files[0]), report);
      assert.deepEqual(await getJson(store, files[1]), report);
    } finally {
      store.close();
    }
    assert.equal(await Deno.stat(`${kvDir}/reports/data_drift_latest.json`).catch(() => null), null);
  } finally {
    await Deno.remove(kvDir, { recursive: true });
  }
});
