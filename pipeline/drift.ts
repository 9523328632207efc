/**
 * Data drift (SPEC §11): the reference profile of a model's inputs, built once from its training
 * rows and stored in the model artifact, and the Population Stability Index of current rows against
 * it, per input. Pure: tables in, JSON-serialisable documents out; the counting runs in the Wasm
 * drift kernels (`wasm/psi.ts`).
 *
 * Numeric input: the 11 deciles of the training values (after the model's imputation, missing → 0)
 * cut 10 buckets, the outer two open to ±∞ (fix: the original dropped values outside the training
 * range); a value x falls in the bucket with as many interior deciles ≤ x. Categorical input: one
 * bucket per training category plus one for categories never seen in training (fix: the original
 * checked no categorical input). PSI = Σ (cur − ref)·ln(cur / ref), shares floored at 1e-6; status
 * OK below `warn`, WARN from `warn`, FAIL from `fail`.
 *
 * @module
 */

import { bucketCounts, codeCounts, psi, type PsiImpl, sharesOf } from "../wasm/psi.ts";
import { formatDate } from "./dates.ts";
import { MISSING_CATEGORY, type Preprocessor } from "./preprocess.ts";
import { type Column, makeTable, type Table, toInt32Array } from "./table.ts";

export type { PsiImpl } from "../wasm/psi.ts";

/** Version of the reference profile format. */
export const PROFILE_SCHEMA_VERSION = 1;

/** Quantile buckets per numeric input. */
export const PROFILE_BUCKETS = 10;

/** The label of the bucket of categories never seen in training. */
export const OTHER_CATEGORY = "(other)";

/** The reference distribution of one numeric input. */
export interface NumericFeatureProfile {
  /** Input column name. */
  name: string;
  /** Kind of input. */
  kind: "numeric";
  /**
   * The 11 quantiles 0, 0.1, …, 1 of the training values (linear interpolation, as numpy's
   * default), missing read as 0. The interior nine cut the buckets; the outer buckets are open.
   */
  edges: number[];
  /** Share of the training rows in each of the 10 buckets. */
  shares: number[];
}

/** The reference distribution of one categorical input. */
export interface CategoricalFeatureProfile {
  /** Input column name. */
  name: string;
  /** Kind of input. */
  kind: "categorical";
  /** The training categories (the model's, missing values as "missing"). */
  categories: string[];
  /** Share of the training rows per category, then (last) the share of unseen categories: 0. */
  shares: number[];
}

/** The reference distribution of one input. */
export type FeatureProfile = NumericFeatureProfile | CategoricalFeatureProfile;

/** The reference profile of a model's inputs, stored in the model artifact as `reference_profile`. */
export interface ReferenceProfile {
  /** Format version. */
  schema_version: number;
  /** Training rows profiled. */
  rows: number;
  /** First and last as_of_date of the training rows (YYYY-MM-DD), or null when the table has no dates. */
  train_dates: [string, string] | null;
  /** Quantile buckets per numeric input. */
  buckets: number;
  /** One profile per model input: the numeric inputs, then the categorical ones, in the model's order. */
  features: FeatureProfile[];
}

/** A drift status. */
export type DriftStatus = "OK" | "WARN" | "FAIL";

/** The PSI thresholds (config `drift.warn_psi`, `drift.fail_psi`). */
export interface DriftThresholds {
  /** PSI from which a feature is WARN. */
  warn: number;
  /** PSI from which a feature is FAIL. */
  fail: number;
}

/** One bucket's shares. */
export interface BucketShares {
  /** The bucket: a range such as `[2, 5)`, `< 2`, `≥ 9`, or a category. */
  bucket: string;
  /** Share of the training rows. */
  reference: number;
  /** Share of the current rows. */
  current: number;
}

/** The drift of one input. */
export interface FeatureDrift {
  /** Input column name. */
  name: string;
  /** Kind of input. */
  kind: "numeric" | "categorical";
  /** Population Stability Index. */
  psi: number;
  /** Status by the thresholds. */
  status: DriftStatus;
  /** Reference and current share per bucket. */
  buckets: BucketShares[];
}

/** The drift of a set of current rows against a profile. */
export interface DriftResult {
  /** The worst status of any feature. */
  status: DriftStatus;
  /** The largest PSI. */
  overall_max_psi: number;
  /** The feature with the largest PSI (the first in the profile's order on a tie). */
  worst_feature: string;
  /** Current rows compared. */
  rows: number;
  /** The thresholds applied. */
  thresholds: DriftThresholds;
  /** Every feature checked, in the profile's order. */
  features: FeatureDrift[];
}

/** Options of {@link buildProfile}. */
export interface ProfileOptions {
  /** The training rows (indices into the table), e.g. `split.train`. */
  rows: Int32Array;
  /** Counting implementation (default `wasm`). */
  impl?: PsiImpl;
}

/**
 * Returns the status of a PSI: FAIL from `fail`, WARN from `warn`, OK below.
 *
 * @throws {RangeError} when `value` is NaN or a threshold is negative or NaN.
 */
export function driftStatus(value: number, thresholds: DriftThresholds): DriftStatus {
  checkThresholds(thresholds);
  if (Number.isNaN(value)) throw new RangeError("PSI value is NaN");
  return value >= thresholds.fail ? "FAIL" : value >= thresholds.warn ? "WARN" : "OK";
}

function checkThresholds(t: DriftThresholds): void {
  if (!(t.warn >= 0) || !(t.fail >= 0)) {
    throw new RangeError(`Drift thresholds must be numbers ≥ 0, got warn ${t.warn} and fail ${t.fail}`);
  }
}

/**
 * Puts the values of `a[lo..hi]` at the sorted positions `wanted` (ascending, within the range)
 * into `out`: a quickselect that recurses only into the parts holding a wanted position, with a
 * three-way partition so that runs of equal values (integer counts) are settled at once.
 */
function selectInto(a: Float64Array, range: [number, number], wanted: number[], out: Map<number, number>): void {
  let [lo, hi] = range;
  while (wanted.length > 0) {
    if (hi - lo < 16) {
      for (let i = lo + 1; i <= hi; i++) {
        const v = a[i];
        let j = i - 1;
        while (j >= lo && a[j] > v) a[j + 1] = a[j--];
        a[j + 1] = v;
      }
      for (const w of wanted) out.set(w, a[w]);
      return;
    }
    const mid = (lo + hi) >>> 1;
    const x = a[lo], y = a[mid], z = a[hi];
    const p = x < y ? (y < z ? y : x < z ? z : x) : (x < z ? x : y < z ? z : y);
    // a[lo..lt-1] < p, a[lt..gt] = p, a[gt+1..hi] > p.
    let lt = lo, i = lo, gt = hi;
    while (i <= gt) {
      const v = a[i];
      if (v < p) (a[i++] = a[lt]), (a[lt++] = v);
      else if (v > p) (a[i] = a[gt]), (a[gt--] = v);
      else i++;
    }
    const left = wanted.filter((w) => w < lt), right = wanted.filter((w) => w > gt);
    for (const w of wanted) if (w >= lt && w <= gt) out.set(w, p);
    if (left.length > 0) selectInto(a, [lo, lt - 1], left, out);
    lo = gt + 1;
    wanted = right;
  }
}

/**
 * The quantiles 0, 1/b, …, 1 of the values by linear interpolation (numpy's default): the value
 * at position q·(n − 1) of the sorted values. Reorders `values` (selection, not a full sort).
 *
 * @throws {RangeError} when there are no values or one is NaN.
 */
export function quantileEdges(values: Float64Array, buckets: number = PROFILE_BUCKETS): number[] {
  const n = values.length;
  if (n === 0) throw new RangeError("Cannot take quantiles of zero values");
  for (let i = 0; i < n; i++) if (values[i] !== values[i]) throw new RangeError(`Value ${i} is NaN: impute it first`);
  const positions = Array.from({ length: buckets + 1 }, (_, j) => (j / buckets) * (n - 1));
  const wanted = [...new Set(positions.flatMap((pos) => [Math.floor(pos), Math.min(n - 1, Math.floor(pos) + 1)]))]
    .sort((a, b) => a - b);
  const at = new Map<number, number>();
  selectInto(values, [0, n - 1], wanted, at);
  return positions.map((pos) => {
    const i = Math.floor(pos), frac = pos - i;
    const lo = at.get(i)!;
    return i + 1 < n && frac > 0 ? lo + (at.get(i + 1)! - lo) * frac : lo;
  });
}

/** Returns the numeric values of `column` at `rows` (all rows when null), missing (NaN) read as 0. */
function imputed(column: Column, name: string, rows: Int32Array | null): Float64Array {
  if (column.type !== "f64" && column.type !== "i32" && column.type !== "bool") {
    throw new TypeError(`Input column "${name}" is ${column.type}, expected a numeric column`);
  }
  const data = column.data;
  const n = rows === null ? data.length : rows.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = data[rows === null ? i : rows[i]];
    out[i] = v === v ? v : 0;
  }
  return out;
}

/** Slot of each code of a dictionary column (index code + 1; index 0 is the missing code −1). */
function codeSlots(dictionary: readonly string[], categories: readonly string[]): Int32Array {
  const other = categories.length;
  const index = new Map(categories.map((c, i) => [c, i]));
  const slots = new Int32Array(dictionary.length + 1);
  slots[0] = index.get(MISSING_CATEGORY) ?? other;
  for (let c = 0; c < dictionary.length; c++) slots[c + 1] = index.get(dictionary[c]) ?? other;
  return slots;
}

function dictColumn(table: Table, name: string): Extract<Column, { type: "dict" }> {
  const c = table.columns.get(name);
  if (c === undefined) throw new TypeError(`Missing categorical input column "${name}"`);
  if (c.type !== "dict") throw new TypeError(`Input column "${name}" is ${c.type}, expected a categorical column`);
  return c;
}

function numericColumn(table: Table, name: string): Column {
  const c = table.columns.get(name);
  if (c === undefined) throw new TypeError(`Missing numeric input column "${name}"`);
  return c;
}

/**
 * Builds the reference profile of a model's inputs from its training rows: for each numeric input
 * of `pre` the deciles of the training values (missing → 0) and the share of rows per bucket, for
 * each categorical input the share per category plus an empty bucket for unseen categories.
 * Call it where the model is trained, as `buildProfile(pre, training, { rows: split.train })`.
 *
 * @throws {RangeError} when there are no rows or a row index is outside the table.
 * @throws {TypeError} when an input column is missing or of the wrong kind.
 */
export function buildProfile(pre: Preprocessor, table: Table, options: ProfileOptions): ReferenceProfile {
  const rows = options.rows;
  if (!(rows instanceof Int32Array)) throw new TypeError("options.rows must be an Int32Array of row indices");
  for (const r of rows) {
    if (!(r >= 0 && r < table.length)) {
      throw new RangeError(`Row index ${r} is outside the table's ${table.length} rows`);
    }
  }
  if (rows.length === 0) throw new RangeError("Cannot profile zero training rows");
  const features: FeatureProfile[] = [];
  for (const spec of pre.numeric) {
    const values = imputed(numericColumn(table, spec.name), spec.name, rows);
    const edges = quantileEdges(values); // reorders the values, which leaves their counts as they are
    const counts = bucketCounts(values, { edges: edges.slice(1, -1), impl: options.impl });
    features.push({ name: spec.name, kind: "numeric", edges, shares: [...sharesOf(counts)] });
  }
  for (const spec of pre.categorical) {
    const c = dictColumn(table, spec.name);
    const codes = new Int32Array(rows.length);
    for (let i = 0; i < rows.length; i++) codes[i] = c.codes[rows[i]];
    const counts = codeCounts(codes, {
      slots: codeSlots(c.dictionary, spec.categories),
      buckets: spec.categories.length + 1,
      other: spec.categories.length,
      impl: options.impl,
    });
    features.push({
      name: spec.name,
      kind: "categorical",
      categories: [...spec.categories],
      shares: [...sharesOf(counts)],
    });
  }
  let trainDates: [string, string] | null = null;
  const dates = table.columns.get("as_of_date");
  if (dates?.type === "date") {
    let lo = Infinity, hi = -Infinity;
    for (const r of rows) {
      if (dates.data[r] < lo) lo = dates.data[r];
      if (dates.data[r] > hi) hi = dates.data[r];
    }
    trainDates = [formatDate(lo), formatDate(hi)];
  }
  return {
    schema_version: PROFILE_SCHEMA_VERSION,
    rows: rows.length,
    train_dates: trainDates,
    buckets: PROFILE_BUCKETS,
    features,
  };
}

function isShares(v: unknown, length: number): boolean {
  return Array.isArray(v) && v.length === length && v.every((x) => typeof x === "number" && x >= 0 && x <= 1 + 1e-9);
}

/**
 * Checks a reference profile read from JSON and returns it.
 *
 * @throws {TypeError} naming the first problem (the feature and the field).
 */
export function checkProfile(value: unknown): ReferenceProfile {
  const bad = (why: string) => new TypeError(`Invalid reference profile: ${why}`);
  if (typeof value !== "object" || value === null) throw bad("not an object");
  const p = value as Partial<ReferenceProfile>;
  if (p.schema_version !== PROFILE_SCHEMA_VERSION) {
    throw bad(`schema_version is ${JSON.stringify(p.schema_version)}, expected ${PROFILE_SCHEMA_VERSION}`);
  }
  if (!Array.isArray(p.features) || p.features.length === 0) throw bad("features must be a non-empty array");
  if (typeof p.rows !== "number" || !(p.rows > 0)) throw bad(`rows must be a positive number`);
  const seen = new Set<string>();
  p.features.forEach((f: FeatureProfile, i) => {
    const where = `features[${i}]${typeof f?.name === "string" ? ` ("${f.name}")` : ""}`;
    if (typeof f !== "object" || f === null || typeof f.name !== "string" || f.name === "") {
      throw bad(`${where} has no name`);
    }
    if (seen.has(f.name)) throw bad(`${where} is listed twice`);
    seen.add(f.name);
    if (f.kind === "numeric") {
      const e = f.edges;
      if (!Array.isArray(e) || e.length < 2 || e.some((x, k) => typeof x !== "number" || !(k === 0 || x >= e[k - 1]))) {
        throw bad(`${where}.edges must be at least 2 non-decreasing numbers`);
      }
      if (!isShares(f.shares, e.length - 1)) throw bad(`${where}.shares must be ${e.length - 1} shares in [0, 1]`);
    } else if (f.kind === "categorical") {
      if (!Array.isArray(f.categories) || f.categories.some((c) => typeof c !== "string")) {
        throw bad(`${where}.categories must be an array of strings`);
      }
      if (!isShares(f.shares, f.categories.length + 1)) {
        throw bad(`${where}.shares must be ${f.categories.length + 1} shares in [0, 1]`);
      }
    } else {
      throw bad(
        `${where}.kind must be "numeric" or "categorical", got ${JSON.stringify((f as { kind?: unknown }).kind)}`,
      );
    }
  });
  return p as ReferenceProfile;
}

/**
 * Returns the profiles of the named features (all when `names` is empty), in the profile's order.
 *
 * @throws {RangeError} naming a feature that is not in the profile, with the model's inputs.
 */
export function selectFeatures(profile: ReferenceProfile, names: readonly string[] = []): FeatureProfile[] {
  if (names.length === 0) return profile.features;
  const known = new Set(profile.features.map((f) => f.name));
  const unknown = names.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new RangeError(
      `Unknown drift feature${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => `"${n}"`).join(", ")} in ` +
        `drift.features: not an input of the model (its inputs: ${[...known].join(", ")})`,
    );
  }
  const wanted = new Set(names);
  return profile.features.filter((f) => wanted.has(f.name));
}

function fmt(x: number): string {
  return Number.isFinite(x) ? String(Number(x.toPrecision(6))) : String(x);
}

/** The labels of a profile's buckets: ranges for a numeric input, categories for a categorical one. */
export function bucketLabels(feature: FeatureProfile): string[] {
  if (feature.kind === "categorical") return [...feature.categories, OTHER_CATEGORY];
  const inner = feature.edges.slice(1, -1);
  if (inner.length === 0) return ["all"];
  return [
    `< ${fmt(inner[0])}`,
    ...inner.slice(1).map((e, k) => `[${fmt(inner[k])}, ${fmt(e)})`),
    `≥ ${fmt(inner[inner.length - 1])}`,
  ];
}

/** Options of {@link DriftCounter}. */
export interface DriftCounterOptions {
  /** Features to check (config `drift.features`); empty or absent means every input of the profile. */
  features?: readonly string[];
  /** Counting implementation (default `wasm`). */
  impl?: PsiImpl;
}

/**
 * Accumulates the bucket counts of current rows, table by table (e.g. one chunk of users at a
 * time), then compares them with the profile.
 */
export class DriftCounter {
  /** The features checked, in the profile's order. */
  readonly features: readonly FeatureProfile[];
  readonly #counts: Float64Array[];
  readonly #scratch: Float64Array[];
  readonly #impl: PsiImpl | undefined;
  #rows = 0;

  /**
   * Creates a counter for `profile`.
   *
   * @throws {RangeError} naming a feature of `options.features` that is not in the profile, or when
   *   the profile has no features.
   */
  constructor(profile: ReferenceProfile, options: DriftCounterOptions = {}) {
    this.features = selectFeatures(profile, options.features);
    if (this.features.length === 0) throw new RangeError("The reference profile has no features to check");
    this.#counts = this.features.map((f) => new Float64Array(f.shares.length));
    this.#scratch = this.features.map((f) => new Float64Array(f.shares.length));
    this.#impl = options.impl;
  }

  /** Current rows counted so far. */
  get rows(): number {
    return this.#rows;
  }

  /** Forgets the rows counted so far. */
  reset(): void {
    for (const c of this.#counts) c.fill(0);
    this.#rows = 0;
  }

  /**
   * Adds every row of `table`.
   *
   * @throws {TypeError} when an input column is missing or of the wrong kind.
   */
  add(table: Table): void {
    // Check every column before counting anything, so a failed add leaves the counts as they were.
    for (const f of this.features) {
      if (f.kind === "categorical") dictColumn(table, f.name);
      else {
        const c = numericColumn(table, f.name);
        if (c.type !== "f64" && c.type !== "i32" && c.type !== "bool") {
          throw new TypeError(`Input column "${f.name}" is ${c.type}, expected a numeric column`);
        }
      }
    }
    this.features.forEach((f, i) => {
      const out = this.#scratch[i];
      if (f.kind === "categorical") {
        const c = dictColumn(table, f.name);
        codeCounts(c.codes, {
          slots: codeSlots(c.dictionary, f.categories),
          buckets: f.categories.length + 1,
          other: f.categories.length,
          out,
          impl: this.#impl,
        });
      } else {
        const c = numericColumn(table, f.name) as Extract<Column, { type: "f64" | "i32" | "bool" }>;
        bucketCounts(c.type === "i32" ? toInt32Array(c.data) : c.data, {
          edges: f.edges.slice(1, -1),
          out,
          impl: this.#impl,
        });
      }
      const acc = this.#counts[i];
      for (let b = 0; b < acc.length; b++) acc[b] += out[b];
    });
    this.#rows += table.length;
  }

  /** The counts per bucket of each feature so far (copies), by feature name. */
  counts(): Map<string, Float64Array> {
    return new Map(this.features.map((f, i) => [f.name, this.#counts[i].slice()]));
  }

  /**
   * Compares the rows counted with the profile: PSI and status per feature, the overall status
   * (the worst) and the largest PSI.
   *
   * @throws {RangeError} when no rows were counted (there is nothing to compare), or a threshold is invalid.
   */
  finish(thresholds: DriftThresholds): DriftResult {
    checkThresholds(thresholds);
    if (this.#rows === 0) throw new RangeError("No current rows to compare with the reference profile");
    const features: FeatureDrift[] = this.features.map((f, i) => {
      const current = sharesOf(this.#counts[i]);
      const value = psi(f.shares, current, { impl: this.#impl });
      const labels = bucketLabels(f);
      return {
        name: f.name,
        kind: f.kind,
        psi: value,
        status: driftStatus(value, thresholds),
        buckets: labels.map((bucket, b) => ({ bucket, reference: f.shares[b], current: current[b] })),
      };
    });
    let worst = features[0];
    for (const f of features) if (f.psi > worst.psi) worst = f;
    const rank = { OK: 0, WARN: 1, FAIL: 2 } as const;
    const status = features.reduce<DriftStatus>((s, f) => rank[f.status] > rank[s] ? f.status : s, "OK");
    return {
      status,
      overall_max_psi: worst.psi,
      worst_feature: worst.name,
      rows: this.#rows,
      thresholds: { ...thresholds },
      features,
    };
  }
}

/**
 * Compares the rows of `table` with the profile in one call (see {@link DriftCounter}).
 *
 * @throws {RangeError} when the table has no rows or a feature name is unknown.
 * @throws {TypeError} when an input column is missing or of the wrong kind.
 */
export function compareToProfile(
  profile: ReferenceProfile,
  table: Table,
  options: DriftCounterOptions & { thresholds: DriftThresholds },
): DriftResult {
  const counter = new DriftCounter(profile, options);
  counter.add(table);
  return counter.finish(options.thresholds);
}

/** Options of {@link shiftUserDaily}. */
export interface DemoShiftOptions {
  /** How strong the shift is: 0 changes nothing, 1 is the default demo (must be ≥ 0). */
  strength: number;
  /** How many of the latest dates are shifted (default 30: the longest default feature window). */
  days?: number;
  /** Seed of the shift's random draws (default 7). */
  seed?: number;
}

/**
 * Returns a copy of a user_daily grid whose latest `days` dates behave like the original project's
 * high-drift demo data: more sessions (extra logins, each with a video watch and a quiz attempt;
 * some inactive days become active), heavier watch minutes and lower quiz scores, all scaled by
 * `strength`. The other columns and every earlier date are unchanged; `total_events` and
 * `is_active_day` stay consistent with the counts. Deterministic for a seed.
 *
 * @throws {RangeError} when `strength` is negative or not finite, or `days` is not a positive integer.
 * @throws {TypeError} when a user_daily column is missing or of the wrong kind.
 */
export function shiftUserDaily(daily: Table, options: DemoShiftOptions): Table {
  const s = options.strength, days = options.days ?? 30;
  if (!(s >= 0) || !Number.isFinite(s)) throw new RangeError(`strength must be a finite number ≥ 0, got ${s}`);
  if (!Number.isSafeInteger(days) || days < 1) throw new RangeError(`days must be a positive integer, got ${days}`);
  const col = <T extends Column["type"]>(name: string, type: T): Extract<Column, { type: T }> => {
    const c = daily.columns.get(name);
    if (c === undefined || c.type !== type) {
      throw new TypeError(`user_daily column "${name}" is ${c?.type ?? "missing"}, expected ${type}`);
    }
    return c as Extract<Column, { type: T }>;
  };
  const date = col("as_of_date", "date").data;
  const logins = col("logins_count", "i32").data.slice();
  const watch = col("watch_minutes_sum", "f64").data.slice();
  const quizN = col("quiz_attempts_count", "i32").data.slice();
  const quiz = col("quiz_avg_score", "f64").data.slice();
  const total = col("total_events", "i32").data.slice();
  const active = col("is_active_day", "i32").data.slice();
  let last = -Infinity;
  for (let r = 0; r < date.length; r++) if (date[r] > last) last = date[r];
  const from = last - days + 1;
  // A small xorshift stream: the shift only needs to be repeatable, not statistically refined.
  let state = (options.seed ?? 7) * 0x9e3779b1 | 1;
  const rand = () => {
    state ^= state << 13, state ^= state >>> 17, state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
  for (let r = 0; r < date.length; r++) {
    if (date[r] < from) continue;
    const wasActive = active[r] > 0;
    // Extra sessions: on an active day 1 + up to 2·strength more, on an inactive one with probability strength / 2.
    const extra = wasActive
      ? Math.round(s * (1 + 2 * rand()))
      : rand() < s / 2
      ? Math.max(1, Math.round(s * 2 * rand()))
      : 0;
    if (!wasActive && extra === 0) continue;
    const quizBefore = quizN[r];
    logins[r] += extra;
    quizN[r] += extra;
    watch[r] = (watch[r] + extra * 40) * (1 + s);
    const score = quizBefore > 0 && quiz[r] === quiz[r] ? quiz[r] : 60;
    if (quizN[r] > 0) quiz[r] = Math.max(0, score - 25 * s);
    total[r] += 3 * extra; // a login, a video watch and a quiz attempt per extra session
    active[r] = total[r] > 0 ? 1 : 0;
  }
  const replaced: Record<string, Column> = {
    logins_count: { type: "i32", data: logins },
    watch_minutes_sum: { type: "f64", data: watch },
    quiz_attempts_count: { type: "i32", data: quizN },
    quiz_avg_score: { type: "f64", data: quiz },
    total_events: { type: "i32", data: total },
    is_active_day: { type: "i32", data: active },
  };
  return makeTable([...daily.columns].map(([name, c]): [string, Column] => [name, replaced[name] ?? c]));
}
