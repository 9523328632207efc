/**
 * Input and output shapes of the numeric kernels, shared by the Wasm loader (`mod.ts`) and the
 * plain TypeScript implementations (`reference.ts`): the input checks both apply and the reuse
 * rules of caller-supplied output arrays.
 *
 * @module
 */

/** A per-row numeric column: counts as `Int32Array`, sums and scores as `Float64Array`. */
export type NumericColumn = Int32Array | Float64Array;

/**
 * The `user_daily` grid, or a chunk of whole users of it: rows sorted by (user, date), one row per
 * day, user k owning rows `[groupStarts[k], groupStarts[k + 1])`.
 */
export interface RollingInput {
  /** Row offsets, users + 1 entries, from 0 to the number of rows, non-decreasing. */
  readonly groupStarts: Int32Array;
  /**
   * The columns to sum per window, by name (e.g. `logins_count`). An `Int32Array` column gives
   * exact `Int32Array` sums; a `Float64Array` column gives `Float64Array` sums, NaN (missing)
   * counting as 0.
   */
  readonly columns: Readonly<Record<string, NumericColumn>>;
  /** `is_active_day` (0 or 1); read as Int32. May be the same array as one in `columns`. */
  readonly active: NumericColumn;
  /** `quiz_avg_score`, NaN on days without a quiz. */
  readonly quiz: Float64Array;
  /** `payment_success_count`; read as Int32. May be the same array as one in `columns`. */
  readonly paySuccess: NumericColumn;
  /** `payment_failed_count`; read as Int32. May be the same array as one in `columns`. */
  readonly payFail: NumericColumn;
  /** `days_since_signup`; read as Int32. */
  readonly daysSinceSignup: NumericColumn;
}

/** The rolling features of every row, each array parallel to the input rows. */
export interface RollingOutput {
  /** The windows, in the order of the per-window arrays. */
  readonly windows: readonly number[];
  /** The window of `payFailRate`. */
  readonly rateWindow: number;
  /**
   * Per input column name, one array of window sums per window: a Float64Array for a Float64
   * column; for an Int32 column, an Int32Array, or the narrower array {@link RollingOptions.widths}
   * asks for (or a Float64Array passed as `out`).
   */
  readonly sums: Readonly<Record<string, readonly SumColumn[]>>;
  /** Per window, the mean of the non-NaN quiz scores in the window, NaN when there is none. */
  readonly quizMean: readonly Float64Array[];
  /** failed / (failed + success) over `rateWindow`, 0 when there was no payment. */
  readonly payFailRate: Float64Array;
  /**
   * Rows since the latest active row at or before this one; days_since_signup before the first
   * (Int32, or as narrow as {@link RollingOptions.widths} asks).
   */
  readonly daysSinceLastActivity: CountArray;
}

/** Options of the rolling-window kernels. */
export interface RollingOptions {
  /** Trailing window lengths in rows (days), positive integers, e.g. `[7, 14, 30]`. */
  readonly windows: readonly number[];
  /** Window of the payment fail rate: default 30 when listed in `windows`, else the largest window. */
  readonly rateWindow?: number;
  /**
   * Arrays to fill instead of allocating new ones, usually a previous result: each array is
   * written in place when it has at least as many elements as there are rows (the result then
   * holds a view of its first rows). An array this module allocated that is too short is replaced
   * by a new one; any other array that is too short is an error.
   */
  readonly out?: RollingOutput;
  /**
   * Narrower element types for the integer outputs, for a caller that knows from its input's value
   * ranges that every value fits (one that does not would be stored modulo 2^width): per column of
   * `input.columns`, one width per window for its sums; and the width of `daysSinceLastActivity`.
   * Unlisted outputs are Int32. Writing straight into narrow arrays saves their memory and a
   * conversion when they are stored narrow anyway.
   */
  readonly widths?: RollingWidths;
}

/** Bits per element of an integer output array: 8, 16 or 32. */
export type CountWidth = 8 | 16 | 32;

/** An integer output array: Int32Array, or narrower where {@link RollingOptions.widths} asks. */
export type CountArray = Int32Array | Int16Array | Int8Array;

/** An output array of window sums (see {@link RollingOutput.sums}). */
export type SumColumn = CountArray | Float64Array;

/** Widths of the integer outputs of the rolling kernels (see {@link RollingOptions.widths}). */
export interface RollingWidths {
  /** Per column of `input.columns`, the width of its sums in each window (in `windows` order). */
  readonly sums?: Readonly<Record<string, readonly CountWidth[]>>;
  /** The width of `daysSinceLastActivity`. */
  readonly daysSinceLastActivity?: CountWidth;
}

/** Input of the label kernel: the same grid as {@link RollingInput}, activity only. */
export interface LabelInput {
  /** Row offsets, users + 1 entries, from 0 to the number of rows, non-decreasing. */
  readonly groupStarts: Int32Array;
  /** `is_active_day` (0 or 1); read as Int32. */
  readonly active: NumericColumn;
}

/** Churn labels of every row with churn window W. */
export interface LabelOutput {
  /** The churn window W in rows (days). */
  readonly windowDays: number;
  /** Active rows in (r, r + W] of the same user (cut at the user's last row). */
  readonly futureActiveDays: Int32Array;
  /** 1 when the user has at least W rows after r (the row can be labelled), else 0. */
  readonly labelled: Uint8Array;
  /** 1 when `futureActiveDays` is 0, else 0. */
  readonly churnLabel: Uint8Array;
  /** Active rows in (r − W, r] of the same user (the "active population" rule keeps rows with ≥ 1). */
  readonly trailingActive: Int32Array;
}

/** Options of the label kernel. */
export interface LabelOptions {
  /** The churn window W in rows (days), a positive integer. */
  readonly windowDays: number;
  /** Arrays to fill instead of allocating new ones, as for {@link RollingOptions.out}. */
  readonly out?: LabelOutput;
}

/** Throws unless `value` is a positive integer; `name` names it in the message. */
export function checkWindow(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

function checkNumeric(value: unknown, { name, rows }: { name: string; rows: number }): void {
  if (!(value instanceof Int32Array) && !(value instanceof Float64Array)) {
    throw new TypeError(`${name} must be an Int32Array or a Float64Array`);
  }
  if (value.length !== rows) {
    throw new RangeError(`${name} has ${value.length} rows, expected ${rows} (the length of active)`);
  }
}

/**
 * Checks the group starts against the number of rows: an `Int32Array` starting at 0, non-decreasing,
 * ending at `rows`. Returns the number of users.
 */
export function checkGroups(groupStarts: unknown, rows: number): number {
  if (!(groupStarts instanceof Int32Array)) throw new TypeError("groupStarts must be an Int32Array");
  const n = groupStarts.length;
  if (n === 0) throw new RangeError("groupStarts must have users + 1 entries, got an empty array");
  if (groupStarts[0] !== 0) throw new RangeError(`groupStarts must start at 0, got ${groupStarts[0]}`);
  for (let k = 1; k < n; k++) {
    if (groupStarts[k] < groupStarts[k - 1]) {
      throw new RangeError(`groupStarts must be non-decreasing, got ${groupStarts[k]} after ${groupStarts[k - 1]}`);
    }
  }
  if (groupStarts[n - 1] !== rows) {
    throw new RangeError(`groupStarts must end at the number of rows ${rows}, got ${groupStarts[n - 1]}`);
  }
  return n - 1;
}

/** The checked shape of a rolling call. */
export interface RollingPlan {
  /** Number of rows. */
  readonly rows: number;
  /** Number of users. */
  readonly users: number;
  /** The windows as given. */
  readonly windows: readonly number[];
  /** The payment fail rate window. */
  readonly rateWindow: number;
}

/** Checks a rolling call's input and options; throws `TypeError`/`RangeError` naming the bad value. */
export function checkRolling(input: RollingInput, options: RollingOptions): RollingPlan {
  if (typeof input !== "object" || input === null) throw new TypeError("input must be an object");
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  if (!(input.active instanceof Int32Array) && !(input.active instanceof Float64Array)) {
    throw new TypeError("active must be an Int32Array or a Float64Array");
  }
  const rows = input.active.length;
  const users = checkGroups(input.groupStarts, rows);
  if (!(input.quiz instanceof Float64Array)) throw new TypeError("quiz must be a Float64Array");
  if (input.quiz.length !== rows) {
    throw new RangeError(`quiz has ${input.quiz.length} rows, expected ${rows} (the length of active)`);
  }
  checkNumeric(input.paySuccess, { name: "paySuccess", rows });
  checkNumeric(input.payFail, { name: "payFail", rows });
  checkNumeric(input.daysSinceSignup, { name: "daysSinceSignup", rows });
  if (typeof input.columns !== "object" || input.columns === null) throw new TypeError("columns must be an object");
  for (const [name, column] of Object.entries(input.columns)) checkNumeric(column, { name: `column ${name}`, rows });
  if (!Array.isArray(options.windows) || options.windows.length === 0) {
    throw new RangeError("windows must be a non-empty array of positive integers");
  }
  const windows = options.windows.map((w, i) => checkWindow(w, `windows[${i}]`));
  if (options.widths !== undefined) checkWidths(options.widths, { columns: input.columns, windows: windows.length });
  const rateWindow = options.rateWindow === undefined
    ? (windows.includes(30) ? 30 : Math.max(...windows))
    : checkWindow(options.rateWindow, "rateWindow");
  return { rows, users, windows, rateWindow };
}

function checkWidth(value: unknown, name: string): void {
  if (value !== 8 && value !== 16 && value !== 32) {
    throw new RangeError(`${name} must be 8, 16 or 32, got ${String(value)}`);
  }
}

function checkWidths(
  widths: RollingWidths,
  { columns, windows }: { columns: Readonly<Record<string, NumericColumn>>; windows: number },
): void {
  if (typeof widths !== "object" || widths === null) throw new TypeError("widths must be an object");
  if (widths.daysSinceLastActivity !== undefined) {
    checkWidth(widths.daysSinceLastActivity, "widths.daysSinceLastActivity");
  }
  for (const [name, list] of Object.entries(widths.sums ?? {})) {
    if (!(columns[name] instanceof Int32Array)) {
      throw new TypeError(`widths.sums.${name} names no Int32Array column of the input`);
    }
    if (!Array.isArray(list) || list.length !== windows) {
      throw new RangeError(`widths.sums.${name} must list one width per window (${windows})`);
    }
    list.forEach((w, i) => checkWidth(w, `widths.sums.${name}[${i}]`));
  }
}

/** The checked shape of a label call. */
export interface LabelPlan {
  /** Number of rows. */
  readonly rows: number;
  /** Number of users. */
  readonly users: number;
  /** The churn window. */
  readonly w: number;
}

/** Checks a label call's input and options; throws `TypeError`/`RangeError` naming the bad value. */
export function checkLabels(input: LabelInput, options: LabelOptions): LabelPlan {
  if (typeof input !== "object" || input === null) throw new TypeError("input must be an object");
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  if (!(input.active instanceof Int32Array) && !(input.active instanceof Float64Array)) {
    throw new TypeError("active must be an Int32Array or a Float64Array");
  }
  const rows = input.active.length;
  const users = checkGroups(input.groupStarts, rows);
  return { rows, users, w: checkWindow(options.windowDays, "windowDays") };
}

/** Buffers allocated by this folder: only these may be re-viewed beyond their current length. */
const owned = new WeakSet<ArrayBufferLike>();

/** A typed-array constructor handled by {@link outArray}. */
export type OutConstructor =
  | Int32ArrayConstructor
  | Int16ArrayConstructor
  | Int8ArrayConstructor
  | Float64ArrayConstructor
  | Uint8ArrayConstructor;

/**
 * Returns an array of `rows` elements to write an output into: `prev` itself (or a view of its
 * first rows) when it is long enough, a longer view over its buffer when this folder allocated it,
 * else a new array of type `type`. `accept` lists the types `prev` may have.
 */
export function outArray<T extends CountArray | Float64Array | Uint8Array>(
  prev: T | undefined,
  rows: number,
  options: { type: OutConstructor; accept: readonly OutConstructor[]; name: string },
): T {
  if (prev !== undefined && prev !== null) {
    if (!options.accept.some((c) => prev instanceof c)) {
      throw new TypeError(`out.${options.name} must be one of ${options.accept.map((c) => c.name).join(", ")}`);
    }
    if (prev.length === rows) return prev;
    if (prev.length > rows) return prev.subarray(0, rows) as T;
    if (owned.has(prev.buffer)) {
      const ctor = prev.constructor as OutConstructor;
      if (prev.buffer.byteLength - prev.byteOffset >= rows * ctor.BYTES_PER_ELEMENT) {
        return new ctor(prev.buffer as ArrayBuffer, prev.byteOffset, rows) as T;
      }
    } else {
      throw new RangeError(`out.${options.name} has ${prev.length} elements, needs at least ${rows}`);
    }
  }
  const fresh = new options.type(rows) as T;
  owned.add(fresh.buffer);
  return fresh;
}

const COUNT_TYPES = { 8: Int8Array, 16: Int16Array, 32: Int32Array } as const;

/**
 * {@link outArray} for an integer output of width `options.width`: a new array of that width, or
 * `prev` when it is an integer array at least that wide (or a Float64Array, with `float`).
 */
export function countOut(
  prev: SumColumn | undefined,
  rows: number,
  options: { width: CountWidth; float?: boolean; name: string },
): SumColumn {
  const accept: OutConstructor[] = [Int32Array];
  if (options.width <= 16) accept.push(Int16Array);
  if (options.width === 8) accept.push(Int8Array);
  if (options.float) accept.push(Float64Array);
  return outArray(prev, rows, { type: COUNT_TYPES[options.width], accept, name: options.name });
}
