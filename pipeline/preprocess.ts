/**
 * Model inputs (SPEC §7): the time-aware split, the input columns, and the
 * fitted preprocessing (one-hot encoding, imputation, standardisation) that is
 * stored in the model artifact so that batch scoring and the API apply exactly
 * what training did. Pure.
 *
 * @module
 */

import { formatDate } from "./dates.ts";
import { type Column, getColumn, type Table } from "./table.ts";

/** Columns that are never model inputs: identifiers, dates, the label and its source, the generator's hidden variable. */
export const NON_INPUT_COLUMNS: ReadonlySet<string> = new Set([
  "user_id",
  "as_of_date",
  "signup_date",
  "churn_label",
  "future_active_days",
  "engagement_score",
]);

/** The category used for a missing categorical value. */
export const MISSING_CATEGORY = "missing";

/** A row split: indices of the train and test rows, and the dates on each side. */
export interface TimeSplit {
  /** Train row indices, ascending. */
  train: Int32Array;
  /** Test row indices, ascending. */
  test: Int32Array;
  /** How the split was made. */
  info: {
    /** `dates` when split on distinct dates, `rows` when there were fewer than 5 dates. */
    method: "dates" | "rows";
    /** First and last train date (YYYY-MM-DD), or null. */
    train_dates: [string, string] | null;
    /** First and last test date. */
    test_dates: [string, string] | null;
    /** Dates left out between train and test. */
    gap_days: number;
  };
}

/** Options of {@link timeSplit}. */
export interface TimeSplitOptions {
  /** Fraction of the distinct dates that are test dates (config `training.test_size`). */
  testSize: number;
  /** Days left out before the first test date (config `training.gap_days`, default the churn window). */
  gapDays: number;
}

/**
 * Splits rows on their date: the last `testSize` fraction of the distinct dates
 * are the test dates (cut = ⌊n·(1−testSize)⌋ clamped to [1, n−1]); train dates
 * are those more than `gapDays` days before the first test date, so no training
 * label looks into the test period. With fewer than 5 distinct dates the rows,
 * sorted by date, are split instead (and no gap is applied).
 *
 * @throws {RangeError} when there are no rows, or the gap leaves no training dates.
 */
export function timeSplit(dates: Int32Array, options: TimeSplitOptions): TimeSplit {
  const n = dates.length;
  if (n === 0) throw new RangeError("Cannot split an empty training set");
  const distinct = [...new Set(dates)].sort((a, b) => a - b);
  const range = (d: number[]): [string, string] | null =>
    d.length ? [formatDate(d[0]), formatDate(d[d.length - 1])] : null;
  if (distinct.length < 5) {
    const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => dates[a] - dates[b] || a - b);
    const cut = Math.min(n - 1, Math.max(1, Math.floor(n * (1 - options.testSize))));
    const train = order.slice(0, cut).sort(), test = order.slice(cut).sort();
    return {
      train,
      test,
      info: {
        method: "rows",
        train_dates: range([dates[order[0]], dates[order[cut - 1]]]),
        test_dates: range([dates[order[cut]], dates[order[n - 1]]]),
        gap_days: 0,
      },
    };
  }
  const cut = Math.min(distinct.length - 1, Math.max(1, Math.floor(distinct.length * (1 - options.testSize))));
  const testStart = distinct[cut];
  const trainEnd = testStart - options.gapDays; // train dates are < trainEnd
  const trainDates = distinct.filter((d) => d < trainEnd);
  if (trainDates.length === 0) {
    throw new RangeError(
      `A gap of ${options.gapDays} days before the first test date ${formatDate(testStart)} leaves no training dates ` +
        `(dates run from ${formatDate(distinct[0])}): use more days of data or a smaller training.gap_days`,
    );
  }
  let nt = 0, ns = 0;
  for (let i = 0; i < n; i++) {
    if (dates[i] >= testStart) ns++;
    else if (dates[i] < trainEnd) nt++;
  }
  const train = new Int32Array(nt), test = new Int32Array(ns);
  for (let i = 0, a = 0, b = 0; i < n; i++) {
    if (dates[i] >= testStart) test[b++] = i;
    else if (dates[i] < trainEnd) train[a++] = i;
  }
  return {
    train,
    test,
    info: {
      method: "dates",
      train_dates: range(trainDates),
      test_dates: range(distinct.slice(cut)),
      gap_days: options.gapDays,
    },
  };
}

/** A fitted numeric input: missing → 0, then (x − mean) / scale. */
export interface NumericSpec {
  /** Column name. */
  name: string;
  /** Training mean after imputation. */
  mean: number;
  /** Training standard deviation after imputation (population, as scikit-learn's StandardScaler). */
  scale: number;
}

/** A fitted categorical input: one 0/1 column per training category; an unseen value gives all zeros. */
export interface CategoricalSpec {
  /** Column name. */
  name: string;
  /** Categories seen in training, sorted; missing values are the category "missing". */
  categories: string[];
}

/** The fitted preprocessing, stored in the model artifact. */
export interface Preprocessor {
  /** Numeric inputs in order. */
  numeric: NumericSpec[];
  /** Categorical inputs in order. */
  categorical: CategoricalSpec[];
  /** The names of the encoded features, in matrix column order (numeric names, then `name=category`). */
  features: string[];
  /** Input columns left out because they are constant on the training rows (they carry no signal). */
  dropped: { name: string; reason: string }[];
}

/** Returns the model's input columns of a table: every column except {@link NON_INPUT_COLUMNS}. */
export function inputColumns(table: Table): { numeric: string[]; categorical: string[] } {
  const numeric: string[] = [], categorical: string[] = [];
  for (const [name, c] of table.columns) {
    if (NON_INPUT_COLUMNS.has(name)) continue;
    if (c.type === "dict") categorical.push(name);
    else if (c.type === "f64" || c.type === "i32" || c.type === "bool") numeric.push(name);
  }
  return { numeric, categorical };
}

function numericValue(c: Column, i: number): number {
  if (c.type === "dict") return NaN;
  return c.data[i];
}

/**
 * Fits the preprocessing on the training rows.
 *
 * @throws {RangeError} when there are no training rows.
 */
export function fitPreprocessor(table: Table, rows: Int32Array): Preprocessor {
  if (rows.length === 0) throw new RangeError("Cannot fit the preprocessing on zero training rows");
  const { numeric, categorical } = inputColumns(table);
  const dropped: Preprocessor["dropped"] = [];
  const numSpecs: NumericSpec[] = numeric.map((name) => {
    const c = table.columns.get(name)!;
    let sum = 0;
    for (const r of rows) {
      const v = numericValue(c, r);
      sum += v === v ? v : 0;
    }
    const mean = sum / rows.length;
    let ss = 0;
    for (const r of rows) {
      const v = numericValue(c, r);
      const d = (v === v ? v : 0) - mean;
      ss += d * d;
    }
    const std = Math.sqrt(ss / rows.length);
    return { name, mean, scale: std > 0 && Number.isFinite(std) ? std : 1, constant: !(std > 0) };
  }).filter((s) => {
    if (s.constant) dropped.push({ name: s.name, reason: `constant (${s.mean}) on the training rows` });
    return !s.constant;
  }).map(({ name, mean, scale }) => ({ name, mean, scale }));
  const catSpecs: CategoricalSpec[] = categorical.map((name) => {
    const c = getColumn(table, name, "dict");
    const seen = new Set<string>();
    for (const r of rows) {
      const code = c.codes[r];
      seen.add(code < 0 ? MISSING_CATEGORY : c.dictionary[code]);
    }
    return { name, categories: [...seen].sort() };
  }).filter((s) => {
    if (s.categories.length < 2) {
      dropped.push({ name: s.name, reason: `one category (${s.categories[0]}) on the training rows` });
    }
    return s.categories.length >= 2;
  });
  const features = [
    ...numSpecs.map((s) => s.name),
    ...catSpecs.flatMap((s) => s.categories.map((cat) => `${s.name}=${cat}`)),
  ];
  return { numeric: numSpecs, categorical: catSpecs, features, dropped };
}

/** Options of {@link transformRows}. */
export interface TransformOptions {
  /** `scaled`: impute and standardise numeric inputs (logistic regression); `raw`: keep values and NaN (trees). */
  mode: "scaled" | "raw";
  /** Row indices to transform (default all rows). */
  rows?: Int32Array;
  /** Row-major output to fill (rows × features), reused when large enough. */
  out?: Float64Array;
}

/**
 * Encodes table rows as a row-major matrix (rows × `pre.features.length`).
 *
 * @throws {TypeError} when an input column is missing or of the wrong kind.
 */
export function transformRows(pre: Preprocessor, table: Table, options: TransformOptions): Float64Array {
  const rows = options.rows ?? Int32Array.from({ length: table.length }, (_, i) => i);
  const d = pre.features.length, n = rows.length;
  const x = options.out && options.out.length >= n * d ? options.out.subarray(0, n * d) : new Float64Array(n * d);
  const scaled = options.mode === "scaled";
  pre.numeric.forEach((s, j) => {
    const c = table.columns.get(s.name);
    if (c === undefined || c.type === "dict") throw new TypeError(`Missing numeric input column "${s.name}"`);
    const data = c.data;
    for (let i = 0; i < n; i++) {
      const v = data[rows[i]];
      x[i * d + j] = scaled ? ((v === v ? v : 0) - s.mean) / s.scale : v;
    }
  });
  let j0 = pre.numeric.length;
  for (const s of pre.categorical) {
    const c = getColumn(table, s.name, "dict");
    const slot = c.dictionary.map((v) => s.categories.indexOf(v));
    const missingSlot = s.categories.indexOf(MISSING_CATEGORY);
    const k = s.categories.length;
    for (let i = 0; i < n; i++) {
      const base = i * d + j0;
      for (let q = 0; q < k; q++) x[base + q] = 0;
      const code = c.codes[rows[i]];
      const at = code < 0 ? missingSlot : slot[code];
      if (at >= 0) x[base + at] = 1;
    }
    j0 += k;
  }
  return x;
}

/** Returns column `j` of a row-major matrix with `d` columns. */
export function matrixColumn(x: Float64Array, d: number, j: number): Float64Array {
  const n = x.length / d;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = x[i * d + j];
  return out;
}

/** Returns the matrix as columns (column-major), as the tree kernels take it. */
export function toColumns(x: Float64Array, d: number): Float64Array[] {
  return Array.from({ length: d }, (_, j) => matrixColumn(x, d, j));
}
