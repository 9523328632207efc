/**
 * Binary-classification metrics with scikit-learn's definitions: average precision (`pr_auc`),
 * ROC AUC, the precision-recall curve, the confusion matrix and classification report at a
 * threshold, the Brier score and a reliability (calibration) table; and beyond scikit-learn:
 * precision@k, recall@k and lift.
 *
 * Every function is pure over `yTrue` (0/1 labels) and `scores` (finite numbers; probabilities in
 * [0, 1] where the metric needs them). The ranking metrics sort the rows once — a stable LSD radix
 * sort of the rows by their float64 bit patterns, O(n) — and then sweep the ranking in O(n), grouping
 * equal scores exactly as scikit-learn's `_binary_clf_curve` does. {@link evaluateBinary} shares one
 * ranking between all of them and returns one JSON-serialisable document (no NaN, no typed arrays).
 *
 * Conventions:
 * - A row is predicted positive when `score >= threshold`. (scikit-learn's `predict` on a
 *   probabilistic classifier predicts 1 only when the probability is strictly above 0.5; the
 *   threshold rule here is explicit and inclusive.)
 * - Divisions by zero in the classification report give 0, as `zero_division=0`.
 * - "Top k" rows are the k highest scores, equal scores broken by row index (lower index first).
 * - Average precision and ROC AUC are undefined when `yTrue` holds a single class: the functions
 *   throw a `RangeError` and {@link evaluateBinary} reports `null` with a reason in `null_reasons`.
 *   (scikit-learn raises for ROC AUC; for average precision it warns and returns 0 or 1.)
 *
 * @module
 */

/** Binary labels: each element 0 (negative) or 1 (positive). */
export type BinaryLabels = Uint8Array | Int32Array | number[];

/** Scores, one per row: finite numbers, probabilities in [0, 1] for the calibration metrics. */
export type Scores = Float64Array | number[];

/** Counts of a confusion matrix: rows are the true class, columns the predicted class. */
export interface ConfusionMatrix {
  /** True negatives: label 0, predicted 0. */
  tn: number;
  /** False positives: label 0, predicted 1. */
  fp: number;
  /** False negatives: label 1, predicted 0. */
  fn: number;
  /** True positives: label 1, predicted 1. */
  tp: number;
}

/** One row of a classification report, named as scikit-learn's `output_dict=True` names it. */
export interface ClassificationReportRow {
  /** Precision of the class (or its average). */
  precision: number;
  /** Recall of the class (or its average). */
  recall: number;
  /** F1 score of the class (or its average). */
  "f1-score": number;
  /** Rows with this true class (all rows for the averages). */
  support: number;
}

/** scikit-learn's `classification_report(output_dict=True, zero_division=0)` for labels 0 and 1. */
export interface ClassificationReport {
  /** The negative class. */
  "0": ClassificationReportRow;
  /** The positive class. */
  "1": ClassificationReportRow;
  /** Share of rows predicted correctly. */
  accuracy: number;
  /** Unweighted mean of the two classes' rows. */
  "macro avg": ClassificationReportRow;
  /** Mean of the two classes' rows weighted by support. */
  "weighted avg": ClassificationReportRow;
}

/** A precision-recall curve in scikit-learn's layout. */
export interface PrecisionRecallCurve {
  /** Precision at each threshold, then a final 1 (length = thresholds + 1). */
  precision: Float64Array;
  /** Recall at each threshold, then a final 0 (length = thresholds + 1); all 1 when there are no positives. */
  recall: Float64Array;
  /** The distinct scores, ascending: a row is predicted positive when its score is >= the threshold. */
  thresholds: Float64Array;
}

/** One point of a precision-recall curve in a JSON-friendly form. */
export interface PrCurvePoint {
  /** The threshold; `null` for the curve's final (precision 1, recall 0) point, which has none. */
  threshold: number | null;
  /** Precision at the threshold. */
  precision: number;
  /** Recall at the threshold. */
  recall: number;
}

/** One equal-width bin of a reliability (calibration) table. */
export interface ReliabilityBin {
  /** Lower edge (exclusive, except 0 for the first bin). */
  lower: number;
  /** Upper edge (inclusive). */
  upper: number;
  /** Rows whose score falls in the bin. */
  count: number;
  /** Mean score of those rows; `null` when the bin is empty. */
  mean_predicted: number | null;
  /** Share of positives among those rows; `null` when the bin is empty. */
  observed_rate: number | null;
}

/** Options of {@link confusionMatrix}. */
export interface ThresholdOptions {
  /** Rows with `score >= threshold` are predicted positive. Default 0.5. */
  threshold?: number;
}

/** Options of {@link precisionAtK} and {@link recallAtK}. */
export interface TopKOptions {
  /** How many top-scored rows to take: an integer in [1, n]. */
  k: number;
}

/** Options of {@link liftAt}. */
export interface LiftOptions {
  /** Share of the rows taken from the top, in (0, 1]; the row count is {@link rowsForFraction}. */
  fraction: number;
}

/** Options of {@link reliabilityTable}. */
export interface ReliabilityOptions {
  /** Number of equal-width bins over [0, 1]. Default 10. */
  bins?: number;
}

/** Options of {@link evaluateBinary}. */
export interface EvaluateOptions {
  /** Threshold of the confusion matrix and classification report (`score >= threshold`). Default 0.5. */
  threshold?: number;
  /** The K of precision/recall at top-K (a positive integer; more than n means all rows). */
  topK: number;
  /** How many points of the precision-recall curve to keep. Default 10. */
  curvePoints?: number;
}

/** A value per cut-off of the ranking: the top 5% of rows, the top 10% and the top K. */
export interface TopCutoffs {
  /** The top 5% of rows (rounded up). */
  top_5pct: number;
  /** The top 10% of rows (rounded up). */
  top_10pct: number;
  /** The top K rows. */
  top_k: number;
}

/** The evaluation document of {@link evaluateBinary}: JSON-serialisable, no NaN. */
export interface BinaryEvaluation {
  /** Number of rows. */
  n: number;
  /** Number of positive rows. */
  positives: number;
  /** Share of positive rows. */
  base_rate: number;
  /** Threshold of the confusion matrix and the classification report. */
  threshold: number;
  /** Average precision; `null` when `yTrue` holds a single class (see `null_reasons`). */
  pr_auc: number | null;
  /** ROC AUC; `null` when `yTrue` holds a single class (see `null_reasons`). */
  roc_auc: number | null;
  /** Brier score (mean squared error of the probabilities). */
  brier: number;
  /** Confusion matrix at the threshold. */
  confusion_matrix: ConfusionMatrix;
  /** Classification report at the threshold. */
  classification_report: ClassificationReport;
  /** The first points of the precision-recall curve (thresholds ascending). */
  pr_curve_head: PrCurvePoint[];
  /** Row counts of the cut-offs. */
  top_rows: TopCutoffs;
  /** Precision within each cut-off. */
  precision_at: TopCutoffs;
  /** Recall within each cut-off (0 when there are no positives). */
  recall_at: TopCutoffs;
  /** Precision in the top 10% divided by the base rate; `null` when there are no positives. */
  lift_at_10pct: number | null;
  /** Reliability table: ten equal-width bins over [0, 1]. */
  reliability: ReliabilityBin[];
  /** Why a metric is `null`, by metric name; empty when none is. */
  null_reasons: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------
// Input checks

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  return (value as object).constructor?.name ?? "object";
}

/** Returns the labels as a Uint8Array of 0/1 (the input itself when it already is one). */
function toLabels(yTrue: BinaryLabels): Uint8Array {
  if (yTrue instanceof Uint8Array) {
    for (let i = 0; i < yTrue.length; i++) {
      if (yTrue[i] > 1) throw new RangeError(`yTrue[${i}] must be 0 or 1, got ${yTrue[i]}`);
    }
    return yTrue;
  }
  if (!(yTrue instanceof Int32Array) && !Array.isArray(yTrue)) {
    throw new TypeError(`yTrue must be a Uint8Array, Int32Array or number[], got ${describe(yTrue)}`);
  }
  const out = new Uint8Array(yTrue.length);
  for (let i = 0; i < yTrue.length; i++) {
    const v: unknown = yTrue[i];
    if (v === 1) out[i] = 1;
    else if (v !== 0) {
      if (typeof v !== "number") throw new TypeError(`yTrue[${i}] must be a number, got ${describe(v)}`);
      throw new RangeError(`yTrue[${i}] must be 0 or 1, got ${v}`);
    }
  }
  return out;
}

/** Returns the scores as a Float64Array of finite numbers (the input itself when it already is one). */
function toScores(scores: Scores, probabilities: boolean): Float64Array {
  let out: Float64Array;
  if (scores instanceof Float64Array) out = scores;
  else if (Array.isArray(scores)) {
    out = new Float64Array(scores.length);
    for (let i = 0; i < scores.length; i++) {
      const v: unknown = scores[i];
      if (typeof v !== "number") throw new TypeError(`scores[${i}] must be a number, got ${describe(v)}`);
      out[i] = v;
    }
  } else throw new TypeError(`scores must be a Float64Array or number[], got ${describe(scores)}`);
  for (let i = 0; i < out.length; i++) {
    const v = out[i];
    if (probabilities ? !(v >= 0 && v <= 1) : !Number.isFinite(v)) {
      throw new RangeError(`scores[${i}] must be ${probabilities ? "a probability in [0, 1]" : "finite"}, got ${v}`);
    }
  }
  return out;
}

interface Checked {
  y: Uint8Array;
  s: Float64Array;
  n: number;
  positives: number;
}

function check(yTrue: BinaryLabels, scores: Scores, probabilities: boolean): Checked {
  const y = toLabels(yTrue);
  const s = toScores(scores, probabilities);
  if (y.length !== s.length) {
    throw new RangeError(`yTrue and scores must have the same length, got ${y.length} and ${s.length}`);
  }
  if (y.length === 0) throw new RangeError("yTrue and scores must not be empty");
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i];
  return { y, s, n: y.length, positives };
}

function singleClassReason(c: Checked, metric: string): string | null {
  if (c.positives === 0) return `yTrue has no positives: ${metric} is undefined with a single class`;
  if (c.positives === c.n) return `yTrue has no negatives: ${metric} is undefined with a single class`;
  return null;
}

function checkThreshold(threshold: unknown): number {
  if (typeof threshold !== "number") throw new TypeError(`threshold must be a number, got ${describe(threshold)}`);
  if (!Number.isFinite(threshold)) throw new RangeError(`threshold must be finite, got ${threshold}`);
  return threshold;
}

function checkK(k: unknown, n: number): number {
  if (typeof k !== "number") throw new TypeError(`k must be a number, got ${describe(k)}`);
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`k must be an integer in [1, ${n}], got ${k}`);
  return k;
}

// ---------------------------------------------------------------------------------------------
// Ranking: one stable sort, then O(n) sweeps

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const HI_AT = LITTLE_ENDIAN ? 1 : 0, LO_AT = 1 - HI_AT;

/**
 * The rows ranked by score descending, equal scores by row index ascending. Rank i holds the row's
 * index and label packed as `index·2 + label` in `packed[i]`, and its score's sort key in
 * `hi[i]`/`lo[i]` (equal keys ⇔ equal scores), so sweeps over the ranking read memory sequentially.
 */
interface Ranking {
  packed: Uint32Array;
  hi: Uint32Array;
  lo: Uint32Array;
}

/**
 * Ranks the rows: a stable LSD radix sort (four 16-bit digits) of the float64 bit patterns mapped to
 * unsigned 64-bit keys whose order is the reverse of the numbers' order (-0 mapped as +0), carrying
 * each row's index and label along. Passes whose digit is the same for every row are skipped.
 */
function rank(y: Uint8Array, s: Float64Array): Ranking {
  const n = s.length;
  if (n > 0x7fffffff) throw new RangeError(`Ranking supports at most 2^31 - 1 rows, got ${n}`);
  const bits = new Uint32Array(s.buffer, s.byteOffset, 2 * n);
  let hi = new Uint32Array(n), lo = new Uint32Array(n), packed = new Uint32Array(n);
  const counts = new Uint32Array(4 * 65536);
  for (let i = 0; i < n; i++) {
    let h = bits[2 * i + HI_AT], l = bits[2 * i + LO_AT];
    if (h === 0x80000000 && l === 0) h = 0; // -0 ranks with +0
    if (!(h & 0x80000000)) { // non-negative: larger ranks earlier, and every one before any negative
      h = (h ^ 0x7fffffff) >>> 0;
      l = ~l >>> 0;
    } // negative: the raw bits already rank a larger magnitude later
    hi[i] = h;
    lo[i] = l;
    packed[i] = 2 * i + y[i];
    counts[l & 0xffff]++;
    counts[65536 + (l >>> 16)]++;
    counts[131072 + (h & 0xffff)]++;
    counts[196608 + (h >>> 16)]++;
  }
  let hi2 = new Uint32Array(n), lo2 = new Uint32Array(n), packed2 = new Uint32Array(n);
  for (let pass = 0; pass < 4; pass++) {
    const base = pass * 65536;
    const key = pass < 2 ? lo : hi;
    const shift = pass % 2 === 0 ? 0 : 16;
    if (counts[base + ((key[0] >>> shift) & 0xffff)] === n) continue;
    let sum = 0;
    for (let d = 0; d < 65536; d++) {
      const c = counts[base + d];
      counts[base + d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const at = counts[base + ((key[i] >>> shift) & 0xffff)]++;
      hi2[at] = hi[i];
      lo2[at] = lo[i];
      packed2[at] = packed[i];
    }
    [hi, hi2, lo, lo2, packed, packed2] = [hi2, hi, lo2, lo, packed2, packed];
  }
  return { packed, hi, lo };
}

/** Writes the score whose sort key is (h, l) — the inverse of rank()'s mapping — into `out[at]`. */
function putScore(h: number, l: number, out: Uint32Array, at: number): void {
  const negative = (h & 0x80000000) !== 0;
  out[2 * at + HI_AT] = negative ? h : (h ^ 0x7fffffff) >>> 0;
  out[2 * at + LO_AT] = negative ? l : ~l >>> 0;
}

/** Whether rank i is the last of its group of equal scores. */
function groupEnds({ hi, lo }: Ranking, i: number): boolean {
  return i === hi.length - 1 || hi[i + 1] !== hi[i] || lo[i + 1] !== lo[i];
}

/** The precision-recall curve in scikit-learn's layout: one point per group of equal scores, ascending. */
function curveOf(r: Ranking, positives: number): PrecisionRecallCurve {
  const n = r.packed.length;
  let m = 0;
  for (let i = 0; i < n; i++) if (groupEnds(r, i)) m++;
  const precision = new Float64Array(m + 1), recall = new Float64Array(m + 1), thresholds = new Float64Array(m);
  const thresholdBits = new Uint32Array(thresholds.buffer);
  let tp = 0, at = m;
  for (let i = 0; i < n; i++) {
    tp += r.packed[i] & 1;
    if (!groupEnds(r, i)) continue;
    at--;
    precision[at] = tp / (i + 1);
    recall[at] = positives === 0 ? 1 : tp / positives;
    putScore(r.hi[i], r.lo[i], thresholdBits, at);
  }
  precision[m] = 1;
  recall[m] = 0;
  return { precision, recall, thresholds };
}

/** What {@link evaluateBinary} needs from the curve, gathered in one sweep without storing it. */
interface Summary {
  /** Average precision (NaN with a single class). */
  averagePrecision: number;
  /** ROC AUC (NaN with a single class). */
  rocAuc: number;
  /** The first points of the precision-recall curve. */
  head: PrCurvePoint[];
}

/**
 * Sweeps the groups of equal scores from the highest, as scikit-learn's `_binary_clf_curve`: average
 * precision Σ (tpⱼ − tpⱼ₋₁)/P · tpⱼ/(tpⱼ + fpⱼ) (compensated sum), ROC AUC as twice the count of
 * correctly ordered (positive, negative) pairs with ties counting ½ — an exact integer below 2^53 for
 * any n under 10^8, so its only rounding is the final division — and the last `headCount` groups,
 * which are the curve's first points.
 */
function summarise(r: Ranking, positives: number, headCount: number): Summary {
  const n = r.packed.length, negatives = n - positives;
  const ringHi = new Uint32Array(headCount), ringLo = new Uint32Array(headCount);
  const ringTp = new Float64Array(headCount), ringRows = new Float64Array(headCount);
  const ap = new Sum();
  let twice = 0, tp = 0, tpBefore = 0, fpBefore = 0, m = 0;
  for (let i = 0; i < n; i++) {
    tp += r.packed[i] & 1;
    if (!groupEnds(r, i)) continue;
    const fp = i + 1 - tp, pos = tp - tpBefore;
    if (pos > 0) {
      ap.add(pos * (tp / (i + 1)));
      twice += pos * (2 * (negatives - fp) + (fp - fpBefore));
    }
    if (headCount > 0) {
      const slot = m % headCount;
      ringHi[slot] = r.hi[i];
      ringLo[slot] = r.lo[i];
      ringTp[slot] = tp;
      ringRows[slot] = i + 1;
    }
    tpBefore = tp;
    fpBefore = fp;
    m++;
  }
  const head: PrCurvePoint[] = [];
  const threshold = new Float64Array(1), thresholdBits = new Uint32Array(threshold.buffer);
  for (let k = 0; k < Math.min(headCount, m + 1); k++) {
    if (k === m) {
      head.push({ threshold: null, precision: 1, recall: 0 });
      continue;
    }
    const slot = (m - 1 - k) % headCount;
    putScore(ringHi[slot], ringLo[slot], thresholdBits, 0);
    head.push({
      threshold: threshold[0],
      precision: ringTp[slot] / ringRows[slot],
      recall: positives === 0 ? 1 : ringTp[slot] / positives,
    });
  }
  return { averagePrecision: ap.value / positives, rocAuc: twice / (2 * positives * negatives), head };
}

/** Neumaier's compensated sum, for sums of many terms. */
class Sum {
  #sum = 0;
  #c = 0;

  add(x: number): void {
    const t = this.#sum + x;
    if (Math.abs(this.#sum) >= Math.abs(x)) this.#c += (this.#sum - t) + x;
    else this.#c += (x - t) + this.#sum;
    this.#sum = t;
  }

  get value(): number {
    return this.#sum + this.#c;
  }
}

function positivesInTop({ packed }: Ranking, k: number): number {
  let tp = 0;
  for (let i = 0; i < k; i++) tp += packed[i] & 1;
  return tp;
}

function confusionOf(y: Uint8Array, s: Float64Array, threshold: number): ConfusionMatrix {
  let tn = 0, fp = 0, fn = 0, tp = 0;
  for (let i = 0; i < y.length; i++) {
    if (s[i] >= threshold) {
      if (y[i] === 1) tp++;
      else fp++;
    } else if (y[i] === 1) fn++;
    else tn++;
  }
  return { tn, fp, fn, tp };
}

function brierOf(y: Uint8Array, s: Float64Array): number {
  const total = new Sum();
  for (let i = 0; i < y.length; i++) {
    const d = y[i] - s[i];
    total.add(d * d);
  }
  return total.value / y.length;
}

function reliabilityOf(y: Uint8Array, s: Float64Array, bins: number): ReliabilityBin[] {
  // Edges as numpy.linspace(0, 1, bins + 1) computes them; a score goes to the bin numpy.searchsorted
  // (side "left") finds among the inner edges, as calibration_curve does: (lower, upper], 0 in the first.
  const step = 1 / bins;
  const edges = new Float64Array(bins + 1);
  for (let b = 0; b < bins; b++) edges[b] = b * step;
  edges[bins] = 1;
  const counts = new Float64Array(bins), sums = new Float64Array(bins), hits = new Float64Array(bins);
  for (let i = 0; i < y.length; i++) {
    const p = s[i];
    let b = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    while (b > 0 && p <= edges[b]) b--;
    while (b < bins - 1 && p > edges[b + 1]) b++;
    counts[b]++;
    sums[b] += p; // sequential, as numpy.bincount accumulates
    hits[b] += y[i];
  }
  const table: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    const count = counts[b];
    table.push({
      lower: edges[b],
      upper: edges[b + 1],
      count,
      mean_predicted: count === 0 ? null : sums[b] / count,
      observed_rate: count === 0 ? null : hits[b] / count,
    });
  }
  return table;
}

// ---------------------------------------------------------------------------------------------
// Public API

/**
 * Average precision, as scikit-learn's `average_precision_score`: the step-wise sum
 * Σₙ (Rₙ − Rₙ₋₁) Pₙ over the distinct score thresholds, rows with equal scores forming one step.
 *
 * @throws {TypeError} when an input has the wrong type.
 * @throws {RangeError} when the inputs are empty or of different lengths, a label is not 0/1, a score
 *   is not finite, or `yTrue` holds a single class (average precision is then undefined).
 */
export function averagePrecision(yTrue: BinaryLabels, scores: Scores): number {
  const c = check(yTrue, scores, false);
  const reason = singleClassReason(c, "average precision");
  if (reason !== null) throw new RangeError(reason);
  return summarise(rank(c.y, c.s), c.positives, 0).averagePrecision;
}

/**
 * Area under the ROC curve, as scikit-learn's `roc_auc_score`: trapezoids between the distinct
 * score thresholds, so a positive and a negative with equal scores count one half. Computed exactly
 * as a count of ordered pairs, then one division.
 *
 * @throws {TypeError} when an input has the wrong type.
 * @throws {RangeError} when the inputs are empty or of different lengths, a label is not 0/1, a score
 *   is not finite, or `yTrue` holds a single class (ROC AUC is then undefined).
 */
export function rocAuc(yTrue: BinaryLabels, scores: Scores): number {
  const c = check(yTrue, scores, false);
  const reason = singleClassReason(c, "ROC AUC");
  if (reason !== null) throw new RangeError(reason);
  return summarise(rank(c.y, c.s), c.positives, 0).rocAuc;
}

/**
 * The precision-recall curve, as scikit-learn's `precision_recall_curve`: one point per distinct
 * score, thresholds ascending, then the final point (precision 1, recall 0) without a threshold.
 * With no positives, recall is 1 at every threshold (as scikit-learn sets it, with a warning there).
 *
 * @throws {TypeError} when an input has the wrong type.
 * @throws {RangeError} when the inputs are empty or of different lengths, a label is not 0/1 or a score
 *   is not finite.
 */
export function precisionRecallCurve(yTrue: BinaryLabels, scores: Scores): PrecisionRecallCurve {
  const c = check(yTrue, scores, false);
  return curveOf(rank(c.y, c.s), c.positives);
}

/**
 * The first `count` points of a precision-recall curve (fewer if the curve is shorter) as plain
 * objects; the final point has `threshold: null`.
 *
 * @throws {RangeError} when `count` is not a non-negative integer.
 */
export function prCurveHead(curve: PrecisionRecallCurve, count: number): PrCurvePoint[] {
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`count must be a non-negative integer, got ${count}`);
  }
  const points: PrCurvePoint[] = [];
  const length = Math.min(count, curve.precision.length);
  for (let i = 0; i < length; i++) {
    points.push({
      threshold: i < curve.thresholds.length ? curve.thresholds[i] : null,
      precision: curve.precision[i],
      recall: curve.recall[i],
    });
  }
  return points;
}

/**
 * The confusion matrix when a row is predicted positive if `score >= threshold` (inclusive, default
 * 0.5) — the same counts as scikit-learn's `confusion_matrix(y, scores >= threshold).ravel()`.
 *
 * @throws {TypeError} when an input has the wrong type.
 * @throws {RangeError} when the inputs are empty or of different lengths, a label is not 0/1, a score
 *   is not finite or the threshold is not finite.
 */
export function confusionMatrix(
  yTrue: BinaryLabels,
  scores: Scores,
  { threshold = 0.5 }: ThresholdOptions = {},
): ConfusionMatrix {
  const t = checkThreshold(threshold);
  const c = check(yTrue, scores, false);
  return confusionOf(c.y, c.s, t);
}

/**
 * The classification report of a confusion matrix, with the numbers of scikit-learn's
 * `classification_report(y, y_pred, labels=[0, 1], output_dict=True, zero_division=0)`: precision,
 * recall, F1 and support of each class, accuracy, and the macro and support-weighted averages.
 *
 * @throws {RangeError} when a count is not a non-negative integer or the counts sum to 0.
 */
export function classificationReport(matrix: ConfusionMatrix): ClassificationReport {
  for (const name of ["tn", "fp", "fn", "tp"] as const) {
    const v = matrix[name];
    if (!Number.isSafeInteger(v) || v < 0) {
      throw new RangeError(`matrix.${name} must be a non-negative integer, got ${v}`);
    }
  }
  const { tn, fp, fn, tp } = matrix;
  const n = tn + fp + fn + tp;
  if (n === 0) throw new RangeError("matrix must count at least one row");
  const row = (hit: number, predicted: number, support: number): ClassificationReportRow => {
    const precision = predicted === 0 ? 0 : hit / predicted;
    const recall = support === 0 ? 0 : hit / support;
    const denominator = precision + recall;
    // scikit-learn: (1 + β²)·P·R / (β²·P + R), with a zero denominator replaced by 1
    const f1 = (2 * precision * recall) / (denominator === 0 ? 1 : denominator);
    return { precision, recall, "f1-score": f1, support };
  };
  const negative = row(tn, tn + fn, tn + fp);
  const positive = row(tp, tp + fp, tp + fn);
  const average = (weighted: boolean): ClassificationReportRow => {
    const w0 = weighted ? negative.support : 1, w1 = weighted ? positive.support : 1;
    const mean = (a: number, b: number): number => weighted ? (a * w0 + b * w1) / (w0 + w1) : (a + b) / 2;
    return {
      precision: mean(negative.precision, positive.precision),
      recall: mean(negative.recall, positive.recall),
      "f1-score": mean(negative["f1-score"], positive["f1-score"]),
      support: n,
    };
  };
  return {
    "0": negative,
    "1": positive,
    accuracy: (tn + tp) / n,
    "macro avg": average(false),
    "weighted avg": average(true),
  };
}

/**
 * The share of positives among the `k` top-scored rows (equal scores broken by row index, lower first).
 *
 * @throws {TypeError} when an input has the wrong type.
 * @throws {RangeError} when the inputs are empty or of different lengths, a label is not 0/1, a score
 *   is not finite, or `k` is not an integer in [1, n].
 */
export function precisionAtK(yTrue: BinaryLabels, scores: Scores, { k }: TopKOptions): number {
  const c = check(yTrue, scores, false);
  const top = checkK(k, c.n);
  return positivesInTop(rank(c.y, c.s), top) / top;
}

/**
 * The share of all positives found among the `k` top-scored rows (equal scores broken by row index,
 * lower first); 0 when there are no positives (the `zero_division=0` convention).
 *
 * @throws {TypeError} when an input has the wrong type.
 * @throws {RangeError} when the inputs are empty or of different lengths, a label is not 0/1, a score
 *   is not finite, or `k` is not an integer in [1, n].
 */
export function recallAtK(yTrue: BinaryLabels, scores: Scores, { k }: TopKOptions): number {
  const c = check(yTrue, scores, false);
  const top = checkK(k, c.n);
  return c.positives === 0 ? 0 : positivesInTop(rank(c.y, c.s), top) / c.positives;
}

/**
 * How many rows make the top `fraction` of `n` rows: ⌈n·fraction⌉, at least 1. A product within
 * 1e-9 (relative) of an integer counts as that integer, so 10% of 30 rows is 3 although
 * `30 * 0.1` is 3.0000000000000004.
 *
 * @throws {RangeError} when `n` is not a positive integer or `fraction` is not in (0, 1].
 */
export function rowsForFraction(n: number, fraction: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`fraction must be in (0, 1], got ${fraction}`);
  const exact = n * fraction;
  const nearest = Math.round(exact);
  const rows = Math.abs(exact - nearest) <= 1e-9 * Math.max(1, exact) ? nearest : Math.ceil(exact);
  return Math.min(n, Math.max(1, rows));
}

/**
 * Lift in the top `fraction` of rows: precision among the {@link rowsForFraction} top-scored rows
 * divided by the base rate (the share of positives in all rows).
 *
 * @throws {TypeError} when an input has the wrong type.
 * @throws {RangeError} when the inputs are empty or of different lengths, a label is not 0/1, a score
 *   is not finite, `fraction` is not in (0, 1], or there are no positives (lift is then undefined).
 */
export function liftAt(yTrue: BinaryLabels, scores: Scores, { fraction }: LiftOptions): number {
  const c = check(yTrue, scores, false);
  const k = rowsForFraction(c.n, fraction);
  if (c.positives === 0) throw new RangeError("yTrue has no positives: lift is undefined with a base rate of 0");
  return (positivesInTop(rank(c.y, c.s), k) / k) / (c.positives / c.n);
}

/**
 * The Brier score, as scikit-learn's `brier_score_loss`: the mean of (label − probability)².
 *
 * @throws {TypeError} when an input has the wrong type.
 * @throws {RangeError} when the inputs are empty or of different lengths, a label is not 0/1 or a score
 *   is not a probability in [0, 1].
 */
export function brierScore(yTrue: BinaryLabels, scores: Scores): number {
  const c = check(yTrue, scores, true);
  return brierOf(c.y, c.s);
}

/**
 * A reliability (calibration) table over equal-width bins of [0, 1] (default 10): per bin the row
 * count, the mean probability and the observed share of positives. The bins are scikit-learn's
 * `calibration_curve(strategy="uniform")` bins — (lower, upper], the first one including 0 — and the
 * non-empty bins' `mean_predicted` / `observed_rate` are its `prob_pred` / `prob_true`; empty bins
 * have `null`s.
 *
 * @throws {TypeError} when an input has the wrong type.
 * @throws {RangeError} when the inputs are empty or of different lengths, a label is not 0/1, a score
 *   is not a probability in [0, 1], or `bins` is not a positive integer.
 */
export function reliabilityTable(
  yTrue: BinaryLabels,
  scores: Scores,
  { bins = 10 }: ReliabilityOptions = {},
): ReliabilityBin[] {
  if (!Number.isSafeInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const c = check(yTrue, scores, true);
  return reliabilityOf(c.y, c.s, bins);
}

/**
 * Evaluates probabilities against binary labels in one pass over a single ranking: average precision,
 * ROC AUC, Brier score, confusion matrix and classification report at `threshold`, the first points
 * of the precision-recall curve, precision and recall at the top 5%, 10% and K rows, lift at 10%, a
 * ten-bin reliability table, the base rate and counts. Metrics undefined for the data (a single
 * class) are `null`, with the reason under `null_reasons`.
 *
 * @throws {TypeError} when an input or option has the wrong type.
 * @throws {RangeError} when the inputs are empty or of different lengths, a label is not 0/1, a score
 *   is not a probability in [0, 1], the threshold is not finite, `topK` is not a positive integer or
 *   `curvePoints` is not a non-negative integer.
 */
export function evaluateBinary(
  yTrue: BinaryLabels,
  scores: Scores,
  { threshold = 0.5, topK, curvePoints = 10 }: EvaluateOptions,
): BinaryEvaluation {
  const t = checkThreshold(threshold);
  if (typeof topK !== "number") throw new TypeError(`topK must be a number, got ${describe(topK)}`);
  if (!Number.isSafeInteger(topK) || topK < 1) throw new RangeError(`topK must be a positive integer, got ${topK}`);
  if (!Number.isSafeInteger(curvePoints) || curvePoints < 0) {
    throw new RangeError(`curvePoints must be a non-negative integer, got ${curvePoints}`);
  }
  const c = check(yTrue, scores, true);
  const { y, s, n, positives } = c;
  const ranking = rank(y, s);
  const summary = summarise(ranking, positives, curvePoints);
  const nullReasons: Record<string, string> = {};

  const prReason = singleClassReason(c, "average precision");
  const rocReason = singleClassReason(c, "ROC AUC");
  if (prReason !== null) nullReasons.pr_auc = prReason;
  if (rocReason !== null) nullReasons.roc_auc = rocReason;

  const topRows: TopCutoffs = {
    top_5pct: rowsForFraction(n, 0.05),
    top_10pct: rowsForFraction(n, 0.1),
    top_k: Math.min(topK, n),
  };
  // One cumulative pass over the ranking up to the largest cut-off.
  const largest = Math.max(topRows.top_5pct, topRows.top_10pct, topRows.top_k);
  const hits: TopCutoffs = { top_5pct: 0, top_10pct: 0, top_k: 0 };
  let tp = 0;
  for (let i = 0; i < largest; i++) {
    tp += ranking.packed[i] & 1;
    if (i + 1 === topRows.top_5pct) hits.top_5pct = tp;
    if (i + 1 === topRows.top_10pct) hits.top_10pct = tp;
    if (i + 1 === topRows.top_k) hits.top_k = tp;
  }
  const per = (f: (key: keyof TopCutoffs) => number): TopCutoffs => ({
    top_5pct: f("top_5pct"),
    top_10pct: f("top_10pct"),
    top_k: f("top_k"),
  });
  const precisionAt = per((key) => hits[key] / topRows[key]);
  const recallAt = per((key) => positives === 0 ? 0 : hits[key] / positives);
  const baseRate = positives / n;
  let lift: number | null = null;
  if (positives === 0) nullReasons.lift_at_10pct = "yTrue has no positives: lift is undefined with a base rate of 0";
  else lift = precisionAt.top_10pct / baseRate;

  const matrix = confusionOf(y, s, t);
  return {
    n,
    positives,
    base_rate: baseRate,
    threshold: t,
    pr_auc: prReason === null ? summary.averagePrecision : null,
    roc_auc: rocReason === null ? summary.rocAuc : null,
    brier: brierOf(y, s),
    confusion_matrix: matrix,
    classification_report: classificationReport(matrix),
    pr_curve_head: summary.head,
    top_rows: topRows,
    precision_at: precisionAt,
    recall_at: recallAt,
    lift_at_10pct: lift,
    reliability: reliabilityOf(y, s, 10),
    null_reasons: nullReasons,
  };
}
