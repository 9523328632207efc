// churn-mlops drift kernels (AssemblyScript, compiled by wasm/build.ts into wasm/psi.wasm): the
// bucket counts of the Population Stability Index and the index itself.
//
// Memory model: as for the core (see core.ts), the module is built with `--runtime stub` and
// allocates nothing. The TypeScript loader (wasm/psi.ts) owns the linear memory as an arena from
// `heap_base()`: it copies a block of one feature's values into it, calls a kernel that adds the
// block's counts to a Float64 count region, and reuses the same bytes for the next block.
//
// Bucketing without a scatter: with edges e₀ ≤ e₁ ≤ … ≤ e_{m−1} (the interior quantile edges;
// the outer buckets are open to ±∞), the bucket of x is the number of edges ≤ x, so the bucket
// counts are differences of the m counts C_k = #{x ≥ e_k}: bucket 0 holds n − C₀, bucket k holds
// C_{k−1} − C_k, bucket m holds C_{m−1}. Each C_k is one SIMD compare-and-subtract pass over the
// block (held in the cache between passes), 2 Float64 or 4 Int32 values per instruction, with no
// data-dependent stores (a histogram's increments would serialise on repeated buckets).
//
// Missing values: the model reads a missing numeric value (NaN) as 0, and so does the drift check.
// For an edge e > 0 the pass counts x ≥ e, false for NaN as for 0; for e ≤ 0 it counts x < e and
// stores n minus that, so NaN (never < e) counts as ≥ e, as 0 does. No pass rewrites the input.

// v128 paths. `false` compiles the scalar code only; measured that way with wasm/psi_bench.ts, SIMD
// makes the drift check about 5x faster (20 inputs × 1,000,000 rows: 95 → 19 ms; all 47 inputs of
// one date of 100,000 users: 23 → 5 ms).
const SIMD: bool = true;

/** First 16-byte aligned byte offset free for the loader's arena. */
export function heap_base(): usize {
  return (__heap_base + 15) & ~(<usize> 15);
}

@inline
function f64At(p: usize, i: i32): f64 {
  return load<f64>(p + (<usize> i << 3));
}

@inline
function addF64(p: usize, i: i32, v: f64): void {
  const q = p + (<usize> i << 3);
  store<f64>(q, load<f64>(q) + v);
}

/** Sums the two Int64 lanes of a v128 counter. */
@inline
function lanes64(v: v128): i64 {
  return i64x2.extract_lane(v, 0) + i64x2.extract_lane(v, 1);
}

/** Sums the four Int32 lanes of a v128 counter. */
@inline
function lanes32(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) +
    i32x4.extract_lane(v, 3);
}

/** #{i < n : x[i] ≥ e}, NaN never counted (Float64 values). */
function countGeF64(x: usize, n: i32, e: f64): i32 {
  let c: i32 = 0;
  let i = 0;
  if (SIMD) {
    const ve = f64x2.splat(e);
    let a0 = i64x2.splat(0);
    let a1 = i64x2.splat(0);
    // A true lane of the comparison is all ones (−1): subtracting it counts one.
    for (; i + 8 <= n; i += 8) {
      const p = x + (<usize> i << 3);
      a0 = i64x2.sub(a0, f64x2.ge(v128.load(p), ve));
      a1 = i64x2.sub(a1, f64x2.ge(v128.load(p, 16), ve));
      a0 = i64x2.sub(a0, f64x2.ge(v128.load(p, 32), ve));
      a1 = i64x2.sub(a1, f64x2.ge(v128.load(p, 48), ve));
    }
    c = <i32> (lanes64(a0) + lanes64(a1));
  }
  for (; i < n; i++) c += i32(f64At(x, i) >= e);
  return c;
}

/** #{i < n : x[i] < e}, NaN never counted (Float64 values). */
function countLtF64(x: usize, n: i32, e: f64): i32 {
  let c: i32 = 0;
  let i = 0;
  if (SIMD) {
    const ve = f64x2.splat(e);
    let a0 = i64x2.splat(0);
    let a1 = i64x2.splat(0);
    for (; i + 8 <= n; i += 8) {
      const p = x + (<usize> i << 3);
      a0 = i64x2.sub(a0, f64x2.lt(v128.load(p), ve));
      a1 = i64x2.sub(a1, f64x2.lt(v128.load(p, 16), ve));
      a0 = i64x2.sub(a0, f64x2.lt(v128.load(p, 32), ve));
      a1 = i64x2.sub(a1, f64x2.lt(v128.load(p, 48), ve));
    }
    c = <i32> (lanes64(a0) + lanes64(a1));
  }
  for (; i < n; i++) c += i32(f64At(x, i) < e);
  return c;
}

/**
 * Adds to `counts[k]` (Float64) the number of the `n` Float64 values at `x` that are ≥ `edges[k]`,
 * for the `m` Float64 edges at `edges`, a missing value (NaN) counting as 0.
 */
export function count_ge_f64(x: usize, n: i32, edges: usize, m: i32, counts: usize): void {
  for (let k = 0; k < m; k++) {
    const e = f64At(edges, k);
    const c = e <= 0 ? n - countLtF64(x, n, e) : countGeF64(x, n, e);
    addF64(counts, k, <f64> c);
  }
}

/**
 * Adds to `counts[k]` (Float64) the number of the `n` Int32 values at `x` that are ≥
 * `thresholds[k]` (Int32: the loader passes ⌈edge⌉, so that x ≥ edge ⇔ x ≥ ⌈edge⌉ for an integer x).
 */
export function count_ge_i32(x: usize, n: i32, thresholds: usize, m: i32, counts: usize): void {
  for (let k = 0; k < m; k++) {
    const t = load<i32>(thresholds + (<usize> k << 2));
    let c: i32 = 0;
    let i = 0;
    if (SIMD) {
      // x ≥ t ⇔ x > t − 1 (t − 1 does not wrap: the loader never passes i32::MIN as a threshold).
      const vt = i32x4.splat(t - 1);
      let a0 = i32x4.splat(0);
      let a1 = i32x4.splat(0);
      for (; i + 16 <= n; i += 16) {
        const p = x + (<usize> i << 2);
        a0 = i32x4.sub(a0, i32x4.gt_s(v128.load(p), vt));
        a1 = i32x4.sub(a1, i32x4.gt_s(v128.load(p, 16), vt));
        a0 = i32x4.sub(a0, i32x4.gt_s(v128.load(p, 32), vt));
        a1 = i32x4.sub(a1, i32x4.gt_s(v128.load(p, 48), vt));
      }
      c = lanes32(a0) + lanes32(a1);
    }
    for (; i < n; i++) c += i32(load<i32>(x + (<usize> i << 2)) >= t);
    addF64(counts, k, <f64> c);
  }
}

/** The bucket of code `c`: `map[c + 1]`, or `other` when c + 1 is outside the map's `mapLen` slots. */
@inline
function bucketOf(c: i32, map: usize, mapLen: i32, other: i32): i32 {
  return <u32> (c + 1) < <u32> mapLen ? load<i32>(map + (<usize> (c + 1) << 2)) : other;
}

/**
 * Adds to `counts[b]` (Float64, `buckets` slots) the number of the `n` Int32 codes at `codes` whose
 * bucket is b: code c (−1 for missing) goes to bucket `map[c + 1]` (Int32, `mapLen` slots), and a
 * code outside the map to bucket `other`. `scratch` holds 4 × `buckets` Int32 slots: four
 * interleaved histograms, so that runs of one code do not wait on their own increments.
 */
export function count_codes(
  codes: usize,
  n: i32,
  map: usize,
  mapLen: i32,
  other: i32,
  counts: usize,
  buckets: i32,
  scratch: usize,
): void {
  memory.fill(scratch, 0, <usize> buckets << 4);
  const h1 = scratch + (<usize> buckets << 2);
  const h2 = h1 + (<usize> buckets << 2);
  const h3 = h2 + (<usize> buckets << 2);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const p = codes + (<usize> i << 2);
    const b0 = <usize> bucketOf(load<i32>(p), map, mapLen, other) << 2;
    const b1 = <usize> bucketOf(load<i32>(p, 4), map, mapLen, other) << 2;
    const b2 = <usize> bucketOf(load<i32>(p, 8), map, mapLen, other) << 2;
    const b3 = <usize> bucketOf(load<i32>(p, 12), map, mapLen, other) << 2;
    store<i32>(scratch + b0, load<i32>(scratch + b0) + 1);
    store<i32>(h1 + b1, load<i32>(h1 + b1) + 1);
    store<i32>(h2 + b2, load<i32>(h2 + b2) + 1);
    store<i32>(h3 + b3, load<i32>(h3 + b3) + 1);
  }
  for (; i < n; i++) {
    const b = <usize> bucketOf(load<i32>(codes + (<usize> i << 2)), map, mapLen, other) << 2;
    store<i32>(scratch + b, load<i32>(scratch + b) + 1);
  }
  for (let b = 0; b < buckets; b++) {
    const o = <usize> b << 2;
    addF64(counts, b, <f64> (load<i32>(scratch + o) + load<i32>(h1 + o) + load<i32>(h2 + o) + load<i32>(h3 + o)));
  }
}

/**
 * The Population Stability Index of `k` bucket shares (Float64): Σ (c − r)·ln(c / r) over the
 * reference shares r at `ref` and the current shares c at `cur`, each share floored at `floor`
 * (> 0), so that an empty bucket never divides by zero or takes the log of zero.
 */
export function psi(ref: usize, cur: usize, k: i32, floor: f64): f64 {
  let s: f64 = 0;
  for (let b = 0; b < k; b++) {
    const r = max(f64At(ref, b), floor);
    const c = max(f64At(cur, b), floor);
    s += (c - r) * Math.log(c / r);
  }
  return s;
}
