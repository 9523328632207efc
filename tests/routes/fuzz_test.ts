import assert from "node:assert/strict";
import { prng } from "../helpers/prng.ts";
import { isValidInstance } from "../../routes/predict.ts";
import type { LoadedModel } from "../../routes/mod.ts";
import { BatchPredictionSchema, PredictionSchema, ProblemSchema } from "../../routes/schemas.ts";
import { fixture, fullFeatures, testApp, withConfig } from "./helpers.ts";

const SEED = 20260501;

const NASTY_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "toString",
  "hasOwnProperty",
  "valueOf",
  "",
  " ",
  "𝔘ñí",
  "a/b",
  "~0",
];
const NASTY_STRINGS = [
  "",
  "NaN",
  "Infinity",
  "-Infinity",
  "3",
  "1e3",
  " 4 ",
  "0x10",
  "null",
  "true",
  "__proto__",
  "‮RTL",
  "😀".repeat(50),
  "\u0000\u0001",
  "\ud800",
  "<script>alert(1)</script>",
  "2026-02-30",
  "2026-13-01",
  "2026-01-01T00:00:00Z",
  "x".repeat(5000),
];
const NASTY_NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  1e9,
  1e9 + 1,
  -1e9,
  -1e9 - 1,
  1e300,
  -1e300,
  5e-324,
  2 ** 53,
  2 ** 53 + 2,
  123456.789,
];

function generator(loaded: LoadedModel, rand: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const names = loaded.inputs.map((f) => f.name);
  const value = (depth: number): unknown => {
    const r = rand();
    if (r < 0.15) return pick(NASTY_NUMBERS);
    if (r < 0.25) return Math.round((rand() - 0.3) * 1000) / 10;
    if (r < 0.4) return pick(NASTY_STRINGS);
    if (r < 0.45) return null;
    if (r < 0.5) return rand() < 0.5;
    if (r < 0.6) return pick(loaded.categorical.flatMap((c) => c.categories));
    if (depth <= 0) return pick(NASTY_NUMBERS);
    if (r < 0.8) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth - 1));
    return object(depth - 1);
  };
  const key = () => rand() < 0.5 ? pick(names) : rand() < 0.6 ? pick(NASTY_KEYS) : `k${Math.floor(rand() * 100)}`;
  const object = (depth: number): Record<string, unknown> => {
    const o: Record<string, unknown> = {};
    const n = Math.floor(rand() * 6);
    for (let i = 0; i < n; i++) {
      Object.defineProperty(o, key(), { value: value(depth), enumerable: true, writable: true, configurable: true });
    }
    return o;
  };
  const features = (): unknown => {
    const r = rand();
    if (r < 0.1) return value(2);
    const f: Record<string, unknown> = r < 0.5 ? fullFeatures(loaded) : {};
    const edits = Math.floor(rand() * 4);
    for (let i = 0; i < edits; i++) {
      Object.defineProperty(f, key(), { value: value(2), enumerable: true, writable: true, configurable: true });
    }
    return f;
  };
  const instance = (): unknown => {
    const r = rand();
    if (r < 0.05) return value(3);
    const o: Record<string, unknown> = {};
    if (rand() < 0.9) o.user_id = rand() < 0.6 ? Math.floor(rand() * 1e6) : value(1);
    if (rand() < 0.4) o.snapshot_date = rand() < 0.5 ? "2026-05-30" : value(0);
    if (rand() < 0.95) o.features = features();
    if (rand() < 0.1) Object.defineProperty(o, pick(NASTY_KEYS), { value: value(1), enumerable: true });
    return o;
  };
  return { value, instance, pick };
}

/** Raw bodies that are not JSON.stringify output: broken, huge, nested, with literal __proto__ keys. */
function rawBodies(loaded: LoadedModel): { body: string | Uint8Array<ArrayBuffer>; type?: string }[] {
  const f = loaded.inputs[0].name;
  return [
    { body: "" },
    { body: " \n\t " },
    { body: "{" },
    { body: '{"user_id": 1, "features": {}' },
    { body: '{"user_id": 1, "features": {},}' },
    { body: "NaN" },
    { body: `{"user_id": 1, "features": {"${f}": NaN}}` },
    { body: `{"user_id": 1, "features": {"${f}": Infinity}}` },
    { body: `{"user_id": 1, "features": {"${f}": 1e999}}` },
    { body: `{"user_id": 1, "features": {"${f}": -1e999}}` },
    { body: `{"user_id": 1e999, "features": {}}` },
    { body: '{"user_id": 1, "features": {"__proto__": {"polluted": "yes"}}}' },
    { body: '{"__proto__": {"polluted": "yes"}, "user_id": 1, "features": {}}' },
    { body: '{"user_id": 1, "features": {"constructor": {"prototype": {"polluted": "yes"}}}}' },
    { body: '{"user_id": 1, "features": {}, "constructor": {"prototype": {"polluted": "yes"}}}' },
    { body: '{"instances": [{"__proto__": {"polluted": "yes"}, "user_id": 1, "features": {}}]}' },
    { body: '{"user_id": 1, "user_id": 2, "features": {}}' },
    { body: "[".repeat(200_000) + "]".repeat(200_000) },
    { body: '{"a":'.repeat(100_000) + "1" + "}".repeat(100_000) },
    { body: `{"user_id": 1, "features": {"x": ${"[".repeat(100_000)}${"]".repeat(100_000)}}}` },
    { body: `{"user_id": 1, "features": {"${f}": ${"[".repeat(50_000)}${"]".repeat(50_000)}}}` },
    { body: `{"user_id": "${"a".repeat(500_000)}", "features": {}}` },
    { body: `{"user_id": 1, "features": {${Array.from({ length: 5000 }, (_, i) => `"k${i}": ${i}`).join(",")}}}` },
    { body: "\ufeff" + '{"user_id": 1, "features": {}}' },
    { body: new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]) },
    { body: new Uint8Array([0x7b, 0x22, 0xc0, 0xaf, 0x22, 0x3a, 0x31, 0x7d]) },
    { body: '{"user_id": 1, "features": {}}', type: "text/plain" },
    { body: '{"user_id": 1, "features": {}}', type: "multipart/form-data; boundary=x" },
    { body: '{"user_id": 1, "features": {}}', type: "application/json; charset=utf-16" },
    { body: "user_id=1", type: "application/x-www-form-urlencoded" },
    { body: '{"user_id": 1, "features": {}}', type: "APPLICATION/JSON" },
    { body: '{"user_id": 1, "features": {}}', type: "" },
  ];
}

async function checkResponse(res: Response, batch: boolean | null, context: string): Promise<number> {
  assert.ok(res.status < 500, `${context}: status ${res.status}: ${await res.clone().text()}`);
  const text = await res.text();
  if (res.status === 200 && batch === null) return res.status;
  if (res.status === 200) {
    assert.equal(res.headers.get("content-type"), "application/json", context);
    const body = JSON.parse(text);
    const predictions = batch ? BatchPredictionSchema.parse(body).predictions : [PredictionSchema.parse(body)];
    for (const p of predictions) assert.ok(Number.isFinite(p.churn_risk), context);
  } else {
    assert.equal(res.headers.get("content-type"), "application/problem+json", `${context}: ${text.slice(0, 200)}`);
    const doc = ProblemSchema.parse(JSON.parse(text));
    assert.equal(doc.status, res.status, context);
    assert.ok(doc.detail.length > 0, context);
    if (res.status === 422) {
      assert.ok(doc.errors!.length > 0, context);
      for (const e of doc.errors!) assert.ok(e.pointer === "" || e.pointer.startsWith("/"), context);
    }
  }
  return res.status;
}

Deno.test("Thousands of random and adversarial bodies never cause a 5xx and always get a well-formed answer", async () => {
  const fx = await fixture();
  const t = await testApp(withConfig(fx.config, { server: { max_batch: 20 } }), { level: "ERROR" });
  const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort();
  try {
    const loaded = t.holder.current!;
    const rand = prng(SEED);
    const gen = generator(loaded, rand);
    const statuses = new Map<number, number>();
    const count = (s: number) => statuses.set(s, (statuses.get(s) ?? 0) + 1);
    for (let i = 0; i < 3000; i++) {
      const batch = rand() < 0.25;
      const body = batch
        ? (rand() < 0.85 ? { instances: Array.from({ length: Math.floor(rand() * 25) }, gen.instance) } : gen.value(3))
        : gen.instance();
      const text = JSON.stringify(body) ?? "null";
      const type = rand() < 0.03
        ? gen.pick(["text/plain", "application/xml", "application/json; charset=ascii"])
        : "application/json";
      const path = batch ? "/predict/batch" : "/predict";
      const res = await t.app.request(path, { method: "POST", headers: { "content-type": type }, body: text });
      count(await checkResponse(res, batch, `seed ${SEED} body #${i} ${path} ${text.slice(0, 300)}`));
    }
    for (const [i, raw] of rawBodies(loaded).entries()) {
      for (const path of ["/predict", "/predict/batch"]) {
        const headers: Record<string, string> = { "content-type": raw.type ?? "application/json" };
        const res = await t.app.request(path, { method: "POST", headers, body: raw.body });
        count(await checkResponse(res, path.endsWith("batch"), `raw body #${i} on ${path}`));
      }
    }
    // Other methods and paths with bodies.
    for (const method of ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"]) {
      for (const path of ["/predict", "/predict/batch", "/ready", "/../etc/passwd", "/predict%00", "/%ff"]) {
        const init: RequestInit = { method, headers: { "content-type": "application/json" } };
        if (method !== "GET") init.body = "{}";
        const res = await t.app.request(path, init);
        count(
          await checkResponse(res, path.startsWith("/predict") ? path.endsWith("batch") : null, `${method} ${path}`),
        );
      }
    }
    for (const s of [200, 400, 415, 422]) assert.ok((statuses.get(s) ?? 0) > 0, `no ${s} answers: ${[...statuses]}`);
  } finally {
    await t.close();
  }
  assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), protoBefore);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
});

Deno.test("The quick validity check and the zod schema accept exactly the same random instances", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config, { level: "ERROR" });
  try {
    const loaded = t.holder.current!;
    const rand = prng(SEED + 1);
    const gen = generator(loaded, rand);
    let valid = 0;
    for (let i = 0; i < 5000; i++) {
      const body = JSON.parse(JSON.stringify(gen.instance()) ?? "null");
      const quick = isValidInstance(loaded, body);
      const schema = loaded.schemas.instance.safeParse(body).success;
      assert.equal(
        quick,
        schema,
        `instance #${i}: quick ${quick}, zod ${schema}: ${JSON.stringify(body).slice(0, 400)}`,
      );
      if (quick) valid++;
    }
    assert.ok(valid > 200 && valid < 4800, `${valid} of 5000 valid: the generator must produce both kinds`);
  } finally {
    await t.close();
  }
});
