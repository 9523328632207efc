// churn-mlops histogram gradient boosting kernels (AssemblyScript, compiled by wasm/build.ts into
// wasm/hgb.wasm), the numeric core of scikit-learn's HistGradientBoostingClassifier algorithm.
//
// Memory model: as in core.ts, the module is built with `--runtime stub` and allocates nothing.
// The TypeScript loader (wasm/hgb.ts) owns the linear memory as one arena laid out from
// `heap_base()`: the binned matrix, gradients, raw scores, row partition, histogram slots and
// trees, grown with `memory.grow` when a fit or a prediction block needs more.
//
// Layouts:
// - binned matrix: column-major Uint8, feature f of row r at `xb + f * n + r`; bin `mb` (the
//   "missing bin", max_bins) holds NaN, bins 0..mb-1 the values. The validation rows also get a
//   row-major copy (a row's bins together) for the tree walks of early stopping.
// - gradients: one (gradient, hessian) Float32 pair per row at `gh + row * 8` (scikit-learn keeps
//   them in float32 too); raw scores one Float64 per row.
// - row lists: Uint32 row numbers, ascending within a node (the partition is stable).
// - histogram slot: `nf * 256` (sum_gradients, sum_hessians) Float64 pairs (16 bytes, feature f
//   at `hist + f * 4096`), then `nf * 256` Int32 counts (at `hist + nf * 4096 + f * 1024`).
// - tree node: 32 bytes: f64 raw threshold @0, f64 value @8, i32 feature @16 (-1 for a leaf),
//   i32 left @20 and i32 right @24 (node numbers within the tree), u8 bin threshold @28,
//   u8 missing-goes-left @29.

/** First 16-byte aligned byte offset free for the loader's arena. */
export function heap_base(): usize {
  return (__heap_base + 15) & ~(<usize> 15);
}

/** Bytes of one histogram slot for `nf` features. */
export function slot_bytes(nf: i32): usize {
  return <usize> nf * 5120;
}

// ---------------------------------------------------------------------------------------------
// Binning

/**
 * The bin of `v` in a table of thresholds (ascending, padded with +Infinity to at least
 * 2^steps - 1 entries): the number of the first 2^steps - 1 below `v`, by a branchless binary
 * search of `steps` dependent steps (NaN: 0).
 */
// @ts-ignore: decorator
@inline
function bin_of(table: usize, v: f64, steps: i32): usize {
  let p: usize = 0;
  // Enter the unrolled search at the step for this table size; every case falls through.
  switch (steps) {
    case 8:
      p += <usize> (load<f64>(table, 1016) < v) << 7;
    case 7:
      p += <usize> (load<f64>(table + (p << 3), 504) < v) << 6;
    case 6:
      p += <usize> (load<f64>(table + (p << 3), 248) < v) << 5;
    case 5:
      p += <usize> (load<f64>(table + (p << 3), 120) < v) << 4;
    case 4:
      p += <usize> (load<f64>(table + (p << 3), 56) < v) << 3;
    case 3:
      p += <usize> (load<f64>(table + (p << 3), 24) < v) << 2;
    case 2:
      p += <usize> (load<f64>(table + (p << 3), 8) < v) << 1;
    case 1:
      p += <usize> (load<f64>(table + (p << 3)) < v);
  }
  return p;
}

/**
 * Bins `n` Float64 values at `x` with a table of 256 Float64 thresholds (ascending, padded with
 * +Infinity; entry 255 unused) of which fewer than 2^steps are finite: a value goes to the number
 * of thresholds strictly below it, which is scikit-learn's bin (`t[b - 1] < x <= t[b]`), NaN to
 * `missing_bin`. Writes one byte per value at `out`, `stride` bytes apart. Returns the number of
 * NaN values.
 */
export function bin_column(x: usize, n: i32, table: usize, steps: i32, missing_bin: i32, out: usize, stride: i32): i32 {
  let nan = 0;
  const st = <usize> stride;
  let o = out;
  let i = 0;
  // Two values per step: independent searches the processor overlaps.
  for (; i + 2 <= n; i += 2) {
    const v0 = load<f64>(x + (<usize> i << 3));
    const v1 = load<f64>(x + (<usize> i << 3), 8);
    const p0 = bin_of(table, v0, steps);
    const p1 = bin_of(table, v1, steps);
    store<u8>(o, <u8> select<i32>(<i32> p0, missing_bin, v0 == v0));
    store<u8>(o + st, <u8> select<i32>(<i32> p1, missing_bin, v1 == v1));
    nan += <i32> (v0 != v0) + <i32> (v1 != v1);
    o += st << 1;
  }
  if (i < n) {
    const v = load<f64>(x + (<usize> i << 3));
    store<u8>(o, <u8> select<i32>(<i32> bin_of(table, v, steps), missing_bin, v == v));
    nan += <i32> (v != v);
  }
  return nan;
}

/**
 * Sorts `n` Float64 values at `x` ascending (no NaN; -0 before +0), using `tmp` (n Float64) and
 * `counts` (6 × 2048 Int32) as scratch: an LSD radix sort on the order-preserving 64-bit keys
 * (sign bit flipped, or every bit for negatives), six passes of 11 bits, a pass skipped when all
 * keys share its digit.
 */
export function sort_f64(x: usize, n: i32, tmp: usize, counts: usize): void {
  const m = <usize> n;
  memory.fill(counts, 0, 6 * 2048 * 4);
  for (let i: usize = 0; i < m; i++) {
    const b = load<u64>(x + (i << 3));
    const k = b ^ select<u64>(0xffffffffffffffff, 0x8000000000000000, <i64> b < 0);
    store<u64>(x + (i << 3), k);
    for (let d: u64 = 0; d < 6; d++) {
      const c = counts + (((<usize> d << 11) + (<usize> (k >> (d * 11)) & 2047)) << 2);
      store<i32>(c, load<i32>(c) + 1);
    }
  }
  let src = x;
  let dst = tmp;
  for (let d: u64 = 0; d < 6; d++) {
    const c = counts + (<usize> d << 13);
    const shift = d * 11;
    // Exclusive prefix sums; skip the pass when one bucket holds every key.
    let sum = 0;
    let trivial = false;
    for (let j: usize = 0; j < 2048; j++) {
      const v = load<i32>(c + (j << 2));
      if (v == n) trivial = true;
      store<i32>(c + (j << 2), sum);
      sum += v;
    }
    if (trivial) continue;
    for (let i: usize = 0; i < m; i++) {
      const k = load<u64>(src + (i << 3));
      const p = c + ((<usize> (k >> shift) & 2047) << 2);
      const at = load<i32>(p);
      store<i32>(p, at + 1);
      store<u64>(dst + (<usize> at << 3), k);
    }
    const t = src;
    src = dst;
    dst = t;
  }
  for (let i: usize = 0; i < m; i++) {
    const k = load<u64>(src + (i << 3));
    store<u64>(x + (i << 3), k ^ select<u64>(0x8000000000000000, 0xffffffffffffffff, <i64> k < 0));
  }
}

/**
 * Sets `out[f]` (one byte per feature) to 1 when a listed row has the missing bin in feature f of
 * the column-major binned matrix (`n` rows per column), else 0.
 */
export function missing_flags(xb: usize, n: i32, nf: i32, rows: usize, count: i32, missing_bin: i32, out: usize): void {
  for (let f = 0; f < nf; f++) {
    const col = xb + <usize> f * <usize> n;
    let any = 0;
    for (let i = 0; i < count; i++) {
      any |= <i32> (<i32> load<u8>(col + <usize> load<u32>(rows + (<usize> i << 2))) == missing_bin);
    }
    store<u8>(out + <usize> f, <u8> any);
  }
}

/** Copies the listed rows of the column-major binned matrix into a row-major one at `out` (`nf` bytes per row). */
export function gather_rows(xb: usize, n: i32, nf: i32, rows: usize, count: i32, out: usize): void {
  for (let f = 0; f < nf; f++) {
    const col = xb + <usize> f * <usize> n;
    let o = out + <usize> f;
    for (let i = 0; i < count; i++) {
      store<u8>(o, load<u8>(col + <usize> load<u32>(rows + (<usize> i << 2))));
      o += <usize> nf;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Loss, gradients and raw scores

// Polynomial coefficients, each twice (one v128 per coefficient): loading them from memory is
// cheaper in V8 than materialising f64x2.splat constants in the loops.
const EXP_COEFS = memory.data<f64>([
  1.6059043836821613e-10, 1.6059043836821613e-10,
  2.08767569878681e-09, 2.08767569878681e-09,
  2.505210838544172e-08, 2.505210838544172e-08,
  2.755731922398589e-07, 2.755731922398589e-07,
  2.7557319223985893e-06, 2.7557319223985893e-06,
  2.48015873015873e-05, 2.48015873015873e-05,
  0.0001984126984126984, 0.0001984126984126984,
  0.001388888888888889, 0.001388888888888889,
  0.008333333333333333, 0.008333333333333333,
  0.041666666666666664, 0.041666666666666664,
  0.16666666666666666, 0.16666666666666666,
  0.5, 0.5,
  1, 1,
  1, 1,
]);
const LOG_COEFS = memory.data<f64>([
  0.043478260869565216, 0.043478260869565216,
  0.047619047619047616, 0.047619047619047616,
  0.05263157894736842, 0.05263157894736842,
  0.058823529411764705, 0.058823529411764705,
  0.06666666666666667, 0.06666666666666667,
  0.07692307692307693, 0.07692307692307693,
  0.09090909090909091, 0.09090909090909091,
  0.1111111111111111, 0.1111111111111111,
  0.14285714285714285, 0.14285714285714285,
  0.2, 0.2,
  0.3333333333333333, 0.3333333333333333,
]);

/**
 * exp(x) for two lanes: x = k ln2 + r with |r| <= ln2 / 2, a degree-13 Taylor polynomial in r
 * times 2^k (within about 1 ulp; |x| clamped to 708).
 */
// @ts-ignore: decorator
@inline
function exp2x(x: v128): v128 {
  x = f64x2.min(f64x2.max(x, f64x2.splat(-708)), f64x2.splat(708));
  const k = f64x2.nearest(f64x2.mul(x, f64x2.splat(1.4426950408889634)));
  // ln 2 in two parts (fdlibm's): k * LN2_HI is exact for |k| < 2^11.
  const r = f64x2.sub(
    f64x2.sub(x, f64x2.mul(k, f64x2.splat(6.93147180369123816490e-01))),
    f64x2.mul(k, f64x2.splat(1.90821492927058770002e-10)),
  );
  let p = v128.load(EXP_COEFS);
  p = f64x2.add(f64x2.mul(p, r), v128.load(EXP_COEFS, 16));
  p = f64x2.add(f64x2.mul(p, r), v128.load(EXP_COEFS, 32));
  p = f64x2.add(f64x2.mul(p, r), v128.load(EXP_COEFS, 48));
  p = f64x2.add(f64x2.mul(p, r), v128.load(EXP_COEFS, 64));
  p = f64x2.add(f64x2.mul(p, r), v128.load(EXP_COEFS, 80));
  p = f64x2.add(f64x2.mul(p, r), v128.load(EXP_COEFS, 96));
  p = f64x2.add(f64x2.mul(p, r), v128.load(EXP_COEFS, 112));
  p = f64x2.add(f64x2.mul(p, r), v128.load(EXP_COEFS, 128));
  p = f64x2.add(f64x2.mul(p, r), v128.load(EXP_COEFS, 144));
  p = f64x2.add(f64x2.mul(p, r), v128.load(EXP_COEFS, 160));
  p = f64x2.add(f64x2.mul(p, r), v128.load(EXP_COEFS, 176));
  p = f64x2.add(f64x2.mul(p, r), v128.load(EXP_COEFS, 192));
  p = f64x2.add(f64x2.mul(p, r), v128.load(EXP_COEFS, 208));
  const scale = i64x2.shl(i64x2.add(i64x2.extend_low_i32x4_s(i32x4.trunc_sat_f64x2_s_zero(k)), i64x2.splat(1023)), 52);
  return f64x2.mul(p, scale);
}

/**
 * log(1 + a) for two lanes with a in [0, 1]: 2 atanh(s) with s = b / (2 + b), where b = a, or
 * b = (a - 1) / 2 plus ln 2 above sqrt(2) - 1, so that |s| <= 0.172 and twelve odd terms suffice.
 */
// @ts-ignore: decorator
@inline
function log1p2x(a: v128): v128 {
  const big = f64x2.gt(a, f64x2.splat(0.41421356237309503));
  const b = v128.bitselect(f64x2.mul(f64x2.sub(a, f64x2.splat(1)), f64x2.splat(0.5)), a, big);
  const s = f64x2.div(b, f64x2.add(b, f64x2.splat(2)));
  const z = f64x2.mul(s, s);
  let p = v128.load(LOG_COEFS);
  p = f64x2.add(f64x2.mul(p, z), v128.load(LOG_COEFS, 16));
  p = f64x2.add(f64x2.mul(p, z), v128.load(LOG_COEFS, 32));
  p = f64x2.add(f64x2.mul(p, z), v128.load(LOG_COEFS, 48));
  p = f64x2.add(f64x2.mul(p, z), v128.load(LOG_COEFS, 64));
  p = f64x2.add(f64x2.mul(p, z), v128.load(LOG_COEFS, 80));
  p = f64x2.add(f64x2.mul(p, z), v128.load(LOG_COEFS, 96));
  p = f64x2.add(f64x2.mul(p, z), v128.load(LOG_COEFS, 112));
  p = f64x2.add(f64x2.mul(p, z), v128.load(LOG_COEFS, 128));
  p = f64x2.add(f64x2.mul(p, z), v128.load(LOG_COEFS, 144));
  p = f64x2.add(f64x2.mul(p, z), v128.load(LOG_COEFS, 160));
  const l = f64x2.add(f64x2.mul(f64x2.mul(p, z), s), s);
  return f64x2.add(f64x2.add(l, l), v128.and(f64x2.splat(0.6931471805599453), big));
}

/** e = exp(-r) of two raw scores. */
// @ts-ignore: decorator
@inline
function exp_neg(r: v128): v128 {
  return exp2x(f64x2.neg(r));
}

/** Half binomial losses of two rows from their raw scores `r`, labels `t` and e = exp(-r). */
// @ts-ignore: decorator
@inline
function loss2x(r: v128, t: v128, e: v128): v128 {
  // log(1 + exp(r)) = max(r, 0) + log1p(exp(-|r|)), exp(-|r|) = e or 1 / e.
  const pos = f64x2.ge(r, f64x2.splat(0));
  const a = v128.bitselect(e, f64x2.div(f64x2.splat(1), e), pos);
  return f64x2.sub(f64x2.add(v128.and(r, pos), log1p2x(a)), f64x2.mul(t, r));
}

/**
 * Gradients and hessians of two rows as Float32 pairs (g0, h0, g1, h1), as scikit-learn:
 * g = ((1 - t) - t e) / (1 + e), h = e / (1 + e)^2 with e = exp(-raw), times the weights `w`.
 */
// @ts-ignore: decorator
@inline
function grad2x(t: v128, e: v128, w: v128): v128 {
  const one = f64x2.splat(1);
  const e1 = f64x2.add(one, e);
  const g = f64x2.mul(f64x2.div(f64x2.sub(f64x2.sub(one, t), f64x2.mul(t, e)), e1), w);
  const h = f64x2.mul(f64x2.div(e, f64x2.mul(e1, e1)), w);
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(g), f32x4.demote_f64x2_zero(h), 0, 4, 1, 5);
}

/** Two rows' values gathered into a v128: the Float64 at `p + (row << 3)`. */
// @ts-ignore: decorator
@inline
function gather_f64(p: usize, r0: usize, r1: usize): v128 {
  return v128.load64_lane(p + (r1 << 3), v128.load64_zero(p + (r0 << 3)), 1);
}

/** Two rows' labels as Float64 lanes. */
// @ts-ignore: decorator
@inline
function gather_y(y: usize, r0: usize, r1: usize): v128 {
  return f64x2.replace_lane(f64x2.splat(<f64> load<u8>(y + r0)), 1, <f64> load<u8>(y + r1));
}

/**
 * For the listed rows: the half binomial loss gradient and hessian at the raw score (times the
 * sample weight when `sw` is not 0), stored as Float32 pairs at `gh`. Returns the sum of the
 * (weighted) losses of those rows.
 */
export function grad_hess(raw: usize, y: usize, sw: usize, rows: usize, count: i32, gh: usize): f64 {
  let acc = f64x2.splat(0);
  let i = 0;
  for (; i + 2 <= count; i += 2) {
    const r0 = <usize> load<u32>(rows + (<usize> i << 2));
    const r1 = <usize> load<u32>(rows + (<usize> i << 2), 4);
    const r = gather_f64(raw, r0, r1);
    const t = gather_y(y, r0, r1);
    const w = sw != 0 ? gather_f64(sw, r0, r1) : f64x2.splat(1);
    const e = exp_neg(r);
    const v = grad2x(t, e, w);
    v128.store64_lane(gh + (r0 << 3), v, 0);
    v128.store64_lane(gh + (r1 << 3), v, 1);
    acc = f64x2.add(acc, f64x2.mul(loss2x(r, t, e), w));
  }
  let sum = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  if (i < count) {
    const r0 = <usize> load<u32>(rows + (<usize> i << 2));
    const r = gather_f64(raw, r0, r0);
    const t = gather_y(y, r0, r0);
    const w = sw != 0 ? gather_f64(sw, r0, r0) : f64x2.splat(1);
    const e = exp_neg(r);
    v128.store64_lane(gh + (r0 << 3), grad2x(t, e, w), 0);
    sum += f64x2.extract_lane(f64x2.mul(loss2x(r, t, e), w), 0);
  }
  return sum;
}

/** Sum of the (weighted) half binomial losses of the listed rows. */
export function loss_sum(raw: usize, y: usize, sw: usize, rows: usize, count: i32): f64 {
  let acc = f64x2.splat(0);
  let i = 0;
  for (; i + 2 <= count; i += 2) {
    const r0 = <usize> load<u32>(rows + (<usize> i << 2));
    const r1 = <usize> load<u32>(rows + (<usize> i << 2), 4);
    const r = gather_f64(raw, r0, r1);
    const w = sw != 0 ? gather_f64(sw, r0, r1) : f64x2.splat(1);
    acc = f64x2.add(acc, f64x2.mul(loss2x(r, gather_y(y, r0, r1), exp_neg(r)), w));
  }
  let sum = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  if (i < count) {
    const r0 = <usize> load<u32>(rows + (<usize> i << 2));
    const r = gather_f64(raw, r0, r0);
    const w = sw != 0 ? gather_f64(sw, r0, r0) : f64x2.splat(1);
    sum += f64x2.extract_lane(f64x2.mul(loss2x(r, gather_y(y, r0, r0), exp_neg(r)), w), 0);
  }
  return sum;
}

/** Sums of the gradients and of the hessians of the listed rows, in row order, into `out` (2 f64). */
export function sum_gh(gh: usize, rows: usize, count: i32, out: usize): void {
  let g: f64 = 0;
  let h: f64 = 0;
  for (let i = 0; i < count; i++) {
    const p = gh + (<usize> load<u32>(rows + (<usize> i << 2)) << 3);
    g += <f64> load<f32>(p);
    h += <f64> load<f32>(p, 4);
  }
  store<f64>(out, g);
  store<f64>(out, h, 8);
}

/** Sets the raw score of the listed rows to `value`. */
export function fill_raw(raw: usize, rows: usize, count: i32, value: f64): void {
  for (let i = 0; i < count; i++) store<f64>(raw + (<usize> load<u32>(rows + (<usize> i << 2)) << 3), value);
}

/** Adds `value` to the raw score of the listed rows (a leaf's value to its training rows). */
export function add_value(raw: usize, rows: usize, count: i32, value: f64): void {
  for (let i = 0; i < count; i++) {
    const p = raw + (<usize> load<u32>(rows + (<usize> i << 2)) << 3);
    store<f64>(p, load<f64>(p) + value);
  }
}

// ---------------------------------------------------------------------------------------------
// Histograms

/**
 * Builds the histogram slot `hist` of the rows `rows[0..count)`: per feature and bin, the sums of
 * the gradients and of the hessians (Float64, accumulated in row order) and the row count. The
 * binned matrix is column-major (feature f of row r at `xb + f * n + r`). `ordered` is scratch
 * for `count` gradient pairs: the rows' pairs are gathered once, then streamed once per group of
 * eight features (one pass per group: the row numbers and pairs are read once for eight updates,
 * and eight histograms, 40 KiB, stay in the L1 cache).
 */
export function hist_build(
  xb: usize,
  n: i32,
  nf: i32,
  gh: usize,
  rows: usize,
  count: i32,
  hist: usize,
  ordered: usize,
): void {
  const cnt = hist + (<usize> nf << 12);
  memory.fill(hist, 0, slot_bytes(nf));
  const m = <usize> count;
  for (let i: usize = 0; i < m; i++) {
    store<u64>(ordered + (i << 3), load<u64>(gh + (<usize> load<u32>(rows + (i << 2)) << 3)));
  }
  const s = <usize> n;
  let f = 0;
  for (; f + 8 <= nf; f += 8) {
    const c = xb + <usize> f * s;
    const hp = hist + (<usize> f << 12);
    const cp = cnt + (<usize> f << 10);
    for (let i: usize = 0; i < m; i++) {
      const row = <usize> load<u32>(rows + (i << 2));
      const v = f64x2.promote_low_f32x4(v128.load64_zero(ordered + (i << 3)));
      // Feature f + j: bin b of row `row`; its sums at hp + j * 4096 + b * 16, its count at
      // cp + j * 1024 + b * 4 (the constant parts as the loads' and stores' immediate offsets).
      const b0 = <usize> load<u8>(c + row);
      v128.store(hp + (b0 << 4), f64x2.add(v128.load(hp + (b0 << 4), 0), v), 0);
      store<i32>(cp + (b0 << 2), load<i32>(cp + (b0 << 2), 0) + 1, 0);
      const b1 = <usize> load<u8>(c + s + row);
      v128.store(hp + (b1 << 4), f64x2.add(v128.load(hp + (b1 << 4), 4096), v), 4096);
      store<i32>(cp + (b1 << 2), load<i32>(cp + (b1 << 2), 1024) + 1, 1024);
      const b2 = <usize> load<u8>(c + 2 * s + row);
      v128.store(hp + (b2 << 4), f64x2.add(v128.load(hp + (b2 << 4), 8192), v), 8192);
      store<i32>(cp + (b2 << 2), load<i32>(cp + (b2 << 2), 2048) + 1, 2048);
      const b3 = <usize> load<u8>(c + 3 * s + row);
      v128.store(hp + (b3 << 4), f64x2.add(v128.load(hp + (b3 << 4), 12288), v), 12288);
      store<i32>(cp + (b3 << 2), load<i32>(cp + (b3 << 2), 3072) + 1, 3072);
      const b4 = <usize> load<u8>(c + 4 * s + row);
      v128.store(hp + (b4 << 4), f64x2.add(v128.load(hp + (b4 << 4), 16384), v), 16384);
      store<i32>(cp + (b4 << 2), load<i32>(cp + (b4 << 2), 4096) + 1, 4096);
      const b5 = <usize> load<u8>(c + 5 * s + row);
      v128.store(hp + (b5 << 4), f64x2.add(v128.load(hp + (b5 << 4), 20480), v), 20480);
      store<i32>(cp + (b5 << 2), load<i32>(cp + (b5 << 2), 5120) + 1, 5120);
      const b6 = <usize> load<u8>(c + 6 * s + row);
      v128.store(hp + (b6 << 4), f64x2.add(v128.load(hp + (b6 << 4), 24576), v), 24576);
      store<i32>(cp + (b6 << 2), load<i32>(cp + (b6 << 2), 6144) + 1, 6144);
      const b7 = <usize> load<u8>(c + 7 * s + row);
      v128.store(hp + (b7 << 4), f64x2.add(v128.load(hp + (b7 << 4), 28672), v), 28672);
      store<i32>(cp + (b7 << 2), load<i32>(cp + (b7 << 2), 7168) + 1, 7168);
    }
  }
  for (; f < nf; f++) {
    const c = xb + <usize> f * s;
    const hp = hist + (<usize> f << 12);
    const cp = cnt + (<usize> f << 10);
    for (let i: usize = 0; i < m; i++) {
      const b = <usize> load<u8>(c + <usize> load<u32>(rows + (i << 2)));
      const v = f64x2.promote_low_f32x4(v128.load64_zero(ordered + (i << 3)));
      v128.store(hp + (b << 4), f64x2.add(v128.load(hp + (b << 4)), v));
      store<i32>(cp + (b << 2), load<i32>(cp + (b << 2)) + 1);
    }
  }
}

/** Histogram subtraction: slot `parent` becomes `parent - child` (sums and counts). */
export function hist_sub(parent: usize, child: usize, nf: i32): void {
  const end = parent + slot_bytes(nf);
  const gEnd = parent + (<usize> nf << 12);
  const d = child - parent;
  let p = parent;
  for (; p < gEnd; p += 16) v128.store(p, f64x2.sub(v128.load(p), v128.load(p + d)));
  for (; p < end; p += 16) v128.store(p, i32x4.sub(v128.load(p), v128.load(p + d)));
}

// ---------------------------------------------------------------------------------------------
// Split search (scikit-learn's Splitter.find_node_split for numerical features)

/** A node's value: the Newton step -G / (H + l2), as compute_node_value. */
// @ts-ignore: decorator
@inline
function node_value(g: f64, h: f64, l2: f64): f64 {
  return -g / (h + l2 + 1e-15);
}

/** Loss reduction of a split, as _split_gain (without monotonic constraints). */
// @ts-ignore: decorator
@inline
function split_gain(gl: f64, hl: f64, gr: f64, hr: f64, loss_node: f64, l2: f64): f64 {
  let gain = loss_node;
  gain -= gl * node_value(gl, hl, l2);
  gain -= gr * node_value(gr, hr, l2);
  return gain;
}

/**
 * Finds the best split of a node from its histogram slot: for every feature, a left-to-right
 * scan of the bins (missing values to the right) and, when the feature has missing values, a
 * right-to-left scan (missing values to the left); a split must leave `min_leaf` rows and
 * `min_hess` hessian on each side and gain more than `min_gain`. Ties keep the first feature,
 * the first bin and the left-to-right scan, as scikit-learn.
 *
 * `nbins` holds the non-missing bin count of each feature (Int32), `has_missing` one byte per
 * feature. Writes 12 Float64 values at `out`: gain (-1 when no split is valid), feature, bin,
 * missing-goes-left, gradient, hessian and count of the left child, the same for the right child,
 * and the values of the left and right children.
 */
export function find_split(
  hist: usize,
  nf: i32,
  nbins: usize,
  has_missing: usize,
  n: i32,
  sum_g: f64,
  sum_h: f64,
  value: f64,
  min_leaf: i32,
  min_hess: f64,
  l2: f64,
  min_gain: f64,
  out: usize,
): void {
  const cnt = hist + (<usize> nf << 12);
  const loss_node = sum_g * value;
  let best_gain: f64 = -1;
  let best_f = 0;
  let best_bin = 0;
  let best_ml = 0;
  let best_gl: f64 = 0;
  let best_hl: f64 = 0;
  let best_nl = 0;
  for (let f = 0; f < nf; f++) {
    const nb = load<i32>(nbins + (<usize> f << 2));
    const hm = <i32> load<u8>(has_missing + <usize> f);
    const hf = hist + (<usize> f << 12);
    const cf = cnt + (<usize> f << 10);
    let f_gain: f64 = -1;
    let f_bin = 0;
    let f_ml = 0;
    let f_gl: f64 = 0;
    let f_hl: f64 = 0;
    let f_nl = 0;

    // Left to right: bins 0..b go left, missing values go right.
    let gl: f64 = 0;
    let hl: f64 = 0;
    let nl = 0;
    const end = nb - 1 + hm;
    for (let b = 0; b < end; b++) {
      const c = load<i32>(cf + (<usize> b << 2));
      const bg = load<f64>(hf + (<usize> b << 4));
      const bh = load<f64>(hf + (<usize> b << 4), 8);
      // An empty bin adds exact zeros: same sums, same gain, never strictly better.
      if (c == 0 && bg == 0 && bh == 0) continue;
      nl += c;
      const nr = n - nl;
      hl += bh;
      const hr = sum_h - hl;
      gl += bg;
      const gr = sum_g - gl;
      if (nl < min_leaf) continue;
      if (nr < min_leaf) break;
      if (hl < min_hess) continue;
      if (hr < min_hess) break;
      const gain = split_gain(gl, hl, gr, hr, loss_node, l2);
      if (gain > f_gain && gain > min_gain) {
        f_gain = gain;
        f_bin = b;
        f_ml = 0;
        f_gl = gl;
        f_hl = hl;
        f_nl = nl;
      }
    }

    // Right to left: bins b+1..nb-1 go right, missing values go left.
    if (hm != 0) {
      let gr: f64 = 0;
      let hr: f64 = 0;
      let nr = 0;
      for (let b = nb - 2; b >= 0; b--) {
        const c = load<i32>(cf + (<usize> (b + 1) << 2));
        const bg = load<f64>(hf + (<usize> (b + 1) << 4));
        const bh = load<f64>(hf + (<usize> (b + 1) << 4), 8);
        if (c == 0 && bg == 0 && bh == 0) continue;
        nr += c;
        const nl2 = n - nr;
        hr += bh;
        const hl2 = sum_h - hr;
        gr += bg;
        const gl2 = sum_g - gr;
        if (nr < min_leaf) continue;
        if (nl2 < min_leaf) break;
        if (hr < min_hess) continue;
        if (hl2 < min_hess) break;
        const gain = split_gain(gl2, hl2, gr, hr, loss_node, l2);
        if (gain > f_gain && gain > min_gain) {
          f_gain = gain;
          f_bin = b;
          f_ml = 1;
          f_gl = gl2;
          f_hl = hl2;
          f_nl = nl2;
        }
      }
    }

    if (f == 0 || f_gain > best_gain) {
      best_gain = f_gain;
      best_f = f;
      best_bin = f_bin;
      best_ml = f_ml;
      best_gl = f_gl;
      best_hl = f_hl;
      best_nl = f_nl;
    }
  }
  const gr = sum_g - best_gl;
  const hr = sum_h - best_hl;
  store<f64>(out, best_gain);
  store<f64>(out, <f64> best_f, 8);
  store<f64>(out, <f64> best_bin, 16);
  store<f64>(out, <f64> best_ml, 24);
  store<f64>(out, best_gl, 32);
  store<f64>(out, best_hl, 40);
  store<f64>(out, <f64> best_nl, 48);
  store<f64>(out, gr, 56);
  store<f64>(out, hr, 64);
  store<f64>(out, <f64> (n - best_nl), 72);
  store<f64>(out, node_value(best_gl, best_hl, l2), 80);
  store<f64>(out, node_value(gr, hr, l2), 88);
}

// ---------------------------------------------------------------------------------------------
// Row partition

/**
 * Stable partition of `rows[0..count)` by a split: rows whose bin in `feature` is <= `bin`, or is
 * the missing bin when `missing_left` is 1, move to the front in their order, the others after
 * them in their order (through `buf`). Returns the number of rows that went left.
 */
export function partition(
  xb: usize,
  n: i32,
  feature: i32,
  bin: i32,
  missing_left: i32,
  missing_bin: i32,
  rows: usize,
  count: i32,
  buf: usize,
): i32 {
  let nl = 0;
  let nr = 0;
  const col = xb + <usize> feature * <usize> n;
  for (let i = 0; i < count; i++) {
    const row = load<u32>(rows + (<usize> i << 2));
    const b = <i32> load<u8>(col + <usize> row);
    const left = <i32> (b <= bin) | (<i32> (b == missing_bin) & missing_left);
    store<u32>(rows + (<usize> nl << 2), row);
    store<u32>(buf + (<usize> nr << 2), row);
    nl += left;
    nr += left ^ 1;
  }
  memory.copy(rows + (<usize> nl << 2), buf, <usize> nr << 2);
  return nl;
}

// ---------------------------------------------------------------------------------------------
// Prediction

/**
 * Adds the tree at `nodes` to the raw scores of the listed rows, from their row-major binned copy
 * `xr` (row i of the list at `xr + i * nf`), as scikit-learn's predict_binned: the missing bin
 * follows the node's missing-goes-left flag, other bins go left when <= the node's bin.
 */
export function predict_binned(
  xr: usize,
  nf: i32,
  rows: usize,
  count: i32,
  nodes: usize,
  missing_bin: i32,
  raw: usize,
): void {
  const stride = <usize> nf;
  for (let i = 0; i < count; i++) {
    const row = <usize> load<u32>(rows + (<usize> i << 2));
    const rp = xr + <usize> i * stride;
    let p = nodes;
    let f = load<i32>(p, 16);
    while (f >= 0) {
      const b = <i32> load<u8>(rp + <usize> f);
      const left = b == missing_bin ? <i32> load<u8>(p, 29) : <i32> (b <= <i32> load<u8>(p, 28));
      p = nodes + (<usize> (left != 0 ? load<i32>(p, 20) : load<i32>(p, 24)) << 5);
      f = load<i32>(p, 16);
    }
    const q = raw + (row << 3);
    store<f64>(q, load<f64>(q) + load<f64>(p, 8));
  }
}

/**
 * One branch-free step down a tree for row `r` of raw values: NaN follows the missing-goes-left
 * flag, else x <= threshold goes left. A leaf (feature -1, children itself) stays where it is.
 */
// @ts-ignore: decorator
@inline
function step(x: usize, r: usize, rows: usize, root: usize, p: usize): usize {
  const f = <usize> max(load<i32>(p, 16), 0);
  const v = load<f64>(x + ((f * rows + r) << 3));
  const left = select<bool>(load<u8>(p, 29) != 0, v <= load<f64>(p), v != v);
  return root + (<usize> select<i32>(load<i32>(p, 20), load<i32>(p, 24), left) << 5);
}

/**
 * Adds the value of every tree, in order, to `out[r]` (Float64, pre-filled with the baseline) for
 * `rows` rows of raw values, column-major at `x` (feature f of row r at `x[f * rows + r]`). Tree t
 * starts at node `starts[t]` (Int32) of `nodes` and is `depths[t]` (Int32) deep; its leaves must
 * have themselves as children. Every row takes exactly that many steps, without branches, four
 * rows at a time.
 */
export function predict_raw(x: usize, rows: i32, nodes: usize, starts: usize, depths: usize, trees: i32, out: usize): void {
  const n = <usize> rows;
  for (let t = 0; t < trees; t++) {
    const root = nodes + (<usize> load<i32>(starts + (<usize> t << 2)) << 5);
    const depth = load<i32>(depths + (<usize> t << 2));
    let r: usize = 0;
    for (; r + 4 <= n; r += 4) {
      let p0 = root;
      let p1 = root;
      let p2 = root;
      let p3 = root;
      for (let k = 0; k < depth; k++) {
        p0 = step(x, r, n, root, p0);
        p1 = step(x, r + 1, n, root, p1);
        p2 = step(x, r + 2, n, root, p2);
        p3 = step(x, r + 3, n, root, p3);
      }
      const o = out + (r << 3);
      store<f64>(o, load<f64>(o) + load<f64>(p0, 8));
      store<f64>(o, load<f64>(o, 8) + load<f64>(p1, 8), 8);
      store<f64>(o, load<f64>(o, 16) + load<f64>(p2, 8), 16);
      store<f64>(o, load<f64>(o, 24) + load<f64>(p3, 8), 24);
    }
    for (; r < n; r++) {
      let p = root;
      for (let k = 0; k < depth; k++) p = step(x, r, n, root, p);
      const o = out + (r << 3);
      store<f64>(o, load<f64>(o) + load<f64>(p, 8));
    }
  }
}

/**
 * One branch-free step of a contribution walk for row `r`: adds the change of node value (child
 * minus node) to the node's feature in the row's output `o`, returns the child. At a leaf (its own
 * child) the change is an exact 0.0 added to feature 0.
 */
// @ts-ignore: decorator
@inline
function contribution_step(x: usize, r: usize, rows: usize, root: usize, p: usize, o: usize): usize {
  const q = step(x, r, rows, root, p);
  const c = o + (<usize> max(load<i32>(p, 16), 0) << 3);
  store<f64>(c, load<f64>(c) + (load<f64>(q, 8) - load<f64>(p, 8)));
  return q;
}

/**
 * Saabas-style contributions: for each row, walks every tree and adds each step's change of node
 * value (child minus parent) to the split feature, and each root's value to the bias. `out` holds
 * `rows * (nf + 1)` Float64 values, row-major, feature contributions then the bias, pre-filled
 * (usually zeros, the baseline in the bias). Trees as for {@link predict_raw} (depths, leaves
 * their own children); two rows at a time.
 */
export function contributions(
  x: usize,
  rows: i32,
  nodes: usize,
  starts: usize,
  depths: usize,
  trees: i32,
  nf: i32,
  out: usize,
): void {
  const n = <usize> rows;
  const width = (<usize> nf + 1) << 3;
  const bias = <usize> nf << 3;
  for (let t = 0; t < trees; t++) {
    const root = nodes + (<usize> load<i32>(starts + (<usize> t << 2)) << 5);
    const depth = load<i32>(depths + (<usize> t << 2));
    const rootValue = load<f64>(root, 8);
    let r: usize = 0;
    for (; r + 2 <= n; r += 2) {
      const o0 = out + r * width;
      const o1 = o0 + width;
      store<f64>(o0 + bias, load<f64>(o0 + bias) + rootValue);
      store<f64>(o1 + bias, load<f64>(o1 + bias) + rootValue);
      let p0 = root;
      let p1 = root;
      for (let k = 0; k < depth; k++) {
        p0 = contribution_step(x, r, n, root, p0, o0);
        p1 = contribution_step(x, r + 1, n, root, p1, o1);
      }
    }
    if (r < n) {
      const o = out + r * width;
      store<f64>(o + bias, load<f64>(o + bias) + rootValue);
      let p = root;
      for (let k = 0; k < depth; k++) p = contribution_step(x, r, n, root, p, o);
    }
  }
}

/** Probabilities from raw scores in place: 1 / (1 + exp(-raw)). */
export function expit(raw: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const p = raw + (<usize> i << 3);
    store<f64>(p, 1 / (1 + Math.exp(-load<f64>(p))));
  }
}
