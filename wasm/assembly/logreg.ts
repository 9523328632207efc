// churn-mlops logistic regression kernels (AssemblyScript, compiled by wasm/build.ts into wasm/logreg.wasm).
//
// Memory model: as for the core (see core.ts), the module is built with `--runtime stub` and
// allocates nothing. The TypeScript loader (wasm/logreg.ts) owns the linear memory as an arena
// from `heap_base()`: it copies the rows of the design matrix into it block by block and calls a
// kernel on each block, which accumulates its sums into regions the loader zeroed before the pass.
// The optimiser (Newton's method with a line search) lives in TypeScript
// (wasm/logreg_reference.ts): it needs a handful of (d + 1)-sized vectors and one Cholesky
// factorisation per iteration, while every pass over the rows happens here.
//
// Conventions: pointers are byte offsets. A block holds `n` rows of `d` Float64 features,
// row-major (`x`), the labels as bytes (`y`, 0 or 1) and optionally the sample weights (`s`,
// Float64; a null pointer means every weight is 1). `theta` holds the d coefficients, then the
// intercept.
//
// The objective pass computes, for z = x·w + b and the per-row log-loss ℓ(y, z) =
// log(1 + e^z) − y·z (written log1p(e^−|z|) + max(z, 0) − y·z, so that it never overflows), the
// sample-weighted sums the optimiser scales by C and adds the L2 penalty to:
//   loss  Σ sᵢ ℓᵢ
//   grad  Σ sᵢ (σ(zᵢ) − yᵢ) (xᵢ, 1)
//   and when asked, the Hessian Σ sᵢ σ(zᵢ)(1 − σ(zᵢ)) (xᵢ, 1)(xᵢ, 1)ᵀ,
// in one pass over the rows. The Hessian is a weighted Gram matrix: each sub-block of SB rows is
// scaled by Dᵢ = sᵢ σ(1 − σ) into the scratch region W, then the upper triangle of Wᵀ X is
// accumulated in 4 × 4 tiles held in eight v128 registers across the sub-block (16 multiply-adds
// per six loads), the ragged last columns in scalar code.

// v128 paths: dot products, gradient and Hessian accumulation 2 Float64 lanes at a time. `false`
// compiles the scalar code only; measured that way at 144,000 × 60, SIMD makes a pass with the
// Hessian about 4x faster (195 → 45 ms) and one without it about 1.4x (20 → 14 ms).
const SIMD: bool = true;

/** Rows per Hessian sub-block: the rows of X and W it touches stay in the L1/L2 cache. */
const SB: i32 = 64;

// Offsets (in Float64 slots) of the accumulator region `acc`: the loader zeroes it (and sets the
// score extremes to ±Infinity) before a pass, every block adds to it.
const A_LOSS: i32 = 0; // Σ sᵢ ℓᵢ
const A_MIN_POS: i32 = 1; // lowest score of a row labelled 1
const A_MAX_NEG: i32 = 2; // highest score of a row labelled 0
const A_SUM_D: i32 = 3; // Σ Dᵢ: the intercept's diagonal entry of the Hessian
const A_GRAD: i32 = 4; // d + 1 slots: the gradient, coefficients then intercept

/** First 16-byte aligned byte offset free for the loader's arena. */
export function heap_base(): usize {
  return (__heap_base + 15) & ~(<usize> 15);
}

/** Rows per Hessian sub-block (the loader sizes the scratch region with it). */
export function sub_block_rows(): i32 {
  return SB;
}

/** Slot of the Hessian's intercept column (Σ Dᵢ xᵢ, d slots) in the accumulator region. */
export function acc_hb(d: i32): i32 {
  return (A_GRAD + d + 1 + 1) & ~1;
}

/** Float64 slots of the accumulator region for d features. */
export function acc_slots(d: i32): i32 {
  return acc_hb(d) + d;
}

/** Bytes of the scratch region: the sub-block's rows scaled by Dᵢ (W, SB × d). */
export function scratch_bytes(d: i32): usize {
  return (<usize> SB * <usize> d) << 3;
}

@inline
function at(p: usize, i: i32): usize {
  return p + (<usize> i << 3);
}

/** x·w over d features. */
@inline
function dot(x: usize, w: usize, d: i32): f64 {
  let k = 0;
  let s: f64 = 0;
  if (SIMD) {
    let a0 = f64x2.splat(0);
    let a1 = f64x2.splat(0);
    for (; k + 4 <= d; k += 4) {
      a0 = f64x2.add(a0, f64x2.mul(v128.load(at(x, k)), v128.load(at(w, k))));
      a1 = f64x2.add(a1, f64x2.mul(v128.load(at(x, k), 16), v128.load(at(w, k), 16)));
    }
    if (k + 2 <= d) {
      a0 = f64x2.add(a0, f64x2.mul(v128.load(at(x, k)), v128.load(at(w, k))));
      k += 2;
    }
    const a = f64x2.add(a0, a1);
    s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
  }
  for (; k < d; k++) s += load<f64>(at(x, k)) * load<f64>(at(w, k));
  return s;
}

/**
 * Accumulates the sums of one block into `acc` (and the upper triangle of the d × d feature
 * part of the Hessian, row-major, into `h` when `hessian` is not 0). `scratch` has
 * `scratch_bytes(d)` bytes. Returns the first row of the block whose score is not finite (a
 * NaN or an infinity in its features), or -1.
 */
export function objective(
  x: usize,
  y: usize,
  s: usize,
  n: i32,
  d: i32,
  theta: usize,
  hessian: i32,
  acc: usize,
  h: usize,
  scratch: usize,
): i32 {
  const b = load<f64>(at(theta, d));
  const grad = at(acc, A_GRAD);
  const hb = at(acc, acc_hb(d));
  const wsub = scratch;
  let loss: f64 = 0;
  let gb: f64 = 0;
  let sumD: f64 = 0;
  let minPos = load<f64>(at(acc, A_MIN_POS));
  let maxNeg = load<f64>(at(acc, A_MAX_NEG));
  let bad: i32 = -1;
  const rowBytes = <usize> d << 3;
  for (let i0 = 0; i0 < n; i0 += SB) {
    const m = min(SB, n - i0);
    for (let ii = 0; ii < m; ii++) {
      const i = i0 + ii;
      const xi = x + <usize> i * rowBytes;
      const z = b + dot(xi, theta, d);
      if (!isFinite(z) && bad < 0) bad = i;
      const yi = load<u8>(y + <usize> i) != 0;
      const si: f64 = s != 0 ? load<f64>(at(s, i)) : 1.0;
      const e = Math.exp(-Math.abs(z));
      const l = Math.log1p(e) + (yi ? max(-z, 0) : max(z, 0));
      const q = 1.0 / (1.0 + e);
      const sigma = z >= 0 ? q : e * q;
      const r = si * (sigma - (yi ? 1.0 : 0.0));
      loss += si * l;
      gb += r;
      if (yi) minPos = min(minPos, z);
      else maxNeg = max(maxNeg, z);
      let k = 0;
      if (hessian != 0) {
        const di = si * e * q * q;
        sumD += di;
        const wi = wsub + <usize> ii * rowBytes;
        if (SIMD) {
          const rv = f64x2.splat(r);
          const dv = f64x2.splat(di);
          for (; k + 2 <= d; k += 2) {
            const xv = v128.load(at(xi, k));
            v128.store(at(grad, k), f64x2.add(v128.load(at(grad, k)), f64x2.mul(rv, xv)));
            const wv = f64x2.mul(dv, xv);
            v128.store(at(wi, k), wv);
            v128.store(at(hb, k), f64x2.add(v128.load(at(hb, k)), wv));
          }
        }
        for (; k < d; k++) {
          const xv = load<f64>(at(xi, k));
          store<f64>(at(grad, k), load<f64>(at(grad, k)) + r * xv);
          const wv = di * xv;
          store<f64>(at(wi, k), wv);
          store<f64>(at(hb, k), load<f64>(at(hb, k)) + wv);
        }
      } else {
        if (SIMD) {
          const rv = f64x2.splat(r);
          for (; k + 2 <= d; k += 2) {
            v128.store(at(grad, k), f64x2.add(v128.load(at(grad, k)), f64x2.mul(rv, v128.load(at(xi, k)))));
          }
        }
        for (; k < d; k++) store<f64>(at(grad, k), load<f64>(at(grad, k)) + r * load<f64>(at(xi, k)));
      }
    }
    if (hessian != 0) gram(x + <usize> i0 * rowBytes, wsub, m, d, h);
  }
  store<f64>(at(acc, A_LOSS), load<f64>(at(acc, A_LOSS)) + loss);
  store<f64>(at(grad, d), load<f64>(at(grad, d)) + gb);
  store<f64>(at(acc, A_SUM_D), load<f64>(at(acc, A_SUM_D)) + sumD);
  store<f64>(at(acc, A_MIN_POS), minPos);
  store<f64>(at(acc, A_MAX_NEG), maxNeg);
  return bad;
}

/**
 * h[j][k] += Σᵢ w[i][j] · x[i][k] for j ≤ k over m rows of d columns (both row-major, stride d;
 * `h` row-major d × d). Diagonal tiles also fill a few entries below the diagonal, which the
 * loader ignores.
 */
function gram(x: usize, w: usize, m: i32, d: i32, h: usize): void {
  const rowBytes = <usize> d << 3;
  const d4 = SIMD ? d & ~3 : 0;
  for (let j0 = 0; j0 < d4; j0 += 4) {
    for (let k0 = j0; k0 < d4; k0 += 4) {
      let a00 = f64x2.splat(0);
      let a01 = f64x2.splat(0);
      let a10 = f64x2.splat(0);
      let a11 = f64x2.splat(0);
      let a20 = f64x2.splat(0);
      let a21 = f64x2.splat(0);
      let a30 = f64x2.splat(0);
      let a31 = f64x2.splat(0);
      let xp = at(x, k0);
      let wp = at(w, j0);
      for (let i = 0; i < m; i++) {
        const x0 = v128.load(xp);
        const x1 = v128.load(xp, 16);
        const w0 = v128.load64_splat(wp);
        a00 = f64x2.add(a00, f64x2.mul(w0, x0));
        a01 = f64x2.add(a01, f64x2.mul(w0, x1));
        const w1 = v128.load64_splat(wp, 8);
        a10 = f64x2.add(a10, f64x2.mul(w1, x0));
        a11 = f64x2.add(a11, f64x2.mul(w1, x1));
        const w2 = v128.load64_splat(wp, 16);
        a20 = f64x2.add(a20, f64x2.mul(w2, x0));
        a21 = f64x2.add(a21, f64x2.mul(w2, x1));
        const w3 = v128.load64_splat(wp, 24);
        a30 = f64x2.add(a30, f64x2.mul(w3, x0));
        a31 = f64x2.add(a31, f64x2.mul(w3, x1));
        xp += rowBytes;
        wp += rowBytes;
      }
      const h0 = h + ((<usize> j0 * <usize> d + <usize> k0) << 3);
      const h1 = h0 + rowBytes;
      const h2 = h1 + rowBytes;
      const h3 = h2 + rowBytes;
      v128.store(h0, f64x2.add(v128.load(h0), a00));
      v128.store(h0, f64x2.add(v128.load(h0, 16), a01), 16);
      v128.store(h1, f64x2.add(v128.load(h1), a10));
      v128.store(h1, f64x2.add(v128.load(h1, 16), a11), 16);
      v128.store(h2, f64x2.add(v128.load(h2), a20));
      v128.store(h2, f64x2.add(v128.load(h2, 16), a21), 16);
      v128.store(h3, f64x2.add(v128.load(h3), a30));
      v128.store(h3, f64x2.add(v128.load(h3, 16), a31), 16);
    }
  }
  // Columns k ≥ d4 (all of them without SIMD), every row j ≤ k.
  if (d4 < d) {
    for (let i = 0; i < m; i++) {
      const xi = x + <usize> i * rowBytes;
      const wi = w + <usize> i * rowBytes;
      for (let k = d4; k < d; k++) {
        const xk = load<f64>(at(xi, k));
        for (let j = 0; j <= k; j++) {
          const p = h + ((<usize> j * <usize> d + <usize> k) << 3);
          store<f64>(p, load<f64>(p) + load<f64>(at(wi, j)) * xk);
        }
      }
    }
  }
}

/** Writes σ(x·w + b) of `n` rows into `out` (n Float64). */
export function predict(x: usize, n: i32, d: i32, theta: usize, out: usize): void {
  const b = load<f64>(at(theta, d));
  const rowBytes = <usize> d << 3;
  for (let i = 0; i < n; i++) {
    const z = b + dot(x + <usize> i * rowBytes, theta, d);
    const e = Math.exp(-Math.abs(z));
    const q = 1.0 / (1.0 + e);
    store<f64>(at(out, i), z >= 0 ? q : e * q);
  }
}
