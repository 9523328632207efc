/**
 * Logistic regression in plain TypeScript: the objective, the optimiser, the input checks and the
 * degenerate-training-set errors shared with the Wasm implementation (`logreg.ts`), and the plain
 * TypeScript passes over the rows, which are the test oracle of the Wasm kernels and the baseline
 * of the benchmark.
 *
 * The objective is scikit-learn's `LogisticRegression(solver="lbfgs")` for a binary target:
 *
 *   f(w, b) = ½‖w‖² + C · Σᵢ sᵢ · ℓ(yᵢ, xᵢ·w + b),   ℓ(y, z) = log(1 + eᶻ) − y·z,
 *
 * L2 on the coefficients, not on the intercept, sᵢ the sample weights (1, or
 * {@link balancedWeights} for `class_weight="balanced"`). It is strictly convex, so its minimiser
 * is unique and every correct solver finds the same coefficients.
 *
 * The optimiser is Newton's method with the exact Hessian H = diag(1, …, 1, 0) + C · Xᵀ D X
 * (X with a column of ones, Dᵢ = sᵢ σ(zᵢ)(1 − σ(zᵢ))), a Cholesky solve and a backtracking
 * (Armijo) line search. It needs no tuning and reaches the optimum to rounding in a handful of
 * iterations, where L-BFGS would need hundreds on the nearly collinear columns a one-hot encoding
 * produces (those directions have curvature 1 against ~n elsewhere). One pass over the rows
 * computes the loss, the gradient and the Hessian at a trial point; once the gradient is small the
 * passes skip the Hessian and the last factorisation is reused (the steps stay Newton steps to
 * within the change of the Hessian, which is tiny by then).
 *
 * @module
 */

/** The labels: one 0 or 1 per row. */
export type Labels = Uint8Array | Int32Array;

/** Which implementation runs the passes over the rows. */
export type LogisticImpl = "wasm" | "typescript";

/**
 * A degenerate training set: no rows, one class only, a constant column, non-finite features or
 * perfectly separable classes. The message says which, and what to look at.
 */
export class TrainingError extends Error {
  /** Creates the error with its message. */
  constructor(message: string) {
    super(message);
    this.name = "TrainingError";
  }
}

/** Options of a fit. */
export interface LogisticOptions {
  /** One non-negative weight per row (default 1 each); {@link balancedWeights} gives `class_weight="balanced"`. */
  readonly sampleWeight?: Float64Array;
  /** Inverse of the L2 strength, > 0 (default 1, scikit-learn's default). */
  readonly C?: number;
  /** Most Newton iterations (default 100). */
  readonly maxIter?: number;
  /**
   * Convergence tolerance (default 1e-10): the fit stops when ‖∇f‖∞ ≤ tol · C · Σ sᵢ, that is,
   * when the gradient of the per-weight mean loss (plus the scaled penalty) is at most `tol`.
   */
  readonly tol?: number;
  /** Feature names, one per column, used in error messages (default "column k"). */
  readonly columnNames?: readonly string[];
  /** Which implementation runs the passes over the rows (default "wasm"). */
  readonly impl?: LogisticImpl;
}

/** The coefficients a prediction needs. */
export interface LogisticModel {
  /** One coefficient per feature column. */
  readonly coef: Float64Array;
  /** The intercept. */
  readonly intercept: number;
}

/** A fitted model and how the optimiser got there. */
export interface LogisticFit extends LogisticModel {
  /** Newton iterations taken. */
  iterations: number;
  /** ‖∇f‖∞ / (C · Σ sᵢ) at the returned coefficients: the quantity compared with `tol`. */
  gradNorm: number;
  /** True when `gradNorm` ≤ `tol`. */
  converged: boolean;
  /** The objective f at the returned coefficients (penalty included). */
  loss: number;
}

/** Options of a prediction. */
export interface PredictOptions {
  /** Array to write the probabilities into (at least one element per row); a view of its first rows is returned. */
  readonly out?: Float64Array;
  /** Which implementation computes the scores (default "wasm"). */
  readonly impl?: LogisticImpl;
}

/**
 * The unscaled sums of one pass over the rows at θ = (w, b), before C and the penalty:
 * Σ sᵢ ℓᵢ, its gradient and (when asked) its Hessian, with p = d + 1 (the intercept last).
 */
export interface LossSums {
  /** Σ sᵢ ℓ(yᵢ, zᵢ). */
  loss: number;
  /** Σ sᵢ (σ(zᵢ) − yᵢ) (xᵢ, 1): p values. */
  gradient: Float64Array;
  /** Σ sᵢ σ(zᵢ)(1 − σ(zᵢ)) (xᵢ, 1)(xᵢ, 1)ᵀ, row-major p × p, symmetric; null when not asked. */
  hessian: Float64Array | null;
  /** Lowest score zᵢ of a row labelled 1 (+Infinity when none). */
  minPositive: number;
  /** Highest score zᵢ of a row labelled 0 (-Infinity when none). */
  maxNegative: number;
  /** First row whose score is not finite, or -1. */
  firstNonFinite: number;
}

/** One pass over the rows at `theta` (p = d + 1 values), with the Hessian when `hessian` is true. */
export type LossPass = (theta: Float64Array, hessian: boolean) => LossSums;

/** The checked shape of a fit. */
export interface FitPlan {
  /** Rows. */
  readonly n: number;
  /** Feature columns. */
  readonly d: number;
  /** The inverse L2 strength. */
  readonly C: number;
  /** Most Newton iterations. */
  readonly maxIter: number;
  /** Convergence tolerance. */
  readonly tol: number;
  /** Total sample weight of the rows labelled 1. */
  readonly weightPos: number;
  /** Total sample weight of the rows labelled 0. */
  readonly weightNeg: number;
  /** The sample weights, or null for all ones. */
  readonly sampleWeight: Float64Array | null;
}

function isLabels(y: unknown): y is Labels {
  return y instanceof Uint8Array || y instanceof Int32Array;
}

/**
 * scikit-learn's `class_weight="balanced"` as sample weights: n / (2 · n_class) for each row,
 * n_class the number of rows of its class. Throws a `TrainingError` when a class has no row.
 */
export function balancedWeights(y: Labels): Float64Array {
  if (!isLabels(y)) throw new TypeError("y must be a Uint8Array or an Int32Array");
  const n = y.length;
  const pos = countPositives(y);
  checkBothClasses(n, pos);
  const wPos = n / (2 * pos), wNeg = n / (2 * (n - pos));
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = y[i] === 1 ? wPos : wNeg;
  return out;
}

/** Counts the rows labelled 1; throws a `RangeError` naming the first label that is not 0 or 1. */
function countPositives(y: Labels): number {
  let pos = 0;
  for (let i = 0; i < y.length; i++) {
    const v = y[i];
    if (v !== 0 && v !== 1) throw new RangeError(`y[${i}] is ${v}, expected 0 or 1`);
    pos += v;
  }
  return pos;
}

function checkBothClasses(n: number, pos: number): void {
  if (n === 0) throw new TrainingError("The training set has no rows");
  if (pos === 0 || pos === n) {
    const only = pos === 0 ? 0 : 1;
    throw new TrainingError(
      `The training set has only class ${only} (all ${n} rows are labelled ${only}): logistic regression needs both classes`,
    );
  }
}

function checkPositive(value: unknown, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RangeError(`${name} must be a finite number > 0, got ${String(value)}`);
  }
  return value;
}

/**
 * Checks a fit's inputs and options: `x` a Float64Array of n × d values (n = y.length), `y`
 * 0/1 labels with both classes present, the weights finite and non-negative with weight on both
 * classes. Throws `TypeError`/`RangeError` for wrong inputs, `TrainingError` for a training set
 * without rows or with one class only.
 */
export function checkFit(x: Float64Array, y: Labels, options: LogisticOptions = {}): FitPlan {
  if (!(x instanceof Float64Array)) throw new TypeError("x must be a Float64Array (row-major n × d)");
  if (!isLabels(y)) throw new TypeError("y must be a Uint8Array or an Int32Array");
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  const n = y.length;
  if (n === 0) {
    if (x.length !== 0) throw new RangeError(`x has ${x.length} values but y is empty`);
    throw new TrainingError("The training set has no rows");
  }
  if (x.length % n !== 0) {
    throw new RangeError(`x has ${x.length} values, not a multiple of the ${n} rows of y`);
  }
  const d = x.length / n;
  const C = options.C === undefined ? 1 : checkPositive(options.C, "C");
  const tol = options.tol === undefined ? 1e-10 : checkPositive(options.tol, "tol");
  const maxIter = options.maxIter === undefined ? 100 : options.maxIter;
  if (!Number.isInteger(maxIter) || maxIter < 0) {
    throw new RangeError(`maxIter must be a non-negative integer, got ${String(maxIter)}`);
  }
  if (options.columnNames !== undefined) {
    if (!Array.isArray(options.columnNames)) throw new TypeError("columnNames must be an array of strings");
    if (options.columnNames.length !== d) {
      throw new RangeError(`columnNames has ${options.columnNames.length} names, x has ${d} columns`);
    }
  }
  if (options.impl !== undefined && options.impl !== "wasm" && options.impl !== "typescript") {
    throw new RangeError(`impl must be "wasm" or "typescript", got ${String(options.impl)}`);
  }
  const pos = countPositives(y);
  checkBothClasses(n, pos);
  let weightPos = pos, weightNeg = n - pos;
  const s = options.sampleWeight ?? null;
  if (s !== null) {
    if (!(s instanceof Float64Array)) throw new TypeError("sampleWeight must be a Float64Array");
    if (s.length !== n) throw new RangeError(`sampleWeight has ${s.length} values, expected ${n} (the rows of y)`);
    weightPos = 0;
    weightNeg = 0;
    for (let i = 0; i < n; i++) {
      const v = s[i];
      if (!(v >= 0) || v === Infinity) {
        throw new RangeError(`sampleWeight[${i}] is ${v}, expected a finite number >= 0`);
      }
      if (y[i] === 1) weightPos += v;
      else weightNeg += v;
    }
    for (const [cls, w] of [[0, weightNeg], [1, weightPos]]) {
      if (w === 0) {
        throw new TrainingError(
          `Class ${cls} has zero total sample weight: logistic regression needs weight on both classes`,
        );
      }
    }
  }
  return { n, d, C, maxIter, tol, weightPos, weightNeg, sampleWeight: s };
}

function columnName(k: number, names: readonly string[] | undefined): string {
  return names === undefined ? `column ${k}` : `column '${names[k]}'`;
}

/** Throws the `TrainingError` for row `row`, whose score is not finite. */
function nonFiniteError(
  x: Float64Array,
  { row, d, names }: { row: number; d: number; names?: readonly string[] },
): never {
  for (let k = 0; k < d; k++) {
    const v = x[row * d + k];
    if (!Number.isFinite(v)) {
      throw new TrainingError(`Row ${row}, ${columnName(k, names)} is ${v}: the features must be finite numbers`);
    }
  }
  throw new TrainingError(`Row ${row} has features too large for a finite score: standardise the features`);
}

/** Throws a `TrainingError` naming the first column whose values are all equal. */
export function checkConstantColumns(
  x: Float64Array,
  options: { n: number; d: number; names?: readonly string[] },
): void {
  const { n, d } = options;
  let open: number[] = Array.from({ length: d }, (_, k) => k);
  for (let i = 1; i < n && open.length > 0; i++) {
    const row = i * d;
    open = open.filter((k) => x[row + k] === x[k]);
  }
  if (open.length > 0) {
    const name = columnName(open[0], options.names);
    throw new TrainingError(
      `${name[0].toUpperCase()}${name.slice(1)} is constant (all ${n} values are ${x[open[0]]}): drop it, ` +
        `it carries no information`,
    );
  }
}

/** The objective at one point: f, ∇f and, when computed, ∇²f. */
interface Point {
  theta: Float64Array;
  f: number;
  g: Float64Array;
  h: Float64Array | null;
  sums: LossSums;
}

/** Below this relative gradient, passes skip the Hessian and reuse the last factorisation. */
const REUSE_HESSIAN_BELOW = 1e-4;
/** Armijo's sufficient-decrease constant. */
const ARMIJO = 1e-4;

function maxAbs(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

function sumAbs(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m += Math.abs(v[i]);
  return m;
}

/**
 * Cholesky factor (lower, row-major p × p) of the symmetric positive definite `a`, or null when
 * a pivot is not positive.
 */
function cholesky(a: Float64Array, p: number): Float64Array | null {
  const l = new Float64Array(p * p);
  for (let j = 0; j < p; j++) {
    let diag = a[j * p + j];
    for (let k = 0; k < j; k++) diag -= l[j * p + k] * l[j * p + k];
    if (!(diag > 0)) return null;
    const ljj = Math.sqrt(diag);
    l[j * p + j] = ljj;
    for (let i = j + 1; i < p; i++) {
      let v = a[i * p + j];
      for (let k = 0; k < j; k++) v -= l[i * p + k] * l[j * p + k];
      l[i * p + j] = v / ljj;
    }
  }
  return l;
}

/** Factorises `h`, adding a growing multiple of the identity if rounding made it indefinite. */
function factorise(h: Float64Array, p: number): Float64Array {
  let l = cholesky(h, p);
  let mu = 1e-12 * Math.max(1, ...Array.from({ length: p }, (_, j) => Math.abs(h[j * p + j])));
  while (l === null) {
    const damped = h.slice();
    for (let j = 0; j < p; j++) damped[j * p + j] += mu;
    l = cholesky(damped, p);
    mu *= 10;
  }
  return l;
}

/** Solves L Lᵀ x = b. */
function cholSolve(l: Float64Array, b: Float64Array): Float64Array {
  const p = b.length;
  const x = b.slice();
  for (let i = 0; i < p; i++) {
    let v = x[i];
    for (let k = 0; k < i; k++) v -= l[i * p + k] * x[k];
    x[i] = v / l[i * p + i];
  }
  for (let i = p - 1; i >= 0; i--) {
    let v = x[i];
    for (let k = i + 1; k < p; k++) v -= l[k * p + i] * x[k];
    x[i] = v / l[i * p + i];
  }
  return x;
}

/**
 * Minimises the objective with Newton's method (see the module documentation), `pass` running
 * every pass over the rows. Throws a `TrainingError` for non-finite features, a constant column
 * or perfectly separable classes.
 */
export function newtonFit(
  x: Float64Array,
  plan: FitPlan & { pass: LossPass; columnNames?: readonly string[] },
): LogisticFit {
  const { d, C, tol, maxIter, pass } = plan;
  const p = d + 1;
  const scale = C * (plan.weightPos + plan.weightNeg);
  const evaluate = (theta: Float64Array, hessian: boolean): Point => {
    const sums = pass(theta, hessian);
    let f = C * sums.loss;
    const g = new Float64Array(p);
    for (let k = 0; k < p; k++) g[k] = C * sums.gradient[k];
    for (let k = 0; k < d; k++) {
      f += 0.5 * theta[k] * theta[k];
      g[k] += theta[k];
    }
    let h: Float64Array | null = null;
    if (sums.hessian !== null) {
      h = new Float64Array(p * p);
      for (let i = 0; i < p * p; i++) h[i] = C * sums.hessian[i];
      for (let k = 0; k < d; k++) h[k * p + k] += 1;
    }
    return { theta, f, g, h, sums };
  };

  // Start from w = 0 and the intercept of the weighted class balance (0 when balanced).
  const start = new Float64Array(p);
  start[d] = Math.log(plan.weightPos / plan.weightNeg);
  let cur = evaluate(start, true);
  if (cur.sums.firstNonFinite >= 0) {
    nonFiniteError(x, { row: cur.sums.firstNonFinite, d, names: plan.columnNames });
  }
  checkConstantColumns(x, { n: plan.n, d, names: plan.columnNames });

  let factor: Float64Array | null = null;
  let iterations = 0;
  let wantHessian = true;
  let gradNorm = maxAbs(cur.g) / scale;
  while (gradNorm > tol && iterations < maxIter) {
    if (cur.h !== null) factor = factorise(cur.h, p);
    const step = cholSolve(factor!, cur.g.map((v) => -v));
    let slope = 0;
    for (let k = 0; k < p; k++) slope += cur.g[k] * step[k];
    const fresh = cur.h !== null;
    wantHessian = wantHessian || gradNorm > REUSE_HESSIAN_BELOW;
    let t = 1;
    let next: Point | null = null;
    while (t >= 1e-10) {
      const theta = new Float64Array(p);
      for (let k = 0; k < p; k++) theta[k] = cur.theta[k] + t * step[k];
      const trial = evaluate(theta, wantHessian);
      const decrease = trial.f <= cur.f + ARMIJO * t * slope;
      // At the optimum's rounding level f no longer decreases reliably: accept a smaller gradient.
      const flat = Math.abs(trial.f - cur.f) <= 1e-12 * Math.abs(cur.f) && sumAbs(trial.g) < sumAbs(cur.g);
      if (decrease || flat) {
        next = trial;
        break;
      }
      t *= 0.5;
    }
    if (next === null) break; // No descent left: the gradient is at rounding level.
    const nextNorm = maxAbs(next.g) / scale;
    // A step with a reused factorisation that did not cut the gradient tenfold asks for a fresh Hessian.
    wantHessian = !fresh && nextNorm > 0.1 * gradNorm;
    cur = next;
    gradNorm = nextNorm;
    iterations++;
  }

  const { minPositive, maxNegative } = cur.sums;
  if (minPositive > maxNegative) {
    const lowest = minPositive.toPrecision(4), highest = maxNegative.toPrecision(4);
    throw new TrainingError(
      `The classes are perfectly separable: at the optimum every row labelled 1 scores above every row labelled 0 ` +
        `(lowest positive score ${lowest} > highest negative score ${highest}); this looks like label leakage: ` +
        `look for a feature computed from the label or from the future`,
    );
  }
  return {
    coef: cur.theta.slice(0, d),
    intercept: cur.theta[d],
    iterations,
    gradNorm,
    converged: gradNorm <= tol,
    loss: cur.f,
  };
}

/** log(1 + eᶻ) − y·z without overflow. */
function logLoss(z: number, y: number): number {
  const l = Math.log1p(Math.exp(-Math.abs(z)));
  return y === 1 ? l + Math.max(-z, 0) : l + Math.max(z, 0);
}

/** σ(z) without overflow. */
function sigmoid(z: number): number {
  const e = Math.exp(-Math.abs(z));
  return z >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/**
 * One pass over the rows in plain TypeScript (see {@link LossSums}): x row-major n × d, theta the
 * d coefficients then the intercept, `sampleWeight` null for all ones. No checks: `checkFit` first.
 */
export function lossSumsTs(
  x: Float64Array,
  y: Labels,
  options: { theta: Float64Array; sampleWeight: Float64Array | null; hessian: boolean },
): LossSums {
  const { theta, sampleWeight: s, hessian } = options;
  const n = y.length, d = theta.length - 1, p = d + 1;
  const b = theta[d];
  const grad = new Float64Array(p);
  const h = hessian ? new Float64Array(p * p) : null;
  let loss = 0, minPositive = Infinity, maxNegative = -Infinity, firstNonFinite = -1;
  for (let i = 0; i < n; i++) {
    const row = i * d;
    let z = b;
    for (let k = 0; k < d; k++) z += x[row + k] * theta[k];
    if (!Number.isFinite(z) && firstNonFinite < 0) firstNonFinite = i;
    const yi = y[i], si = s === null ? 1 : s[i];
    const e = Math.exp(-Math.abs(z));
    const q = 1 / (1 + e);
    loss += si * logLoss(z, yi);
    if (yi === 1) minPositive = Math.min(minPositive, z);
    else maxNegative = Math.max(maxNegative, z);
    const r = si * ((z >= 0 ? q : e * q) - yi);
    for (let k = 0; k < d; k++) grad[k] += r * x[row + k];
    grad[d] += r;
    if (h !== null) {
      const di = si * e * q * q;
      for (let j = 0; j < d; j++) {
        const wj = di * x[row + j];
        const hj = j * p;
        for (let k = j; k < d; k++) h[hj + k] += wj * x[row + k];
        h[hj + d] += wj;
      }
      h[d * p + d] += di;
    }
  }
  if (h !== null) { for (let j = 0; j < p; j++) for (let k = 0; k < j; k++) h[j * p + k] = h[k * p + j]; }
  return { loss, gradient: grad, hessian: h, minPositive, maxNegative, firstNonFinite };
}

/**
 * Fits the logistic regression in plain TypeScript: the same checks, optimiser and result as
 * `fitLogistic(x, y, { impl: "typescript" })` in `logreg.ts`.
 */
export function fitLogisticTs(x: Float64Array, y: Labels, options: LogisticOptions = {}): LogisticFit {
  const plan = checkFit(x, y, options);
  const pass: LossPass = (theta, hessian) => lossSumsTs(x, y, { theta, sampleWeight: plan.sampleWeight, hessian });
  return newtonFit(x, { ...plan, pass, columnNames: options.columnNames });
}

/** Checks a prediction's inputs; returns the number of rows and the output array. */
export function checkPredict(
  x: Float64Array,
  model: LogisticModel,
  options: PredictOptions = {},
): { n: number; out: Float64Array } {
  if (!(x instanceof Float64Array)) throw new TypeError("x must be a Float64Array (row-major n × d)");
  if (typeof model !== "object" || model === null || !(model.coef instanceof Float64Array)) {
    throw new TypeError("model.coef must be a Float64Array");
  }
  if (typeof model.intercept !== "number") throw new TypeError("model.intercept must be a number");
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  if (options.impl !== undefined && options.impl !== "wasm" && options.impl !== "typescript") {
    throw new RangeError(`impl must be "wasm" or "typescript", got ${String(options.impl)}`);
  }
  const d = model.coef.length;
  if (d === 0) throw new RangeError("model.coef is empty: the number of rows of x is unknown");
  if (x.length % d !== 0) throw new RangeError(`x has ${x.length} values, not a multiple of the ${d} coefficients`);
  const n = x.length / d;
  const out = options.out;
  if (out === undefined) return { n, out: new Float64Array(n) };
  if (!(out instanceof Float64Array)) throw new TypeError("out must be a Float64Array");
  if (out.length < n) throw new RangeError(`out has ${out.length} elements, needs at least ${n}`);
  return { n, out: out.length === n ? out : out.subarray(0, n) };
}

/** σ(x·w + b) for every row of `x` (row-major, `model.coef.length` columns), in plain TypeScript. */
export function predictLogisticTs(x: Float64Array, model: LogisticModel, options: PredictOptions = {}): Float64Array {
  const { n, out } = checkPredict(x, model, options);
  const w = model.coef, d = w.length;
  for (let i = 0; i < n; i++) {
    let z = model.intercept;
    for (let k = 0, row = i * d; k < d; k++) z += x[row + k] * w[k];
    out[i] = sigmoid(z);
  }
  return out;
}
