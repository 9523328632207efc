/**
 * Scoring (SPEC §9–10): churn risk through the model's own preprocessing, risk
 * bands and percentiles, and the top reasons — the features that push a
 * user's risk up most, in words a retention team reads. Shared by batch
 * scoring and the HTTP service. Pure.
 *
 * @module
 */

import { hgbContributions, predictHgb } from "../wasm/hgb.ts";
import { predictLogistic } from "../wasm/logreg.ts";
import { MISSING_CATEGORY, toColumns, transformRows } from "./preprocess.ts";
import type { Table } from "./table.ts";
import type { ModelArtifact } from "./train.ts";

/** One reason a user's risk is high. */
export interface Reason {
  /** The input column (for a one-hot input, the categorical column). */
  feature: string;
  /** Contribution to the log-odds of churn (positive: pushes risk up). */
  contribution: number;
  /** A sentence for people. */
  text: string;
}

/** Scores and explanations for some rows. */
export interface ScoredRows {
  /** Churn probability per row. */
  risk: Float64Array;
  /** Top reasons per row (empty without `reasons`). */
  reasons: Reason[][];
}

/** Options of {@link scoreRows}. */
export interface ScoreOptions {
  /** Rows of the table to score (default all). */
  rows?: Int32Array;
  /** How many reasons per row (default 0: none). */
  reasons?: number;
}

const WORDS: Record<string, string> = {
  active_days: "active days",
  events: "events",
  logins: "logins",
  enroll: "course enrolments",
  watch_minutes: "minutes of video watched",
  quiz_attempts: "quiz attempts",
  payment_success: "successful payments",
  payment_failed: "failed payments",
  support_ticket: "support tickets",
  quiz_avg_score: "average quiz score",
  payment_fail_rate: "share of failed payments",
  days_since_last_activity: "days since the last activity",
  days_since_signup: "days since signup",
  logins_count: "logins that day",
  enroll_count: "enrolments that day",
  watch_minutes_sum: "minutes watched that day",
  quiz_attempts_count: "quiz attempts that day",
  quiz_avg_score_day: "quiz score that day",
  payment_success_count: "successful payments that day",
  payment_failed_count: "failed payments that day",
  support_ticket_count: "support tickets that day",
  total_events: "events that day",
  is_active_day: "activity that day",
  is_paid: "paid plan",
};

const CATEGORY_WORDS: Record<string, string> = {
  plan: "on the {} plan",
  country: "in {}",
  marketing_source: "came through {}",
};

function round(v: number): string {
  return Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1);
}

/** The fixed pieces of the sentences describing one numeric input (see {@link describeNumeric}). */
export interface NumericWords {
  /** The sentence for a missing value. */
  none: string;
  /** The start of the sentence for a value above the typical one, up to the value. */
  above: string;
  /** The start of the sentence for a value at or below the typical one, up to the value. */
  below: string;
  /** The end of the sentence after the value. */
  tail: string;
  /** The typical value. */
  typical: number;
}

function numericWords(name: string, typical: number): NumericWords {
  const m = name.match(/^(.*)_(\d+)d$/);
  const base = m ? m[1] : name;
  const window = m ? ` in the last ${m[2]} days` : "";
  const what = WORDS[name === "quiz_avg_score" ? "quiz_avg_score_day" : base] ?? base.replaceAll("_", " ");
  const rate = base === "payment_fail_rate" || base.startsWith("quiz_avg_score");
  return {
    none: `No ${what}${window}`,
    above: `${rate ? "High" : "Many"} ${what}${window} (`,
    below: `${rate ? "Low" : "Few"} ${what}${window} (`,
    tail: `, typical ${round(typical)})`,
    typical,
  };
}

function describeWith(words: NumericWords, value: number): string {
  if (Number.isNaN(value)) return words.none;
  return (value > words.typical ? words.above : words.below) + round(value) + words.tail;
}

/**
 * Describes a numeric input in words, e.g. "Few active days in the last 30
 * days (2, typical 14)" or "Many days since the last activity (21, typical 3)".
 */
export function describeNumeric(name: string, value: number, typical: number): string {
  return describeWith(numericWords(name, typical), value);
}

/** Describes a one-hot input (`name=category`) in words, e.g. "On the free plan". */
export function describeCategory(name: string, category: string): string {
  const pattern = CATEGORY_WORDS[name] ?? `${name.replaceAll("_", " ")}: {}`;
  const text = pattern.replace("{}", category);
  return text[0].toUpperCase() + text.slice(1);
}

/** The category named when a one-hot group has no category set (a value unseen in training). */
const UNUSUAL_VALUE = "an unusual value";

/**
 * Everything scoring derives from a model artifact, computed once: the
 * encoding of the inputs (column order, imputation and scaling, one-hot
 * groups), the coefficients, the reason groups and their sentences. Built by
 * {@link compileScorer}; read-only afterwards.
 */
export interface CompiledScorer {
  /** The model artifact. */
  readonly model: ModelArtifact;
  /** Encoded features per row (`preprocessor.features.length`). */
  readonly width: number;
  /** Numeric inputs (the first groups, and the first columns of the encoded matrix). */
  readonly numericCount: number;
  /** Reason groups: the numeric inputs in order, then the categorical inputs. */
  readonly groups: readonly string[];
  /** Whether numeric inputs are imputed with 0 and standardised (`scaled`) or kept with NaN (`raw`). */
  readonly scaled: boolean;
  /** Training mean per numeric input. */
  readonly means: Float64Array;
  /** Training scale per numeric input. */
  readonly scales: Float64Array;
  /** The encoded value of a missing numeric input: `(0 − mean) / scale` when scaled, else NaN. */
  readonly missingValues: Float64Array;
  /** First encoded column of each categorical input. */
  readonly starts: Int32Array;
  /** Categories (one-hot columns) of each categorical input. */
  readonly sizes: Int32Array;
  /** Position of the category "missing" in each categorical input, or -1 when training never saw it. */
  readonly missingSlots: Int32Array;
  /** Category → position, per categorical input. */
  readonly categoryIndex: readonly ReadonlyMap<string, number>[];
  /** Logistic coefficients (baseline model), or null. */
  readonly coef: Float64Array | null;
  /** Logistic intercept (0 for the trees). */
  readonly intercept: number;
  /** Sentence pieces per numeric input. */
  readonly numericWords: readonly NumericWords[];
  /** Sentences per categorical input: one per category, then the one for a value unseen in training. */
  readonly categoryTexts: readonly (readonly string[])[];
  /** {@link numericWords} as JSON string contents (escaped, without quotes). */
  readonly numericWordsJson: readonly NumericWords[];
  /** {@link categoryTexts} as JSON strings. */
  readonly categoryTextsJson: readonly (readonly string[])[];
}

/**
 * Compiles what scoring needs from a model artifact (see {@link CompiledScorer}).
 *
 * @throws {TypeError} when the model lacks the parameters of its type.
 */
export function compileScorer(model: ModelArtifact): CompiledScorer {
  const pre = model.preprocessor;
  const scaled = model.input_mode === "scaled";
  const means = Float64Array.from(pre.numeric, (s) => s.mean);
  const scales = Float64Array.from(pre.numeric, (s) => s.scale);
  const missingValues = Float64Array.from(pre.numeric, (s) => scaled ? (0 - s.mean) / s.scale : NaN);
  const starts = new Int32Array(pre.categorical.length), sizes = new Int32Array(pre.categorical.length);
  let j = pre.numeric.length;
  pre.categorical.forEach((s, c) => {
    starts[c] = j;
    sizes[c] = s.categories.length;
    j += s.categories.length;
  });
  let coef: Float64Array | null = null, intercept = 0;
  if (model.model_type === "baseline_logreg") {
    if (!model.logistic) throw new TypeError("The baseline_logreg model has no logistic parameters (model.logistic)");
    coef = Float64Array.from(model.logistic.coef);
    intercept = model.logistic.intercept;
  } else if (!model.hgb) throw new TypeError(`The ${model.model_type} model has no trees (model.hgb)`);
  const words = pre.numeric.map((s) => numericWords(s.name, s.mean));
  const categoryTexts = pre.categorical.map((s) => [
    ...s.categories.map((v) => describeCategory(s.name, v)),
    describeCategory(s.name, UNUSUAL_VALUE),
  ]);
  const inner = (text: string) => JSON.stringify(text).slice(1, -1);
  return {
    model,
    width: pre.features.length,
    numericCount: pre.numeric.length,
    groups: [...pre.numeric.map((s) => s.name), ...pre.categorical.map((s) => s.name)],
    scaled,
    means,
    scales,
    missingValues,
    starts,
    sizes,
    missingSlots: Int32Array.from(pre.categorical, (s) => s.categories.indexOf(MISSING_CATEGORY)),
    categoryIndex: pre.categorical.map((s) => new Map(s.categories.map((v, q) => [v, q]))),
    coef,
    intercept,
    numericWords: words,
    categoryTexts,
    numericWordsJson: words.map((w) => ({
      none: inner(w.none),
      above: inner(w.above),
      below: inner(w.below),
      tail: inner(w.tail),
      typical: w.typical,
    })),
    categoryTextsJson: categoryTexts.map((texts) => texts.map((t) => JSON.stringify(t))),
  };
}

/** Scores of an encoded matrix, with the top reasons as group indices (see {@link scoreEncoded}). */
export interface EncodedScores {
  /** Churn probability per row. */
  risk: Float64Array;
  /** Reasons per row asked for (k). */
  reasons: number;
  /** Per row, k reason groups (index into `groups`), largest contribution first, -1 after the last. */
  top: Int32Array;
  /** Contribution of each reason in `top` (row-major, k per row). */
  contributions: Float64Array;
}

/** Options of {@link scoreEncoded}. */
export interface ScoreEncodedOptions {
  /** How many reasons per row (default 0: none). */
  reasons?: number;
  /** Where to write the risks (at least n long); default a new array. */
  out?: Float64Array;
}

/**
 * Scores rows already encoded as the model's preprocessing does
 * ({@link transformRows}: row-major, `scorer.width` columns): the risk, and
 * optionally the k largest positive contributions per row grouped by input
 * column — coef·x for the logistic model, path-based contributions for the
 * trees — largest first, ties in column order (as a stable sort would).
 */
export function scoreEncoded(
  scorer: CompiledScorer,
  x: Float64Array,
  options: ScoreEncodedOptions = {},
): EncodedScores {
  const model = scorer.model;
  const d = scorer.width;
  const n = x.length / d || 0;
  const k = options.reasons ?? 0;
  let risk: Float64Array;
  let raw: Float64Array | null = null;
  if (scorer.coef !== null) {
    risk = predictLogistic(x, { coef: scorer.coef, intercept: scorer.intercept }, { out: options.out });
  } else {
    const cols = toColumns(x, d);
    if (k > 0) {
      raw = hgbContributions(model.hgb!, cols).values;
      risk = options.out ? options.out.subarray(0, n) : new Float64Array(n);
      const w = d + 1;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j <= d; j++) s += raw[i * w + j];
        risk[i] = 1 / (1 + Math.exp(-s));
      }
    } else {
      risk = predictHgb(model.hgb!, cols, { out: options.out });
    }
  }
  const top = new Int32Array(n * k).fill(-1);
  const contributions = new Float64Array(n * k);
  if (k > 0) {
    const nNum = scorer.numericCount, nCat = scorer.starts.length, g = nNum + nCat;
    const values = new Float64Array(g);
    const coef = scorer.coef, starts = scorer.starts, sizes = scorer.sizes;
    const best = new Int32Array(k);
    const w = d + 1;
    for (let i = 0; i < n; i++) {
      // Per-group contributions: numeric inputs one each, one-hot groups summed in column order.
      if (coef !== null) {
        const row = i * d;
        for (let c = 0; c < nNum; c++) values[c] = coef[c] * x[row + c];
        for (let c = 0; c < nCat; c++) {
          let s = 0;
          for (let j = starts[c], end = j + sizes[c]; j < end; j++) s += coef[j] * x[row + j];
          values[nNum + c] = s;
        }
      } else {
        const row = i * w;
        for (let c = 0; c < nNum; c++) values[c] = raw![row + c];
        for (let c = 0; c < nCat; c++) {
          let s = 0;
          for (let j = starts[c], end = j + sizes[c]; j < end; j++) s += raw![row + j];
          values[nNum + c] = s;
        }
      }
      // The k largest positive contributions, largest first, ties in column order (as a stable sort would).
      let m = 0;
      for (let c = 0; c < g; c++) {
        const v = values[c];
        if (!(v > 0)) continue;
        if (m < k) m++;
        else if (v <= values[best[k - 1]]) continue;
        let p = m - 1;
        while (p > 0 && values[best[p - 1]] < v) {
          best[p] = best[p - 1];
          p--;
        }
        best[p] = c;
      }
      for (let q = 0; q < m; q++) {
        top[i * k + q] = best[q];
        contributions[i * k + q] = values[best[q]];
      }
    }
  }
  return { risk, reasons: k, top, contributions };
}

function categorySlot(scorer: CompiledScorer, c: number, options: { x: Float64Array; row: number }): number {
  const at = options.row * scorer.width + scorer.starts[c];
  for (let q = 0; q < scorer.sizes[c]; q++) if (options.x[at + q] === 1) return q;
  return scorer.sizes[c]; // none set: the sentence for a value unseen in training
}

/**
 * The sentence of a reason: for a numeric group, its input's raw `value` (NaN
 * when missing) against the training mean; for a categorical group, the
 * category set in row `row` of the encoded matrix `x`.
 */
export function reasonText(
  scorer: CompiledScorer,
  group: number,
  options: { x: Float64Array; row: number; value: number },
): string {
  const nNum = scorer.numericCount;
  if (group < nNum) return describeWith(scorer.numericWords[group], options.value);
  return scorer.categoryTexts[group - nNum][categorySlot(scorer, group - nNum, options)];
}

/** {@link reasonText} as a JSON string: exactly `JSON.stringify(reasonText(…))`, from pieces escaped once. */
export function reasonTextJson(
  scorer: CompiledScorer,
  group: number,
  options: { x: Float64Array; row: number; value: number },
): string {
  const nNum = scorer.numericCount;
  if (group >= nNum) return scorer.categoryTextsJson[group - nNum][categorySlot(scorer, group - nNum, options)];
  // The value's text (digits, sign, point, exponent) needs no escaping.
  const w = scorer.numericWordsJson[group], value = options.value;
  if (Number.isNaN(value)) return `"${w.none}"`;
  return `"${value > w.typical ? w.above : w.below}${round(value)}${w.tail}"`;
}

/**
 * Scores table rows with a model: risk through the model's preprocessing, and
 * optionally the top reasons — exact per-feature contributions coef·x for the
 * logistic model, path-based contributions for the trees — grouped by input
 * column, the largest positive ones first.
 *
 * @throws {TypeError} when an input column is missing.
 */
export function scoreRows(model: ModelArtifact, table: Table, options: ScoreOptions = {}): ScoredRows {
  return scoreRowsWith(compileScorer(model), table, options);
}

/**
 * {@link scoreRows} with a scorer compiled once ({@link compileScorer}), as the model holder does
 * when it loads a model.
 *
 * @throws {TypeError} when an input column is missing.
 */
export function scoreRowsWith(scorer: CompiledScorer, table: Table, options: ScoreOptions = {}): ScoredRows {
  const model = scorer.model;
  const x = transformRows(model.preprocessor, table, { mode: model.input_mode, rows: options.rows });
  const k = options.reasons ?? 0;
  const scored = scoreEncoded(scorer, x, { reasons: k });
  const n = scored.risk.length;
  const reasons: Reason[][] = [];
  if (k > 0) {
    const rawRows = options.rows;
    for (let i = 0; i < n; i++) {
      const list: Reason[] = [];
      for (let q = 0; q < k; q++) {
        const group = scored.top[i * k + q];
        if (group < 0) break;
        let value = NaN;
        if (group < scorer.numericCount) {
          const col = table.columns.get(scorer.groups[group])!;
          value = col.type === "dict" ? NaN : col.data[rawRows ? rawRows[i] : i];
        }
        list.push({
          feature: scorer.groups[group],
          contribution: scored.contributions[i * k + q],
          text: reasonText(scorer, group, { x, row: i, value }),
        });
      }
      reasons.push(list);
    }
  }
  return { risk: scored.risk, reasons };
}

/** Risk band thresholds (config `scoring.risk_bands`). */
export interface RiskBands {
  /** Lower bound of "medium". */
  medium: number;
  /** Lower bound of "high". */
  high: number;
}

/** Returns `low`, `medium` or `high` for a churn risk. */
export function riskBand(risk: number, bands: RiskBands): "low" | "medium" | "high" {
  return risk >= bands.high ? "high" : risk >= bands.medium ? "medium" : "low";
}

/** Returns 101 quantiles (0%, 1%, …, 100%) of scores: the reference distribution for percentiles. */
export function scoreQuantiles(scores: Float64Array): number[] {
  if (scores.length === 0) return [];
  const s = Float64Array.from(scores).sort();
  return Array.from({ length: 101 }, (_, q) => {
    const pos = (q / 100) * (s.length - 1);
    const lo = Math.floor(pos), hi = Math.ceil(pos);
    return s[lo] + (s[hi] - s[lo]) * (pos - lo);
  });
}

/**
 * Returns the percentile (0–100) of a risk in the model's reference score
 * distribution (its test-split scores), interpolated between quantiles.
 */
export function riskPercentile(risk: number, quantiles: readonly number[]): number {
  if (quantiles.length < 2) return NaN;
  if (risk <= quantiles[0]) return 0;
  if (risk >= quantiles[quantiles.length - 1]) return 100;
  let lo = 0, hi = quantiles.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (quantiles[mid] <= risk) lo = mid;
    else hi = mid;
  }
  const span = quantiles[hi] - quantiles[lo];
  const frac = span > 0 ? (risk - quantiles[lo]) / span : 0;
  return Math.round(((lo + frac) * 100 / (quantiles.length - 1)) * 10) / 10;
}
