import assert from "node:assert/strict";
import { daysFromCivil } from "../../pipeline/dates.ts";
import {
  fitPreprocessor,
  inputColumns,
  NON_INPUT_COLUMNS,
  timeSplit,
  toColumns,
  transformRows,
} from "../../pipeline/preprocess.ts";
import { makeTable, type Table } from "../../pipeline/table.ts";

const D0 = daysFromCivil(2026, 1, 1);

function trainingTable(): Table {
  return makeTable({
    user_id: { type: "i32", data: Int32Array.from([1, 2, 3, 4, 5, 6]) },
    as_of_date: { type: "date", data: Int32Array.from([0, 0, 1, 1, 2, 2], (d) => D0 + d) },
    signup_date: { type: "date", data: new Int32Array(6).fill(D0) },
    plan: { type: "dict", codes: Int32Array.from([0, 1, 0, -1, 1, 0]), dictionary: ["free", "paid"] },
    logins_7d: { type: "i32", data: Int32Array.from([1, 2, 3, 4, 5, 6]) },
    quiz_avg_score_7d: { type: "f64", data: Float64Array.from([50, NaN, 70, 80, NaN, 100]) },
    constant: { type: "i32", data: new Int32Array(6).fill(3) },
    engagement_score: { type: "f64", data: Float64Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]) },
    future_active_days: { type: "i32", data: Int32Array.from([0, 1, 2, 0, 1, 2]) },
    churn_label: { type: "i32", data: Int32Array.from([1, 0, 0, 1, 0, 0]) },
  });
}

Deno.test("inputColumns() never includes engagement_score, the label, ids or dates", () => {
  const { numeric, categorical } = inputColumns(trainingTable());
  assert.deepEqual(numeric, ["logins_7d", "quiz_avg_score_7d", "constant"]);
  assert.deepEqual(categorical, ["plan"]);
  for (const c of NON_INPUT_COLUMNS) assert.ok(!numeric.includes(c) && !categorical.includes(c), c);
  const pre = fitPreprocessor(trainingTable(), Int32Array.from([0, 1, 2, 3, 4, 5]));
  assert.ok(!pre.features.some((f) => f.startsWith("engagement_score")));
});

Deno.test("timeSplit() takes the last dates as test and leaves the gap out of training", () => {
  const dates = Int32Array.from({ length: 100 }, (_, i) => D0 + (i % 50)); // 50 distinct dates, 2 rows each
  const s = timeSplit(dates, { testSize: 0.2, gapDays: 5 });
  // cut = floor(50 * 0.8) = 40: test dates are days 40..49; train dates < day 35.
  assert.deepEqual(s.info.test_dates, ["2026-02-10", "2026-02-19"]);
  assert.deepEqual(s.info.train_dates, ["2026-01-01", "2026-02-04"]);
  assert.equal(s.test.length, 20);
  assert.equal(s.train.length, 70);
  for (const i of s.train) assert.ok(dates[i] < D0 + 35);
  for (const i of s.test) assert.ok(dates[i] >= D0 + 40);
  assert.equal(timeSplit(dates, { testSize: 0.2, gapDays: 0 }).train.length, 80);
  assert.throws(() => timeSplit(dates, { testSize: 0.2, gapDays: 40 }), /leaves no training dates/);
});

Deno.test("timeSplit() splits rows sorted by date when there are fewer than 5 dates", () => {
  const dates = Int32Array.from([2, 0, 1, 0, 2, 1, 0, 1, 2, 2], (d) => D0 + d);
  const s = timeSplit(dates, { testSize: 0.2, gapDays: 30 });
  assert.equal(s.info.method, "rows");
  assert.equal(s.train.length, 8);
  assert.equal(s.test.length, 2);
  for (const i of s.test) assert.equal(dates[i], D0 + 2);
  assert.throws(() => timeSplit(new Int32Array(0), { testSize: 0.2, gapDays: 0 }), /empty/);
});

Deno.test("fitPreprocessor() imputes 0, standardises with training statistics and one-hot encodes with missing", () => {
  const t = trainingTable();
  const pre = fitPreprocessor(t, Int32Array.from([0, 1, 2, 3]));
  assert.deepEqual(pre.features, ["logins_7d", "quiz_avg_score_7d", "plan=free", "plan=missing", "plan=paid"]);
  assert.deepEqual(pre.dropped, [{ name: "constant", reason: "constant (3) on the training rows" }]);
  const logins = pre.numeric[0];
  assert.equal(logins.mean, 2.5);
  assert.equal(logins.scale, Math.sqrt(1.25));
  const quiz = pre.numeric[1];
  assert.equal(quiz.mean, (50 + 0 + 70 + 80) / 4);
  const x = transformRows(pre, t, { mode: "scaled", rows: Int32Array.from([1, 3, 4]) });
  assert.equal(x.length, 3 * 5);
  assert.equal(x[0], (2 - 2.5) / Math.sqrt(1.25));
  assert.equal(x[1], (0 - quiz.mean) / quiz.scale, "missing → 0 before scaling");
  assert.deepEqual([...x.subarray(2, 5)], [0, 0, 1], "row 1 is paid");
  assert.deepEqual([...x.subarray(7, 10)], [0, 1, 0], "row 3 is missing");
  const raw = transformRows(pre, t, { mode: "raw", rows: Int32Array.from([1]) });
  assert.ok(Number.isNaN(raw[1]), "raw mode keeps NaN for the trees");
  assert.deepEqual(toColumns(x, 5)[0].length, 3);
});

Deno.test("transformRows() gives all zeros for a category unseen in training", () => {
  const t = trainingTable();
  const pre = fitPreprocessor(t, Int32Array.from([0, 1, 2])); // free and paid seen, not missing
  assert.deepEqual(pre.categorical[0].categories, ["free", "paid"]);
  const x = transformRows(pre, t, { mode: "scaled", rows: Int32Array.from([3]) });
  const d = pre.features.length;
  assert.deepEqual([...x.subarray(d - 2, d)], [0, 0], "a missing value unseen in training is all zeros");
  const single = fitPreprocessor(t, Int32Array.from([0, 2]));
  assert.ok(single.dropped.some((x) => x.name === "plan"), "a categorical with one training category is dropped");
});
