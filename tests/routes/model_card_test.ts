import assert from "node:assert/strict";
import { ModelCardSchema, ProblemSchema } from "../../routes/schemas.ts";
import { Registry } from "../../tasks/registry.ts";
import { FsStore } from "../../tasks/store/mod.ts";
import { copyArtifacts, fixture, testApp } from "./helpers.ts";

Deno.test("GET /model is the production model's card: metrics, every input with type and default, history", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config);
  try {
    const res = await t.app.request("/model");
    assert.equal(res.status, 200);
    const card = ModelCardSchema.parse(await res.json());
    const loaded = t.holder.current!;
    assert.equal(card.version, fx.production);
    assert.equal(card.type, loaded.type);
    assert.equal(card.trained_at, loaded.model.trained_at);
    const metrics = (await new Registry(new FsStore("/"), fx.config).metrics(fx.production))!;
    assert.equal(card.metrics!.pr_auc, metrics.metrics.pr_auc);
    assert.equal(card.metrics!.roc_auc, metrics.metrics.roc_auc);
    assert.equal(card.training!.train_rows, metrics.train_rows);
    const pre = loaded.model.preprocessor;
    assert.deepEqual(card.inputs.filter((f) => f.type === "number").map((f) => f.name), pre.numeric.map((s) => s.name));
    for (const c of pre.categorical) {
      const input = card.inputs.find((f) => f.name === c.name)!;
      assert.equal(input.type, "category");
      assert.deepEqual(input.categories, c.categories);
      assert.match(input.default, /missing/);
    }
    for (const f of card.inputs.filter((f) => f.type === "number")) assert.match(f.default, /missing|imputed/);
    assert.equal(card.aliases.production.version, fx.production);
    assert.equal(card.history[0].to, fx.production);
  } finally {
    await t.close();
  }
});

Deno.test("The card lists the last ten alias moves, newest first", async () => {
  const fx = await fixture();
  const copy = await copyArtifacts(fx);
  const t = await testApp(copy.config);
  try {
    const registry = new Registry(new FsStore("/"), copy.config);
    for (let i = 0; i < 6; i++) {
      await registry.setAlias("production", i % 2 === 0 ? fx.other : fx.production, {
        reason: "manual",
        note: `move ${i}`,
      });
    }
    const card = ModelCardSchema.parse(await (await t.app.request("/model")).json());
    assert.equal(card.history.length, 7);
    assert.equal(card.history[0].note, "move 5");
    for (let i = 0; i < 6; i++) {
      await registry.setAlias("challenger", i % 2 ? fx.other : fx.production, { reason: "manual" });
    }
    const longer = ModelCardSchema.parse(await (await t.app.request("/model")).json());
    assert.equal(longer.history.length, 10);
    assert.equal(longer.history[0].alias, "challenger");
  } finally {
    await t.close();
    await copy.dispose();
  }
});

Deno.test("GET /model is a 503 problem when no model is loaded", async () => {
  const copy = await copyArtifacts(await fixture(), { empty: true });
  const t = await testApp(copy.config);
  try {
    const res = await t.app.request("/model");
    assert.equal(res.status, 503);
    assert.match(ProblemSchema.parse(await res.json()).detail, /No production model/);
  } finally {
    await t.close();
    await copy.dispose();
  }
});
