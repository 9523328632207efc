import assert from "node:assert/strict";
import { Counter, Histogram, register as globalRegister, Registry } from "prom-client";
import { parseDriftReport, ServiceMetrics } from "../../routes/metrics.ts";
import { copyArtifacts, fixture, postJson, testApp } from "./helpers.ts";

function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split("\n")) {
    if (!line.startsWith(name + "{") && !line.startsWith(name + " ")) continue;
    const [series, value] = [line.slice(0, line.lastIndexOf(" ")), line.slice(line.lastIndexOf(" ") + 1)];
    if (series.startsWith(name + "{") === (want.length > 0) && want.every((w) => series.includes(w))) {
      return Number(value);
    }
  }
  return undefined;
}

Deno.test("GET /metrics counts requests by method, route pattern and status, with latency and predictions", async () => {
  const fx = await fixture();
  const t = await testApp(fx.config);
  try {
    await t.app.request("/live");
    await t.app.request("/live");
    await t.app.request("/predict", postJson({ user_id: 1, features: {} }));
    await t.app.request(
      "/predict/batch",
      postJson({ instances: [{ user_id: 1, features: {} }, { user_id: 2, features: {} }] }),
    );
    await t.app.request("/predict", postJson({ user_id: "", features: {} }));
    await t.app.request("/users/123/secret?token=abc");
    await t.app.request("/predict", { method: "GET" });
    const res = await t.app.request("/metrics");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.equal(sample(text, "churn_api_requests_total", { method: "GET", path: "/live", status: "200" }), 2);
    assert.equal(sample(text, "churn_api_requests_total", { method: "POST", path: "/predict", status: "200" }), 1);
    assert.equal(sample(text, "churn_api_requests_total", { method: "POST", path: "/predict", status: "422" }), 1);
    assert.equal(sample(text, "churn_api_requests_total", { method: "GET", path: "/predict", status: "405" }), 1);
    assert.equal(sample(text, "churn_api_requests_total", { method: "GET", path: "unmatched", status: "404" }), 1);
    assert.ok(!text.includes("/users/123"), "raw URLs never become label values");
    assert.equal(sample(text, "churn_api_request_latency_seconds_count", { method: "GET", path: "/live" }), 2);
    assert.equal(sample(text, "churn_api_predictions_total"), 3);
    assert.equal(sample(text, "churn_prediction_risk_count"), 3);
    const type = fx.production.startsWith("candidate_hgb") ? "candidate_hgb" : "baseline_logreg";
    assert.equal(sample(text, "churn_model_info", { version: fx.production, type }), 1);
    assert.equal(sample(text, "churn_model_loaded"), 1);
    assert.equal(sample(text, "churn_drift_status"), undefined, "no drift report yet");
  } finally {
    await t.close();
  }
});

Deno.test("The service's metrics live on their own registry, not prom-client's global one", async () => {
  const fx = await fixture();
  const a = await testApp(fx.config);
  const b = await testApp(fx.config);
  try {
    await a.app.request("/live");
    const textB = await (await b.app.request("/metrics")).text();
    assert.equal(sample(textB, "churn_api_requests_total", { path: "/live" }), undefined);
    assert.equal(globalRegister.getSingleMetric("churn_api_requests_total"), undefined);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("The latest drift report's status and PSI per feature appear in /metrics once it exists", async () => {
  const fx = await fixture();
  const copy = await copyArtifacts(fx);
  const t = await testApp(copy.config);
  try {
    await Deno.writeTextFile(
      `${copy.dir}/reports/data_drift_latest.json`,
      JSON.stringify({
        status: "WARN",
        overall_max_psi: 0.17,
        psi_by_feature: { active_days_30d: 0.17, days_since_last_activity: 0.02 },
        compared: { baseline: "training", current: "2026-05-30" },
      }),
    );
    let text = await (await t.app.request("/metrics")).text();
    assert.equal(sample(text, "churn_drift_status"), 1);
    assert.equal(sample(text, "churn_drift_max_psi"), 0.17);
    assert.equal(sample(text, "churn_drift_psi", { feature: "active_days_30d" }), 0.17);
    assert.equal(sample(text, "churn_drift_psi", { feature: "days_since_last_activity" }), 0.02);
    await Deno.writeTextFile(`${copy.dir}/reports/data_drift_latest.json`, JSON.stringify({ status: "FAIL" }));
    text = await (await t.app.request("/metrics")).text();
    assert.equal(sample(text, "churn_drift_status"), 2);
    assert.equal(
      sample(text, "churn_drift_psi", { feature: "active_days_30d" }),
      undefined,
      "old features are dropped",
    );
    await Deno.writeTextFile(`${copy.dir}/reports/data_drift_latest.json`, "{ corrupt");
    const res = await t.app.request("/metrics");
    assert.equal(res.status, 200, "a corrupt report does not break the scrape");
    assert.equal(sample(await res.text(), "churn_drift_status"), undefined);
  } finally {
    await t.close();
    await copy.dispose();
  }
});

Deno.test("parseDriftReport reads psi_by_feature as numbers, {psi} objects or {feature, psi} items", () => {
  assert.equal(parseDriftReport({ status: "maybe" }), null);
  assert.equal(parseDriftReport(null), null);
  assert.deepEqual(
    [...parseDriftReport({ status: "ok", psi_by_feature: { a: { psi: 0.3, bucket: [] }, b: "x" } })!.psi_by_feature],
    [["a", 0.3]],
  );
  const r = parseDriftReport({ status: "FAIL", psi_by_feature: [{ feature: "a", psi: 0.4 }, { psi: 1 }] })!;
  assert.equal(r.status, "FAIL");
  assert.deepEqual([...r.psi_by_feature], [["a", 0.4]]);
  assert.equal(r.overall_max_psi, null);
});

Deno.test("/metrics reports no model info and churn_model_loaded 0 before a model exists", async () => {
  const copy = await copyArtifacts(await fixture(), { empty: true });
  const t = await testApp(copy.config);
  try {
    const text = await (await t.app.request("/metrics")).text();
    assert.equal(sample(text, "churn_model_loaded"), 0);
    assert.ok(!/^churn_model_info\{/m.test(text));
  } finally {
    await t.close();
    await copy.dispose();
  }
});

Deno.test("Request and risk metrics export exactly what prom-client's Counter and Histogram export", async () => {
  const metrics = new ServiceMetrics();
  const reference = new Registry();
  const registers = [reference];
  const requests = new Counter({
    name: "churn_api_requests_total",
    help: "HTTP requests by method, route pattern and status code.",
    labelNames: ["method", "path", "status"],
    registers,
  });
  const latency = new Histogram({
    name: "churn_api_request_latency_seconds",
    help: "HTTP request latency in seconds by method and route pattern.",
    labelNames: ["method", "path"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const predictions = new Counter({
    name: "churn_api_predictions_total",
    help: "Predictions served (one per instance of a batch).",
    registers,
  });
  const risk = new Histogram({
    name: "churn_prediction_risk",
    help: "Churn risks served.",
    buckets: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95],
    registers,
  });
  const families = (text: string) => {
    const out = new Map<string, string>();
    for (const block of text.trim().split("\n\n")) out.set(block.split("\n")[0], block);
    return out;
  };
  const compare = async () => {
    const ours = families(await metrics.text()), want = families(await reference.metrics());
    for (const [head, block] of want) assert.equal(ours.get(head), block, head);
  };
  await compare(); // nothing observed yet: the risk histogram exists with zeros, the others are empty
  let s = 7;
  const rand = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const methods = ["GET", "POST", "BREW", "DELETE"], paths = ["/predict", "/live", "unmatched"];
  for (let i = 0; i < 3000; i++) {
    const method = methods[Math.floor(rand() * methods.length)], path = paths[Math.floor(rand() * paths.length)];
    const status = [200, 404, 422, 503][Math.floor(rand() * 4)];
    const seconds = rand() < 0.05 ? [0.001, 5, 7, 0][Math.floor(rand() * 4)] : rand() ** 4 * 3;
    metrics.observeRequest({ method, path, status }, seconds);
    const m = method === "BREW" ? "OTHER" : method;
    requests.inc({ method: m, path, status: String(status) });
    latency.observe({ method: m, path }, seconds);
    const risks = Array.from({ length: Math.floor(rand() * 4) }, () => rand() < 0.05 ? 0.95 : rand());
    metrics.observePredictions(Float64Array.from(risks));
    predictions.inc(risks.length);
    for (const r of risks) risk.observe(r);
    if (i % 1000 === 999) await compare();
  }
  assert.throws(() => metrics.observeRequest({ method: "GET", path: "/live", status: 200 }, NaN), TypeError);
  assert.throws(() => metrics.observePredictions([Infinity]), TypeError);
});
