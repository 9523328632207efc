import assert from "node:assert/strict";
import { ProblemSchema, ReadySchema } from "../../routes/schemas.ts";
import { copyArtifacts, fixture, testApp } from "./helpers.ts";

Deno.test("GET /live answers 200 live even when no model exists", async () => {
  const copy = await copyArtifacts(await fixture(), { empty: true });
  const t = await testApp(copy.config);
  try {
    const res = await t.app.request("/live");
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { status: "live" });
  } finally {
    await t.close();
    await copy.dispose();
  }
});

Deno.test("GET /ready and /health answer 503 problems with the reason when there is no production model", async () => {
  const copy = await copyArtifacts(await fixture(), { empty: true });
  const t = await testApp(copy.config);
  try {
    for (const path of ["/ready", "/health"]) {
      const res = await t.app.request(path);
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      assert.equal(res.headers.get("retry-after"), "5");
      const doc = ProblemSchema.parse(await res.json());
      assert.equal(doc.status, 503);
      assert.equal(doc.instance, path);
      assert.match(doc.detail, /No production model yet/);
    }
  } finally {
    await t.close();
    await copy.dispose();
  }
});

Deno.test("GET /ready and /health name the production model's version, type and training time", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config);
  try {
    for (const path of ["/ready", "/health"]) {
      const res = await t.app.request(path);
      assert.equal(res.status, 200);
      const body = ReadySchema.parse(await res.json());
      assert.equal(body.model.version, fx.production);
      assert.equal(body.model.type, fx.production.startsWith("candidate_hgb") ? "candidate_hgb" : "baseline_logreg");
      assert.equal(body.model.trained_at, t.holder.current!.model.trained_at);
    }
  } finally {
    await t.close();
  }
});

Deno.test("A corrupt registry document makes /ready a 503 naming the registry, not a 500", async () => {
  const copy = await copyArtifacts(await fixture());
  await Deno.writeTextFile(`${copy.dir}/registry/registry.json`, "{ not json");
  const t = await testApp(copy.config);
  try {
    const res = await t.app.request("/ready");
    assert.equal(res.status, 503);
    const doc = ProblemSchema.parse(await res.json());
    assert.match(doc.detail, /registry.*corrupt/i);
    const predict = await t.app.request("/predict", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ user_id: 1, features: {} }),
    });
    assert.equal(predict.status, 503);
  } finally {
    await t.close();
    await copy.dispose();
  }
});

Deno.test("A production alias pointing at a missing artifact is a 503 naming the version", async () => {
  const fx = await fixture();
  const copy = await copyArtifacts(fx);
  await Deno.remove(`${copy.dir}/models/${fx.production}.json`);
  const t = await testApp(copy.config);
  try {
    const res = await t.app.request("/ready");
    assert.equal(res.status, 503);
    const doc = ProblemSchema.parse(await res.json());
    assert.match(doc.detail, new RegExp(`points at ${fx.production}.*missing`));
  } finally {
    await t.close();
    await copy.dispose();
  }
});

Deno.test("A failed reload keeps serving the loaded model and reports the error in /ready", async () => {
  const fx = await fixture();
  const copy = await copyArtifacts(fx);
  const t = await testApp(copy.config);
  try {
    await Deno.writeTextFile(`${copy.dir}/registry/registry.json`, "[]");
    const result = await t.holder.reload();
    assert.equal(result.changed, false);
    assert.match(result.error ?? "", /corrupt/);
    const res = await t.app.request("/ready");
    assert.equal(res.status, 200);
    const body = ReadySchema.parse(await res.json());
    assert.equal(body.model.version, fx.production);
    assert.match(body.reload_error ?? "", /corrupt/);
  } finally {
    await t.close();
    await copy.dispose();
  }
});
