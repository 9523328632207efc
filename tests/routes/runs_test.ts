import assert from "node:assert/strict";
import { runJob } from "../../tasks/schedules.ts";
import { fixture, testApp } from "./helpers.ts";

const quiet = { log: () => {} };

Deno.test("GET /runs lists the recorded job runs and /metrics exposes the last run per job", async () => {
  const { config } = await fixture();
  const record = await runJob(config, "drift", quiet);
  const t = await testApp(config);
  try {
    const res = await t.app.request("/runs?limit=5");
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.ok(body.runs.some((r: { run_id: string; job: string }) => r.run_id === record.run_id && r.job === "drift"));
    const only = await (await t.app.request("/runs?job=drift&limit=1")).json();
    assert.equal(only.runs.length, 1);
    const metrics = await (await t.app.request("/metrics")).text();
    assert.match(metrics, /churn_job_last_run_timestamp_seconds\{job="drift"\} \d+/);
    assert.match(metrics, /churn_api_requests_total/);
  } finally {
    await t.close();
  }
});

Deno.test("GET /runs answers a bad limit or an unknown job with a 422 problem document", async () => {
  const { config } = await fixture();
  const t = await testApp(config);
  try {
    for (const q of ["limit=0", "limit=abc", "limit=5000", "job=nope"]) {
      const res = await t.app.request(`/runs?${q}`);
      assert.equal(res.status, 422, q);
      assert.equal(res.headers.get("content-type"), "application/problem+json");
      const problem = await res.json();
      assert.equal(problem.status, 422);
      assert.ok(problem.errors[0].pointer.startsWith("/query/"), q);
    }
  } finally {
    await t.close();
  }
});
