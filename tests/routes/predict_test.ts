import assert from "node:assert/strict";
import { parseDate } from "../../pipeline/dates.ts";
import { scoreRows } from "../../pipeline/scoring.ts";
import { type Column, makeTable } from "../../pipeline/table.ts";
import { BatchPredictionSchema, PredictionSchema, ProblemSchema } from "../../routes/schemas.ts";
import { readArrowTable } from "../../tasks/io.ts";
import { fixture, fullFeatures, postJson, testApp, withConfig } from "./helpers.ts";

type Json = Record<string, unknown>;

async function problem(res: Response, status: number) {
  assert.equal(res.status, status);
  assert.equal(res.headers.get("content-type"), "application/problem+json");
  const doc = ProblemSchema.parse(await res.json());
  assert.equal(doc.status, status);
  return doc;
}

Deno.test("POST /predict answers what batch scoring wrote for the same users and date", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config);
  try {
    const dir = fx.pipeline.dir;
    const csv = (await Deno.readTextFile(`${dir}/predictions/churn_predictions_latest.csv`)).trim().split("\n");
    const header = csv[0].split(",");
    const col = (name: string) => header.indexOf(name);
    const rows = csv.slice(1, 41).map((line) => line.split(","));
    const date = rows[0][col("as_of_date")];
    const expected = new Map(rows.map((r) => [r[col("user_id")], Number(r[col("churn_risk")])]));
    const features = await readArrowTable(`${dir}/features/user_features_daily.arrow`);
    const uid = features.columns.get("user_id")! as Extract<Column, { type: "i32" }>;
    const day = features.columns.get("as_of_date")! as Extract<Column, { type: "date" }>;
    const loaded = t.holder.current!;
    const instances: Json[] = [];
    for (let r = 0; r < features.length; r++) {
      if (day.data[r] !== parseDate(date) || !expected.has(String(uid.data[r]))) continue;
      const f: Json = {};
      for (const input of loaded.inputs) {
        const c = features.columns.get(input.name)!;
        if (c.type === "dict") f[input.name] = c.codes[r] < 0 ? null : c.dictionary[c.codes[r]];
        else {
          const v = Number(c.data[r]);
          f[input.name] = Number.isNaN(v) ? null : v;
        }
      }
      instances.push({ user_id: uid.data[r], snapshot_date: date, features: f });
    }
    assert.equal(instances.length, expected.size);
    const res = await t.app.request("/predict/batch", postJson({ instances }));
    assert.equal(res.status, 200);
    const body = BatchPredictionSchema.parse(await res.json());
    assert.equal(body.count, instances.length);
    for (const [i, p] of body.predictions.entries()) {
      assert.equal(p.user_id, String(instances[i].user_id), "answers are in request order");
      assert.ok(Math.abs(p.churn_risk - expected.get(p.user_id)!) <= 5e-7, `${p.user_id}: ${p.churn_risk}`);
      assert.equal(p.model_version, fx.production);
    }
    // The single form answers the same as the batch form.
    const one = await t.app.request("/predict", postJson(instances[3]));
    assert.deepEqual(PredictionSchema.parse(await one.json()), body.predictions[3]);
  } finally {
    await t.close();
  }
});

Deno.test("A prediction names its model, band, percentile, reasons and echoes the user id as a string", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config);
  try {
    const loaded = t.holder.current!;
    const res = await t.app.request(
      "/predict",
      postJson({ user_id: 1234, snapshot_date: "2026-05-30", features: fullFeatures(loaded) }),
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "application/json");
    assert.match(res.headers.get("server-timing") ?? "", /total;dur=[\d.]+/);
    const p = PredictionSchema.parse(await res.json());
    assert.equal(p.user_id, "1234");
    assert.equal(p.snapshot_date, "2026-05-30");
    assert.equal(p.model_version, fx.production);
    const bands = fx.config.scoring.risk_bands;
    assert.equal(p.risk_band, p.churn_risk >= bands.high ? "high" : p.churn_risk >= bands.medium ? "medium" : "low");
    assert.ok(p.risk_percentile !== null && p.risk_percentile >= 0 && p.risk_percentile <= 100);
    assert.deepEqual(p.defaults_used, []);
    assert.deepEqual(p.ignored_features, []);
    for (const r of p.top_reasons) {
      assert.ok(r.contribution > 0);
      assert.ok(loaded.inputs.some((f) => f.name === r.feature));
    }
  } finally {
    await t.close();
  }
});

Deno.test("Missing and null features take the training defaults and are listed in defaults_used", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config);
  try {
    const loaded = t.holder.current!;
    const numeric = loaded.inputs.filter((f) => f.type === "number");
    const categorical = loaded.inputs.filter((f) => f.type === "category");
    const features: Json = fullFeatures(loaded);
    delete features[numeric[0].name];
    features[numeric[1].name] = null;
    delete features[categorical[0].name];
    const res = await t.app.request("/predict", postJson({ user_id: "u1", features }));
    assert.equal(res.status, 200);
    const p = PredictionSchema.parse(await res.json());
    assert.deepEqual(p.defaults_used.sort(), [numeric[0].name, numeric[1].name, categorical[0].name].sort());
    // The same row scored directly with NaN for the numbers and code -1 ("missing") for the category.
    const columns: [string, Column][] = loaded.inputs.map((f) => {
      const v = features[f.name];
      if (f.type === "number") return [f.name, { type: "f64", data: new Float64Array([v == null ? NaN : Number(v)]) }];
      const idx = v == null ? -1 : f.categories!.indexOf(String(v));
      return [f.name, { type: "dict", codes: new Int32Array([idx]), dictionary: f.categories! }];
    });
    const expected = scoreRows(loaded.model, makeTable(columns)).risk[0];
    assert.ok(Math.abs(p.churn_risk - expected) < 1e-12);
    // An empty feature object scores with every default.
    const empty = PredictionSchema.parse(
      await (await t.app.request("/predict", postJson({ user_id: "u2", features: {} }))).json(),
    );
    assert.equal(empty.defaults_used.length, loaded.inputs.length);
  } finally {
    await t.close();
  }
});

Deno.test("Unknown features are ignored and listed; unseen categories score as no training category", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config);
  try {
    const loaded = t.holder.current!;
    const cat = loaded.inputs.find((f) => f.type === "category")!;
    const features = {
      ...fullFeatures(loaded),
      engagement_score: 0.9,
      "not a feature": [1, 2],
      [cat.name]: "Atlantis",
    };
    const res = await t.app.request("/predict", postJson({ user_id: "u", features }));
    assert.equal(res.status, 200);
    const p = PredictionSchema.parse(await res.json());
    assert.deepEqual(p.ignored_features.sort(), ["engagement_score", "not a feature"]);
    assert.deepEqual(p.unseen_categories, [cat.name]);
    const columns: [string, Column][] = loaded.inputs.map((f) =>
      f.type === "number"
        ? [f.name, { type: "f64", data: new Float64Array([Number(features[f.name as keyof typeof features])]) }]
        : [f.name, {
          type: "dict",
          codes: new Int32Array([f.name === cat.name ? 0 : f.categories!.indexOf(String(features[f.name as never]))]),
          dictionary: f.name === cat.name ? ["Atlantis"] : f.categories!,
        }]
    );
    assert.ok(Math.abs(p.churn_risk - scoreRows(loaded.model, makeTable(columns)).risk[0]) < 1e-12);
  } finally {
    await t.close();
  }
});

Deno.test("A numeric string, a boolean or an out-of-range number for a numeric feature is a 422, not a silent 0", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config);
  try {
    const loaded = t.holder.current!;
    const [a, b, c] = loaded.inputs.filter((f) => f.type === "number").map((f) => f.name);
    const features = { ...fullFeatures(loaded), [a]: "3", [b]: true, [c]: 1e300 };
    const doc = await problem(await t.app.request("/predict", postJson({ user_id: "u", features })), 422);
    assert.equal(doc.type, "urn:churn-mlops:problem:invalid-input");
    assert.equal(doc.instance, "/predict");
    const byPointer = new Map(doc.errors!.map((e) => [e.pointer, e.detail]));
    assert.match(byPointer.get(`/features/${a}`)!, /must be a number or null.*got a string/);
    assert.match(byPointer.get(`/features/${b}`)!, /got a boolean/);
    assert.match(byPointer.get(`/features/${c}`)!, /at most 1e\+9/);
    // JSON numbers too large for a double parse as Infinity: also a 422.
    const inf = await t.app.request("/predict", postJson(`{"user_id":"u","features":{"${a}":1e999}}`));
    assert.match((await problem(inf, 422)).errors![0].detail, /too large/);
  } finally {
    await t.close();
  }
});

Deno.test("A 422 lists every bad field with a JSON pointer, unknown top-level fields included", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config);
  try {
    const loaded = t.holder.current!;
    const num = loaded.inputs.find((f) => f.type === "number")!.name;
    const cat = loaded.inputs.find((f) => f.type === "category")!.name;
    const body = {
      user_id: "",
      snapshot_date: "2026-02-30",
      features: { [num]: { nested: 1 }, [cat]: 7 },
      extra: 1,
      "a/b~c": 2,
    };
    const doc = await problem(await t.app.request("/predict", postJson(body)), 422);
    assert.deepEqual(
      doc.errors!.map((e) => e.pointer).sort(),
      [
        "/a~1b~0c",
        "/extra",
        `/features/${cat}`,
        `/features/${num}`,
        "/snapshot_date",
        "/user_id",
      ].sort(),
    );
    assert.match(doc.detail, /^6 invalid fields/);
    const missing = await problem(await t.app.request("/predict", postJson({ features: {} })), 422);
    assert.deepEqual(missing.errors, [{ pointer: "/user_id", detail: "is required" }]);
  } finally {
    await t.close();
  }
});

Deno.test("An array, a string or null as the body of /predict is a 422 about the body itself", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config);
  try {
    const arr = await problem(await t.app.request("/predict", postJson([{ user_id: 1, features: {} }])), 422);
    assert.deepEqual(arr.errors, [{ pointer: "", detail: "must be a JSON object, got an array" }]);
    assert.match(arr.detail, /POST \/predict\/batch/);
    for (const body of ['"text"', "null", "42"]) {
      const doc = await problem(await t.app.request("/predict", postJson(body)), 422);
      assert.equal(doc.errors![0].pointer, "");
    }
  } finally {
    await t.close();
  }
});

Deno.test("Malformed JSON, an empty body and invalid UTF-8 are 400 problems", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config);
  try {
    for (const body of ["{", '{"user_id": 1,}', "", "   "]) {
      const doc = await problem(await t.app.request("/predict", postJson(body)), 400);
      assert.equal(doc.type, "urn:churn-mlops:problem:malformed-json");
    }
    const bytes = new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    const doc = await problem(
      await t.app.request("/predict", { method: "POST", headers: { "content-type": "application/json" }, body: bytes }),
      400,
    );
    assert.match(doc.detail, /UTF-8/);
  } finally {
    await t.close();
  }
});

Deno.test("A body that is not declared as JSON is a 415 problem", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config);
  try {
    const body = new TextEncoder().encode('{"user_id":1,"features":{}}'); // bytes: no Content-Type is added
    for (
      const type of [undefined, "text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1"]
    ) {
      const headers: Record<string, string> = type === undefined ? {} : { "content-type": type };
      const doc = await problem(await t.app.request("/predict", { method: "POST", headers, body }), 415);
      assert.match(doc.detail, type === undefined ? /no Content-Type/ : /is not JSON/);
    }
    const ok = await t.app.request(
      "/predict",
      postJson({ user_id: 1, features: {} }, {
        "content-type": "application/vnd.churn+json; charset=UTF-8",
      }),
    );
    assert.equal(ok.status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("A body over server.max_body_bytes is a 413, by Content-Length and by streamed size", async () => {
  const fx = await fixture();
  const t = await testApp(withConfig(fx.config, { server: { max_body_bytes: 1000 } }));
  try {
    const big = JSON.stringify({ user_id: "x".repeat(2000), features: {} });
    const length = String(new TextEncoder().encode(big).length);
    const declared = await problem(await t.app.request("/predict", postJson(big, { "content-length": length })), 413);
    assert.equal(
      declared.detail,
      `The request body is ${length} bytes, more than the limit of 1000 bytes (server.max_body_bytes)`,
    );
    // A Content-Length that understates the body: the bytes actually received are counted too.
    const lying = await problem(await t.app.request("/predict", postJson(big, { "content-length": "10" })), 413);
    assert.match(lying.detail, /limit of 1000 bytes/);
    const small = JSON.stringify({ user_id: 1, features: {} });
    const mismatch = await problem(await t.app.request("/predict", postJson(small, { "content-length": "10" })), 400);
    assert.match(mismatch.detail, /Content-Length says 10/);
    const undeclared = await problem(await t.app.request("/predict", postJson(big)), 413);
    assert.match(undeclared.detail, /more than the limit of 1000 bytes/);
    // No Content-Length: the body streams in chunks and reading stops past the limit.
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        if (pulled > 1000) controller.close();
        else controller.enqueue(new TextEncoder().encode("[".repeat(100)));
      },
    });
    const res = await t.app.request(
      "/predict",
      { method: "POST", headers: { "content-type": "application/json" }, body: stream, duplex: "half" } as RequestInit,
    );
    await problem(res, 413);
    assert.ok(pulled < 50, `read ${pulled} chunks`);
  } finally {
    await t.close();
  }
});

Deno.test("A body that fails while streaming in is a 400 problem, not a 500", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config);
  try {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"user_id": 1'));
        controller.error(new Error("connection reset"));
      },
    });
    const res = await t.app.request(
      "/predict",
      { method: "POST", headers: { "content-type": "application/json" }, body: stream, duplex: "half" } as RequestInit,
    );
    assert.match((await problem(res, 400)).detail, /could not be read: connection reset/);
  } finally {
    await t.close();
  }
});

Deno.test("POST /predict/batch answers in order and enforces server.max_batch", async () => {
  const fx = await fixture();
  const t = await testApp(withConfig(fx.config, { server: { max_batch: 5 } }));
  try {
    const loaded = t.holder.current!;
    const instances = Array.from({ length: 5 }, (_, i) => ({
      user_id: `user-${i}`,
      features: { ...fullFeatures(loaded), [loaded.inputs[0].name]: i * 3 },
    }));
    const res = await t.app.request("/predict/batch", postJson({ instances }));
    assert.equal(res.status, 200);
    const body = BatchPredictionSchema.parse(await res.json());
    assert.deepEqual(body.predictions.map((p) => p.user_id), instances.map((i) => i.user_id));
    for (const [i, p] of body.predictions.entries()) {
      const single = PredictionSchema.parse(await (await t.app.request("/predict", postJson(instances[i]))).json());
      assert.equal(p.churn_risk, single.churn_risk);
    }
    const over = await problem(
      await t.app.request("/predict/batch", postJson({ instances: [...instances, instances[0]] })),
      422,
    );
    assert.deepEqual(over.errors!.map((e) => e.pointer), ["/instances"]);
    assert.match(over.errors![0].detail, /at most 5/);
    const empty = await problem(await t.app.request("/predict/batch", postJson({ instances: [] })), 422);
    assert.deepEqual(empty.errors!.map((e) => e.pointer), ["/instances"]);
    const bad = await problem(
      await t.app.request(
        "/predict/batch",
        postJson({ instances: [instances[0], { user_id: 2, features: { x: 1 } }, 3] }),
      ),
      422,
    );
    assert.deepEqual(bad.errors!.map((e) => e.pointer), ["/instances/2"]);
  } finally {
    await t.close();
  }
});

Deno.test("Wrong methods on known routes are 405 with Allow; unknown routes are 404 problems", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config);
  try {
    const get = await problem(await t.app.request("/predict"), 405);
    assert.match(get.detail, /GET is not allowed/);
    const res = await t.app.request("/predict", { method: "PUT" });
    assert.equal(res.headers.get("allow"), "POST");
    await problem(res, 405);
    const live = await t.app.request("/live", { method: "DELETE" });
    assert.equal(live.headers.get("allow"), "GET, HEAD");
    await problem(live, 405);
    for (const path of ["/nope", "/predict/", "/predict/batch/x", "/admin/reload"]) {
      const doc = await problem(await t.app.request(path, { method: "POST" }), 404);
      assert.equal(doc.instance, path);
    }
    const head = await t.app.request("/live", { method: "HEAD" });
    assert.equal(head.status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("With an API key configured, /predict needs X-API-Key or a Bearer token equal to it", async () => {
  const fx = await fixture();
  const config = withConfig(fx.config, { server: { api_key_env: "CHURN_TEST_API_KEY" } });
  const t = await testApp(config, { env: { CHURN_TEST_API_KEY: "s3cret-key" } });
  try {
    const body = { user_id: 1, features: {} };
    const none = await problem(await t.app.request("/predict", postJson(body)), 401);
    assert.match(none.detail, /API key/);
    await problem(await t.app.request("/predict", postJson(body, { "x-api-key": "s3cret-kez" })), 401);
    await problem(await t.app.request("/predict/batch", postJson({ instances: [body] })), 401);
    const wrong = await t.app.request("/predict", postJson(body, { authorization: "Bearer nope" }));
    assert.equal(wrong.headers.get("www-authenticate"), 'Bearer realm="churn-mlops"');
    await problem(wrong, 401);
    assert.equal((await t.app.request("/predict", postJson(body, { "x-api-key": "s3cret-key" }))).status, 200);
    assert.equal((await t.app.request("/predict", postJson(body, { authorization: "Bearer s3cret-key" }))).status, 200);
    assert.equal((await t.app.request("/ready")).status, 200, "only /predict needs the key");
    assert.ok(!JSON.stringify(t.logs).includes("s3cret"), "the key is never logged");
  } finally {
    await t.close();
  }
  // The variable named but unset: no key needed.
  const open = await testApp(config, { env: {} });
  try {
    assert.equal((await open.app.request("/predict", postJson({ user_id: 1, features: {} }))).status, 200);
  } finally {
    await open.close();
  }
});

Deno.test("X-Request-Id is echoed when well formed, replaced when not, and logged with the route", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config);
  try {
    const given = await t.app.request("/live", { headers: { "x-request-id": "abc-123_x.y:z" } });
    assert.equal(given.headers.get("x-request-id"), "abc-123_x.y:z");
    for (const bad of ["has space", "x".repeat(129), "<script>", "é"]) {
      const res = await t.app.request("/live", { headers: { "x-request-id": bad } });
      assert.match(res.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);
    }
    const res = await t.app.request("/predict", postJson({ user_id: 1, features: {} }, { "x-request-id": "req-42" }));
    assert.equal(res.status, 200);
    const line = t.logs.find((l) => l.request_id === "req-42")!;
    assert.equal(line.msg, "request");
    assert.equal(line.method, "POST");
    assert.equal(line.route, "/predict");
    assert.equal(line.status, 200);
    assert.equal(line.model_version, fx.production);
    assert.equal(typeof line.latency_ms, "number");
    const missing = await t.app.request("/no/such/thing/12345");
    const unmatched = t.logs.find((l) => l.request_id === missing.headers.get("x-request-id"))!;
    assert.equal(unmatched.route, "unmatched");
    const problemDoc = ProblemSchema.parse(await missing.json());
    assert.equal(problemDoc.request_id, missing.headers.get("x-request-id"));
  } finally {
    await t.close();
  }
});

Deno.test("Log lines below config logging.level are not written", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config, { level: "WARNING" });
  try {
    await t.app.request("/live");
    await t.app.request("/nope");
    assert.deepEqual(t.logs.filter((l) => l.msg === "request"), []);
  } finally {
    await t.close();
  }
});
