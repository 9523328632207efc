import assert from "node:assert/strict";
import { loadConfig } from "../../config/mod.ts";
import {
  acquireJobLock,
  cronName,
  driftJob,
  formatRunMetrics,
  JOB_NAMES,
  JOB_SLICE_MS,
  listRuns,
  registerSchedules,
  retrainJob,
  runJob,
  runMetrics,
  type RunRecord,
  scheduleHandlers,
  scoreJob,
} from "../../tasks/schedules.ts";
import { Registry } from "../../tasks/registry.ts";
import { eventLoopSlice, setEventLoopSlice } from "../../tasks/io.ts";
import { type ArtifactStore, FsStore, getJson, KvStore } from "../../tasks/store/mod.ts";
import { configIn, detachProfile, monitoringSetup } from "./monitoring_fixture.ts";

// One pipeline run shared by the tests of this file (its production model has a reference profile).
const { config, dir } = await monitoringSetup();
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const fs = new FsStore("/");
const quiet = { log: () => {} };

Deno.test("the drift job records its run, started and finished, and the record is listed first", async () => {
  const record = await driftJob(config, { ...quiet, owner: "replica-a" });
  assert.equal(record.outcome, "ok");
  assert.equal(record.exit_code, 2, "FAIL: days_since_signup trends with time");
  assert.match(record.summary!, /^FAIL: max PSI/);
  assert.match(record.owner, /^replica-a\/\d{8}T\d{9}Z-[0-9a-f]{6}$/);
  assert.ok(record.finished_at! >= record.started_at && record.duration_seconds! >= 0);
  const [listed] = await listRuns(fs, config, { limit: 1 });
  assert.deepEqual(listed, record);
  assert.ok(await getJson(fs, fs.keyOf(`${dir}/reports/data_drift_latest.json`)));
});

Deno.test("two replicas starting the same job at once: one runs it, the other is recorded as skipped-locked", async () => {
  const [a, b] = await Promise.all([
    runJob(config, "drift", { ...quiet, owner: "replica-a" }),
    runJob(config, "drift", { ...quiet, owner: "replica-b" }),
  ]);
  const ran = a.outcome === "ok" ? a : b, skipped = a.outcome === "ok" ? b : a;
  assert.equal(ran.outcome, "ok");
  assert.equal(skipped.outcome, "skipped-locked");
  assert.equal(skipped.locked_by, ran.owner);
  assert.equal(skipped.exit_code, null);
  // The lock was released at the end: the next run goes ahead.
  assert.equal((await driftJob(config, quiet)).outcome, "ok");
  const runs = await listRuns(fs, config, { job: "drift", limit: 3 });
  assert.deepEqual(runs.map((r) => r.run_id).sort(), [a.run_id, b.run_id, runs[0].run_id].sort());
});

for (const backend of ["fs", "kv"] as const) {
  Deno.test(`${backend}: exactly one of many concurrent callers takes a job lock, which lapses after its time to live`, async () => {
    const tmp = await Deno.makeTempDir({ prefix: "churn_lock_" });
    const [, cfg] = await configIn(tmp);
    const store: ArtifactStore = backend === "fs" ? new FsStore("/") : await KvStore.open(`${tmp}/kv.sqlite`);
    try {
      const attempts = await Promise.all(
        Array.from(
          { length: 8 },
          (_, i) => acquireJobLock(store, cfg, { job: "score", owner: `o${i}`, ttlMs: 60_000 }),
        ),
      );
      const won = attempts.filter((a) => a.acquired);
      assert.equal(won.length, 1);
      const winner = won[0].acquired ? won[0].lock : null;
      for (const a of attempts) if (!a.acquired) assert.equal(a.holder, winner!.owner);
      // Another job's lock is independent.
      assert.equal((await acquireJobLock(store, cfg, { job: "drift", owner: "x", ttlMs: 60_000 })).acquired, true);
      assert.equal(await winner!.renew(), true);
      await winner!.release();
      const next = await acquireJobLock(store, cfg, { job: "score", owner: "next", ttlMs: 30 });
      assert.equal(next.acquired, true);
      await new Promise((r) => setTimeout(r, 80));
      // Expired: another owner takes it, and the old holder can no longer renew it.
      const after = await acquireJobLock(store, cfg, { job: "score", owner: "after", ttlMs: 60_000 });
      assert.equal(after.acquired, true);
      assert.equal(next.acquired && await next.lock.renew(), false);
      await assert.rejects(acquireJobLock(store, cfg, { job: "score", owner: "bad", ttlMs: 0 }), RangeError);
    } finally {
      store.close();
      await Deno.remove(tmp, { recursive: true });
    }
  });
}

Deno.test("a job that throws is recorded as failed and its cron handler resolves instead of throwing", async () => {
  const empty = await Deno.makeTempDir({ prefix: "churn_sched_empty_" });
  try {
    const [, cfg] = await configIn(empty);
    const record = await runJob(cfg, "drift", quiet);
    assert.equal(record.outcome, "failed");
    assert.match(record.error!, /No production model yet/);
    assert.equal(record.exit_code, null);
    const handlers = scheduleHandlers(cfg, quiet);
    assert.deepEqual(Object.keys(handlers), [...JOB_NAMES]);
    assert.equal(await handlers.drift(), undefined);
    const runs = await listRuns(fs, cfg);
    assert.deepEqual(runs.map((r) => r.outcome), ["failed", "failed"]);
    assert.deepEqual(runs[1], record);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("a store that cannot be opened gives a failed record, not an exception", async () => {
  const cfg = loadConfig({
    env: "dev",
    file: null,
    overrides: { store: { backend: "kv", kv_path: "/nonexistent/folder/kv.sqlite" } },
  });
  const record = await runJob(cfg, "score", quiet);
  assert.equal(record.outcome, "failed");
  assert.ok(record.error);
  assert.ok(record.finished_at);
});

Deno.test("the score job scores the latest date and runs the score proxy", async () => {
  const record = await scoreJob(config, quiet);
  assert.equal(record.outcome, "ok", record.error ?? "");
  assert.equal(record.exit_code, 0);
  assert.match(record.summary!, /^scored \d+ users on 2026-05-30/);
  assert.ok(await getJson(fs, fs.keyOf(`${dir}/reports/score_proxy_latest.json`)));
});

Deno.test("a long job is recorded as running and keeps renewing its lock, so a second replica stays out", async () => {
  const lockPath = `${dir}/reports/locks/retrain.json`;
  const first = retrainJob(config, { ...quiet, owner: "long", lockTtlMs: 900 });
  let finished = false;
  first.then(() => finished = true);
  // Watch the lock document while the retrain runs: its expiry moves forward at each renewal.
  const expiries = new Set<number>();
  let sawRunning = false, second: RunRecord | null = null, metricsWhileRunning = false;
  while (!finished) {
    const doc = await Deno.readTextFile(lockPath).then(JSON.parse).catch(() => null);
    if (doc && !doc.released) expiries.add(doc.expires);
    if (!sawRunning) sawRunning = (await listRuns(fs, config, { job: "retrain", limit: 1 }))[0]?.outcome === "running";
    if (second === null && sawRunning) {
      second = await retrainJob(config, { ...quiet, owner: "other" });
      metricsWhileRunning = (await runMetrics(fs, config)).jobs.find((j) => j.job === "retrain")!.running;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const done = await first;
  assert.equal(done.outcome, "ok", done.error ?? done.summary ?? "");
  assert.match(done.summary!, /^retrained; production /);
  assert.ok(sawRunning, "the run was recorded as running while it ran");
  assert.ok(metricsWhileRunning, "runMetrics says the job is running");
  assert.equal((await runMetrics(fs, config)).jobs.find((j) => j.job === "retrain")!.running, false);
  assert.equal(second?.outcome, "skipped-locked");
  assert.equal(second?.locked_by, done.owner);
  assert.ok(expiries.size >= 2, `the lock was renewed (${expiries.size} expiry times seen)`);
  const doc = JSON.parse(await Deno.readTextFile(lockPath));
  assert.equal(doc.released, true, "released at the end");
  const records = await listRuns(fs, config, { job: "retrain" });
  assert.deepEqual(records.find((r) => r.run_id === done.run_id), done);
  assert.equal(records[0].run_id > records[1].run_id, true, "newest first");
});

Deno.test("the drift-triggered retrain job retrains on FAIL, and is recorded as failed when the check fails", async () => {
  const record = await runJob(config, "drift_retrain", quiet);
  assert.equal(record.outcome, "ok", record.error ?? record.summary ?? "");
  assert.equal(record.exit_code, 0);
  assert.match(record.summary!, /^drift FAIL: retrained; production /);
  // Point production at another version and strip its profile to make the check fail.
  const registry = new Registry(fs, config);
  const bare = (await registry.versions()).at(-1)!.version;
  await registry.setAlias("production", bare, { reason: "manual", note: "test: no profile" });
  await detachProfile(config);
  const failed = await runJob(config, "drift_retrain", quiet);
  assert.equal(failed.outcome, "failed");
  assert.equal(failed.exit_code, 1);
  assert.match(failed.summary!, /^drift check failed: .*no reference profile/);
});

Deno.test("listRuns filters by job, limits and sorts newest first; runMetrics and its Prometheus text sum them up", async () => {
  const all = await listRuns(fs, config, { limit: 100 });
  assert.ok(all.length >= 7);
  for (let i = 1; i < all.length; i++) assert.ok(all[i - 1].run_id > all[i].run_id);
  const drift = await listRuns(fs, config, { job: "drift", limit: 2 });
  assert.equal(drift.length, 2);
  assert.ok(drift.every((r) => r.job === "drift"));
  await assert.rejects(listRuns(fs, config, { limit: 0 }), RangeError);

  const m = await runMetrics(fs, config);
  assert.deepEqual(m.jobs.map((j) => j.job), [...JOB_NAMES]);
  const d = m.jobs.find((j) => j.job === "drift")!;
  const lastDrift = all.find((r: RunRecord) => r.job === "drift" && r.outcome !== "skipped-locked")!;
  assert.equal(d.last_started_at, lastDrift.started_at);
  assert.equal(d.last_outcome, "ok");
  assert.equal(d.last_exit_code, 2);
  assert.equal(d.schedule, "0 1 * * *");
  assert.equal(m.drift?.status, "FAIL");
  assert.ok(m.score_proxy !== null);
  const text = formatRunMetrics(m);
  assert.match(text, /^# HELP churn_job_last_run_timestamp_seconds /m);
  assert.match(text, /^churn_job_last_run_success\{job="drift"\} 1$/m);
  assert.match(text, /^churn_job_running\{job="drift"\} 0$/m);
  assert.doesNotMatch(text, /churn_drift_/, "the service exports the drift figures itself");
  assert.match(text, /^churn_score_mean [0-9.e-]+$/m);
  // No runs yet: nothing about last runs, and no job running.
  const empty = await Deno.makeTempDir({ prefix: "churn_metrics_empty_" });
  try {
    const [, cfg] = await configIn(empty);
    const none = await runMetrics(fs, cfg);
    assert.ok(none.jobs.every((j) => j.last_outcome === null));
    const noneText = formatRunMetrics(none);
    assert.doesNotMatch(noneText, /churn_job_last_|churn_score_/);
    assert.match(noneText, /^churn_job_running\{job="retrain"\} 0$/m);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("registerSchedules registers the four jobs with Deno.cron at the configured times, and none when disabled", () => {
  const off = loadConfig({ env: "dev", file: null, overrides: { schedules: { enabled: false } } });
  assert.deepEqual(registerSchedules(off), []);
  assert.equal(eventLoopSlice(), null, "no schedules: the steps never give the event loop a turn");
  const on = loadConfig({ env: "dev", file: null, overrides: { schedules: { retrain: "30 4 * * 6" } } });
  const stop = new AbortController();
  try {
    const registered = registerSchedules(on, { signal: stop.signal, ...quiet });
    // The jobs run in the serving process: their steps give the event loop turns.
    assert.equal(eventLoopSlice(), JOB_SLICE_MS);
    assert.deepEqual(registered, [
      { job: "drift", name: "churn-mlops-drift", schedule: "0 1 * * *" },
      { job: "drift_retrain", name: "churn-mlops-drift-retrain", schedule: "5 1 * * *" },
      { job: "score", name: "churn-mlops-score", schedule: "0 2 * * *" },
      { job: "retrain", name: "churn-mlops-retrain", schedule: "30 4 * * 6" },
    ]);
    assert.equal(cronName("drift_retrain"), "churn-mlops-drift-retrain");
  } finally {
    stop.abort();
    setEventLoopSlice(null);
  }
});

Deno.test("registerSchedules() accepts the default cron strings and registers the four jobs with Deno.cron", () => {
  const defaults = loadConfig({ env: "dev", file: null });
  const stop = new AbortController();
  try {
    const registered = registerSchedules(defaults, { signal: stop.signal });
    assert.deepEqual(registered.map((r) => r.job), [...JOB_NAMES]);
    assert.deepEqual(registered.map((r) => r.schedule), JOB_NAMES.map((j) => defaults.schedules[j]));
  } finally {
    stop.abort();
    setEventLoopSlice(null);
  }
});
