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
import { type Preprocessor, toColumns, transformRows } from "./preprocess.ts";
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

/**
 * Describes a numeric input in words, e.g. "Few active days in the last 30
 * days (2, typical 14)" or "Many days since the last activity (21, typical 3)".
 */
export function describeNumeric(name: string, value: number, typical: number): string {
  const m = name.match(/^(.*)_(\d+)d$/);
  const base = m ? m[1] : name;
  const window = m ? ` in the last ${m[2]} days` : "";
  const what = WORDS[name === "quiz_avg_score" ? "quiz_avg_score_day" : base] ?? base.replaceAll("_", " ");
  if (Number.isNaN(value)) return `No ${what}${window}`;
  const level = base === "payment_fail_rate" || base.startsWith("quiz_avg_score")
    ? (value > typical ? "High" : "Low")
    : (value > typical ? "Many" : "Few");
  return `${level} ${what}${window} (${round(value)}, typical ${round(typical)})`;
}

/** Describes a one-hot input (`name=category`) in words, e.g. "On the free plan". */
export function describeCategory(name: string, category: string): string {
  const pattern = CATEGORY_WORDS[name] ?? `${name.replaceAll("_", " ")}: {}`;
  const text = pattern.replace("{}", category);
  return text[0].toUpperCase() + text.slice(1);
}

/** Per-input-column contributions for each row: numeric inputs one each, one-hot groups summed. */
function groupContributions(
  pre: Preprocessor,
  perFeature: (row: number, j: number) => number,
  rows: number,
): { names: string[]; values: Float64Array } {
  const names = [...pre.numeric.map((s) => s.name), ...pre.categorical.map((s) => s.name)];
  const g = names.length;
  const values = new Float64Array(rows * g);
  for (let i = 0; i < rows; i++) {
    let j = 0;
    for (let k = 0; k < pre.numeric.length; k++, j++) values[i * g + k] = perFeature(i, j);
    for (let c = 0; c < pre.categorical.length; c++) {
      let s = 0;
      for (let q = 0; q < pre.categorical[c].categories.length; q++, j++) s += perFeature(i, j);
      values[i * g + pre.numeric.length + c] = s;
    }
  }
  return { names, values };
}

function categoryOf(pre: Preprocessor, c: number, x: Float64Array, row: number, d: number): string {
  const spec = pre.categorical[c];
  let j = pre.numeric.length;
  for (let k = 0; k < c; k++) j += pre.categorical[k].categories.length;
  for (let q = 0; q < spec.categories.length; q++) if (x[row * d + j + q] === 1) return spec.categories[q];
  return "an unusual value";
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
  const pre = model.preprocessor;
  const d = pre.features.length;
  const x = transformRows(pre, table, { mode: model.input_mode, rows: options.rows });
  const n = x.length / d || 0;
  let risk: Float64Array;
  let contribution: ((row: number, j: number) => number) | null = null;
  if (model.model_type === "baseline_logreg") {
    const p = model.logistic!;
    const coef = Float64Array.from(p.coef);
    risk = predictLogistic(x, { coef, intercept: p.intercept });
    contribution = (i, j) => coef[j] * x[i * d + j];
  } else {
    const cols = toColumns(x, d);
    const raw = options.reasons ? hgbContributions(model.hgb!, cols) : null;
    risk = new Float64Array(n);
    if (raw) {
      const w = d + 1;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j <= d; j++) s += raw.values[i * w + j];
        risk[i] = 1 / (1 + Math.exp(-s));
      }
      contribution = (i, j) => raw.values[i * w + j];
    } else risk = predictHgb(model.hgb!, cols);
  }
  const k = options.reasons ?? 0;
  const reasons: Reason[][] = [];
  if (k > 0 && contribution) {
    const { names, values } = groupContributions(pre, contribution, n);
    const g = names.length;
    const rawRows = options.rows;
    const top = new Int32Array(k);
    for (let i = 0; i < n; i++) {
      // The k largest positive contributions, largest first, ties in column order (as a stable sort would).
      let m = 0;
      for (let c = 0; c < g; c++) {
        const v = values[i * g + c];
        if (!(v > 0)) continue;
        if (m < k) m++;
        else if (v <= values[i * g + top[k - 1]]) continue;
        let p = m - 1;
        while (p > 0 && values[i * g + top[p - 1]] < v) {
          top[p] = top[p - 1];
          p--;
        }
        top[p] = c;
      }
      const order = Array.from(top.subarray(0, m));
      reasons.push(order.map((c) => {
        const name = names[c];
        let text: string;
        if (c < pre.numeric.length) {
          const col = table.columns.get(name)!;
          const row = rawRows ? rawRows[i] : i;
          const value = col.type === "dict" ? NaN : col.data[row];
          text = describeNumeric(name, value, pre.numeric[c].mean);
        } else {
          text = describeCategory(name, categoryOf(pre, c - pre.numeric.length, x, i, d));
        }
        return { feature: name, contribution: values[i * g + c], text };
      }));
    }
  }
  return { risk, reasons };
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
