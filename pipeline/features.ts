/**
 * Features, labels and the training set (SPEC §5–6), computed by the Wasm
 * kernels over the per-user daily grid. Pure: tables in, tables out.
 *
 * @module
 */

import {
  churnLabels,
  type CountWidth,
  type LabelOutput,
  rollingFeatures,
  type RollingOutput,
  type RollingWidths,
} from "../wasm/mod.ts";
import { labelsTs, rollingTs } from "../wasm/reference.ts";
import { type IntWidth, intWidthFor } from "./arrow.ts";
import { formatDate } from "./dates.ts";
import {
  arrayFor,
  type Column,
  type ColumnRanges,
  concatTables,
  getColumn,
  type IntArray,
  makeTable,
  sliceTable,
  type Table,
  takeColumn,
  toInt32Array,
} from "./table.ts";

/** Feature name prefix and the user_daily column it sums, in output order. */
export const SUM_FEATURES: readonly (readonly [string, string])[] = [
  ["active_days", "is_active_day"],
  ["events", "total_events"],
  ["logins", "logins_count"],
  ["enroll", "enroll_count"],
  ["watch_minutes", "watch_minutes_sum"],
  ["quiz_attempts", "quiz_attempts_count"],
  ["payment_success", "payment_success_count"],
  ["payment_failed", "payment_failed_count"],
  ["support_ticket", "support_ticket_count"],
];

/** Columns user_daily must have, with their kinds. */
export const USER_DAILY_SCHEMA: Readonly<Record<string, Column["type"]>> = {
  user_id: "i32",
  as_of_date: "date",
  signup_date: "date",
  plan: "dict",
  is_paid: "i32",
  country: "dict",
  marketing_source: "dict",
  logins_count: "i32",
  enroll_count: "i32",
  watch_minutes_sum: "f64",
  quiz_attempts_count: "i32",
  quiz_avg_score: "f64",
  payment_success_count: "i32",
  payment_failed_count: "i32",
  support_ticket_count: "i32",
  total_events: "i32",
  days_since_signup: "i32",
  is_active_day: "i32",
};

/** Which implementation computes the kernels: the Wasm core (default) or the TypeScript reference. */
export type KernelImpl = "wasm" | "typescript";

/**
 * Checks that a table is a well-formed user_daily grid: every column present
 * with its kind, rows sorted by (user_id, as_of_date), no duplicate
 * (user_id, as_of_date), one row per day within a user. Returns the group
 * starts (row offsets of each user, plus the row count).
 *
 * @throws {TypeError} naming the problem, the row and the values.
 */
export function checkUserDaily(daily: Table, options: { name?: string } = {}): Int32Array {
  const name = options.name ?? "user_daily";
  const missing = Object.keys(USER_DAILY_SCHEMA).filter((c) => !daily.columns.has(c));
  if (missing.length > 0) throw new TypeError(`${name} is missing column(s): ${missing.join(", ")}`);
  for (const [c, type] of Object.entries(USER_DAILY_SCHEMA)) {
    const col = daily.columns.get(c)!;
    if (col.type !== type) throw new TypeError(`${name} column "${c}" is ${col.type}, expected ${type}`);
  }
  const uid = getColumn(daily, "user_id", "i32").data;
  const date = getColumn(daily, "as_of_date", "date").data;
  const where = (r: number) =>
    `at rows ${r - 1} and ${r} (user_id ${uid[r - 1]}, ${formatDate(date[r - 1])} then user_id ${uid[r]}, ${
      formatDate(date[r])
    })`;
  // Order and duplicates first, so a swapped pair is reported as such rather than as a gap.
  for (let r = 1; r < daily.length; r++) {
    if (uid[r] < uid[r - 1] || (uid[r] === uid[r - 1] && date[r] < date[r - 1])) {
      throw new TypeError(`${name} is not sorted by (user_id, as_of_date) ${where(r)}`);
    }
    if (uid[r] === uid[r - 1] && date[r] === date[r - 1]) {
      throw new TypeError(`${name} has duplicate (user_id, as_of_date) rows ${where(r)}`);
    }
  }
  const starts: number[] = [0];
  for (let r = 1; r < daily.length; r++) {
    if (uid[r] !== uid[r - 1]) starts.push(r);
    else if (date[r] - date[r - 1] !== 1) {
      throw new TypeError(`${name} skips days within a user ${where(r)}: the grid must have one row per day`);
    }
  }
  if (daily.length > 0) starts.push(daily.length);
  return Int32Array.from(starts);
}

/** Options of {@link computeFeatures}. */
export interface FeatureOptions {
  /** Trailing windows in days (config `features.windows_days`). */
  windows: readonly number[];
  /** Kernel implementation (default `wasm`). */
  impl?: KernelImpl;
  /** A previous result's kernel output, whose arrays are refilled (for chunked processing). */
  reuse?: RollingOutput;
  /**
   * Storage widths of the integer feature columns (`FeatureStorage.features`): the kernel writes
   * their values straight into arrays this narrow. Only for a grid held to the value ranges the
   * widths come from (`checkColumnRanges`): a value that does not fit would wrap.
   */
  widths?: ReadonlyMap<string, IntWidth>;
}

/** The feature table and the kernel output it views. */
export interface FeatureResult {
  /** user_features_daily: the user_daily columns, then the features. */
  table: Table;
  /** The kernel output (pass as `reuse` for the next chunk). */
  kernel: RollingOutput;
}

/** Returns the window of payment_fail_rate: 30 when configured, else the largest window. */
export function rateWindowOf(windows: readonly number[]): number {
  return windows.includes(30) ? 30 : Math.max(...windows);
}

/**
 * Computes the features of SPEC §5 for every row of a user_daily grid (or a
 * chunk of whole users of it): for each window w, `active_days_{w}d`,
 * `events_{w}d`, `logins_{w}d`, `enroll_{w}d`, `watch_minutes_{w}d`,
 * `quiz_attempts_{w}d`, `payment_success_{w}d`, `payment_failed_{w}d`,
 * `support_ticket_{w}d`, `quiz_avg_score_{w}d`; then
 * `payment_fail_rate_{30 or largest}d` and `days_since_last_activity`.
 *
 * @throws {TypeError} when the table is not a well-formed grid.
 */
export function computeFeatures(daily: Table, options: FeatureOptions): FeatureResult {
  return featuresOf(daily, checkUserDaily(daily), options);
}

/** {@link computeFeatures} of a checked grid with its group starts. */
function featuresOf(daily: Table, groupStarts: Int32Array, options: FeatureOptions): FeatureResult {
  const i32 = (c: string) => toInt32Array(getColumn(daily, c, "i32").data);
  const columns: Record<string, Int32Array | Float64Array> = {};
  for (const [, c] of SUM_FEATURES) {
    columns[c] = USER_DAILY_SCHEMA[c] === "f64" ? getColumn(daily, c, "f64").data : i32(c);
  }
  const input = {
    groupStarts,
    columns,
    active: i32("is_active_day"),
    quiz: getColumn(daily, "quiz_avg_score", "f64").data,
    paySuccess: i32("payment_success_count"),
    payFail: i32("payment_failed_count"),
    daysSinceSignup: i32("days_since_signup"),
  };
  const rateWindow = rateWindowOf(options.windows);
  const kernelOptions = {
    windows: options.windows,
    rateWindow,
    out: options.reuse,
    widths: options.widths && rollingWidths(options.widths, options.windows),
  };
  const k = (options.impl ?? "wasm") === "wasm"
    ? rollingFeatures(input, kernelOptions)
    : rollingTs(input, kernelOptions);
  const out: [string, Column][] = [...daily.columns];
  k.windows.forEach((w, i) => {
    for (const [prefix, c] of SUM_FEATURES) {
      const data = k.sums[c][i];
      out.push([`${prefix}_${w}d`, data instanceof Float64Array ? { type: "f64", data } : { type: "i32", data }]);
    }
    out.push([`quiz_avg_score_${w}d`, { type: "f64", data: k.quizMean[i] }]);
  });
  out.push([`payment_fail_rate_${rateWindow}d`, { type: "f64", data: k.payFailRate }]);
  out.push(["days_since_last_activity", { type: "i32", data: k.daysSinceLastActivity }]);
  return { table: makeTable(out), kernel: k };
}

/** The kernel's output widths for the feature columns' storage widths `widths` (by column name). */
function rollingWidths(widths: ReadonlyMap<string, IntWidth>, windows: readonly number[]): RollingWidths {
  const sums: Record<string, CountWidth[]> = {};
  for (const [prefix, c] of SUM_FEATURES) {
    if (USER_DAILY_SCHEMA[c] === "i32") sums[c] = windows.map((w) => widths.get(`${prefix}_${w}d`) ?? 32);
  }
  return { sums, daysSinceLastActivity: widths.get("days_since_last_activity") ?? 32 };
}

/** Options of {@link computeLabels}. */
export interface LabelOptions {
  /** Churn window W in days (config `churn.window_days`). */
  windowDays: number;
  /** Kernel implementation (default `wasm`). */
  impl?: KernelImpl;
  /** A previous result's kernel output, whose arrays are refilled. */
  reuse?: LabelOutput;
  /** A previous result's table, whose arrays are refilled (it must no longer be needed). */
  reuseTable?: Table;
}

/** The labels table and the kernel output. */
export interface LabelResult {
  /** labels_daily: user_id, as_of_date, future_active_days, churn_label, trailing_active_days (labelled rows only). */
  table: Table;
  /** The kernel output (pass as `reuse` for the next chunk). */
  kernel: LabelOutput;
}

/**
 * Computes the labels of SPEC §6 with churn window W: `future_active_days`
 * counts active days in (d, d + W], `churn_label` is 1 when it is 0, and
 * `trailing_active_days` counts active days in (d − W, d] (the population
 * rule). The last W dates of each user cannot be labelled and are dropped.
 *
 * @throws {TypeError} when the table is not a well-formed grid.
 */
export function computeLabels(daily: Table, options: LabelOptions): LabelResult {
  const kernel = labelKernel(daily, checkUserDaily(daily), options);
  return { table: labelsTable(daily, kernel, { reuse: options.reuseTable }), kernel };
}

/** The label kernel on a checked grid. */
function labelKernel(daily: Table, groupStarts: Int32Array, options: LabelOptions): LabelOutput {
  const input = { groupStarts, active: toInt32Array(getColumn(daily, "is_active_day", "i32").data) };
  return (options.impl ?? "wasm") === "wasm"
    ? churnLabels(input, { windowDays: options.windowDays, out: options.reuse })
    : labelsTs(input, { windowDays: options.windowDays, out: options.reuse });
}

/**
 * labels_daily from the label kernel's output: the labelled rows only (refilling `reuse`'s arrays;
 * `keep`, when given, holds the row numbers: one element per row of `daily`).
 */
function labelsTable(daily: Table, k: LabelOutput, options: { reuse?: Table; keep?: Int32Array }): Table {
  const rows = daily.length;
  let n = 0;
  for (let r = 0; r < rows; r++) n += k.labelled[r];
  const keep = options.keep?.subarray(0, n) ?? new Int32Array(n);
  for (let r = 0, j = 0; r < rows; r++) if (k.labelled[r]) keep[j++] = r;
  const prev = options.reuse?.columns;
  const take = (name: string, col: Column): [string, Column] => [
    name,
    takeColumn(col, keep, { reuse: prev?.get(name), capacity: rows }),
  ];
  return makeTable([
    take("user_id", getColumn(daily, "user_id", "i32")),
    take("as_of_date", getColumn(daily, "as_of_date", "date")),
    take("future_active_days", { type: "i32", data: k.futureActiveDays }),
    ["churn_label", takeLabel(k.churnLabel, keep, { reuse: prev?.get("churn_label"), capacity: rows })],
    take("trailing_active_days", { type: "i32", data: k.trailingActive }),
  ]);
}

/** churn_label (kept as 0/1 bytes by the kernel) of the rows `keep`, as an i32 column. */
function takeLabel(label: Uint8Array, keep: Int32Array, options: { reuse?: Column; capacity: number }): Column {
  const k = keep.length, old = options.reuse;
  const data = arrayFor(Int32Array, k, {
    reuse: old?.type === "i32" ? old.data : undefined,
    capacity: options.capacity,
  });
  for (let j = 0; j < k; j++) data[j] = label[keep[j]];
  return { type: "i32", data };
}

/** The population rule of SPEC §6. */
export type Population = "active" | "all";

/** Options of {@link computeTrainingRows}. */
export interface TrainingRowsOptions {
  /** Feature windows. */
  windows: readonly number[];
  /** Churn window W. */
  windowDays: number;
  /** Population rule: `active` keeps rows whose user was active in the trailing W days. */
  population: Population;
  /** Kernel implementation (default `wasm`). */
  impl?: KernelImpl;
  /** Storage widths of the integer feature columns, as {@link FeatureOptions.widths}. */
  widths?: ReadonlyMap<string, IntWidth>;
  /**
   * Kernel outputs and the rows table of a previous chunk, refilled (the previous table must no
   * longer be needed).
   */
  reuse?: { features?: RollingOutput; labels?: LabelOutput; rows?: Table };
}

/** Training rows of one chunk and what was left out. */
export interface TrainingRows {
  /** The feature columns of the kept rows, then future_active_days and churn_label. */
  table: Table;
  /** Labelled rows the population rule left out. */
  excluded: number;
  /** Kernel outputs and `table`, to pass back as `reuse`. */
  kernels: { features: RollingOutput; labels: LabelOutput; rows: Table };
}

/**
 * Computes the training rows of a grid (or a chunk of whole users): the inner
 * join of the features and the labels on (user_id, as_of_date) — the rows that
 * can be labelled — restricted to the population.
 *
 * @throws {TypeError} when the table is not a well-formed grid.
 */
export function computeTrainingRows(daily: Table, options: TrainingRowsOptions): TrainingRows {
  const { f, lk } = bothKernels(daily, options);
  const { table, excluded } = trainingTable(f.table, lk, {
    population: options.population,
    reuse: options.reuse?.rows,
  });
  return { table, excluded, kernels: { features: f.kernel, labels: lk, rows: table } };
}

/** The grid checked once, then the features and the label kernel on it (refilling `options.reuse`). */
function bothKernels(
  daily: Table,
  options: TrainingRowsOptions & { reuse?: { features?: RollingOutput; labels?: LabelOutput } },
): { f: FeatureResult; lk: LabelOutput } {
  const groupStarts = checkUserDaily(daily);
  const f = featuresOf(daily, groupStarts, {
    windows: options.windows,
    impl: options.impl,
    reuse: options.reuse?.features,
    widths: options.widths,
  });
  const lk = labelKernel(daily, groupStarts, { ...options, reuse: options.reuse?.labels });
  return { f, lk };
}

/**
 * The training rows of a chunk, ascending, written into `into` (one element per row of the
 * chunk): the labelled rows, restricted to the population; and how many labelled rows the rule
 * left out.
 */
function trainingRowIndices(
  lk: LabelOutput,
  options: { population: Population; into: Int32Array },
): { rows: Int32Array; excluded: number } {
  const keep = options.into, n = keep.length;
  let k = 0, excluded = 0;
  for (let r = 0; r < n; r++) {
    if (!lk.labelled[r]) continue;
    if (options.population === "all" || lk.trailingActive[r] > 0) keep[k++] = r;
    else excluded++;
  }
  return { rows: keep.subarray(0, k), excluded };
}

/** The training rows from the feature table and the label kernel's output (refilling `reuse`'s arrays). */
function trainingTable(
  features: Table,
  lk: LabelOutput,
  options: { population: Population; reuse?: Table },
): { table: Table; excluded: number } {
  const n = features.length;
  const { rows: idx, excluded } = trainingRowIndices(lk, { population: options.population, into: new Int32Array(n) });
  const prev = options.reuse?.columns;
  // Room for a whole chunk, so later chunks refill these arrays instead of allocating.
  const take = (name: string, col: Column): Column => takeColumn(col, idx, { reuse: prev?.get(name), capacity: n });
  const out: [string, Column][] = [];
  for (const [name, col] of features.columns) out.push([name, take(name, col)]);
  out.push(["future_active_days", take("future_active_days", { type: "i32", data: lk.futureActiveDays })]);
  out.push(["churn_label", takeLabel(lk.churnLabel, idx, { reuse: prev?.get("churn_label"), capacity: n })]);
  return { table: makeTable(out), excluded };
}

/** Options of {@link computeFeatureTables}. */
export interface FeatureTablesOptions extends TrainingRowsOptions {
  /** Kernel outputs and buffers of a previous chunk, refilled (its tables must no longer be needed). */
  reuse?: FeatureTables["reuse"];
}

/** The feature and label tables of one grid chunk, and which rows are training rows. */
export interface FeatureTables {
  /** user_features_daily (as {@link computeFeatures}). */
  features: Table;
  /** labels_daily (as {@link computeLabels}). */
  labels: Table;
  /** Rows of `features` that are training rows (labelled, in the population), ascending. */
  trainingRows: Int32Array;
  /** Labelled rows the population rule left out. */
  excluded: number;
  /** The label kernel's output for the chunk. */
  labelKernel: LabelOutput;
  /** Kernel outputs and buffers, to pass back as `reuse`. */
  reuse: { features: RollingOutput; labels: LabelOutput; labelRows: Table; keep: Int32Array; churn: Int32Array };
}

/**
 * The features and the labels of a grid (or a chunk of whole users) in one pass: the grid is
 * checked once and each kernel runs once. Same tables as {@link computeFeatures} and
 * {@link computeLabels}; {@link trainingRowsInPlace} then turns the features into the rows
 * of {@link computeTrainingRows}.
 *
 * @throws {TypeError} when the table is not a well-formed grid.
 */
export function computeFeatureTables(daily: Table, options: FeatureTablesOptions): FeatureTables {
  const { f, lk } = bothKernels(daily, options);
  const n = daily.length;
  // The labels' row numbers first, then the training rows', in one buffer.
  const keep = arrayFor(Int32Array, n, { reuse: options.reuse?.keep });
  const labels = labelsTable(daily, lk, { reuse: options.reuse?.labelRows, keep });
  const churn = arrayFor(Int32Array, n, { reuse: options.reuse?.churn });
  const { rows, excluded } = trainingRowIndices(lk, { population: options.population, into: keep });
  return {
    features: f.table,
    labels,
    trainingRows: rows,
    excluded,
    labelKernel: lk,
    reuse: { features: f.kernel, labels: lk, labelRows: labels, keep, churn },
  };
}

/**
 * The training rows of {@link computeFeatureTables}' output (as {@link computeTrainingRows}):
 * the feature columns of the training rows, then future_active_days and churn_label. Built in
 * place, without copies: the feature table's arrays (and the grid chunk they view) are
 * compacted to the training rows, so `tables.features` is no longer valid afterwards — write
 * it out first.
 */
export function trainingRowsInPlace(tables: FeatureTables): Table {
  const idx = tables.trainingRows, k = idx.length, lk = tables.labelKernel;
  // Runs of consecutive rows: (destination, source start, length), each moved as one block.
  const runs: number[] = [];
  for (let j = 0; j < k;) {
    let e = j + 1;
    while (e < k && idx[e] === idx[j] + (e - j)) e++;
    runs.push(j, idx[j], e - j);
    j = e;
  }
  const done = new Set<Int32Array | Float64Array | Uint8Array | Int16Array | Int8Array>();
  const compact = <T extends Int32Array | Float64Array | Uint8Array | Int16Array | Int8Array>(a: T): T => {
    if (!done.has(a)) {
      done.add(a);
      // Sources are ascending and never below their destination: moving runs in order never
      // overwrites a row still to move (copyWithin handles the overlap within a run).
      for (let r = 0; r < runs.length; r += 3) {
        if (runs[r] !== runs[r + 1]) a.copyWithin(runs[r], runs[r + 1], runs[r + 1] + runs[r + 2]);
      }
    }
    return a.subarray(0, k) as T;
  };
  const out: [string, Column][] = [];
  for (const [name, c] of tables.features.columns) {
    out.push([name, c.type === "dict" ? { ...c, codes: compact(c.codes) } : { ...c, data: compact(c.data) } as Column]);
  }
  out.push(["future_active_days", { type: "i32", data: compact(lk.futureActiveDays) }]);
  const churn = tables.reuse.churn.subarray(0, k);
  for (let j = 0; j < k; j++) churn[j] = lk.churnLabel[idx[j]];
  out.push(["churn_label", { type: "i32", data: churn }]);
  return makeTable(out);
}

/** Options of {@link computeScoringRows}. */
export interface ScoringRowsOptions {
  /** The date to score (days since epoch), or null for the latest date in the chunk. */
  date: number | null;
  /** Feature windows (the model's). */
  windows: readonly number[];
  /** Churn window W (the population rule looks back W days). */
  windowDays: number;
  /** Population rule. */
  population: Population;
  /** Kernel outputs of a previous chunk, refilled. */
  reuse?: { features?: RollingOutput; labels?: LabelOutput };
}

/**
 * Returns the feature rows of one date (default: the chunk's latest date) for
 * the population to score, with the count of rows the population rule left out.
 *
 * @throws {TypeError} when the table is not a well-formed grid.
 */
export function computeScoringRows(
  daily: Table,
  options: ScoringRowsOptions,
): { table: Table; date: number | null; excluded: number; kernels: { features: RollingOutput; labels: LabelOutput } } {
  const { f, lk } = bothKernels(daily, options);
  const dates = getColumn(daily, "as_of_date", "date").data;
  let date = options.date;
  if (date === null) { for (let r = 0; r < dates.length; r++) if (date === null || dates[r] > date) date = dates[r]; }
  const keep: number[] = [];
  let excluded = 0;
  for (let r = 0; r < dates.length; r++) {
    if (dates[r] !== date) continue;
    if (options.population === "all" || lk.trailingActive[r] > 0) keep.push(r);
    else excluded++;
  }
  const idx = Int32Array.from(keep);
  const out: [string, Column][] = [];
  for (const [name, col] of f.table.columns) out.push([name, takeColumn(col, idx)]);
  return { table: makeTable(out), date, excluded, kernels: { features: f.kernel, labels: lk } };
}

/** Arrow storage widths of the i32 columns of the three tables (columns not named stay Int32). */
export interface FeatureStorage {
  /** user_features_daily. */
  features: ReadonlyMap<string, IntWidth>;
  /** labels_daily. */
  labels: ReadonlyMap<string, IntWidth>;
  /** training_dataset. */
  training: ReadonlyMap<string, IntWidth>;
}

/**
 * The narrowest storage of every i32 column of the feature tables that the grid's value ranges
 * (as `prepare` records them) guarantee: a daily column in its own range, a w-day sum in [min(0, w·lo), max(0, w·hi)],
 * days_since_last_activity within days_since_signup's range and the grid's span of dates, the
 * label counts within [0, W]. The same grid always gives the same widths, whichever step writes.
 */
export function featureStorage(
  bounds: ColumnRanges,
  options: { windows: readonly number[]; windowDays: number },
): FeatureStorage {
  const features = new Map<string, IntWidth>();
  const set = (into: Map<string, IntWidth>, name: string, lo: number, hi: number) => {
    const w = intWidthFor(lo, hi);
    if (w !== 32) into.set(name, w);
  };
  for (const [name, [lo, hi]] of bounds) if (USER_DAILY_SCHEMA[name] === "i32") set(features, name, lo, hi);
  for (const w of options.windows) {
    for (const [prefix, c] of SUM_FEATURES) {
      const b = bounds.get(c);
      if (b !== undefined && USER_DAILY_SCHEMA[c] === "i32") {
        set(features, `${prefix}_${w}d`, Math.min(0, w * b[0]), Math.max(0, w * b[1]));
      }
    }
  }
  const since = bounds.get("days_since_signup"), dates = bounds.get("as_of_date");
  if (since !== undefined && dates !== undefined) {
    set(features, "days_since_last_activity", Math.min(0, since[0]), Math.max(since[1], dates[1] - dates[0]));
  }
  const labels = new Map<string, IntWidth>();
  const counts = (into: Map<string, IntWidth>) => {
    set(into, "future_active_days", 0, options.windowDays);
    set(into, "churn_label", 0, 1);
  };
  const uid = bounds.get("user_id");
  if (uid !== undefined) set(labels, "user_id", uid[0], uid[1]);
  counts(labels);
  set(labels, "trailing_active_days", 0, options.windowDays);
  const training = new Map(features);
  counts(training);
  return { features, labels, training };
}

/**
 * Schema metadata key of a grid whose record batches each hold whole users (value
 * {@link WHOLE_USERS}), as `prepare` writes it: readers need not carry a user over from one batch
 * to the next.
 */
export const GRID_BATCHES_KEY = "churn_mlops.batches";
/** The value of {@link GRID_BATCHES_KEY} for batches of whole users. */
export const WHOLE_USERS = "whole_users";

/**
 * Where to end the record batches of a grid sorted by user so that each holds whole users and at
 * most `maxRows` rows: the end row of each batch. Null when a user has more than `maxRows` rows.
 */
export function wholeUserBatchEnds(userId: IntArray, maxRows: number): number[] | null {
  const ends: number[] = [];
  let start = 0, last = 0; // the current batch's start, and the start of its last user
  for (let r = 1; r <= userId.length; r++) {
    if (r < userId.length && userId[r] === userId[r - 1]) continue;
    // Row r starts a new user (or ends the grid): the user [last, r) is complete.
    if (r - start > maxRows) {
      if (last === start) return null;
      ends.push(last);
      start = last;
      if (r - start > maxRows) return null;
    }
    last = r;
  }
  if (userId.length > start) ends.push(userId.length);
  return ends;
}

/**
 * Rows per chunk of whole users: small enough that the buffers reused from chunk to chunk stay
 * in cache and cost little fresh memory (16,384 rows took the 2,000-user feature step from
 * 0.31–0.33 s to 0.26–0.29 s, and the 100,000-user one from 5.9–6.3 s to 4.7–4.8 s, against
 * 65,536), large enough that per-chunk costs stay small.
 */
export const CHUNK_ROWS = 1 << 14;

/**
 * Cuts a stream of grid batches into chunks of whole users: each `push()`
 * returns the chunks complete so far (views where possible), `finish()` the
 * rest. A user split across two batches is carried over and joined.
 */
export class UserChunker {
  #carry: Table | null = null;
  readonly #maxRows: number;
  readonly #wholeUsers: { name: string } | null;
  /** The last user of the last chunk returned. */
  #lastUser = -Infinity;

  /**
   * Creates a chunker; chunks hold at most `maxRows` rows unless one user has more. With
   * `wholeUsers` (batches known to hold whole users, see {@link GRID_BATCHES_KEY}), every batch
   * is cut into chunks at once, without carrying its last user over; a user that does span two
   * batches is an error naming the table. Chunks must come in user order: a chunk that starts at
   * or before the last user of the one before is an error (the order within a chunk is the grid
   * check's).
   */
  constructor(options: { maxRows?: number; wholeUsers?: { name: string } } = {}) {
    this.#maxRows = options.maxRows ?? CHUNK_ROWS;
    this.#wholeUsers = options.wholeUsers ?? null;
  }

  /**
   * Adds a batch; returns the chunks of users now complete.
   *
   * @throws {TypeError} when batches said to hold whole users split one, or users are out of order.
   */
  push(batch: Table): Table[] {
    if (this.#wholeUsers !== null) {
      if (batch.length === 0) return [];
      const uid = getColumn(batch, "user_id", "i32").data;
      if (uid[0] === this.#lastUser) {
        throw new TypeError(
          `${this.#wholeUsers.name} says its batches hold whole users, but user_id ${uid[0]} spans two batches`,
        );
      }
      return this.#inOrder(this.#split(batch));
    }
    const out: Table[] = [];
    for (const piece of this.#split(batch)) out.push(...this.#push(piece));
    return this.#inOrder(out);
  }

  /** Checks that each chunk starts after the last user of the one before; returns the chunks. */
  #inOrder(chunks: Table[]): Table[] {
    for (const chunk of chunks) {
      const uid = chunk.columns.get("user_id");
      if (uid?.type !== "i32" || chunk.length === 0) continue;
      if (uid.data[0] <= this.#lastUser) {
        throw new TypeError(
          `user_daily is not sorted by (user_id, as_of_date): user_id ${
            uid.data[0]
          } comes after user_id ${this.#lastUser}`,
        );
      }
      this.#lastUser = uid.data[chunk.length - 1];
    }
    return chunks;
  }

  /** Splits a batch at user boundaries into pieces of about `maxRows` rows. */
  #split(batch: Table): Table[] {
    if (batch.length <= this.#maxRows) return [batch];
    const uid = getColumn(batch, "user_id", "i32").data;
    const pieces: Table[] = [];
    let start = 0;
    while (batch.length - start > this.#maxRows) {
      let cut = start + this.#maxRows;
      const u = uid[cut];
      while (cut > start && uid[cut - 1] === u) cut--;
      if (cut === start) {
        cut = start + this.#maxRows;
        while (cut < batch.length && uid[cut] === u) cut++;
      }
      pieces.push(sliceTable(batch, start, cut));
      start = cut;
    }
    if (start < batch.length) pieces.push(sliceTable(batch, start, batch.length));
    return pieces;
  }

  #push(batch: Table): Table[] {
    if (batch.length === 0) return [];
    const uid = getColumn(batch, "user_id", "i32").data;
    const lastUser = uid[batch.length - 1];
    let cut = batch.length;
    while (cut > 0 && uid[cut - 1] === lastUser) cut--;
    const out: Table[] = [];
    let head = 0;
    if (this.#carry !== null) {
      // Join the carried user with the rows of the same user at the head of this batch.
      const carried = getColumn(this.#carry, "user_id", "i32").data[0];
      while (head < batch.length && uid[head] === carried) head++;
      const joined = concatTables([this.#carry, sliceTable(batch, 0, head)]);
      this.#carry = null;
      if (head === batch.length) {
        this.#carry = joined;
        return out;
      }
      out.push(joined);
    }
    if (cut < head) cut = head;
    if (cut > head) out.push(sliceTable(batch, head, cut));
    this.#carry = concatTables([sliceTable(batch, cut, batch.length)]);
    return out;
  }

  /**
   * Returns the last chunk, if any.
   *
   * @throws {TypeError} when it comes out of user order.
   */
  finish(): Table[] {
    const c = this.#carry;
    this.#carry = null;
    return this.#inOrder(c === null ? [] : [c]);
  }
}
