import assert from "node:assert/strict";
import {
  averagePrecision,
  type BinaryEvaluation,
  brierScore,
  type ClassificationReport,
  classificationReport,
  confusionMatrix,
  evaluateBinary,
  liftAt,
  prCurveHead,
  precisionAtK,
  precisionRecallCurve,
  recallAtK,
  reliabilityTable,
  rocAuc,
  rowsForFraction,
} from "../../pipeline/metrics.ts";

const TOLERANCE = 1e-12;

// ---------------------------------------------------------------------------------------------
// The scikit-learn fixture (tests/fixtures/metrics/make_expected.py)

interface ExpectedCase {
  name: string;
  seed: number;
  n: number;
  guard: { positives: number; score_sum: number; first_scores: number[] };
  threshold: number;
  expected: {
    roc_auc: number | null;
    pr_auc: number | null;
    pr_curve: {
      length: number;
      precision_head: number[];
      recall_head: number[];
      thresholds_head: number[];
      precision_tail: number[];
      recall_tail: number[];
      thresholds_tail: number[];
    };
    confusion_matrix: { tn: number; fp: number; fn: number; tp: number };
    classification_report: ClassificationReport;
    brier: number;
    calibration: { prob_true: number[]; prob_pred: number[]; bin_counts: number[] };
  };
}

const fixture: { sklearn: string; cases: ExpectedCase[] } = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/metrics/cases.json", import.meta.url)),
);

/** mulberry32, as make_expected.py implements it with integers mod 2^32. */
function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const TWO_32 = 4294967296;

/** Regenerates a fixture case's inputs: the same operations, in the same order, as generate() in Python. */
function generateCase(kind: string, seed: number, n: number): { y: Uint8Array; s: Float64Array } {
  const next = mulberry32(seed);
  const y = new Uint8Array(n), s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = next() / TWO_32, v = next() / TWO_32;
    let label: number, score: number;
    switch (kind) {
      case "random":
        score = u;
        label = v < 0.15 + 0.6 * score ? 1 : 0;
        break;
      case "heavy_ties":
        score = (next() % 11) / 10;
        label = v < 0.1 + 0.7 * score ? 1 : 0;
        break;
      case "all_equal":
        score = 0.5;
        label = v < 0.3 ? 1 : 0;
        break;
      case "perfect":
        label = v < 0.3 ? 1 : 0;
        score = label ? 0.6 + 0.4 * u : 0.55 * u;
        break;
      case "imbalanced":
        label = v < 0.05 ? 1 : 0;
        score = 0.3 * label + 0.7 * u;
        break;
      case "large":
        score = (next() >>> 11) / 2097152;
        label = v < 0.05 + 0.5 * score * score ? 1 : 0;
        break;
      case "all_negative":
        label = 0;
        score = u;
        break;
      case "all_positive":
        label = 1;
        score = (next() % 5) / 4;
        break;
      default:
        throw new Error(`Unknown fixture case kind "${kind}"`);
    }
    y[i] = label;
    s[i] = score;
  }
  return { y, s };
}

function loadCase(c: ExpectedCase): { y: Uint8Array; s: Float64Array } {
  const { y, s } = generateCase(c.name, c.seed, c.n);
  let positives = 0, sum = 0;
  for (let i = 0; i < c.n; i++) {
    positives += y[i];
    sum += s[i];
  }
  assert.equal(positives, c.guard.positives, `${c.name}: regenerated positives differ from the fixture`);
  assert.equal(sum, c.guard.score_sum, `${c.name}: regenerated score sum differs from the fixture`);
  assert.deepEqual(Array.from(s.subarray(0, 3)), c.guard.first_scores, `${c.name}: regenerated scores differ`);
  return { y, s };
}

function near(actual: number | null, expected: number | null, what: string): void {
  if (expected === null || actual === null) {
    assert.equal(actual, expected, what);
    return;
  }
  assert.ok(
    Math.abs(actual - expected) <= TOLERANCE,
    `${what}: got ${actual}, scikit-learn ${expected} (difference ${Math.abs(actual - expected)})`,
  );
}

function nearAll(actual: ArrayLike<number>, expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) near(actual[i], expected[i], `${what}[${i}]`);
}

function nearReport(actual: ClassificationReport, expected: ClassificationReport, what: string): void {
  near(actual.accuracy, expected.accuracy, `${what} accuracy`);
  for (const key of ["0", "1", "macro avg", "weighted avg"] as const) {
    near(actual[key].precision, expected[key].precision, `${what} ${key} precision`);
    near(actual[key].recall, expected[key].recall, `${what} ${key} recall`);
    near(actual[key]["f1-score"], expected[key]["f1-score"], `${what} ${key} f1-score`);
    assert.equal(actual[key].support, expected[key].support, `${what} ${key} support`);
  }
}

Deno.test("The fixture's cases cover ties, a perfect ranking, imbalance, 20,000 rows and single classes", () => {
  const names = fixture.cases.map((c) => c.name);
  for (
    const name of [
      "random",
      "heavy_ties",
      "all_equal",
      "perfect",
      "imbalanced",
      "large",
      "all_negative",
      "all_positive",
    ]
  ) assert.ok(names.includes(name), `missing case ${name}`);
  assert.ok(fixture.cases.some((c) => c.n >= 20000));
});

for (const c of fixture.cases) {
  Deno.test(`Every metric matches scikit-learn ${fixture.sklearn} on the "${c.name}" case`, () => {
    const { y, s } = loadCase(c);
    const e = c.expected;

    if (e.roc_auc === null) assert.throws(() => rocAuc(y, s), RangeError);
    else near(rocAuc(y, s), e.roc_auc, "roc_auc");
    if (e.pr_auc === null) assert.throws(() => averagePrecision(y, s), RangeError);
    else near(averagePrecision(y, s), e.pr_auc, "pr_auc");

    const curve = precisionRecallCurve(y, s);
    const head = e.pr_curve.precision_head.length, tail = e.pr_curve.precision_tail.length;
    assert.equal(curve.precision.length, e.pr_curve.length);
    assert.equal(curve.recall.length, e.pr_curve.length);
    assert.equal(curve.thresholds.length, e.pr_curve.length - 1);
    nearAll(curve.precision.subarray(0, head), e.pr_curve.precision_head, "precision head");
    nearAll(curve.recall.subarray(0, head), e.pr_curve.recall_head, "recall head");
    assert.deepEqual(Array.from(curve.thresholds.subarray(0, head)), e.pr_curve.thresholds_head);
    nearAll(curve.precision.subarray(curve.precision.length - tail), e.pr_curve.precision_tail, "precision tail");
    nearAll(curve.recall.subarray(curve.recall.length - tail), e.pr_curve.recall_tail, "recall tail");
    assert.deepEqual(
      Array.from(curve.thresholds.subarray(Math.max(0, curve.thresholds.length - tail))),
      e.pr_curve.thresholds_tail,
    );

    const matrix = confusionMatrix(y, s, { threshold: c.threshold });
    assert.deepEqual(matrix, e.confusion_matrix);
    nearReport(classificationReport(matrix), e.classification_report, "classification_report");
    near(brierScore(y, s), e.brier, "brier");

    const table = reliabilityTable(y, s);
    assert.equal(table.length, 10);
    assert.deepEqual(table.map((b) => b.count), e.calibration.bin_counts);
    const filled = table.filter((b) => b.count > 0);
    nearAll(filled.map((b) => b.mean_predicted ?? NaN), e.calibration.prob_pred, "prob_pred");
    nearAll(filled.map((b) => b.observed_rate ?? NaN), e.calibration.prob_true, "prob_true");
    for (const b of table) if (b.count === 0) assert.deepEqual([b.mean_predicted, b.observed_rate], [null, null]);

    const doc = evaluateBinary(y, s, { threshold: c.threshold, topK: 50 });
    near(doc.roc_auc, e.roc_auc, "evaluateBinary roc_auc");
    near(doc.pr_auc, e.pr_auc, "evaluateBinary pr_auc");
    near(doc.brier, e.brier, "evaluateBinary brier");
    assert.deepEqual(doc.confusion_matrix, e.confusion_matrix);
    nearReport(doc.classification_report, e.classification_report, "evaluateBinary classification_report");
    assert.equal(doc.pr_curve_head.length, Math.min(10, e.pr_curve.length));
    nearAll(doc.pr_curve_head.map((p) => p.precision), e.pr_curve.precision_head, "evaluateBinary head precision");
    nearAll(doc.pr_curve_head.map((p) => p.recall), e.pr_curve.recall_head, "evaluateBinary head recall");
    assert.deepEqual(doc.reliability, table);
    assert.equal(doc.n, c.n);
    assert.equal(doc.positives, c.guard.positives);
  });
}

// ---------------------------------------------------------------------------------------------
// Hand-worked cases

Deno.test("Average precision and ROC AUC give scikit-learn's documented example values", () => {
  // average_precision_score and roc_auc_score docstrings: 0.83... and 0.75
  const y = [0, 0, 1, 1], s = [0.1, 0.4, 0.35, 0.8];
  near(averagePrecision(y, s), 0.8333333333333333, "pr_auc");
  near(rocAuc(y, s), 0.75, "roc_auc");
  const curve = precisionRecallCurve(y, s);
  assert.deepEqual(Array.from(curve.thresholds), [0.1, 0.35, 0.4, 0.8]);
  nearAll(curve.precision, [0.5, 2 / 3, 0.5, 1, 1], "precision");
  nearAll(curve.recall, [1, 1, 0.5, 0.5, 0], "recall");
});

Deno.test("Tied scores form one step of average precision and count a half in ROC AUC", () => {
  // Scores 0.9 (1), 0.5 (1, 0 tied), 0.1 (0). Steps: R 0.5 at P 1, then R 1 at P 2/3.
  const y = [1, 1, 0, 0], s = [0.9, 0.5, 0.5, 0.1];
  near(averagePrecision(y, s), 0.5 * 1 + 0.5 * (2 / 3), "pr_auc");
  // Pairs (positive above negative): (0.9, 0.5) 1, (0.9, 0.1) 1, (0.5, 0.5) ½, (0.5, 0.1) 1 → 3.5 / 4
  near(rocAuc(y, s), 3.5 / 4, "roc_auc");
  // The order of tied rows does not matter.
  near(averagePrecision([1, 0, 1, 0], [0.9, 0.5, 0.5, 0.1]), 0.5 + 0.5 * (2 / 3), "pr_auc reordered");
});

Deno.test("Precision and recall at k break equal scores by row index, lower index first", () => {
  // Ranking: row 4 (0.9), then rows 0, 2, 5 tied at 0.7 in index order, then rows 1 (0.3), 3 (0.1).
  const y = [0, 1, 1, 0, 1, 1], s = [0.7, 0.3, 0.7, 0.1, 0.9, 0.7];
  assert.equal(precisionAtK(y, s, { k: 1 }), 1); // row 4
  assert.equal(precisionAtK(y, s, { k: 2 }), 1 / 2); // rows 4, 0
  assert.equal(precisionAtK(y, s, { k: 3 }), 2 / 3); // rows 4, 0, 2
  assert.equal(precisionAtK(y, s, { k: 4 }), 3 / 4); // rows 4, 0, 2, 5
  assert.equal(precisionAtK(y, s, { k: 6 }), 4 / 6);
  assert.equal(recallAtK(y, s, { k: 2 }), 1 / 4);
  assert.equal(recallAtK(y, s, { k: 4 }), 3 / 4);
  assert.equal(recallAtK(y, s, { k: 5 }), 1);
  // Swapping which tied row is a positive changes the answer: ties are not averaged.
  assert.equal(precisionAtK([1, 1, 0, 0, 1, 1], s, { k: 2 }), 1);
});

Deno.test("Lift is the top fraction's precision over the base rate", () => {
  // 20 rows, 4 positives (base rate 0.2); scores descending with the row index.
  const s = Array.from({ length: 20 }, (_, i) => 1 - i / 20);
  const y = Array.from({ length: 20 }, (_, i) => (i === 0 || i === 3 || i === 9 || i === 15 ? 1 : 0));
  // Top 10% = 2 rows (rows 0, 1): precision 1/2 → lift 2.5; top 25% = 5 rows: 2/5 → lift 2.
  near(liftAt(y, s, { fraction: 0.1 }), 2.5, "lift at 10%");
  near(liftAt(y, s, { fraction: 0.25 }), 2, "lift at 25%");
  near(liftAt(y, s, { fraction: 1 }), 1, "lift at 100%");
  assert.throws(() => liftAt([0, 0], [0.2, 0.1], { fraction: 0.5 }), RangeError);
  assert.throws(() => liftAt(y, s, { fraction: 0 }), RangeError);
});

Deno.test("The top fraction's row count rounds up, ignoring floating-point noise", () => {
  assert.equal(rowsForFraction(30, 0.1), 3); // 30 * 0.1 === 3.0000000000000004
  assert.equal(rowsForFraction(20, 0.05), 1);
  assert.equal(rowsForFraction(21, 0.05), 2);
  assert.equal(rowsForFraction(1_400_000, 0.05), 70_000);
  assert.equal(rowsForFraction(1_400_001, 0.1), 140_001);
  assert.equal(rowsForFraction(5, 0.01), 1);
  assert.throws(() => rowsForFraction(0, 0.1), RangeError);
  assert.throws(() => rowsForFraction(10, 1.5), RangeError);
});

Deno.test("evaluateBinary reports precision and recall at 5%, 10% and top-K with their row counts", () => {
  const n = 40;
  const s = Array.from({ length: n }, (_, i) => (n - i) / n); // row 0 ranks first
  const y = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0)); // rows 0, 3, ..., 39: 14 positives
  const doc = evaluateBinary(y, s, { threshold: 0.5, topK: 7 });
  assert.deepEqual(doc.top_rows, { top_5pct: 2, top_10pct: 4, top_k: 7 });
  assert.deepEqual(doc.precision_at, { top_5pct: 1 / 2, top_10pct: 2 / 4, top_k: 3 / 7 });
  assert.deepEqual(doc.recall_at, { top_5pct: 1 / 14, top_10pct: 2 / 14, top_k: 3 / 14 });
  near(doc.lift_at_10pct, (2 / 4) / (14 / 40), "lift_at_10pct");
  assert.equal(doc.base_rate, 14 / 40);
  for (const key of ["top_5pct", "top_10pct", "top_k"] as const) {
    assert.equal(doc.precision_at[key], precisionAtK(y, s, { k: doc.top_rows[key] }));
    assert.equal(doc.recall_at[key], recallAtK(y, s, { k: doc.top_rows[key] }));
  }
  // A top-K beyond the rows takes all of them.
  assert.equal(evaluateBinary(y, s, { topK: 1000 }).top_rows.top_k, n);
});

Deno.test("The confusion matrix predicts positive when the score equals the threshold", () => {
  const y = [0, 1, 0, 1], s = [0.5, 0.5, 0.49, 0.6];
  assert.deepEqual(confusionMatrix(y, s), { tn: 1, fp: 1, fn: 0, tp: 2 });
  assert.deepEqual(confusionMatrix(y, s, { threshold: 0.55 }), { tn: 2, fp: 0, fn: 1, tp: 1 });
});

Deno.test("The classification report gives 0 where a class is never predicted, as scikit-learn does", () => {
  // classification_report([0]*6 + [1]*4, [0]*10, labels=[0, 1], output_dict=True, zero_division=0), verbatim
  assert.deepEqual(classificationReport({ tn: 6, fp: 0, fn: 4, tp: 0 }), {
    "0": { precision: 0.6, recall: 1.0, "f1-score": 0.7499999999999999, support: 6 },
    "1": { precision: 0.0, recall: 0.0, "f1-score": 0.0, support: 4 },
    accuracy: 0.6,
    "macro avg": { precision: 0.3, recall: 0.5, "f1-score": 0.37499999999999994, support: 10 },
    "weighted avg": { precision: 0.36, recall: 0.6, "f1-score": 0.4499999999999999, support: 10 },
  });
  assert.throws(() => classificationReport({ tn: 0, fp: 0, fn: 0, tp: 0 }), RangeError);
  assert.throws(() => classificationReport({ tn: 1.5, fp: 0, fn: 0, tp: 0 }), RangeError);
});

Deno.test("Ranking metrics agree with brute-force pair counting on negative, zero and tied scores", () => {
  const next = mulberry32(99);
  const n = 300;
  const y = new Int32Array(n), s: number[] = [];
  for (let i = 0; i < n; i++) {
    y[i] = next() % 3 === 0 ? 1 : 0;
    const r = next() % 7;
    // Negative and positive magnitudes across exponents, signed zeros and repeated values.
    s.push(r === 0 ? 0 : r === 1 ? -0 : r === 2 ? -1e6 * (next() % 4) : (next() % 50 - 25) * 10 ** (next() % 5 - 2));
  }
  let positives = 0, pairs = 0;
  for (let i = 0; i < n; i++) {
    positives += y[i];
    if (y[i] !== 1) continue;
    for (let j = 0; j < n; j++) if (y[j] === 0) pairs += s[i] > s[j] ? 1 : s[i] === s[j] ? 0.5 : 0;
  }
  near(rocAuc(y, s), pairs / (positives * (n - positives)), "roc_auc");
  // Average precision by its definition: for each distinct threshold, the recall gained times the precision.
  const distinct = [...new Set(s.map((v) => v + 0))].sort((a, b) => b - a);
  let ap = 0, previousRecall = 0;
  for (const t of distinct) {
    let tp = 0, predicted = 0;
    for (let i = 0; i < n; i++) {
      if (s[i] >= t) {
        predicted++;
        tp += y[i];
      }
    }
    ap += (tp / positives - previousRecall) * (tp / predicted);
    previousRecall = tp / positives;
  }
  near(averagePrecision(y, s), ap, "pr_auc");
  assert.equal(precisionRecallCurve(y, s).thresholds.length, distinct.length);
  // Top k by brute force: sort by score descending, then index ascending.
  const ranked = [...s.keys()].sort((a, b) => s[b] - s[a] || a - b);
  for (const k of [1, 17, 150, 300]) {
    const hits = ranked.slice(0, k).reduce((sum, i) => sum + y[i], 0);
    assert.equal(precisionAtK(y, s, { k }), hits / k, `precision at ${k}`);
    assert.equal(recallAtK(y, s, { k }), hits / positives, `recall at ${k}`);
  }
});

Deno.test("Labels as Uint8Array, Int32Array or number[] and scores as Float64Array or number[] agree", () => {
  const labels = [1, 0, 1, 1, 0, 0, 1, 0], scores = [0.9, 0.8, 0.7, 0.4, 0.4, 0.3, 0.2, 0.1];
  const reference = JSON.stringify(evaluateBinary(labels, scores, { topK: 3 }));
  for (const y of [Uint8Array.from(labels), Int32Array.from(labels), labels]) {
    for (const s of [Float64Array.from(scores), scores]) {
      assert.equal(JSON.stringify(evaluateBinary(y, s, { topK: 3 })), reference);
    }
  }
});

Deno.test("Evaluation leaves its inputs unchanged", () => {
  const y = Uint8Array.of(1, 0, 1, 0, 0), s = Float64Array.of(0.3, -0, 0.9, 0.3, 0.1);
  const scores = [0.3, 0, 0.9, 0.3, 0.1];
  evaluateBinary(y, scores, { topK: 2 });
  rocAuc(y, s);
  precisionRecallCurve(y, s);
  assert.deepEqual(Array.from(y), [1, 0, 1, 0, 0]);
  assert.ok(Object.is(s[1], -0));
  assert.deepEqual(Array.from(s), [0.3, -0, 0.9, 0.3, 0.1]);
  assert.deepEqual(scores, [0.3, 0, 0.9, 0.3, 0.1]);
});

Deno.test("A single class makes pr_auc, roc_auc and lift null with a reason, and the document stays valid JSON", () => {
  const negatives = evaluateBinary([0, 0, 0, 0], [0.1, 0.2, 0.2, 0.9], { topK: 2 });
  assert.equal(negatives.pr_auc, null);
  assert.equal(negatives.roc_auc, null);
  assert.equal(negatives.lift_at_10pct, null);
  assert.deepEqual(Object.keys(negatives.null_reasons).sort(), ["lift_at_10pct", "pr_auc", "roc_auc"]);
  assert.match(negatives.null_reasons.roc_auc, /no positives/);
  assert.deepEqual(negatives.recall_at, { top_5pct: 0, top_10pct: 0, top_k: 0 });
  const positives = evaluateBinary([1, 1, 1], [0.3, 0.6, 0.6], { topK: 2 });
  assert.equal(positives.pr_auc, null);
  assert.equal(positives.roc_auc, null);
  assert.match(positives.null_reasons.pr_auc, /no negatives/);
  assert.equal(positives.lift_at_10pct, 1);
  for (const doc of [negatives, positives]) {
    const text = JSON.stringify(doc);
    assert.doesNotMatch(text, /NaN|Infinity/);
    assert.deepEqual(JSON.parse(text), doc);
  }
  assert.throws(() => averagePrecision([1, 1], [0.2, 0.4]), RangeError);
  assert.throws(() => rocAuc([0, 0], [0.2, 0.4]), RangeError);
});

Deno.test("A two-class document has no null metrics and round-trips through JSON unchanged", () => {
  const doc: BinaryEvaluation = evaluateBinary([0, 1, 0, 1, 1], [0.2, 0.9, 0.65, 0.5, 0.1], { topK: 2 });
  assert.deepEqual(doc.null_reasons, {});
  assert.equal(typeof doc.pr_auc, "number");
  assert.equal(typeof doc.roc_auc, "number");
  assert.deepEqual(JSON.parse(JSON.stringify(doc)), doc);
  assert.equal(doc.pr_curve_head.at(-1)?.threshold, null); // 5 thresholds, 6 points: the last has none
  assert.deepEqual(doc.pr_curve_head.at(-1), { threshold: null, precision: 1, recall: 0 });
  assert.equal(evaluateBinary([0, 1], [0.2, 0.9], { topK: 1, curvePoints: 2 }).pr_curve_head.length, 2);
});

Deno.test("The PR curve head keeps the first points in JSON-friendly form", () => {
  const curve = precisionRecallCurve([0, 1, 1], [0.2, 0.4, 0.8]);
  assert.deepEqual(prCurveHead(curve, 2), [
    { threshold: 0.2, precision: 2 / 3, recall: 1 },
    { threshold: 0.4, precision: 1, recall: 1 },
  ]);
  assert.equal(prCurveHead(curve, 100).length, 4);
  assert.deepEqual(prCurveHead(curve, 0), []);
  assert.throws(() => prCurveHead(curve, -1), RangeError);
});

Deno.test("Reliability bins put a score on an inner edge into the lower bin, as calibration_curve does", () => {
  const table = reliabilityTable([0, 1, 1, 0, 1], [0, 0.1, 0.30000000000000004, 0.3, 1]);
  assert.deepEqual(table.map((b) => b.count), [2, 0, 2, 0, 0, 0, 0, 0, 0, 1]);
  assert.equal(table[0].mean_predicted, 0.05);
  assert.equal(table[0].observed_rate, 0.5);
  assert.equal(table[2].upper, 0.30000000000000004);
  assert.deepEqual(table[9], { lower: 0.9, upper: 1, count: 1, mean_predicted: 1, observed_rate: 1 });
  assert.equal(reliabilityTable([0, 1], [0.2, 0.7], { bins: 2 })[1].count, 1);
});

Deno.test("The Brier score is the mean squared difference of labels and probabilities", () => {
  near(brierScore([0, 1, 1, 0], [0.1, 0.9, 0.8, 0.3]), 0.0375, "brier"); // brier_score_loss docstring
  assert.equal(brierScore([1, 0], [1, 0]), 0);
});

Deno.test("Wrong inputs are rejected with a TypeError or RangeError naming the value", () => {
  assert.throws(() => rocAuc([0, 1], [0.5]), { name: "RangeError", message: /same length, got 2 and 1/ });
  assert.throws(() => averagePrecision([], []), { name: "RangeError", message: /must not be empty/ });
  assert.throws(() => averagePrecision([0, 2], [0.1, 0.2]), {
    name: "RangeError",
    message: /yTrue\[1\] must be 0 or 1/,
  });
  assert.throws(() => averagePrecision(Uint8Array.of(0, 3), [0.1, 0.2]), RangeError);
  assert.throws(() => averagePrecision([0, 1], [0.1, NaN]), {
    name: "RangeError",
    message: /scores\[1\] must be finite/,
  });
  assert.throws(() => rocAuc([0, 1], [0.1, Infinity]), RangeError);
  assert.throws(() => brierScore([0, 1], [0.1, 1.2]), { name: "RangeError", message: /probability in \[0, 1\]/ });
  assert.throws(() => evaluateBinary([0, 1], [-0.1, 0.5], { topK: 1 }), RangeError);
  assert.throws(() => evaluateBinary([0, 1], [0.1, 0.5], { topK: 0 }), { name: "RangeError", message: /topK/ });
  assert.throws(() => evaluateBinary([0, 1], [0.1, 0.5], { topK: 1, threshold: NaN }), RangeError);
  assert.throws(() => precisionAtK([0, 1], [0.1, 0.5], { k: 3 }), { name: "RangeError", message: /k must be/ });
  assert.throws(() => recallAtK([0, 1], [0.1, 0.5], { k: 0.5 }), RangeError);
  assert.throws(() => reliabilityTable([0, 1], [0.1, 0.5], { bins: 0 }), RangeError);
  assert.throws(() => rocAuc("01" as unknown as number[], [0.1, 0.5]), { name: "TypeError", message: /yTrue/ });
  assert.throws(() => rocAuc([0, 1], new Float32Array(2) as unknown as Float64Array), TypeError);
  assert.throws(() => rocAuc([0, "1"] as unknown as number[], [0.1, 0.5]), TypeError);
  assert.throws(() => rocAuc([0, 1], [0.1, "0.5"] as unknown as number[]), TypeError);
});

Deno.test("evaluateBinary handles 1.4 million rows in under three seconds", () => {
  const n = 1_400_000;
  const next = mulberry32(7);
  const y = new Uint8Array(n), s = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s[i] = (next() >>> 12) / 1048576; // 20-bit scores: many ties
    y[i] = next() / TWO_32 < 0.1 + 0.3 * s[i] ? 1 : 0;
  }
  const started = performance.now();
  const doc = evaluateBinary(y, s, { threshold: 0.5, topK: 50 });
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 3000, `evaluateBinary took ${elapsed.toFixed(0)} ms`);
  assert.equal(doc.n, n);
  assert.equal(doc.top_rows.top_10pct, 140_000);
  assert.ok(doc.roc_auc !== null && doc.roc_auc > 0.6 && doc.roc_auc < 0.7, `roc_auc ${doc.roc_auc}`);
  assert.equal(doc.reliability.reduce((sum, b) => sum + b.count, 0), n);
});
