import assert from "node:assert/strict";
import { type Column, getColumn, makeTable, type Table } from "../../pipeline/table.ts";
import { scoreRows } from "../../pipeline/scoring.ts";
import { artifactName, type ModelArtifact, trainModel, type TrainOptions } from "../../pipeline/train.ts";
import { readArrowTable } from "../../tasks/io.ts";
import { TrainingError } from "../../wasm/logreg.ts";
import { smallPipeline } from "../helpers/small_pipeline.ts";

const OPTIONS: Omit<TrainOptions, "modelType"> = {
  testSize: 0.2,
  gapDays: 30,
  imbalance: "balanced",
  threshold: 0.5,
  topK: 50,
  randomState: 42,
  features: { windows_days: [7, 14, 30], churn_window_days: 30, population: "active" },
  now: new Date("2026-11-26T10:20:30.456Z"),
};

const small = await smallPipeline({ users: 300 });
const training = await readArrowTable(`${small.dir}/features/training_dataset.arrow`);
await small.dispose();

/** The training table plus an engagement_score column equal to the label: a perfect leak. */
function withLeak(t: Table): Table {
  const y = getColumn(t, "churn_label", "i32").data;
  return makeTable([...t.columns, ["engagement_score", { type: "f64", data: Float64Array.from(y) }]]);
}

Deno.test("artifactName() names versions {type}_{YYYYMMDDTHHMMSSZ}", () => {
  assert.equal(artifactName("baseline_logreg", OPTIONS.now!), "baseline_logreg_20261126T102030Z");
});

Deno.test("trainModel() trains the baseline and never uses engagement_score, even when it would leak the label", () => {
  const { model, metrics } = trainModel(withLeak(training), { ...OPTIONS, modelType: "baseline_logreg" });
  assert.ok(!model.preprocessor.features.some((f) => f.includes("engagement_score")));
  assert.equal(model.logistic!.coef.length, model.preprocessor.features.length);
  assert.ok(metrics.metrics.pr_auc! < 0.999, "a model using the leak would be perfect");
  assert.ok(metrics.metrics.roc_auc! > 0.6, `ROC-AUC ${metrics.metrics.roc_auc}`);
  assert.equal(metrics.train_rows + metrics.test_rows <= training.length, true);
  assert.equal(metrics.split.gap_days, 30);
  assert.equal(model.score_quantiles?.length, 101);
  assert.equal(metrics.training.converged, true);
});

Deno.test("trainModel() gives a portable artifact: JSON round trip scores identically, for both model types", () => {
  for (const modelType of ["baseline_logreg", "candidate_hgb"] as const) {
    const { model } = trainModel(training, { ...OPTIONS, modelType });
    const back = JSON.parse(JSON.stringify(model)) as ModelArtifact;
    const rows = Int32Array.from({ length: 500 }, (_, i) => i * 3);
    assert.deepEqual(scoreRows(back, training, { rows }).risk, scoreRows(model, training, { rows }).risk, modelType);
  }
});

Deno.test("trainModel() fails with a clear TrainingError on a single-class training set", () => {
  const zeros = makeTable(
    [...training.columns].map(([n, c]): [string, Column] =>
      n === "churn_label" ? [n, { type: "i32", data: new Int32Array(training.length) }] : [n, c]
    ),
  );
  assert.throws(
    () => trainModel(zeros, { ...OPTIONS, modelType: "baseline_logreg" }),
    (e) => e instanceof TrainingError && /only class 0/.test(e.message),
  );
});

Deno.test("trainModel() with imbalance none trains unweighted: calibrated probabilities, lower mean risk", () => {
  const balanced = trainModel(training, { ...OPTIONS, modelType: "baseline_logreg" }).metrics;
  const none = trainModel(training, { ...OPTIONS, imbalance: "none", modelType: "baseline_logreg" }).metrics;
  assert.ok(none.metrics.brier < balanced.metrics.brier, `${none.metrics.brier} vs ${balanced.metrics.brier}`);
  assert.equal(none.training.class_weight, "none");
});
