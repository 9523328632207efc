import assert from "node:assert/strict";
import { copyArtifacts, fixture, testApp } from "./helpers.ts";

type Schema = { properties?: Record<string, Schema>; required?: string[]; anyOf?: Schema[]; type?: string | string[] };

Deno.test("GET /openapi.json is an OpenAPI 3.1 document whose request schema names every model input", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config, { env: { CHURN_ADMIN_TOKEN: "t" } });
  try {
    const res = await t.app.request("/openapi.json");
    assert.equal(res.status, 200);
    const doc = await res.json();
    assert.equal(doc.openapi, "3.1.0");
    assert.equal(doc.info.version, fx.production);
    for (
      const path of ["/predict", "/predict/batch", "/live", "/ready", "/health", "/model", "/metrics", "/admin/reload"]
    ) {
      assert.ok(doc.paths[path], path);
    }
    assert.ok(doc.paths["/predict"].post.responses["422"]);
    const request: Schema = doc.components.schemas.PredictRequest;
    assert.deepEqual(request.required, ["user_id", "features"]);
    const features = request.properties!.features.properties!;
    const loaded = t.holder.current!;
    assert.deepEqual(Object.keys(features), loaded.inputs.map((f) => f.name));
    for (const f of loaded.inputs) {
      const types = features[f.name].anyOf!.map((s) => s.type);
      assert.deepEqual(types, f.type === "number" ? ["number", "null"] : ["string", "null"], f.name);
    }
    const prediction: Schema = doc.components.schemas.Prediction;
    assert.ok(prediction.properties!.churn_risk && prediction.properties!.top_reasons);
    assert.ok(doc.components.schemas.Problem.properties.errors);
  } finally {
    await t.close();
  }
});

Deno.test("Without a model the OpenAPI document describes features generically and admin routes are absent", async () => {
  const copy = await copyArtifacts(await fixture(), { empty: true });
  const t = await testApp(copy.config);
  try {
    const doc = await (await t.app.request("/openapi.json")).json();
    assert.equal(doc.info.version, "no-model");
    assert.equal(doc.paths["/admin/reload"], undefined);
    assert.deepEqual(doc.components.schemas.PredictRequest.properties.features.properties, {});
  } finally {
    await t.close();
    await copy.dispose();
  }
});

Deno.test("GET /docs is a self-contained HTML page that loads no external resource", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config);
  try {
    const res = await t.app.request("/docs");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/html/);
    assert.match(res.headers.get("content-security-policy")!, /default-src 'none'/);
    const html = await res.text();
    assert.match(html, /^<!doctype html>/);
    assert.match(html, /fetch\("openapi\.json"\)/);
    assert.ok(!/(src|href)\s*=\s*["']?(https?:)?\/\//i.test(html), "no external scripts or styles");
    assert.ok(!/https?:\/\//.test(html), "no absolute URLs at all");
  } finally {
    await t.close();
  }
});
