/**
 * The drift kernels in plain TypeScript: the definitions the Wasm kernels of `psi.ts` are tested
 * against (and the fallback when `impl: "typescript"` is asked for), plus the input checks both
 * share.
 *
 * Bucketing: with interior edges e₀ ≤ … ≤ e_{m−1}, a value x falls in bucket b = #{k : e_k ≤ x}
 * (so bucket 0 is (−∞, e₀), bucket k is [e_{k−1}, e_k) and bucket m is [e_{m−1}, +∞): the outer
 * buckets are open); a missing value (NaN) is read as 0, as the model's imputation does. A
 * categorical code c (−1 for missing) falls in bucket `slots[c + 1]`, a code outside the slots in
 * bucket `other`.
 *
 * @module
 */

/** Numeric values as the tables hold them: Float64 (NaN for missing), Int32 or 0/1 bytes. */
export type NumericValues = Float64Array | Int32Array | Uint8Array;

/** Which implementation counts: the Wasm kernels (default) or this module. */
export type PsiImpl = "wasm" | "typescript";

/** The floor of a bucket share in the PSI sum: an empty bucket counts as this share. */
export const PSI_FLOOR = 1e-6;

/** Options of {@link bucketCountsTs} and `bucketCounts`. */
export interface BucketOptions {
  /** Interior edges, non-decreasing, no NaN (±Infinity allowed); `edges.length + 1` buckets. */
  edges: ArrayLike<number>;
  /** Array of `edges.length + 1` slots to fill (default a new one). */
  out?: Float64Array;
  /** Implementation (default `wasm`; the reference ignores it). */
  impl?: PsiImpl;
}

/** Options of {@link codeCountsTs} and `codeCounts`. */
export interface CodeOptions {
  /** Bucket of code c at index c + 1 (index 0: the missing code −1); each in [0, buckets). */
  slots: Int32Array;
  /** Number of buckets. */
  buckets: number;
  /** Bucket of a code outside `slots`, in [0, buckets). */
  other: number;
  /** Array of `buckets` slots to fill (default a new one). */
  out?: Float64Array;
  /** Implementation (default `wasm`; the reference ignores it). */
  impl?: PsiImpl;
}

/**
 * Checks bucket edges and returns them as a Float64Array.
 *
 * @throws {TypeError} when `edges` is not an array of numbers.
 * @throws {RangeError} naming the first edge that is NaN or smaller than the one before.
 */
export function checkEdges(edges: ArrayLike<number>): Float64Array {
  if (edges === null || typeof edges !== "object" || typeof edges.length !== "number") {
    throw new TypeError(`edges must be an array of numbers, got ${edges === null ? "null" : typeof edges}`);
  }
  const e = Float64Array.from(edges as ArrayLike<number>);
  for (let k = 0; k < e.length; k++) {
    if (typeof edges[k] !== "number") throw new TypeError(`edges[${k}] must be a number, got ${typeof edges[k]}`);
    if (Number.isNaN(e[k])) throw new RangeError(`edges[${k}] is NaN: edges must be numbers`);
    if (k > 0 && e[k] < e[k - 1]) {
      throw new RangeError(
        `edges[${k}] (${e[k]}) is smaller than edges[${k - 1}] (${e[k - 1]}): edges must not decrease`,
      );
    }
  }
  return e;
}

/**
 * Checks numeric values.
 *
 * @throws {TypeError} when `values` is not a Float64Array, an Int32Array or a Uint8Array.
 */
export function checkValues(values: NumericValues): NumericValues {
  if (!(values instanceof Float64Array) && !(values instanceof Int32Array) && !(values instanceof Uint8Array)) {
    throw new TypeError(`values must be a Float64Array, an Int32Array or a Uint8Array, got ${describe(values)}`);
  }
  return values;
}

/**
 * Checks the options of a code count.
 *
 * @throws {TypeError} when `codes` or `slots` is not an Int32Array.
 * @throws {RangeError} when `buckets` is not a positive integer or a slot or `other` is not a bucket.
 */
export function checkCodes(codes: Int32Array, options: CodeOptions): void {
  if (!(codes instanceof Int32Array)) throw new TypeError(`codes must be an Int32Array, got ${describe(codes)}`);
  const { slots, buckets, other } = options;
  if (!(slots instanceof Int32Array)) throw new TypeError(`slots must be an Int32Array, got ${describe(slots)}`);
  if (!Number.isSafeInteger(buckets) || buckets < 1 || buckets > 1 << 20) {
    throw new RangeError(`buckets must be an integer from 1 to 2^20, got ${buckets}`);
  }
  if (!Number.isInteger(other) || other < 0 || other >= buckets) {
    throw new RangeError(`other must be a bucket in [0, ${buckets}), got ${other}`);
  }
  for (let i = 0; i < slots.length; i++) {
    if (slots[i] < 0 || slots[i] >= buckets) {
      throw new RangeError(`slots[${i}] must be in [0, ${buckets}), got ${slots[i]}`);
    }
  }
}

/**
 * Returns the output array of `length` slots: `out` when given (checked), else a new one.
 *
 * @throws {RangeError} when `out` is not a Float64Array of `length` slots.
 */
export function countsOut(out: Float64Array | undefined, length: number): Float64Array {
  if (out === undefined) return new Float64Array(length);
  if (!(out instanceof Float64Array) || out.length !== length) {
    throw new RangeError(`out must be a Float64Array of ${length} slots, got ${describe(out)} of ${out?.length}`);
  }
  return out;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v !== "object") return typeof v;
  return (v as object).constructor?.name ?? "object";
}

/** Number of edges ≤ x (binary search for the first edge greater than x). */
function upperBound(edges: Float64Array, x: number): number {
  let lo = 0, hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Counts the values in each of the `edges.length + 1` buckets (see the module doc), one binary
 * search per value; a missing value (NaN) counts as 0.
 *
 * @throws {TypeError} / {RangeError} on wrong inputs (see {@link checkEdges}, {@link checkValues}).
 */
export function bucketCountsTs(values: NumericValues, options: BucketOptions): Float64Array {
  checkValues(values);
  const edges = checkEdges(options.edges);
  const out = countsOut(options.out, edges.length + 1);
  out.fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    out[upperBound(edges, v === v ? v : 0)]++;
  }
  return out;
}

/**
 * Counts the codes in each bucket: code c (−1 for missing) in bucket `slots[c + 1]`, a code outside
 * the slots in bucket `other`.
 *
 * @throws {TypeError} / {RangeError} on wrong inputs (see {@link checkCodes}).
 */
export function codeCountsTs(codes: Int32Array, options: CodeOptions): Float64Array {
  checkCodes(codes, options);
  const { slots, other } = options;
  const out = countsOut(options.out, options.buckets);
  out.fill(0);
  for (let i = 0; i < codes.length; i++) {
    const j = codes[i] + 1;
    out[j >= 0 && j < slots.length ? slots[j] : other]++;
  }
  return out;
}

/** Returns each count's share of the total; all zeros when the total is 0 (never divides by zero). */
export function sharesOf(counts: ArrayLike<number>): Float64Array {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  const out = new Float64Array(counts.length);
  if (total > 0) { for (let i = 0; i < counts.length; i++) out[i] = counts[i] / total; }
  return out;
}

/**
 * Checks two share vectors of one length.
 *
 * @throws {TypeError} when one is not an array of numbers.
 * @throws {RangeError} when their lengths differ, they are empty, or a share is negative or not finite.
 */
export function checkShares(reference: ArrayLike<number>, current: ArrayLike<number>): void {
  for (const [name, v] of [["reference", reference], ["current", current]] as const) {
    if (v === null || typeof v !== "object" || typeof v.length !== "number") {
      throw new TypeError(`${name} must be an array of shares, got ${describe(v)}`);
    }
    for (let i = 0; i < v.length; i++) {
      if (typeof v[i] !== "number" || !(v[i] >= 0) || !Number.isFinite(v[i])) {
        throw new RangeError(`${name}[${i}] must be a finite share ≥ 0, got ${v[i]}`);
      }
    }
  }
  if (reference.length !== current.length) {
    throw new RangeError(`reference has ${reference.length} shares but current has ${current.length}`);
  }
  if (reference.length === 0) throw new RangeError("reference and current have no shares");
}

/**
 * The Population Stability Index Σ (c − r)·ln(c / r) of the reference shares r and the current
 * shares c, every share floored at {@link PSI_FLOOR}.
 *
 * @throws {TypeError} / {RangeError} on wrong inputs (see {@link checkShares}).
 */
export function psiTs(reference: ArrayLike<number>, current: ArrayLike<number>): number {
  checkShares(reference, current);
  let s = 0;
  for (let b = 0; b < reference.length; b++) {
    const r = Math.max(reference[b], PSI_FLOOR), c = Math.max(current[b], PSI_FLOOR);
    s += (c - r) * Math.log(c / r);
  }
  return s;
}
