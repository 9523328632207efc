import assert from "node:assert/strict";
import { type Config, loadConfig } from "../../config/mod.ts";
import { runTask } from "../../tasks/cli.ts";
import { readArrowTable } from "../../tasks/io.ts";
import { Registry } from "../../tasks/registry.ts";
import { driftRetrainTask, RETRAIN_STEPS, runDriftRetrain, runRetrain } from "../../tasks/retrain.ts";
import { type ArtifactStore, FsStore, KvStore, TEMP_NAME_PATTERN } from "../../tasks/store/mod.ts";
import { configIn, detachProfile, monitoringSetup } from "./monitoring_fixture.ts";

const CHILD = new URL("./retrain_child.ts", import.meta.url).pathname;
const STABLE = ["is_paid", "logins_count", "plan", "country"];

// One pipeline run shared by the tests of this file (its production model has a reference profile).
const { config, dir, configFile } = await monitoringSetup();
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const fs = new FsStore("/");

async function versions(c: Config = config, store: ArtifactStore = fs): Promise<string[]> {
  return (await new Registry(store, c).versions()).map((v) => v.version);
}

async function production(c: Config = config, store: ArtifactStore = fs): Promise<string | null> {
  return (await new Registry(store, c).read()).state.aliases.production?.version ?? null;
}

Deno.test("drift:retrain does not retrain when drift is not FAIL, and exits 0", async () => {
  const [file] = await configIn(dir, {
    extraYaml: `drift:\n  features: [${STABLE.join(", ")}]\n`,
    name: "stable.yaml",
  });
  const before = await versions();
  assert.equal(await runTask(driftRetrainTask, ["--config", file]), 0);
  assert.deepEqual(await versions(), before);
  const r = await runDriftRetrain(loadConfig({ env: "dev", file }));
  assert.equal(r.drift?.status, "OK");
  assert.equal(r.retrain, null);
  assert.equal(r.exit_code, 0);
});

Deno.test("runRetrain runs every step in order, stores two new versions and promotes through the gate", async () => {
  const before = await versions();
  const lines: string[] = [];
  const r = await runRetrain(config, { log: (m) => lines.push(m) });
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.exit_code, 0);
  assert.deepEqual(r.steps.map((s) => s.name), RETRAIN_STEPS.map((t) => t.name));
  assert.deepEqual(r.steps.map((s) => s.name), [
    "validate",
    "prepare",
    "features:all",
    "train",
    "train:candidate",
    "promote",
  ]);
  const after = await versions();
  assert.equal(after.length, before.length + 2);
  assert.equal(r.production_after, await production());
  assert.equal(r.promoted, r.production_after !== r.production_before);
  assert.ok(lines.some((l) => l.startsWith("[promote]")));
});

Deno.test("drift:retrain retrains when drift is FAIL, and exits 0 when the retrain succeeds", async () => {
  const before = await versions();
  const r = await runDriftRetrain(config);
  assert.equal(r.drift?.status, "FAIL", "days_since_signup trends with time, so the full check fails");
  assert.ok(r.retrain?.ok);
  assert.equal(r.exit_code, 0);
  assert.equal((await versions()).length, before.length + 2);
});

Deno.test("a failing step stops the retrain with its exit code and leaves production as it was", async () => {
  const users = `${dir}/raw/users.csv`;
  const saved = await Deno.readFile(users);
  const prod = await production();
  const before = await versions();
  try {
    await Deno.writeTextFile(
      users,
      "user_id,signup_date,plan,is_paid,country,marketing_source\n1,2026-01-01,gold,0,US,ads\n",
    );
    const r = await runRetrain(config);
    assert.equal(r.ok, false);
    assert.equal(r.exit_code, 1);
    assert.equal(r.failed_step, "validate");
    assert.equal(r.steps.length, 1);
    assert.equal(r.production_after, prod);
    assert.equal(r.promoted, false);
    assert.deepEqual(await versions(), before);
  } finally {
    await Deno.writeFile(users, saved);
  }
});

Deno.test("drift:retrain exits 1 without retraining when the drift check itself fails", async () => {
  // A production model without a reference profile (as trained before profiles were stored).
  const registry = new Registry(fs, config);
  const bare = (await registry.versions()).filter((v) => v.model_type === "baseline_logreg").at(-1)!.version;
  await registry.setAlias("production", bare, { reason: "manual", note: "test: a model without a profile" });
  await detachProfile(config);
  const before = await versions();
  const r = await runDriftRetrain(config);
  assert.equal(r.exit_code, 1);
  assert.equal(r.drift, null);
  assert.match(r.drift_error!, /no reference profile/);
  assert.equal(r.retrain, null);
  assert.deepEqual(await versions(), before);
  assert.equal(await runTask(driftRetrainTask, ["--config", configFile]), 1);
});

/** Asserts that nothing half-written is trusted: the registry, every stored model and metrics document, the tables. */
async function assertIntact(c: Config, store: ArtifactStore, why: string): Promise<void> {
  const registry = new Registry(store, c);
  const { state } = await registry.read(); // throws on a corrupt registry
  const { version, model } = await registry.resolve("production");
  assert.ok(model.preprocessor.features.length > 0 && (model.logistic || model.hgb), `${why}: production is whole`);
  assert.ok(await registry.metrics(version), `${why}: production has its metrics`);
  for (const alias of Object.values(state.aliases)) await registry.model(alias.version);
  for (const folder of [c.paths.models, c.paths.metrics]) {
    for (const key of await store.list(`${store.keyOf(folder)}/`)) {
      assert.ok(!TEMP_NAME_PATTERN.test(key), `${why}: ${key} is a temporary file`);
      const doc = JSON.parse(new TextDecoder().decode((await store.get(key))!));
      // A metrics document is written after its model: it never points at a missing one.
      if (folder === c.paths.metrics) assert.ok(await store.has(registry.modelKey(doc.artifact)), `${why}: ${key}`);
    }
  }
  for (const f of ["processed/user_daily.arrow", "features/labels_daily.arrow", "features/training_dataset.arrow"]) {
    await readArrowTable(`${c.paths.processed.replace(/processed$/, "")}${f}`);
  }
}

/** Files in a folder whose names match `pattern`. */
async function matching(folder: string, pattern: RegExp): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(folder))).map((e) => e.name).filter((n) => pattern.test(n));
  } catch {
    return [];
  }
}

/** Where to kill the child: when a condition on the files holds, or when a line of its log has appeared. */
type KillPoint = { label: string } & ({ when: () => Promise<boolean> } | { line: RegExp } | { never: true });

/** Runs the child retrain and kills it with SIGKILL at the point; returns whether it was killed and its log. */
async function killRetrain(file: string, point: KillPoint): Promise<{ killed: boolean; log: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, file, "retrain"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const decoder = new TextDecoder();
  const reading = (async () => {
    for await (const chunk of child.stderr) log += decoder.decode(chunk, { stream: true });
  })();
  let exited = false;
  const status = child.status.then((s) => (exited = true, s));
  const t0 = Date.now();
  while (!exited) {
    const reached = "when" in point ? await point.when() : "line" in point ? point.line.test(log) : false;
    if (reached) {
      child.kill("SIGKILL");
      break;
    }
    if (Date.now() - t0 > 120_000) throw new Error(`The child retrain neither finished nor reached ${point.label}`);
    await new Promise((r) => setTimeout(r, 1));
  }
  const s = await status;
  await reading;
  return { killed: s.signal === "SIGKILL", log };
}

for (const backend of ["fs", "kv"] as const) {
  Deno.test(`${backend}: a retrain killed with SIGKILL at any point leaves a readable registry and a whole production model`, async () => {
    const kvDir = backend === "kv" ? await Deno.makeTempDir({ prefix: "churn_retrain_kv_" }) : null;
    const setup = backend === "fs"
      ? { config, dir, configFile, dispose: async () => {} }
      : await monitoringSetup({ extraYaml: `store:\n  backend: kv\n  kv_path: ${kvDir}/kv.sqlite\n` });
    const store: ArtifactStore = backend === "fs" ? fs : await KvStore.open(`${kvDir}/kv.sqlite`);
    try {
      const c = setup.config, d = setup.dir;
      // A complete run first: it must succeed, and it says how long a retrain takes.
      const full = await killRetrain(setup.configFile, { never: true, label: "never" });
      assert.equal(full.killed, false, full.log);
      await assertIntact(c, store, "after a complete run");
      const newModel = async () => {
        const known = new Set(await versions(c, store));
        return { when: async () => (await versions(c, store)).some((v) => !known.has(v)), label: "a new model stored" };
      };
      const writing = (folder: string, pattern: RegExp, label: string) => ({
        when: async () => (await matching(`${d}/${folder}`, pattern)).length > 0,
        label,
      });
      // Each point lies inside a step that lasts long enough to be caught: writing a table, the gap
      // between a model and its metrics document, the candidate's training.
      const candidate = { line: /\[train:candidate\] \d+ rows from/, label: "candidate training" };
      const points: KillPoint[] = backend === "fs"
        ? [
          writing("processed", /\.tmp-/, "prepare writing"),
          writing("features", /training_dataset\.arrow\.tmp-/, "training set writing"),
          await newModel(),
          { line: /\[features:all\]/, label: "training set written" },
          candidate,
        ]
        : [writing("features", /training_dataset\.arrow\.tmp-/, "training set writing"), await newModel(), candidate];
      const missed: string[] = [];
      for (const point of points) {
        const r = await killRetrain(setup.configFile, point);
        if (!r.killed) missed.push(point.label);
        if (Deno.env.get("CHURN_TEST_VERBOSE")) console.log(point.label, r.killed, r.log.trim().split("\n").at(-1));
        await assertIntact(c, store, `killed at ${point.label}: ${r.log.trim().split("\n").at(-1)}`);
      }
      assert.ok(missed.length <= 1, `runs not killed midway: ${missed.join(", ")}`);
      // The next retrain recovers: it runs to the end and promotes through the gate as usual.
      const again = await runRetrain(c);
      assert.equal(again.ok, true, JSON.stringify(again));
      await assertIntact(c, store, "after the recovery run");
    } finally {
      if (backend === "kv") {
        store.close();
        await setup.dispose();
        await Deno.remove(kvDir!, { recursive: true });
      }
    }
  });
}
