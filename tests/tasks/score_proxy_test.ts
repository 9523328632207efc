import assert from "node:assert/strict";
import { parseCsvText } from "../../pipeline/csv.ts";
import { formatDate } from "../../pipeline/dates.ts";
import { averagePrecision, brierScore, precisionAtK, rocAuc } from "../../pipeline/metrics.ts";
import { getColumn } from "../../pipeline/table.ts";
import { runTask } from "../../tasks/cli.ts";
import { readArrowTable } from "../../tasks/io.ts";
import { runScore } from "../../tasks/score.ts";
import { runScoreProxy, scoreDistribution, scoreProxyTask } from "../../tasks/score_proxy.ts";
import { FsStore, getJson } from "../../tasks/store/mod.ts";
import { configIn, monitoringSetup } from "./monitoring_fixture.ts";

// One pipeline run (it scores the latest date, 2026-05-30) shared by the tests of this file.
const { config, dir } = await monitoringSetup({ profile: false });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
// An old date whose outcome window (30 days) has passed by 2026-05-30, and a recent one whose has not.
await runScore(config, { asOfDate: "2026-04-20" });
await runScore(config, { asOfDate: "2026-05-10" });

function predictions(date: string): { user: number[]; risk: number[] } {
  const [header, ...rows] = parseCsvText(Deno.readTextFileSync(`${dir}/predictions/churn_predictions_${date}.csv`));
  const u = header.indexOf("user_id"), r = header.indexOf("churn_risk");
  const body = rows.filter((row) => row.length > 1);
  return { user: body.map((row) => Number(row[u])), risk: body.map((row) => Number(row[r])) };
}

Deno.test("the latest scores are described by mean, p50, p90, p99 and the share at or above 0.7", async () => {
  const { report } = await runScoreProxy(config);
  const { risk } = predictions("2026-05-30");
  const sorted = [...risk].sort((a, b) => a - b);
  const q = (p: number) => {
    const pos = p * (sorted.length - 1), lo = Math.floor(pos), hi = Math.ceil(pos);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
  };
  const l = report.latest;
  assert.equal(l.as_of_date, "2026-05-30", "the newest date, not the last one scored");
  assert.equal(l.rows, risk.length);
  assert.ok(Math.abs(l.mean - risk.reduce((a, b) => a + b, 0) / risk.length) < 1e-12);
  assert.equal(l.p50, q(0.5));
  assert.equal(l.p90, q(0.9));
  assert.equal(l.p99, q(0.99));
  assert.equal(l.share_high, risk.filter((x) => x >= 0.7).length / risk.length);
  assert.equal(l.high_threshold, 0.7);
  assert.equal(l.model_versions.length, 1);
});

Deno.test("predictions whose outcome window has passed get the realized metrics against the labels that happened", async () => {
  const { report } = await runScoreProxy(config);
  assert.equal(report.last_data_date, "2026-05-30");
  assert.deepEqual(report.realized.map((r) => r.as_of_date), ["2026-04-20"]);
  assert.deepEqual(report.pending, [
    { as_of_date: "2026-05-10", outcome_known_on: "2026-06-09" },
    { as_of_date: "2026-05-30", outcome_known_on: "2026-06-29" },
  ]);
  // The labels, joined independently from labels_daily (written by the labels step with the same window).
  const labels = await readArrowTable(`${dir}/features/labels_daily.arrow`);
  const uid = getColumn(labels, "user_id", "i32").data, d = getColumn(labels, "as_of_date", "date").data;
  const y = getColumn(labels, "churn_label", "i32").data;
  const byUser = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) if (formatDate(d[i]) === "2026-04-20") byUser.set(uid[i], y[i]);
  const p = predictions("2026-04-20");
  const yy = p.user.map((u) => byUser.get(u)!), ss = p.risk;
  assert.ok(yy.every((v) => v === 0 || v === 1));
  const r = report.realized[0];
  assert.equal(r.rows, p.user.length);
  assert.equal(r.labelled, p.user.length);
  assert.equal(r.unmatched, 0);
  assert.equal(r.positives, yy.filter((v) => v === 1).length);
  assert.ok(r.positives > 0 && r.positives < r.labelled, "both classes present");
  assert.equal(r.outcome_through, "2026-05-20");
  assert.equal(r.pr_auc, averagePrecision(yy, ss));
  assert.equal(r.roc_auc, rocAuc(yy, ss));
  assert.equal(r.k, Math.min(50, yy.length));
  assert.equal(r.precision_at_k, precisionAtK(yy, ss, { k: r.k }));
  assert.equal(r.brier, brierScore(yy, ss));
});

Deno.test("the task writes the latest report and a history entry, and exits 0", async () => {
  const [file] = await configIn(dir, { name: "proxy.yaml" });
  assert.equal(await runTask(scoreProxyTask, ["--config", file]), 0);
  const store = new FsStore("/");
  const latest = await getJson(store, store.keyOf(`${dir}/reports/score_proxy_latest.json`));
  const history = await store.list(store.keyOf(`${dir}/reports/score_proxy_history`) + "/");
  assert.ok(history.length >= 1);
  assert.deepEqual(await getJson(store, history.at(-1)!), latest);
});

Deno.test("rows without a label are counted as unmatched and undefined metrics are null with the reason", async () => {
  const header =
    "user_id,as_of_date,plan,is_paid,country,marketing_source,days_since_signup,days_since_last_activity,churn_risk,risk_rank,risk_band,risk_percentile,top_reasons,model_version";
  const row = (u: number, risk: number) => `${u},2026-03-01,free,0,US,ads,10,1,${risk},1,low,10,"a; b",m1`;
  await Deno.writeTextFile(
    `${dir}/predictions/churn_predictions_2026-03-01.csv`,
    [header, row(99_999, 0.2), row(99_998, 0.9)].join("\n") + "\n",
  );
  try {
    const { report } = await runScoreProxy(config);
    const r = report.realized.find((x) => x.as_of_date === "2026-03-01")!;
    assert.equal(r.labelled, 0);
    assert.equal(r.unmatched, 2);
    assert.equal(r.pr_auc, null);
    assert.match(r.null_reasons.pr_auc, /no predicted row has a label/);
    assert.deepEqual(r.model_versions, ["m1"]);
  } finally {
    await Deno.remove(`${dir}/predictions/churn_predictions_2026-03-01.csv`);
  }
});

Deno.test("without any predictions file the score proxy is an error telling to score first (exit 1)", async () => {
  const empty = await Deno.makeTempDir({ prefix: "churn_proxy_empty_" });
  try {
    const [file, cfg] = await configIn(empty);
    await assert.rejects(runScoreProxy(cfg), /No predictions files in .* run "deno task score" first/);
    assert.equal(await runTask(scoreProxyTask, ["--config", file]), 1);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
});

Deno.test("scoreDistribution interpolates percentiles and counts the share at or above the threshold", () => {
  const d = scoreDistribution(Float64Array.from([0.1, 0.9, 0.5, 0.7, 0.3]), { high: 0.7 });
  assert.ok(Math.abs(d.mean - 0.5) < 1e-15);
  assert.equal(d.p50, 0.5);
  assert.ok(Math.abs(d.p90 - 0.82) < 1e-12);
  assert.ok(Math.abs(d.p99 - 0.892) < 1e-12);
  assert.equal(d.share_high, 0.4);
  assert.throws(() => scoreDistribution(new Float64Array(0), { high: 0.7 }), /zero scores/);
  assert.throws(() => scoreDistribution(Float64Array.from([NaN]), { high: 0.7 }), /not a number/);
});
