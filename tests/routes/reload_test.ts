import assert from "node:assert/strict";
import type { Config } from "../../config/mod.ts";
import { PredictionSchema, ProblemSchema, ReloadSchema } from "../../routes/schemas.ts";
import { Registry } from "../../tasks/registry.ts";
import { type ArtifactStore, FsStore, KvStore } from "../../tasks/store/mod.ts";
import { copyArtifacts, type Fixture, fixture, postJson, testApp, waitFor } from "./helpers.ts";

Deno.test("A promotion is picked up without a restart by polling the registry", async () => {
  const fx = await fixture();
  const copy = await copyArtifacts(fx);
  const t = await testApp(copy.config, { pollMs: 50 });
  try {
    assert.equal(t.holder.current!.version, fx.production);
    await new Registry(new FsStore("/"), copy.config).setAlias("production", fx.other, { reason: "manual" });
    await waitFor(() => t.holder.current?.version === fx.other);
    const p = PredictionSchema.parse(
      await (await t.app.request("/predict", postJson({ user_id: 1, features: {} }))).json(),
    );
    assert.equal(p.model_version, fx.other);
    const ready = await (await t.app.request("/ready")).json();
    assert.equal(ready.model.version, fx.other);
    assert.ok(t.logs.some((l) => l.msg === "model loaded" && l.model_version === fx.other));
    const metrics = await (await t.app.request("/metrics")).text();
    assert.match(metrics, /^churn_model_reloads_total\{outcome="changed"\} 2$/m, "the first load and the swap");
    assert.match(metrics, new RegExp(`^churn_model_info\\{version="${fx.other}",type="[a-z_]+"\\} 1$`, "m"));
  } finally {
    await t.close();
    await copy.dispose();
  }
});

Deno.test("A service started before any model exists serves one as soon as it is promoted", async () => {
  const fx = await fixture();
  const copy = await copyArtifacts(fx, { empty: true });
  const t = await testApp(copy.config, { pollMs: 50 });
  try {
    assert.equal((await t.app.request("/ready")).status, 503);
    for (const name of ["models", "metrics"] as const) {
      for await (const e of Deno.readDir(fx.config.paths[name])) {
        await Deno.copyFile(`${fx.config.paths[name]}/${e.name}`, `${copy.dir}/${name}/${e.name}`);
      }
    }
    await new Registry(new FsStore("/"), copy.config).promote();
    await waitFor(() => t.holder.current !== null);
    assert.equal((await t.app.request("/ready")).status, 200);
  } finally {
    await t.close();
    await copy.dispose();
  }
});

Deno.test("POST /admin/reload is 404 without CHURN_ADMIN_TOKEN, 401 with a wrong token, and reloads with it", async () => {
  const fx = await fixture();
  const copy = await copyArtifacts(fx);
  const off = await testApp(copy.config);
  const on = await testApp(copy.config, { env: { CHURN_ADMIN_TOKEN: "admin-t0ken" } });
  try {
    assert.equal((await off.app.request("/admin/reload", { method: "POST" })).status, 404);
    assert.equal(
      (await off.app.request("/admin/reload", { method: "POST", headers: { authorization: "Bearer x" } })).status,
      404,
    );
    const none = await on.app.request("/admin/reload", { method: "POST" });
    assert.equal(none.status, 401);
    ProblemSchema.parse(await none.json());
    const wrong = await on.app.request("/admin/reload", {
      method: "POST",
      headers: { authorization: "Bearer admin-t0kem" },
    });
    assert.equal(wrong.status, 401);
    assert.equal(
      (await on.app.request("/admin/reload", { headers: { authorization: "Bearer admin-t0ken" } })).status,
      405,
    );
    // The polling interval is a minute: only the admin route can make the service see the move now.
    await new Registry(new FsStore("/"), copy.config).setAlias("production", fx.other, { reason: "manual" });
    assert.equal(on.holder.current!.version, fx.production);
    const res = await on.app.request("/admin/reload", {
      method: "POST",
      headers: { authorization: "Bearer admin-t0ken" },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(ReloadSchema.parse(await res.json()), {
      changed: true,
      version: fx.other,
      previous: fx.production,
    });
    assert.equal(on.holder.current!.version, fx.other);
    assert.ok(!JSON.stringify(on.logs).includes("admin-t0ken"), "the token is never logged");
  } finally {
    await off.close();
    await on.close();
    await copy.dispose();
  }
});

Deno.test("Requests in flight finish on the model they started with while a rollback moves the alias", async () => {
  const fx = await fixture();
  const copy = await copyArtifacts(fx);
  const registry = new Registry(new FsStore("/"), copy.config);
  await registry.setAlias("production", fx.other, { reason: "manual" }); // history: production → other
  const t = await testApp(copy.config);
  try {
    const body = JSON.stringify({ user_id: 7, features: { [t.holder.current!.inputs[0].name]: 2 } });
    const riskOf = async () => PredictionSchema.parse(await (await t.app.request("/predict", postJson(body))).json());
    const before = await riskOf();
    assert.equal(before.model_version, fx.other);
    // 200 requests: the first 100 start now and hold their bodies open until after the rollback.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => open = resolve);
    const slow = Array.from({ length: 100 }, () => {
      const stream = new ReadableStream<Uint8Array>({
        async start(controller) {
          await gate;
          controller.enqueue(new TextEncoder().encode(body));
          controller.close();
        },
      });
      return t.app.request("/predict", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: stream,
        duplex: "half",
      } as RequestInit);
    });
    await new Promise((r) => setTimeout(r, 20));
    const moved = await registry.rollback();
    assert.deepEqual(moved, { from: fx.other, to: fx.production });
    const reload = await t.holder.reload();
    assert.equal(reload.version, fx.production);
    const fast = Array.from({ length: 100 }, () => t.app.request("/predict", postJson(body)));
    open();
    const answers = await Promise.all(
      [...slow, ...fast].map(async (r) => PredictionSchema.parse(await (await r).json())),
    );
    const after = await riskOf();
    assert.equal(after.model_version, fx.production);
    const riskBy = new Map([[before.model_version, before.churn_risk], [after.model_version, after.churn_risk]]);
    assert.notEqual(before.churn_risk, after.churn_risk);
    for (const [i, a] of answers.entries()) {
      assert.ok(riskBy.has(a.model_version), a.model_version);
      assert.equal(a.churn_risk, riskBy.get(a.model_version), `answer ${i} mixes models`);
      assert.equal(a.model_version, i < 100 ? fx.other : fx.production, `answer ${i}`);
    }
  } finally {
    await t.close();
    await copy.dispose();
  }
});

async function copyIntoStore(fx: Fixture, store: ArtifactStore, config: Config): Promise<void> {
  for (const name of ["models", "metrics", "registry"] as const) {
    for await (const e of Deno.readDir(fx.config.paths[name])) {
      const bytes = await Deno.readFile(`${fx.config.paths[name]}/${e.name}`);
      await store.put(store.keyOf(`${config.paths[name]}/${e.name}`), bytes);
    }
  }
}

Deno.test("With Deno KV the service follows the production alias through kv.watch", async () => {
  const fx = await fixture();
  const store = await KvStore.open(":memory:");
  const config: Config = { ...fx.config, store: { ...fx.config.store, backend: "kv", kv_path: ":memory:" } };
  await copyIntoStore(fx, store, config);
  const t = await testApp(config, { store, pollMs: 600_000 }); // no polling within the test: only the watch
  try {
    assert.equal(t.holder.current!.version, fx.production);
    await new Registry(store, config).setAlias("production", fx.other, { reason: "manual" });
    await waitFor(() => t.holder.current?.version === fx.other);
    const p = PredictionSchema.parse(
      await (await t.app.request("/predict", postJson({ user_id: 1, features: {} }))).json(),
    );
    assert.equal(p.model_version, fx.other);
  } finally {
    await t.close();
    store.close();
  }
});
