import assert from "node:assert/strict";
import { parseCsvText } from "../../pipeline/csv.ts";
import { Registry } from "../../tasks/registry.ts";
import { PREDICTION_COLUMNS, runScore } from "../../tasks/score.ts";
import { openStore } from "../../tasks/store/mod.ts";
import { smallPipeline } from "../helpers/small_pipeline.ts";

const small = await smallPipeline();
addEventListener("unload", () => Deno.removeSync(small.dir, { recursive: true }));

Deno.test("runScore() writes predictions sorted by risk with bands, percentiles, reasons and the model version", async () => {
  const s = await runScore(small.config, { asOfDate: "2026-04-30", topK: 10 });
  assert.equal(s.date, "2026-04-30");
  const rows = parseCsvText(await Deno.readTextFile(`${small.dir}/predictions/churn_predictions_2026-04-30.csv`));
  assert.deepEqual(rows[0], [...PREDICTION_COLUMNS]);
  const body = rows.slice(1);
  assert.equal(body.length, s.rows);
  const risk = body.map((r) => Number(r[8]));
  for (let i = 1; i < risk.length; i++) assert.ok(risk[i - 1] >= risk[i], "sorted by risk");
  assert.deepEqual(body.map((r) => Number(r[9])), body.map((_, i) => i + 1), "risk_rank 1..n");
  for (const r of body) {
    assert.ok(["low", "medium", "high"].includes(r[10]));
    assert.ok(Number(r[11]) >= 0 && Number(r[11]) <= 100);
    assert.equal(r[13], s.model_version);
    assert.equal(r[1], "2026-04-30");
  }
  assert.ok(body.slice(0, 5).every((r) => r[12].length > 0), "the riskiest users have reasons");
  const top = parseCsvText(await Deno.readTextFile(`${small.dir}/predictions/churn_top_10_2026-04-30.csv`));
  assert.deepEqual(top, rows.slice(0, 11));
  const latest = await Deno.readTextFile(`${small.dir}/predictions/churn_predictions_latest.csv`);
  assert.deepEqual(parseCsvText(latest), rows);
  const manifest = JSON.parse(await Deno.readTextFile(`${small.dir}/predictions/predictions_latest.json`));
  assert.equal(manifest.model_version, s.model_version);
  const store = await openStore(small.config);
  assert.equal((await new Registry(store, small.config).resolve()).version, s.model_version);
  store.close();
});

Deno.test("runScore() scores the latest date by default and names the range for an unknown date", async () => {
  const s = await runScore(small.config);
  assert.equal(s.date, "2026-05-30");
  await assert.rejects(
    () => runScore(small.config, { asOfDate: "2027-01-01" }),
    /No rows to score on 2027-01-01: user_daily covers 2026-01-01 to 2026-05-30/,
  );
});
