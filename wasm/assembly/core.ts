// churn-mlops numeric core (AssemblyScript, compiled by wasm/build.ts into wasm/core.wasm).
//
// Memory model: the module is built with `--runtime stub` and allocates nothing itself. The
// TypeScript loader (wasm/mod.ts) owns the linear memory as one arena: it lays out every region
// (inputs, prefix sums, outputs) from `heap_base()` upwards for a block of whole users, grows the
// memory with `memory.grow` when a block needs more, and reuses the same bytes for the next block
// and the next call. A GC or a TLSF allocator would only add code and bookkeeping: every kernel
// works on flat arrays whose sizes the loader knows before the call, and nothing outlives a call.
//
// Conventions: pointers are byte offsets; `g` points at the Int32 group starts (users + 1
// entries, rows of user k are [g[k], g[k + 1])). A "prefix region" has n + 1 slots: slot 0 is 0
// and slot i + 1 holds the sum of rows 0..i, so the sum over rows [a, b] is p[b + 1] - p[a].
// Integer prefixes wrap modulo 2^32, which keeps every window difference exact as long as the
// window sum itself fits in an Int32. Float prefixes are double-double (hi + lo, Knuth's TwoSum),
// so a window difference is accurate to a few ulps of the window sum itself, and a window of
// zeros gives exactly 0.

// v128 paths: the window kernels process 4 Int32 or 2 Float64 rows per instruction and the Int32
// prefix scans 4 rows at a time. `false` compiles the scalar code only (how SIMD's gain was
// measured: about 1.5x on the whole rolling-feature call).
const SIMD: bool = true;

/** First 16-byte aligned byte offset free for the loader's arena. */
export function heap_base(): usize {
  return (__heap_base + 15) & ~(<usize> 15);
}

function i32At(p: usize, i: i32): i32 {
  return load<i32>(p + (<usize> i << 2));
}

function f64At(p: usize, i: i32): f64 {
  return load<f64>(p + (<usize> i << 3));
}

function setI32(p: usize, i: i32, v: i32): void {
  store<i32>(p + (<usize> i << 2), v);
}

function setF64(p: usize, i: i32, v: f64): void {
  store<f64>(p + (<usize> i << 3), v);
}

/** Turns slots 1..n of `p` (the raw Int32 values) into an inclusive prefix region; sets slot 0 to 0. */
export function prefix_i32(p: usize, n: i32): void {
  store<i32>(p, 0);
  let i = 1;
  if (SIMD) {
    // Four rows at a time: an in-register scan (shift by one lane and add, by two lanes and add),
    // then the running total of the rows before, broadcast from the last lane.
    const zero = i32x4.splat(0);
    let carry = zero;
    for (; i + 4 <= n + 1; i += 4) {
      const q = p + (<usize> i << 2);
      let v = v128.load(q);
      v = i32x4.add(v, v128.shuffle<i32>(zero, v, 0, 4, 5, 6));
      v = i32x4.add(v, v128.shuffle<i32>(zero, v, 0, 1, 4, 5));
      v = i32x4.add(v, carry);
      v128.store(q, v);
      carry = v128.shuffle<i32>(v, v, 3, 3, 3, 3);
    }
  }
  let s: i32 = i32At(p, i - 1);
  for (; i <= n; i++) {
    s += i32At(p, i);
    setI32(p, i, s);
  }
}

/**
 * Turns slots 1..n of `hi` (raw Float64 values) into a double-double prefix region (`hi`, `lo`);
 * NaN (missing) counts as 0.
 */
export function prefix_f64(hi: usize, lo: usize, n: i32): void {
  store<f64>(hi, 0);
  store<f64>(lo, 0);
  let s: f64 = 0;
  let c: f64 = 0;
  for (let i = 1; i <= n; i++) {
    const raw = f64At(hi, i);
    const x = raw == raw ? raw : 0.0;
    const t = s + x;
    const bp = t - s;
    c += (s - (t - bp)) + (x - bp);
    s = t;
    setF64(hi, i, s);
    setF64(lo, i, c);
  }
}

/**
 * Quiz scores: slots 1..n of `hi` hold raw scores, NaN meaning "no quiz". Builds the double-double
 * prefix of the non-NaN scores in (`hi`, `lo`) and the Int32 prefix count of non-NaN days in `cnt`.
 */
export function prefix_quiz(hi: usize, lo: usize, cnt: usize, n: i32): void {
  store<f64>(hi, 0);
  store<f64>(lo, 0);
  store<i32>(cnt, 0);
  let s: f64 = 0;
  let c: f64 = 0;
  let k: i32 = 0;
  for (let i = 1; i <= n; i++) {
    const raw = f64At(hi, i);
    const ok = raw == raw;
    const x = ok ? raw : 0.0;
    k += <i32> ok;
    const t = s + x;
    const bp = t - s;
    c += (s - (t - bp)) + (x - bp);
    s = t;
    setF64(hi, i, s);
    setF64(lo, i, c);
    setI32(cnt, i, k);
  }
}

/** Trailing window sums of an Int32 prefix region: out[r] = sum over rows [max(start, r - w + 1), r]. */
export function window_i32(p: usize, g: usize, users: i32, w: i32, out: usize): void {
  for (let u = 0; u < users; u++) {
    const gs = i32At(g, u);
    const ge = i32At(g, u + 1);
    const base = i32At(p, gs);
    const head = min(ge, gs + w);
    let r = gs;
    if (SIMD) {
      const vb = i32x4.splat(base);
      for (; r + 4 <= head; r += 4) {
        v128.store(out + (<usize> r << 2), i32x4.sub(v128.load(p + (<usize> (r + 1) << 2)), vb));
      }
    }
    for (; r < head; r++) setI32(out, r, i32At(p, r + 1) - base);
    if (SIMD) {
      for (; r + 4 <= ge; r += 4) {
        const a = v128.load(p + (<usize> (r + 1) << 2));
        const b = v128.load(p + (<usize> (r + 1 - w) << 2));
        v128.store(out + (<usize> r << 2), i32x4.sub(a, b));
      }
    }
    for (; r < ge; r++) setI32(out, r, i32At(p, r + 1) - i32At(p, r + 1 - w));
  }
}

/** Trailing window sums of a double-double prefix region (`hi`, `lo`). */
export function window_f64(hi: usize, lo: usize, g: usize, users: i32, w: i32, out: usize): void {
  for (let u = 0; u < users; u++) {
    const gs = i32At(g, u);
    const ge = i32At(g, u + 1);
    const bh = f64At(hi, gs);
    const bl = f64At(lo, gs);
    const head = min(ge, gs + w);
    let r = gs;
    if (SIMD) {
      const vh = f64x2.splat(bh);
      const vl = f64x2.splat(bl);
      for (; r + 2 <= head; r += 2) {
        const a = <usize> (r + 1) << 3;
        const dh = f64x2.sub(v128.load(hi + a), vh);
        v128.store(out + (<usize> r << 3), f64x2.add(dh, f64x2.sub(v128.load(lo + a), vl)));
      }
    }
    for (; r < head; r++) setF64(out, r, (f64At(hi, r + 1) - bh) + (f64At(lo, r + 1) - bl));
    if (SIMD) {
      for (; r + 2 <= ge; r += 2) {
        const a = <usize> (r + 1) << 3;
        const b = <usize> (r + 1 - w) << 3;
        const dh = f64x2.sub(v128.load(hi + a), v128.load(hi + b));
        const dl = f64x2.sub(v128.load(lo + a), v128.load(lo + b));
        v128.store(out + (<usize> r << 3), f64x2.add(dh, dl));
      }
    }
    for (; r < ge; r++) {
      setF64(out, r, (f64At(hi, r + 1) - f64At(hi, r + 1 - w)) + (f64At(lo, r + 1) - f64At(lo, r + 1 - w)));
    }
  }
}

/**
 * Trailing window means of the non-NaN quiz scores: window sum / window count from the regions
 * built by `prefix_quiz`. A window without a score is 0 / 0 = NaN.
 */
export function window_mean(hi: usize, lo: usize, cnt: usize, g: usize, users: i32, w: i32, out: usize): void {
  for (let u = 0; u < users; u++) {
    const gs = i32At(g, u);
    const ge = i32At(g, u + 1);
    const bh = f64At(hi, gs);
    const bl = f64At(lo, gs);
    const bc = i32At(cnt, gs);
    const head = min(ge, gs + w);
    let r = gs;
    if (SIMD) {
      const vh = f64x2.splat(bh);
      const vl = f64x2.splat(bl);
      const vc = i32x4.splat(bc);
      for (; r + 2 <= head; r += 2) {
        const a = <usize> (r + 1) << 3;
        const sum = f64x2.add(f64x2.sub(v128.load(hi + a), vh), f64x2.sub(v128.load(lo + a), vl));
        const n = i32x4.sub(v128.load64_zero(cnt + (<usize> (r + 1) << 2)), vc);
        v128.store(out + (<usize> r << 3), f64x2.div(sum, f64x2.convert_low_i32x4_s(n)));
      }
    }
    for (; r < head; r++) {
      const s = (f64At(hi, r + 1) - bh) + (f64At(lo, r + 1) - bl);
      setF64(out, r, s / <f64> (i32At(cnt, r + 1) - bc));
    }
    if (SIMD) {
      for (; r + 2 <= ge; r += 2) {
        const a = <usize> (r + 1) << 3;
        const b = <usize> (r + 1 - w) << 3;
        const dh = f64x2.sub(v128.load(hi + a), v128.load(hi + b));
        const dl = f64x2.sub(v128.load(lo + a), v128.load(lo + b));
        const n = i32x4.sub(
          v128.load64_zero(cnt + (<usize> (r + 1) << 2)),
          v128.load64_zero(cnt + (<usize> (r + 1 - w) << 2)),
        );
        v128.store(out + (<usize> r << 3), f64x2.div(f64x2.add(dh, dl), f64x2.convert_low_i32x4_s(n)));
      }
    }
    for (; r < ge; r++) {
      const s = (f64At(hi, r + 1) - f64At(hi, r + 1 - w)) + (f64At(lo, r + 1) - f64At(lo, r + 1 - w));
      setF64(out, r, s / <f64> (i32At(cnt, r + 1) - i32At(cnt, r + 1 - w)));
    }
  }
}

/** Payment fail rate over the trailing window: failed / (failed + success), 0 when both are 0. */
export function window_rate(fail: usize, ok: usize, g: usize, users: i32, w: i32, out: usize): void {
  for (let u = 0; u < users; u++) {
    const gs = i32At(g, u);
    const ge = i32At(g, u + 1);
    const bf = i32At(fail, gs);
    const bo = i32At(ok, gs);
    const head = min(ge, gs + w);
    let r = gs;
    for (; r < head; r++) {
      const f = <f64> (i32At(fail, r + 1) - bf);
      const t = f + <f64> (i32At(ok, r + 1) - bo);
      setF64(out, r, t != 0 ? f / t : 0.0);
    }
    if (SIMD) {
      for (; r + 2 <= ge; r += 2) {
        const a = <usize> (r + 1) << 2;
        const b = <usize> (r + 1 - w) << 2;
        const f = i32x4.sub(v128.load64_zero(fail + a), v128.load64_zero(fail + b));
        const o = i32x4.sub(v128.load64_zero(ok + a), v128.load64_zero(ok + b));
        const ff = f64x2.convert_low_i32x4_s(f);
        const tt = f64x2.convert_low_i32x4_s(i32x4.add(f, o));
        // 0 / 0 is NaN where there was no payment: the mask (t != 0) turns those lanes into +0.
        v128.store(out + (<usize> r << 3), v128.and(f64x2.div(ff, tt), f64x2.ne(tt, f64x2.splat(0))));
      }
    }
    for (; r < ge; r++) {
      const f = <f64> (i32At(fail, r + 1) - i32At(fail, r + 1 - w));
      const t = f + <f64> (i32At(ok, r + 1) - i32At(ok, r + 1 - w));
      setF64(out, r, t != 0 ? f / t : 0.0);
    }
  }
}

/**
 * Days since the latest active row at or before each row of the same user, from the Int32 prefix
 * region of the activity flags (row r is active when act[r + 1] != act[r]); days_since_signup
 * (`dss`, one Int32 per row) while the user has not been active yet.
 */
export function days_since_active(act: usize, dss: usize, g: usize, users: i32, out: usize): void {
  for (let u = 0; u < users; u++) {
    const gs = i32At(g, u);
    const ge = i32At(g, u + 1);
    let last = -1;
    for (let r = gs; r < ge; r++) {
      if (i32At(act, r + 1) != i32At(act, r)) last = r;
      setI32(out, r, last >= 0 ? r - last : i32At(dss, r));
    }
  }
}

/**
 * Churn labels with window `w` from the Int32 prefix region of the activity flags:
 * `fut` (Int32) active rows in (r, r + w] of the same user, `lab` (Uint8) 1 when the user has at
 * least w rows after r, `churn` (Uint8) 1 when `fut` is 0, `trail` (Int32) active rows in (r - w, r].
 */
export function labels(
  act: usize,
  g: usize,
  users: i32,
  w: i32,
  fut: usize,
  lab: usize,
  churn: usize,
  trail: usize,
): void {
  // Trailing activity is the trailing window sum.
  window_i32(act, g, users, w, trail);
  const zero = i32x4.splat(0);
  const one = i32x4.splat(1);
  for (let u = 0; u < users; u++) {
    const gs = i32At(g, u);
    const last = i32At(g, u + 1) - 1;
    const full = last - w; // rows r <= full have w rows after them
    let r = gs;
    if (SIMD) {
      for (; r + 4 <= full + 1; r += 4) {
        const here = v128.load(act + (<usize> (r + 1) << 2));
        const f = i32x4.sub(v128.load(act + (<usize> (r + 1 + w) << 2)), here);
        v128.store(fut + (<usize> r << 2), f);
        // (f == 0) as 0/1 in each lane, narrowed to four bytes.
        const c = v128.and(i32x4.eq(f, zero), one);
        v128.store32_lane(churn + <usize> r, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_u(c, c), zero), 0);
        store<u32>(lab + <usize> r, 0x01010101);
      }
    }
    for (; r <= last; r++) {
      const f = i32At(act, min(r + w, last) + 1) - i32At(act, r + 1);
      setI32(fut, r, f);
      store<u8>(lab + <usize> r, <u8> (r <= full));
      store<u8>(churn + <usize> r, <u8> (f == 0));
    }
  }
}

/**
 * The smallest and largest of the `n` (at least 1) Int32 values at `p`: written to `out` (Int32
 * slot 0 and slot 1). Four values at a time with v128.
 */
export function range_i32(p: usize, n: i32, out: usize): void {
  let lo: i32 = i32At(p, 0), hi: i32 = lo;
  let i = 0;
  if (SIMD && n >= 8) {
    let vlo = i32x4.splat(lo), vhi = vlo;
    for (; i + 4 <= n; i += 4) {
      const v = v128.load(p + (<usize> i << 2));
      vlo = i32x4.min_s(vlo, v);
      vhi = i32x4.max_s(vhi, v);
    }
    lo = min(
      min(i32x4.extract_lane(vlo, 0), i32x4.extract_lane(vlo, 1)),
      min(i32x4.extract_lane(vlo, 2), i32x4.extract_lane(vlo, 3)),
    );
    hi = max(
      max(i32x4.extract_lane(vhi, 0), i32x4.extract_lane(vhi, 1)),
      max(i32x4.extract_lane(vhi, 2), i32x4.extract_lane(vhi, 3)),
    );
  }
  for (; i < n; i++) {
    const v = i32At(p, i);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  store<i32>(out, lo);
  store<i32>(out + 4, hi);
}
