import assert from "node:assert/strict";
import { describeCategory, describeNumeric, riskBand, riskPercentile, scoreQuantiles } from "../../pipeline/scoring.ts";

Deno.test("describeNumeric() names the feature, its window and the typical value in words", () => {
  assert.equal(describeNumeric("active_days_30d", 2, 14.04), "Few active days in the last 30 days (2, typical 14.0)");
  assert.equal(describeNumeric("days_since_last_activity", 21, 3), "Many days since the last activity (21, typical 3)");
  assert.equal(
    describeNumeric("payment_fail_rate_30d", 0.5, 0.05),
    "High share of failed payments in the last 30 days (0.5, typical 0.1)",
  );
  assert.equal(describeNumeric("quiz_avg_score_7d", NaN, 60), "No average quiz score in the last 7 days");
  assert.equal(describeCategory("plan", "free"), "On the free plan");
  assert.equal(describeCategory("marketing_source", "ads"), "Came through ads");
});

Deno.test("riskBand() uses the configured lower bounds", () => {
  const bands = { medium: 0.4, high: 0.7 };
  assert.deepEqual([0, 0.39, 0.4, 0.69, 0.7, 1].map((p) => riskBand(p, bands)), [
    "low",
    "low",
    "medium",
    "medium",
    "high",
    "high",
  ]);
});

Deno.test("riskPercentile() places a risk in the reference distribution", () => {
  const q = scoreQuantiles(Float64Array.from({ length: 1001 }, (_, i) => i / 1000));
  assert.equal(q.length, 101);
  assert.equal(riskPercentile(0.5, q), 50);
  assert.equal(riskPercentile(0.255, q), 25.5);
  assert.equal(riskPercentile(-1, q), 0);
  assert.equal(riskPercentile(2, q), 100);
  assert.ok(Number.isNaN(riskPercentile(0.5, [])));
});
