/**
 * Logistic regression with the passes over the rows in WebAssembly (`logreg.wasm`, built from
 * `assembly/logreg.ts` by `build.ts`): scikit-learn's `LogisticRegression(solver="lbfgs")`
 * objective (binary, L2 on the coefficients), minimised by Newton's method (see
 * `logreg_reference.ts`, which holds the optimiser, the checks and the plain TypeScript passes).
 *
 * This module owns the kernel's linear memory as in `mod.ts`: every pass streams the rows through
 * an arena of one block (about {@link BLOCK_BYTES} of features, whole rows) laid out from the
 * module's heap base, so that the arena stays small whatever the number of rows (fresh memory is
 * slow to touch; a block is copied in with one `set`, is read once from the cache by the kernel,
 * and its bytes are reused by the next block and the next call). The memory grows only for wider
 * rows, and the typed-array views are rebuilt after growth.
 *
 * @module
 */

import { WasmArena } from "./arena.ts";
import * as lr from "./logreg.wasm";
import {
  checkFit,
  checkPredict,
  type Labels,
  type LogisticFit,
  type LogisticModel,
  type LogisticOptions,
  type LossPass,
  type LossSums,
  lossSumsTs,
  newtonFit,
  predictLogisticTs,
  type PredictOptions,
} from "./logreg_reference.ts";

export {
  balancedWeights,
  fitLogisticTs,
  type Labels,
  type LogisticFit,
  type LogisticImpl,
  type LogisticModel,
  type LogisticOptions,
  type LossSums,
  predictLogisticTs,
  type PredictOptions,
  TrainingError,
} from "./logreg_reference.ts";

const arena = new WasmArena(lr.memory, lr.heap_base());
const SUB_BLOCK: number = lr.sub_block_rows();

/** Bytes of features per block streamed through Wasm memory (whole rows, at least one sub-block). */
export const BLOCK_BYTES = 1 << 19;

/** Current size of the logistic regression kernel's linear memory in bytes (grows, never shrinks). */
export function logregMemoryBytes(): number {
  return arena.bytes;
}

/** Rows per block for rows of `d` features: whole sub-blocks of about `BLOCK_BYTES`. */
function blockRows(d: number): number {
  const rows = Math.floor(BLOCK_BYTES / (8 * Math.max(d, 1)) / SUB_BLOCK) * SUB_BLOCK;
  return Math.max(SUB_BLOCK, rows);
}

/**
 * One pass over the rows in Wasm (see {@link LossSums}): `x` row-major n × d with n = y.length,
 * `theta` the d coefficients then the intercept, `sampleWeight` null (or absent) for all ones.
 * Checks the shapes only (the values are the fit's business).
 */
export function lossSums(
  x: Float64Array,
  y: Labels,
  options: { theta: Float64Array; sampleWeight?: Float64Array | null; hessian?: boolean },
): LossSums {
  const { theta } = options;
  const s = options.sampleWeight ?? null;
  if (!(x instanceof Float64Array)) throw new TypeError("x must be a Float64Array (row-major n × d)");
  if (!(y instanceof Uint8Array) && !(y instanceof Int32Array)) {
    throw new TypeError("y must be a Uint8Array or an Int32Array");
  }
  if (!(theta instanceof Float64Array) || theta.length === 0) {
    throw new TypeError("theta must be a non-empty Float64Array");
  }
  const n = y.length, d = theta.length - 1, p = d + 1;
  if (x.length !== n * d) throw new RangeError(`x has ${x.length} values, expected ${n} rows × ${d} columns`);
  if (s !== null && (!(s instanceof Float64Array) || s.length !== n)) {
    throw new RangeError(`sampleWeight must be a Float64Array of ${n} values`);
  }
  const hessian = options.hessian ?? false;
  const rows = blockRows(d);
  const slots = lr.acc_slots(d), hb = lr.acc_hb(d);
  const layout = arena.layout();
  const xp = layout.take(rows * d * 8);
  const yp = layout.take(rows);
  const sp = s === null ? 0 : layout.take(rows * 8);
  const tp = layout.take(p * 8);
  const ap = layout.take(slots * 8);
  const hp = hessian ? layout.take(d * d * 8) : 0;
  const scratch = layout.take(Number(lr.scratch_bytes(d)));
  arena.reserve(layout.size);
  arena.f64.set(theta, tp >>> 3);
  const a = ap >>> 3;
  arena.f64.fill(0, a, a + slots);
  arena.f64[a + 1] = Infinity;
  arena.f64[a + 2] = -Infinity;
  if (hessian) arena.f64.fill(0, hp >>> 3, (hp >>> 3) + d * d);

  let firstNonFinite = -1;
  for (let r0 = 0; r0 < n; r0 += rows) {
    const r1 = Math.min(n, r0 + rows);
    arena.f64.set(x.subarray(r0 * d, r1 * d), xp >>> 3);
    arena.u8.set(y.subarray(r0, r1), yp);
    if (s !== null) arena.f64.set(s.subarray(r0, r1), sp >>> 3);
    const bad = lr.objective(xp, yp, sp, r1 - r0, d, tp, hessian ? 1 : 0, ap, hp, scratch);
    if (bad >= 0 && firstNonFinite < 0) firstNonFinite = r0 + bad;
  }

  const gradient = arena.f64.slice(a + 4, a + 4 + p);
  let h: Float64Array | null = null;
  if (hessian) {
    h = new Float64Array(p * p);
    const hv = hp >>> 3;
    for (let j = 0; j < d; j++) {
      for (let k = j; k < d; k++) h[j * p + k] = h[k * p + j] = arena.f64[hv + j * d + k];
      h[j * p + d] = h[d * p + j] = arena.f64[a + hb + j];
    }
    h[d * p + d] = arena.f64[a + 3];
  }
  return {
    loss: arena.f64[a],
    gradient,
    hessian: h,
    minPositive: arena.f64[a + 1],
    maxNegative: arena.f64[a + 2],
    firstNonFinite,
  };
}

/**
 * Fits scikit-learn's binary `LogisticRegression(solver="lbfgs", C)` to `x` (row-major n × d,
 * n = y.length, already standardised) and the 0/1 labels `y`, weighting rows by
 * `options.sampleWeight` ({@link balancedWeights} for `class_weight="balanced"`), to the optimum:
 * Newton iterations until ‖∇f‖∞ ≤ tol · C · Σ sᵢ (see {@link LogisticOptions}).
 *
 * Throws a `TrainingError` for a training set without rows, with one class only, with a NaN or an
 * infinity (naming the row and column), with a constant column (named from
 * `options.columnNames`), or whose classes are perfectly separable at the optimum (label leakage);
 * `TypeError`/`RangeError` for wrong inputs.
 */
export function fitLogistic(x: Float64Array, y: Labels, options: LogisticOptions = {}): LogisticFit {
  const plan = checkFit(x, y, options);
  const sampleWeight = plan.sampleWeight;
  const pass: LossPass = options.impl === "typescript"
    ? (theta, hessian) => lossSumsTs(x, y, { theta, sampleWeight, hessian })
    : (theta, hessian) => lossSums(x, y, { theta, sampleWeight, hessian });
  return newtonFit(x, { ...plan, pass, columnNames: options.columnNames });
}

/**
 * The probabilities σ(x·coef + intercept) of class 1 for every row of `x` (row-major,
 * `model.coef.length` columns), into `options.out` when given. A row with a NaN gives NaN.
 */
export function predictLogistic(x: Float64Array, model: LogisticModel, options: PredictOptions = {}): Float64Array {
  if (options?.impl === "typescript") return predictLogisticTs(x, model, options);
  const { n, out } = checkPredict(x, model, options);
  const d = model.coef.length;
  const rows = blockRows(d);
  const layout = arena.layout();
  const xp = layout.take(rows * d * 8);
  const tp = layout.take((d + 1) * 8);
  const op = layout.take(rows * 8);
  arena.reserve(layout.size);
  arena.f64.set(model.coef, tp >>> 3);
  arena.f64[(tp >>> 3) + d] = model.intercept;
  const o = op >>> 3;
  for (let r0 = 0; r0 < n; r0 += rows) {
    const r1 = Math.min(n, r0 + rows);
    arena.f64.set(x.subarray(r0 * d, r1 * d), xp >>> 3);
    lr.predict(xp, r1 - r0, d, tp, op);
    out.set(arena.f64.subarray(o, o + r1 - r0), r0);
  }
  return out;
}
