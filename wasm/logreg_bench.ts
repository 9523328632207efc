/**
 * Benchmark of the logistic regression fit: Wasm passes against the plain TypeScript passes (same
 * optimiser) and against scikit-learn's `LogisticRegression(solver="lbfgs")` (default `max_iter`
 * 100 and `tol` 1e-4, same C and class weights) on the same synthetic matrix, plus the prediction
 * throughput.
 *
 * scikit-learn runs in a `/usr/bin/python3` subprocess on the matrix written to a temporary raw
 * Float64 file; its time is the `fit` call alone (loading excluded).
 *
 * `deno run -A wasm/logreg_bench.ts [rows] [cols] [--no-ts] [--no-sklearn]` prints the figures as
 * JSON.
 *
 * @module
 */

import { balancedWeights, fitLogistic, type LogisticFit, predictLogistic } from "./logreg.ts";

/** One implementation's fit: the fastest of the runs. */
export interface FitFigures {
  /** Wall milliseconds of the fit. */
  fit_ms: number;
  /** Iterations of its optimiser (Newton iterations; lbfgs iterations for scikit-learn). */
  iterations: number;
  /** Whether its optimiser reported convergence. */
  converged: boolean;
  /** Largest |coefficient or intercept − the Wasm fit's|. */
  max_abs_diff_vs_wasm: number;
}

/** The benchmark's figures. */
export interface LogisticBenchFigures {
  /** Rows of the matrix. */
  rows: number;
  /** Feature columns. */
  cols: number;
  /** Share of rows labelled 1. */
  positive_rate: number;
  /** Class weights of every fit. */
  class_weight: "balanced" | "none";
  /** Fits per implementation (the fastest is reported; scikit-learn runs once). */
  runs: number;
  /** Milliseconds to build the synthetic matrix (not part of any fit). */
  build_ms: number;
  /** The Wasm fit (`fitLogistic`). */
  wasm: FitFigures & { grad_norm: number };
  /** The TypeScript fit (`impl: "typescript"`), null when skipped. */
  typescript: FitFigures | null;
  /** scikit-learn's fit, null when skipped. */
  sklearn: FitFigures | null;
  /** typescript.fit_ms / wasm.fit_ms. */
  speedup_vs_ts: number | null;
  /** sklearn.fit_ms / wasm.fit_ms. */
  speedup_vs_sklearn: number | null;
  /** Prediction throughput in rows per second, into a preallocated array (fastest of at least 3 runs). */
  predict_rows_per_s: { wasm: number; typescript: number };
}

/** Options of {@link benchLogistic}. */
export interface LogisticBenchOptions {
  /** Fits per implementation (default 3). */
  runs?: number;
  /** Also time the TypeScript implementation (default true). */
  typescript?: boolean;
  /** Also time scikit-learn (default true). */
  sklearn?: boolean;
  /** Python with scikit-learn (default /usr/bin/python3). */
  python?: string;
  /** Class weights (default "balanced"). */
  classWeight?: "balanced" | "none";
}

/** A synthetic training matrix. */
export interface SyntheticMatrix {
  /** Row-major rows × cols, every column standardised. */
  x: Float64Array;
  /** 0/1 labels. */
  y: Uint8Array;
}

/**
 * A seeded synthetic matrix shaped like the churn training set: groups of four correlated, skewed
 * activity counts over nested windows, and (with 24 columns or more) three one-hot encoded
 * categories of 3, 8 and 5 levels, whose standardised columns are exactly collinear; every column
 * standardised. The label is a noisy logistic function of the features, about 20 % positives,
 * not separable.
 */
export function syntheticMatrix(rows: number, cols: number): SyntheticMatrix {
  let seed = 0x2545f491;
  const rand = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return ((seed >>> 0) + 0.5) / 4294967296;
  };
  const levels = cols >= 24 ? [3, 8, 5] : [];
  const numeric = cols - levels.reduce((a, b) => a + b, 0);
  const groups = Math.ceil(numeric / 4);
  const scale = [0.5, 1, 2, 4];
  const x = new Float64Array(rows * cols);
  const latent = new Float64Array(groups);
  for (let i = 0; i < rows; i++) {
    const row = i * cols;
    for (let m = 0; m < groups; m++) latent[m] = -Math.log(rand());
    for (let c = 0; c < numeric; c++) x[row + c] = latent[c >> 2] * scale[c & 3] + rand() - 0.5;
    let c = numeric;
    for (const k of levels) {
      // Skewed levels: level j with probability ∝ 1 / (j + 1).
      const u = rand() * harmonic(k);
      let j = 0;
      for (let acc = 1; acc < u && j < k - 1; acc += 1 / (++j + 1));
      x[row + c + j] = 1;
      c += k;
    }
  }
  standardise(x, cols);
  const beta = new Float64Array(cols);
  for (let c = 0; c < cols; c++) beta[c] = (c % 3 === 0 ? -0.5 : 0.25) * (1 + (c % 5) / 5);
  const y = new Uint8Array(rows);
  for (let i = 0; i < rows; i++) {
    let z = -1.8;
    for (let c = 0, row = i * cols; c < cols; c++) z += beta[c] * x[row + c] * 0.3;
    const u = rand();
    y[i] = z + Math.log(u / (1 - u)) > 0 ? 1 : 0;
  }
  return { x, y };
}

function harmonic(k: number): number {
  let h = 0;
  for (let j = 1; j <= k; j++) h += 1 / j;
  return h;
}

function standardise(x: Float64Array, cols: number): void {
  const rows = x.length / cols;
  const mean = new Float64Array(cols), sq = new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let c = 0, row = i * cols; c < cols; c++) mean[c] += x[row + c];
  for (let c = 0; c < cols; c++) mean[c] /= rows;
  for (let i = 0; i < rows; i++) {
    for (let c = 0, row = i * cols; c < cols; c++) sq[c] += (x[row + c] - mean[c]) ** 2;
  }
  const inv = sq.map((s) => (s > 0 ? 1 / Math.sqrt(s / rows) : 1));
  for (let i = 0; i < rows; i++) {
    for (let c = 0, row = i * cols; c < cols; c++) x[row + c] = (x[row + c] - mean[c]) * inv[c];
  }
}

function maxAbsDiff(a: { coef: ArrayLike<number>; intercept: number }, b: LogisticFit): number {
  let m = Math.abs(a.intercept - b.intercept);
  for (let k = 0; k < b.coef.length; k++) m = Math.max(m, Math.abs(a.coef[k] - b.coef[k]));
  return m;
}

function fastest<T>(runs: number, f: () => T): { ms: number; value: T } {
  let best = Infinity;
  let value: T | undefined;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    value = f();
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best, value: value! };
}

const SKLEARN_SCRIPT = `
import json, sys, time, warnings
import numpy as np
from sklearn.linear_model import LogisticRegression
path, rows, cols, cw = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
x = np.fromfile(path + "/x.f64", dtype="<f8").reshape(rows, cols)
y = np.fromfile(path + "/y.u8", dtype=np.uint8)
x[0, 0] += 0.0  # touch
model = LogisticRegression(solver="lbfgs", C=1.0, class_weight=None if cw == "none" else "balanced")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    t0 = time.perf_counter()
    model.fit(x, y)
    seconds = time.perf_counter() - t0
print(json.dumps({"fit_s": seconds, "n_iter": int(model.n_iter_[0]), "converged": not caught,
                  "coef": model.coef_[0].tolist(), "intercept": float(model.intercept_[0])}))
`;

/** Fits scikit-learn on the matrix in a subprocess; returns its fit time and coefficients. */
async function sklearnFit(
  m: SyntheticMatrix,
  options: { cols: number; python: string; classWeight: string },
): Promise<{ fit_s: number; n_iter: number; converged: boolean; coef: number[]; intercept: number }> {
  const dir = await Deno.makeTempDir({ prefix: "logreg-bench-" });
  try {
    await Deno.writeFile(`${dir}/x.f64`, new Uint8Array(m.x.buffer, m.x.byteOffset, m.x.byteLength));
    await Deno.writeFile(`${dir}/y.u8`, m.y);
    const rows = String(m.y.length), cols = String(options.cols);
    const result = await new Deno.Command(options.python, {
      args: ["-c", SKLEARN_SCRIPT, dir, rows, cols, options.classWeight],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!result.success) {
      throw new Error(`scikit-learn failed: ${new TextDecoder().decode(result.stderr)}`);
    }
    return JSON.parse(new TextDecoder().decode(result.stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Times the Wasm and TypeScript fits and scikit-learn's on one synthetic matrix of `rows` × `cols`
 * (see {@link syntheticMatrix}), and the prediction throughput.
 */
export async function benchLogistic(
  rows: number,
  cols: number,
  options: LogisticBenchOptions = {},
): Promise<LogisticBenchFigures> {
  const runs = options.runs ?? 3;
  const classWeight = options.classWeight ?? "balanced";
  const t0 = performance.now();
  const m = syntheticMatrix(rows, cols);
  const build_ms = performance.now() - t0;
  let positives = 0;
  for (const v of m.y) positives += v;
  const sampleWeight = classWeight === "balanced" ? balancedWeights(m.y) : undefined;

  const wasm = fastest(runs, () => fitLogistic(m.x, m.y, { sampleWeight }));
  const figures: LogisticBenchFigures = {
    rows,
    cols,
    positive_rate: positives / rows,
    class_weight: classWeight,
    runs,
    build_ms,
    wasm: {
      fit_ms: wasm.ms,
      iterations: wasm.value.iterations,
      converged: wasm.value.converged,
      max_abs_diff_vs_wasm: 0,
      grad_norm: wasm.value.gradNorm,
    },
    typescript: null,
    sklearn: null,
    speedup_vs_ts: null,
    speedup_vs_sklearn: null,
    predict_rows_per_s: { wasm: 0, typescript: 0 },
  };
  if (options.typescript ?? true) {
    const ts = fastest(runs, () => fitLogistic(m.x, m.y, { sampleWeight, impl: "typescript" }));
    figures.typescript = {
      fit_ms: ts.ms,
      iterations: ts.value.iterations,
      converged: ts.value.converged,
      max_abs_diff_vs_wasm: maxAbsDiff(ts.value, wasm.value),
    };
    figures.speedup_vs_ts = ts.ms / wasm.ms;
  }
  if (options.sklearn ?? true) {
    const sk = await sklearnFit(m, { cols, python: options.python ?? "/usr/bin/python3", classWeight });
    figures.sklearn = {
      fit_ms: sk.fit_s * 1000,
      iterations: sk.n_iter,
      converged: sk.converged,
      max_abs_diff_vs_wasm: maxAbsDiff(sk, wasm.value),
    };
    figures.speedup_vs_sklearn = sk.fit_s * 1000 / wasm.ms;
  }
  // The output array is touched first: fresh memory is slow, and not what is measured.
  const out = new Float64Array(rows).fill(0);
  for (const impl of ["wasm", "typescript"] as const) {
    const { ms } = fastest(Math.max(runs, 3), () => predictLogistic(m.x, wasm.value, { out, impl }));
    figures.predict_rows_per_s[impl] = rows / (ms / 1000);
  }
  return figures;
}

if (import.meta.main) {
  const [rows, cols] = Deno.args.filter((a) => !a.startsWith("--")).map(Number);
  const figures = await benchLogistic(rows || 144_000, cols || 60, {
    typescript: !Deno.args.includes("--no-ts"),
    sklearn: !Deno.args.includes("--no-sklearn"),
    runs: rows > 1_000_000 ? 1 : 3,
  });
  console.log(JSON.stringify(figures, null, 2));
}
