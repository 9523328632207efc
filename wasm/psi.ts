/**
 * The drift kernels in WebAssembly (`psi.wasm`, built from `assembly/psi.ts` by `build.ts`): the
 * bucket counts of a numeric feature against its quantile edges, the counts of a categorical
 * feature's codes, and the Population Stability Index of two share vectors. The semantics are
 * those of `psi_reference.ts` (the test oracle): bucket b holds the values with exactly b edges ≤ x,
 * the outer buckets open to ±∞, a missing value read as 0.
 *
 * This module owns the kernel's linear memory as in `mod.ts`: each call streams the values through
 * an arena of one block ({@link PSI_BLOCK} values, small enough that the kernel's passes over it
 * hit the cache) laid out from the module's heap base, grows the memory only when a call needs
 * more, and rebuilds its typed-array views after growth. Equal edges are counted once, and an
 * Int32 feature is compared in the Int32 domain against ⌈edge⌉, four values per instruction.
 *
 * @module
 */

import { WasmArena } from "./arena.ts";
import * as k from "./psi.wasm";
import {
  bucketCountsTs,
  type BucketOptions,
  checkCodes,
  checkEdges,
  checkShares,
  checkValues,
  codeCountsTs,
  type CodeOptions,
  countsOut,
  type NumericValues,
  PSI_FLOOR,
  psiTs,
} from "./psi_reference.ts";

export {
  bucketCountsTs,
  type BucketOptions,
  codeCountsTs,
  type CodeOptions,
  type NumericValues,
  PSI_FLOOR,
  type PsiImpl,
  psiTs,
  sharesOf,
} from "./psi_reference.ts";

const I32_MIN = -2147483648;
const I32_MAX = 2147483647;
const arena = new WasmArena(k.memory, k.heap_base());

/**
 * Values per block streamed through Wasm memory: 32 KiB of Float64 (16 KiB of Int32), so that the
 * kernel's one pass per distinct edge reads the block from the L1 cache.
 */
export const PSI_BLOCK = 4096;

/** Current size of the drift kernel's linear memory in bytes (grows, never shrinks). */
export function psiMemoryBytes(): number {
  return arena.bytes;
}

/** The distinct values of a non-decreasing array, and the index of each value among them. */
function distinct(sorted: Float64Array): { values: Float64Array; index: Int32Array } {
  const index = new Int32Array(sorted.length);
  const values: number[] = [];
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) values.push(sorted[i]);
    index[i] = values.length - 1;
  }
  return { values: Float64Array.from(values), index };
}

/**
 * C[j] = #{x ≥ u[j]} for the distinct edges u (Float64 values, NaN read as 0), streamed in blocks.
 */
function countAtLeastF64(values: Float64Array, u: Float64Array): Float64Array {
  const m = u.length, n = values.length;
  const layout = arena.layout();
  const xp = layout.take(PSI_BLOCK * 8);
  const ep = layout.take(m * 8);
  const cp = layout.take(m * 8);
  arena.reserve(layout.size);
  arena.f64.set(u, ep >>> 3);
  arena.f64.fill(0, cp >>> 3, (cp >>> 3) + m);
  for (let a = 0; a < n; a += PSI_BLOCK) {
    const b = Math.min(n, a + PSI_BLOCK);
    arena.f64.set(values.subarray(a, b), xp >>> 3);
    k.count_ge_f64(xp, b - a, ep, m, cp);
  }
  return arena.f64.slice(cp >>> 3, (cp >>> 3) + m);
}

/**
 * C[j] = #{x ≥ u[j]} for the distinct edges u over integer values (Int32 or bytes): x ≥ e ⇔
 * x ≥ ⌈e⌉, edges below the Int32 range count every value, edges above it none.
 */
function countAtLeastInt(values: Int32Array | Uint8Array, u: Float64Array): Float64Array {
  const m = u.length, n = values.length;
  const out = new Float64Array(m);
  // Edges whose threshold is in (I32_MIN, I32_MAX] go to the kernel; the others are settled here.
  let lo = 0;
  while (lo < m && Math.ceil(u[lo]) <= I32_MIN) out[lo++] = n;
  let hi = lo;
  while (hi < m && Math.ceil(u[hi]) <= I32_MAX) hi++;
  if (hi === lo) return out;
  const { values: t, index } = distinct(Float64Array.from(u.subarray(lo, hi), Math.ceil));
  const mt = t.length;
  const layout = arena.layout();
  const xp = layout.take(PSI_BLOCK * 4);
  const tp = layout.take(mt * 4);
  const cp = layout.take(mt * 8);
  arena.reserve(layout.size);
  arena.i32.set(t, tp >>> 2);
  arena.f64.fill(0, cp >>> 3, (cp >>> 3) + mt);
  for (let a = 0; a < n; a += PSI_BLOCK) {
    const b = Math.min(n, a + PSI_BLOCK);
    // A byte array is widened to Int32 by the copy itself.
    arena.i32.set(values.subarray(a, b), xp >>> 2);
    k.count_ge_i32(xp, b - a, tp, mt, cp);
  }
  const c = cp >>> 3;
  for (let j = lo; j < hi; j++) out[j] = arena.f64[c + index[j - lo]];
  return out;
}

/**
 * Counts the values in each of the `edges.length + 1` buckets: bucket b holds the values x with
 * exactly b edges ≤ x (the outer buckets open to ±∞), a missing value (NaN) read as 0. Computed as
 * differences of #{x ≥ e} per distinct edge, each one SIMD pass in Wasm; `impl: "typescript"`
 * runs the reference instead. Exact (integer counts).
 *
 * @throws {TypeError} when `values` is not a Float64Array, an Int32Array or a Uint8Array.
 * @throws {RangeError} when an edge is NaN or smaller than the one before, or `out` has the wrong size.
 */
export function bucketCounts(values: NumericValues, options: BucketOptions): Float64Array {
  if (options.impl === "typescript") return bucketCountsTs(values, options);
  checkValues(values);
  const edges = checkEdges(options.edges);
  const m = edges.length, n = values.length;
  const out = countsOut(options.out, m + 1);
  if (m === 0 || n === 0) {
    out.fill(0);
    out[0] = n;
    return out;
  }
  const { values: u, index } = distinct(edges);
  const cu = values instanceof Float64Array ? countAtLeastF64(values, u) : countAtLeastInt(values, u);
  out[0] = n - cu[index[0]];
  for (let j = 1; j < m; j++) out[j] = cu[index[j - 1]] - cu[index[j]];
  out[m] = cu[index[m - 1]];
  return out;
}

/**
 * Counts the codes in each bucket: code c (−1 for missing) in bucket `slots[c + 1]`, a code outside
 * the slots in bucket `other`; `impl: "typescript"` runs the reference instead.
 *
 * @throws {TypeError} when `codes` or `slots` is not an Int32Array.
 * @throws {RangeError} when `buckets`, `other` or a slot is out of range, or `out` has the wrong size.
 */
export function codeCounts(codes: Int32Array, options: CodeOptions): Float64Array {
  if (options.impl === "typescript") return codeCountsTs(codes, options);
  checkCodes(codes, options);
  const { slots, buckets, other } = options;
  const out = countsOut(options.out, buckets);
  const n = codes.length;
  const layout = arena.layout();
  const xp = layout.take(PSI_BLOCK * 4);
  const mp = layout.take(slots.length * 4);
  const cp = layout.take(buckets * 8);
  const sp = layout.take(buckets * 16);
  arena.reserve(layout.size);
  arena.i32.set(slots, mp >>> 2);
  arena.f64.fill(0, cp >>> 3, (cp >>> 3) + buckets);
  for (let a = 0; a < n; a += PSI_BLOCK) {
    const b = Math.min(n, a + PSI_BLOCK);
    arena.i32.set(codes.subarray(a, b), xp >>> 2);
    k.count_codes(xp, b - a, mp, slots.length, other, cp, buckets, sp);
  }
  out.set(arena.f64.subarray(cp >>> 3, (cp >>> 3) + buckets));
  return out;
}

/**
 * The Population Stability Index Σ (c − r)·ln(c / r) of the reference shares r and the current
 * shares c, every share floored at {@link PSI_FLOOR} (so an empty bucket never divides by zero);
 * computed in Wasm, or by the reference with `options.impl: "typescript"`.
 *
 * @throws {TypeError} when a share vector is not an array of numbers.
 * @throws {RangeError} when the lengths differ or are 0, or a share is negative or not finite.
 */
export function psi(
  reference: ArrayLike<number>,
  current: ArrayLike<number>,
  options: { impl?: "wasm" | "typescript" } = {},
): number {
  if (options.impl === "typescript") return psiTs(reference, current);
  checkShares(reference, current);
  const b = reference.length;
  const layout = arena.layout();
  const rp = layout.take(b * 8);
  const cp = layout.take(b * 8);
  arena.reserve(layout.size);
  arena.f64.set(reference, rp >>> 3);
  arena.f64.set(current, cp >>> 3);
  return k.psi(rp, cp, b, PSI_FLOOR);
}
