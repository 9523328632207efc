import assert from "node:assert/strict";
import { type Config, loadConfig } from "../../config/mod.ts";
import { checkAlias, Registry, RegistryError } from "../../tasks/registry.ts";
import { type ArtifactStore, FsStore, KvStore, putJson } from "../../tasks/store/mod.ts";

let config: Config = loadConfig({ env: "dev", file: null });
const CHILD = new URL("./registry_race_child.ts", import.meta.url).pathname;

/** Stores a model artifact and its metrics document with the given test metrics. */
async function addVersion(
  store: ArtifactStore,
  version: string,
  metrics: { pr_auc: number; roc_auc?: number; brier: number },
): Promise<void> {
  const type = version.startsWith("candidate_hgb") ? "candidate_hgb" : "baseline_logreg";
  const stamp = version.slice(-16);
  const trainedAt = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${
    stamp.slice(11, 13)
  }:${stamp.slice(13, 15)}.000Z`;
  const r = new Registry(store, config);
  await putJson(store, r.modelKey(version), {
    name: version,
    model_type: type,
    trained_at: trainedAt,
  });
  await putJson(store, r.metricsKey(version), {
    model_type: type,
    artifact: version,
    trained_at: trainedAt,
    metrics: { pr_auc: metrics.pr_auc, roc_auc: metrics.roc_auc ?? 0.8, brier: metrics.brier },
  });
}

/** Opens a store in a fresh folder and points the config's artifact paths into it. */
async function open(
  backend: "fs" | "kv",
): Promise<{ store: ArtifactStore; location: string; configFile: string; dispose: () => Promise<void> }> {
  const dir = await Deno.makeTempDir();
  const configFile = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    configFile,
    `paths:\n  models: ${dir}/artifacts/models\n  metrics: ${dir}/artifacts/metrics\n  registry: ${dir}/artifacts/registry\n`,
  );
  config = loadConfig({ env: "dev", file: configFile });
  const store = backend === "fs" ? new FsStore(dir) : await KvStore.open(`${dir}/kv.sqlite`);
  return {
    store,
    location: backend === "fs" ? dir : `${dir}/kv.sqlite`,
    configFile,
    dispose: async () => {
      store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

for (const backend of ["fs", "kv"] as const) {
  Deno.test(`${backend}: an empty registry has no production model and says so`, async () => {
    const { store, dispose } = await open(backend);
    const r = new Registry(store, config);
    await assert.rejects(
      () => r.resolve(),
      (e) => e instanceof RegistryError && /No production model yet/.test(e.message),
    );
    assert.deepEqual(await r.versions(), []);
    await dispose();
  });

  Deno.test(`${backend}: promote picks the better of the newest models and gates it against production`, async () => {
    const { store, dispose } = await open(backend);
    const r = new Registry(store, config);
    await addVersion(store, "baseline_logreg_20260101T000000Z", { pr_auc: 0.6, brier: 0.10 });
    await addVersion(store, "candidate_hgb_20260101T000100Z", { pr_auc: 0.7, brier: 0.08 });
    let d = await r.promote();
    assert.equal(d.action, "promote");
    assert.equal((await r.resolve()).version, "candidate_hgb_20260101T000100Z");
    // A newer baseline that is worse than production becomes the challenger, with the numbers.
    await addVersion(store, "baseline_logreg_20260102T000000Z", { pr_auc: 0.65, brier: 0.09 });
    await addVersion(store, "candidate_hgb_20260102T000100Z", { pr_auc: 0.66, brier: 0.09 });
    d = await r.promote();
    assert.equal(d.action, "challenger");
    assert.equal(d.winner?.version, "candidate_hgb_20260102T000100Z");
    assert.ok(
      d.reasons.some((x) => /improvement -0\.0400 is less than the required 0\.0000/.test(x)),
      d.reasons.join("\n"),
    );
    const { state } = await r.read();
    assert.equal(state.aliases.challenger.version, "candidate_hgb_20260102T000100Z");
    assert.equal(state.aliases.production.version, "candidate_hgb_20260101T000100Z");
    // Better primary metric but a much worse Brier score: the guardrail holds it back.
    await addVersion(store, "candidate_hgb_20260103T000000Z", { pr_auc: 0.9, brier: 0.5 });
    d = await r.promote();
    assert.equal(d.action, "challenger");
    assert.ok(d.reasons.some((x) => /Brier score 0\.5000 is worse than production's 0\.0800/.test(x)));
    // Running the gate again changes nothing and adds no history.
    const before = (await r.read()).state.history.length;
    await r.promote();
    assert.equal((await r.read()).state.history.length, before);
    await dispose();
  });

  Deno.test(`${backend}: rollback returns production to the previous or a named version, recorded in the history`, async () => {
    const { store, dispose } = await open(backend);
    const r = new Registry(store, config);
    await addVersion(store, "baseline_logreg_20260101T000000Z", { pr_auc: 0.6, brier: 0.1 });
    await r.promote();
    await addVersion(store, "baseline_logreg_20260102T000000Z", { pr_auc: 0.7, brier: 0.1 });
    await r.promote();
    const history1 = (await r.read()).state.history;
    assert.deepEqual(await r.rollback(), {
      from: "baseline_logreg_20260102T000000Z",
      to: "baseline_logreg_20260101T000000Z",
    });
    const { state } = await r.read();
    assert.equal(state.aliases.production.version, "baseline_logreg_20260101T000000Z");
    assert.deepEqual(state.history.slice(0, history1.length), history1, "the history is only appended to");
    const last = state.history.at(-1)!;
    assert.equal(last.reason, "rollback");
    assert.equal(last.from, "baseline_logreg_20260102T000000Z");
    assert.equal(last.metrics?.pr_auc, 0.6);
    await r.rollback("baseline_logreg_20260102T000000Z");
    assert.equal((await r.resolve()).version, "baseline_logreg_20260102T000000Z");
    await assert.rejects(() => r.rollback("baseline_logreg_20990101T000000Z"), /is missing/);
    await r.setAlias("staging-check", "baseline_logreg_20260101T000000Z", { reason: "manual", note: "for a demo" });
    assert.equal((await r.read()).state.history.at(-1)?.reason, "manual");
    await dispose();
  });

  Deno.test(`${backend}: a corrupt registry or a production alias without its artifact is reported, not thrown raw`, async () => {
    const { store, dispose } = await open(backend);
    const r = new Registry(store, config);
    await store.put(r.key, new TextEncoder().encode("{not json"));
    await assert.rejects(
      () => r.resolve(),
      (e) => e instanceof RegistryError && /registry\.json is corrupt/.test(e.message),
    );
    await assert.rejects(() => r.promote(), RegistryError);
    await putJson(store, r.key, {
      schema_version: 1,
      aliases: { production: { version: "baseline_logreg_20260101T000000Z", set_at: "2026-01-01T00:00:00Z" } },
      history: [],
    });
    await assert.rejects(
      () => r.resolve(),
      (e) =>
        e instanceof RegistryError &&
        /production alias points at baseline_logreg_20260101T000000Z, but the model artifact .* is missing/.test(
          e.message,
        ),
    );
    await dispose();
  });

  Deno.test(`${backend}: two processes promoting at once leave one consistent promotion`, async () => {
    const { store, location, configFile, dispose } = await open(backend);
    await addVersion(store, "baseline_logreg_20260101T000000Z", { pr_auc: 0.6, brier: 0.1 });
    await addVersion(store, "candidate_hgb_20260101T000100Z", { pr_auc: 0.7, brier: 0.08 });
    if (backend === "kv") store.close();
    const run = () =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", CHILD, backend, location, configFile],
        stdout: "piped",
        stderr: "piped",
      })
        .output();
    const results = await Promise.all([run(), run(), run()]);
    for (const o of results) assert.equal(o.code, 0, new TextDecoder().decode(o.stderr));
    const check = backend === "kv" ? await KvStore.open(location) : store;
    const r = new Registry(check, config);
    const { state } = await r.read();
    assert.equal(state.aliases.production.version, "candidate_hgb_20260101T000100Z");
    assert.equal(state.history.filter((e) => e.alias === "production").length, 1, JSON.stringify(state.history));
    const actions = results.map((o) => JSON.parse(new TextDecoder().decode(o.stdout)).action).sort();
    assert.deepEqual(actions, ["none", "none", "promote"]);
    if (backend === "kv") check.close();
    await dispose();
  });
}

Deno.test("checkAlias() follows MLflow's alias rules", () => {
  for (const ok of ["production", "challenger", "shadow_2", "a-b"]) assert.equal(checkAlias(ok), ok);
  for (const bad of ["", "latest", "v3", "has space", "x/y"]) assert.throws(() => checkAlias(bad), TypeError, bad);
});
