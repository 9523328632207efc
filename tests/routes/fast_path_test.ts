import assert from "node:assert/strict";
import { prng } from "../helpers/prng.ts";
import { type Column, makeTable } from "../../pipeline/table.ts";
import { compileScorer, scoreEncoded, scoreRows } from "../../pipeline/scoring.ts";
import { transformRows } from "../../pipeline/preprocess.ts";
import { prepareModel } from "../../routes/model_holder.ts";
import { fastPredictions, isValidInstance, type PredictInstance, scoreInstances } from "../../routes/predict.ts";
import type { LoadedModel } from "../../routes/mod.ts";
import { Registry } from "../../tasks/registry.ts";
import { FsStore } from "../../tasks/store/mod.ts";
import { fixture, fullFeatures, postJson, testApp, withConfig } from "./helpers.ts";

const SEED = 20260601;
const BANDS = { medium: 0.4, high: 0.7 };

/** Both trained models of the fixture (the logistic baseline and the trees), loaded as the service loads them. */
async function bothModels(): Promise<LoadedModel[]> {
  const fx = await fixture();
  const registry = new Registry(new FsStore("/"), fx.config);
  const out: LoadedModel[] = [];
  for (const version of [fx.production, fx.other]) {
    out.push(prepareModel(version, await registry.model(version), { maxBatch: 1000 }));
  }
  assert.deepEqual(new Set(out.map((m) => m.type)), new Set(["baseline_logreg", "candidate_hgb"]));
  return out;
}

/** Random valid instances: values around the means, nulls, missing and unknown keys, unseen categories, -0, extremes. */
function validInstances(loaded: LoadedModel, rand: () => number, count: number): PredictInstance[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  return Array.from({ length: count }, (_, i) => {
    const features: Record<string, unknown> = {};
    for (const f of loaded.inputs) {
      const r = rand();
      if (r < 0.1) continue; // missing
      if (r < 0.15) {
        features[f.name] = null;
        continue;
      }
      if (f.type === "number") {
        const m = f.mean ?? 0;
        features[f.name] = r < 0.18
          ? pick([0, -0, 1e9, -1e9, 5e-324, 123456.789])
          : r < 0.5
          ? Math.round(m * 2 * rand())
          : m * 3 * rand() - m / 2;
      } else {
        features[f.name] = r < 0.22 ? pick(["Atlantis", "", "missing", '𝔘ñí "x"']) : pick(f.categories ?? ["missing"]);
      }
    }
    if (rand() < 0.3) {
      features[pick(["engagement_score", "zz", "__proto__", 'a"b\\c', "\u2028"])] = pick([1, "x", null, [1]]);
    }
    const keys = Object.keys(features);
    if (rand() < 0.3) keys.reverse(); // any key order
    const ordered: Record<string, unknown> = {};
    for (const k of keys) Object.defineProperty(ordered, k, { value: features[k], enumerable: true, writable: true });
    const instance: Record<string, unknown> = {
      user_id: rand() < 0.5 ? 1000 + i : pick(["u-1", 'ü"ser', "x".repeat(128), String(i)]),
      features: ordered,
    };
    if (rand() < 0.6) instance.snapshot_date = "2026-05-30";
    return JSON.parse(JSON.stringify(instance)) as PredictInstance;
  });
}

Deno.test("scoreEncoded() with the compiled scorer matches scoreRows() on tables with missing and unseen values", async () => {
  const rand = prng(SEED);
  for (const loaded of await bothModels()) {
    const pre = loaded.model.preprocessor;
    const n = 300;
    const columns: [string, Column][] = [
      ...pre.numeric.map((s): [string, Column] => [s.name, {
        type: "f64",
        data: Float64Array.from({ length: n }, () => rand() < 0.1 ? NaN : s.mean * 3 * rand()),
      }]),
      ...pre.categorical.map((s): [string, Column] => [s.name, {
        type: "dict",
        codes: Int32Array.from({ length: n }, () => Math.floor(rand() * (s.categories.length + 2)) - 1),
        dictionary: [...s.categories, "unseen"],
      }]),
    ];
    const table = makeTable(columns);
    const scorer = compileScorer(loaded.model);
    const x = transformRows(pre, table, { mode: loaded.model.input_mode });
    const encoded = scoreEncoded(scorer, x, { reasons: 3 });
    const rows = scoreRows(loaded.model, table, { reasons: 3 });
    assert.deepEqual(encoded.risk, rows.risk, loaded.type);
    for (let i = 0; i < n; i++) {
      const groups = Array.from(encoded.top.subarray(i * 3, i * 3 + 3)).filter((g) => g >= 0);
      assert.deepEqual(
        groups.map((g) => scorer.groups[g]),
        rows.reasons[i].map((r) => r.feature),
        `${loaded.type} ${i}`,
      );
      assert.deepEqual(
        Array.from(encoded.contributions.subarray(i * 3, i * 3 + groups.length)),
        rows.reasons[i].map((r) => r.contribution),
      );
    }
    assert.deepEqual(scoreEncoded(scorer, x).risk, scoreRows(loaded.model, table).risk);
  }
});

Deno.test("The fast path answers exactly the JSON of the general path on random instances, singly and in batches", async () => {
  const rand = prng(SEED + 1);
  for (const loaded of await bothModels()) {
    const instances = validInstances(loaded, rand, 600);
    let withDefaults = 0, withIgnored = 0, withUnseen = 0, withReasons = 0, withPercentile = 0;
    for (const instance of instances) {
      const fast = fastPredictions(loaded, [instance], { bands: BANDS });
      assert.ok(fast !== null, JSON.stringify(instance));
      const general = scoreInstances(loaded, [instance], { bands: BANDS })[0];
      assert.equal(fast.text, JSON.stringify(general), `${loaded.type}: ${JSON.stringify(instance)}`);
      assert.equal(fast.risk[0], general.churn_risk);
      if (general.defaults_used.length) withDefaults++;
      if (general.ignored_features.length) withIgnored++;
      if (general.unseen_categories.length) withUnseen++;
      if (general.top_reasons.length) withReasons++;
      if (general.risk_percentile !== null) withPercentile++;
    }
    for (const count of [withDefaults, withIgnored, withUnseen, withReasons, withPercentile]) {
      assert.ok(count > 20, `${loaded.type}: the random instances must cover every part of the answer`);
    }
    for (const size of [1, 7, 250]) {
      const batch = instances.slice(0, size);
      const fast = fastPredictions(loaded, batch, { bands: BANDS, batch: true })!;
      const predictions = scoreInstances(loaded, batch, { bands: BANDS });
      assert.equal(
        fast.text,
        JSON.stringify({ model_version: loaded.version, count: size, predictions }),
        `${loaded.type}: batch of ${size}`,
      );
      const general = predictions;
      assert.deepEqual(Array.from(fast.risk), general.map((p) => p.churn_risk));
    }
  }
});

Deno.test("The fast path takes exactly the instances the quick check accepts", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config, { level: "ERROR" });
  try {
    const loaded = t.holder.current!;
    const rand = prng(SEED + 2);
    const full = fullFeatures(loaded);
    const numeric = loaded.inputs.find((f) => f.type === "number")!.name;
    const category = loaded.inputs.find((f) => f.type === "category")!.name;
    const bad: unknown[] = [
      null,
      [],
      "x",
      { user_id: 1 },
      { features: {} },
      { user_id: "", features: {} },
      { user_id: 1.5, features: {} },
      { user_id: 2 ** 53, features: {} },
      { user_id: "x".repeat(129), features: {} },
      { user_id: 1, features: [] },
      { user_id: 1, features: {}, extra: 1 },
      { user_id: 1, snapshot_date: "2026-02-30x", features: {} },
      { user_id: 1, snapshot_date: null, features: {} },
      { user_id: 1, features: { ...full, [numeric]: "3" } },
      { user_id: 1, features: { ...full, [numeric]: 1e9 + 1 } },
      { user_id: 1, features: { ...full, [numeric]: true } },
      { user_id: 1, features: { ...full, [category]: 3 } },
      { user_id: 1, features: { ...full, [category]: "x".repeat(201) } },
      { user_id: 1, features: Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, i])) },
    ];
    for (const body of bad) {
      assert.equal(isValidInstance(loaded, body), false, JSON.stringify(body)?.slice(0, 200));
      assert.equal(fastPredictions(loaded, [body], { bands: BANDS }), null, JSON.stringify(body)?.slice(0, 200));
      const good = validInstances(loaded, rand, 3);
      assert.equal(
        fastPredictions(loaded, [...good, body], { bands: BANDS, batch: true }),
        null,
        "one bad instance declines a batch",
      );
    }
    for (const body of validInstances(loaded, rand, 300)) {
      assert.equal(isValidInstance(loaded, body), true);
      assert.notEqual(fastPredictions(loaded, [body], { bands: BANDS }), null);
    }
  } finally {
    await t.close();
  }
});

Deno.test("The service answers through the fast path what the general path answers, byte for byte", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config, { level: "ERROR" });
  try {
    const loaded = t.holder.current!;
    const instances = validInstances(loaded, prng(SEED + 3), 40);
    const bands = fx.config.scoring.risk_bands;
    const one = await t.app.request("/predict", postJson(instances[0]));
    assert.equal(one.status, 200);
    assert.equal(one.headers.get("content-type"), "application/json");
    assert.match(one.headers.get("server-timing") ?? "", /^read;dur=[\d.]+, validate;dur=[\d.]+, score;dur=[\d.]+, /);
    assert.equal(await one.text(), JSON.stringify(scoreInstances(loaded, [instances[0]], { bands })[0]));
    const many = await t.app.request("/predict/batch", postJson({ instances }));
    assert.equal(many.status, 200);
    const predictions = scoreInstances(loaded, instances, { bands });
    assert.equal(
      await many.text(),
      JSON.stringify({ model_version: loaded.version, count: instances.length, predictions }),
    );
  } finally {
    await t.close();
  }
});

Deno.test("A body holding U+FFFD is read as sent; bytes that are not UTF-8 are still a 400", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config, { level: "ERROR" });
  try {
    const ok = await t.app.request("/predict", postJson({ user_id: "a\ufffdb", features: {} }));
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).user_id, "a\ufffdb");
    const encoder = new TextEncoder();
    for (
      const bytes of [[0x7b, 0xff, 0x7d], [
        ...encoder.encode('{"user_id": "\ufffd'),
        0xc0,
        0xaf,
        ...encoder.encode('"}'),
      ]]
    ) {
      const res = await t.app.request("/predict", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: new Uint8Array(bytes),
      });
      assert.equal(res.status, 400);
      assert.match((await res.json()).detail, /not valid UTF-8/);
    }
  } finally {
    await t.close();
  }
});

Deno.test("Reading the body whole keeps every answer about sizes and missing bodies", async () => {
  const fx = await fixture();
  const t = await testApp(withConfig(fx.config, { server: { max_body_bytes: 1000 } }), { level: "ERROR" });
  try {
    const detail = async (init: RequestInit) => {
      const res = await t.app.request("/predict", init);
      return `${res.status} ${res.status === 200 ? "" : (await res.json()).detail}`;
    };
    const json = { "content-type": "application/json" };
    // No body at all, whatever the Content-Length says: an empty body.
    for (const length of ["0", "5", "abc", "5000"]) {
      assert.equal(
        await detail({ method: "POST", headers: { ...json, "content-length": length } }),
        "400 The request body is empty",
      );
    }
    const body = JSON.stringify({ user_id: 1, features: {} });
    assert.equal(
      await detail({ method: "POST", headers: { ...json, "content-length": String(body.length) }, body }),
      "200 ",
    );
    assert.equal(
      await detail({ method: "POST", headers: { ...json, "content-length": "abc" }, body }),
      "400 The Content-Length header is not a number",
    );
    assert.equal(
      await detail({ method: "POST", headers: { ...json, "content-length": "5000" }, body }),
      "413 The request body is 5000 bytes, more than the limit of 1000 bytes (server.max_body_bytes)",
    );
    assert.equal(
      await detail({ method: "POST", headers: { ...json, "content-length": "3" }, body }),
      `400 The body has ${body.length} bytes but Content-Length says 3`,
    );
  } finally {
    await t.close();
  }
});
