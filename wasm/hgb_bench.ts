/**
 * Benchmark of the gradient-boosted trees ({@link fitHgb}) against scikit-learn's
 * `HistGradientBoostingClassifier` with the same parameters, on a seeded synthetic churn-like
 * matrix (NaN in some columns, about 12% positives, a nonlinear signal) at several sizes. For each
 * size: our fit and predict times, n_iter and held-out PR-AUC; scikit-learn's fit time, n_iter and
 * PR-AUC (its fit timed inside a `/usr/bin/python3` subprocess reading the same matrix from a raw
 * float64 temp file, so its times exclude the transfer), with all cores and with one thread.
 *
 * `deno run -A wasm/hgb_bench.ts [rows ...]` prints the figures as JSON (default sizes 144,000 and
 * 7,200,000 rows × 55 features).
 *
 * @module
 */

import { mulberry32 } from "../pipeline/random.ts";
import { fitHgb, type HgbOptions, predictHgb } from "./hgb.ts";

/** One implementation's figures at one size. */
export interface HgbImplFigures {
  /** OpenMP threads of a scikit-learn run ("default": all cores); "wasm" for ours (one thread). */
  threads: number | "default" | "wasm";
  /** Fit time in milliseconds. */
  fit_ms: number;
  /** Predict time on the held-out rows in milliseconds. */
  predict_ms: number;
  /** Boosting iterations run. */
  n_iter: number;
  /** Average precision (PR-AUC, scikit-learn's step-wise definition) on the held-out rows. */
  pr_auc: number;
}

/** The figures at one size. */
export interface HgbSizeFigures {
  /** Training rows. */
  rows: number;
  /** Features. */
  features: number;
  /** Held-out rows scored for PR-AUC. */
  holdout_rows: number;
  /** Positive rate of the training rows. */
  positive_rate: number;
  /** This module's fit (Wasm kernels). */
  ours: HgbImplFigures;
  /** scikit-learn's fits, one per thread setting (empty when skipped or failed). */
  sklearn: HgbImplFigures[];
  /** Why scikit-learn was not run or failed, else null. */
  sklearn_error: string | null;
  /** ours.fit_ms / the fastest scikit-learn fit_ms (below 1: faster than scikit-learn), or null. */
  fit_time_ratio: number | null;
  /** The 1-minute load average when the size started (the machine may be shared). */
  load_average: number;
}

/** The benchmark's figures. */
export interface HgbBenchFigures {
  /** Model parameters (scikit-learn names). */
  params: { learning_rate: number; max_depth: number; max_iter: number; early_stopping: "auto" | boolean };
  /** One entry per size. */
  sizes: HgbSizeFigures[];
}

/** Options of {@link benchHgb}. */
export interface HgbBenchOptions {
  /** Training rows per size (default [144,000, 7,200,000]). */
  rows?: number[];
  /** Features (default 55). */
  features?: number;
  /** Held-out rows per size: this fraction of the training rows, at most 400,000 (default 0.2). */
  holdoutFraction?: number;
  /** Python with scikit-learn, or null to skip scikit-learn (default "/usr/bin/python3"). */
  python?: string | null;
  /**
   * OpenMP thread settings to run scikit-learn with (default ["default", 1]: all cores, then one;
   * on a busy machine OpenMP's spinning threads can make "default" much slower than 1).
   */
  sklearnThreads?: (number | "default")[];
  /** Early stopping (default "auto", as the project's model). */
  earlyStopping?: "auto" | boolean;
  /** Iterations at most (default 250). */
  maxIter?: number;
}

/**
 * A synthetic churn-like matrix of `rows` × `features` (column-major, NaN = missing) and 0/1
 * labels: counts, recency, rates with missing values, plan flags and noise columns; the label
 * depends nonlinearly on about a dozen of them. Deterministic for a seed.
 */
export function syntheticChurn(rows: number, { features, seed }: { features: number; seed: number }): {
  columns: Float64Array[];
  y: Uint8Array;
} {
  if (features < 12) throw new RangeError(`features must be at least 12, got ${features}`);
  const rand = mulberry32(seed);
  const columns = Array.from({ length: features }, () => new Float64Array(rows));
  const y = new Uint8Array(rows);
  const c = columns;
  for (let r = 0; r < rows; r++) {
    const engagement = -Math.log(1 - rand()) * 2;
    c[0][r] = Math.floor(-Math.log(1 - rand()) * 300); // tenure days
    c[1][r] = Math.floor(engagement * 6 * rand() * 2); // logins
    c[2][r] = Math.round(engagement * 40 * (0.5 + rand()) * 10) / 10; // watch minutes
    c[3][r] = Math.min(60, Math.floor(-Math.log(1 - rand()) * 12 / (0.3 + engagement))); // recency
    c[4][r] = rand() < 0.3 ? NaN : Math.round((50 + 10 * engagement + 15 * (rand() - 0.5)) * 10) / 10; // quiz
    c[5][r] = rand() < 0.2 ? NaN : Math.round(rand() * rand() * 1000) / 1000; // payment fail rate
    const plan = Math.floor(rand() * rand() * 4);
    for (let k = 0; k < 4; k++) c[6 + k][r] = plan === k ? 1 : 0;
    c[10][r] = Math.floor(-Math.log(1 - rand()) * 0.6); // tickets
    c[11][r] = c[1][r] / Math.max(1, c[0][r] / 30);
    for (let f = 12; f < features; f++) {
      const kind = f % 4;
      let x = kind === 0
        ? rand() + rand() - 1 + (f === 12 ? 0.2 * engagement : 0)
        : kind === 1
        ? Math.floor(rand() * 8)
        : kind === 2
        ? Math.exp(rand() * 3)
        : rand();
      if (f % 3 === 0 && rand() < 0.1) x = NaN;
      c[f][r] = x;
    }
    const quiz = Number.isNaN(c[4][r]) ? 50 : c[4][r];
    const fail = Number.isNaN(c[5][r]) ? 0.2 : c[5][r];
    const z = -1.1 * Math.log1p(c[1][r]) + 0.07 * c[3][r] + 1.5 * fail * (c[10][r] > 0 ? 1 : 0) +
      0.8 * (Number.isNaN(c[4][r]) ? 1 : 0) - 0.015 * quiz + 0.7 * (plan === 0 && c[0][r] < 60 ? 1 : 0) -
      0.3 * Math.log1p(c[0][r] / 100) + 0.5 * Math.sin(3 * (Number.isNaN(c[12][r]) ? 0 : c[12][r])) - 0.2;
    y[r] = rand() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  return { columns, y };
}

/** The scikit-learn side: reads the raw matrices, fits, times, scores; prints one JSON line. */
const SKLEARN_SCRIPT = `
import json, sys, time
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score
d, n, m, nf, lr, depth, iters, es = sys.argv[1:9]
n, m, nf, iters = int(n), int(m), int(nf), int(iters)
es = "auto" if es == "auto" else es == "true"
X = np.fromfile(d + "/x.f64", dtype=np.float64).reshape(nf, n).T
y = np.fromfile(d + "/y.u8", dtype=np.uint8)
Xh = np.fromfile(d + "/xh.f64", dtype=np.float64).reshape(nf, m).T
yh = np.fromfile(d + "/yh.u8", dtype=np.uint8)
model = HistGradientBoostingClassifier(learning_rate=float(lr), max_depth=int(depth), max_iter=iters,
                                       early_stopping=es, random_state=0)
t = time.perf_counter()
model.fit(X, y)
fit_ms = (time.perf_counter() - t) * 1000
t = time.perf_counter()
p = model.predict_proba(Xh)[:, 1]
predict_ms = (time.perf_counter() - t) * 1000
print(json.dumps({"fit_ms": fit_ms, "predict_ms": predict_ms, "n_iter": int(model.n_iter_),
                  "pr_auc": float(average_precision_score(yh, p))}))
`;
import { averagePrecision } from "../pipeline/metrics.ts";

async function writeColumns(path: string, columns: Float64Array[]): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    for (const col of columns) {
      const bytes = new Uint8Array(col.buffer, col.byteOffset, col.byteLength);
      for (let o = 0; o < bytes.length;) o += await file.write(bytes.subarray(o, Math.min(bytes.length, o + 2 ** 26)));
    }
  } finally {
    file.close();
  }
}

/** The matrices and labels of one size, written to a temp directory for the Python side. */
async function writeData(data: {
  train: Float64Array[];
  y: Uint8Array;
  holdout: Float64Array[];
  yh: Uint8Array;
}): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "hgb-bench-" });
  await writeColumns(`${dir}/x.f64`, data.train);
  await Deno.writeFile(`${dir}/y.u8`, data.y);
  await writeColumns(`${dir}/xh.f64`, data.holdout);
  await Deno.writeFile(`${dir}/yh.u8`, data.yh);
  return dir;
}

/** Runs scikit-learn in a subprocess on the data in `dir` (see {@link writeData}); returns its figures. */
async function runSklearn(
  dir: string,
  args: {
    python: string;
    shape: { n: number; m: number; nf: number };
    maxIter: number;
    es: "auto" | boolean;
    threads: number | "default";
  },
): Promise<HgbImplFigures> {
  const { n, m, nf } = args.shape;
  const env: Record<string, string> = args.threads === "default" ? {} : { OMP_NUM_THREADS: `${args.threads}` };
  const out = await new Deno.Command(args.python, {
    args: ["-c", SKLEARN_SCRIPT, dir, `${n}`, `${m}`, `${nf}`, "0.08", "6", `${args.maxIter}`, `${args.es}`],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" "));
  return { threads: args.threads, ...JSON.parse(text.split("\n").at(-1)!) } as HgbImplFigures;
}

/**
 * Times our fit and scikit-learn's on synthetic matrices of each size (see {@link HgbBenchOptions});
 * the parameters are the project's: learning_rate 0.08, max_depth 6, max_iter 250, early stopping
 * "auto" (on: more than 10,000 rows).
 */
export async function benchHgb(options: HgbBenchOptions = {}): Promise<HgbBenchFigures> {
  const features = options.features ?? 55;
  const es = options.earlyStopping ?? "auto";
  const maxIter = options.maxIter ?? 250;
  const python = options.python === undefined ? "/usr/bin/python3" : options.python;
  const params = { learning_rate: 0.08, max_depth: 6, max_iter: maxIter, early_stopping: es };
  const sizes: HgbSizeFigures[] = [];
  for (const rows of options.rows ?? [144_000, 7_200_000]) {
    const holdoutRows = Math.max(1000, Math.min(400_000, Math.round(rows * (options.holdoutFraction ?? 0.2))));
    const { columns: train, y } = syntheticChurn(rows, { features, seed: rows });
    const { columns: holdout, y: yh } = syntheticChurn(holdoutRows, { features, seed: rows + 1 });
    const fitOptions: HgbOptions = { learningRate: 0.08, maxDepth: 6, maxIter, earlyStopping: es };
    const loadAverage = Deno.loadavg()[0];
    let t = performance.now();
    const model = fitHgb(train, y, fitOptions);
    const fitMs = performance.now() - t;
    t = performance.now();
    const p = predictHgb(model, holdout);
    const predictMs = performance.now() - t;
    const ours: HgbImplFigures = {
      threads: "wasm",
      fit_ms: fitMs,
      predict_ms: predictMs,
      n_iter: model.nIter,
      pr_auc: averagePrecision(yh, p),
    };
    const sklearn: HgbImplFigures[] = [];
    let error: string | null = python === null ? "skipped" : null;
    if (python !== null) {
      const dir = await writeData({ train, y, holdout, yh });
      try {
        for (const threads of options.sklearnThreads ?? ["default", 1]) {
          try {
            const shape = { n: rows, m: holdoutRows, nf: features };
            sklearn.push(await runSklearn(dir, { python, shape, maxIter, es, threads }));
          } catch (e) {
            error = e instanceof Error ? e.message : String(e);
          }
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }
    let positives = 0;
    for (const v of y) positives += v;
    const fastest = sklearn.length > 0 ? Math.min(...sklearn.map((r) => r.fit_ms)) : null;
    sizes.push({
      rows,
      features,
      holdout_rows: holdoutRows,
      positive_rate: positives / rows,
      ours,
      sklearn,
      sklearn_error: error,
      fit_time_ratio: fastest === null ? null : fitMs / fastest,
      load_average: loadAverage,
    });
  }
  return { params, sizes };
}

if (import.meta.main) {
  const rows = Deno.args.map(Number).filter((x) => Number.isInteger(x) && x > 0);
  console.log(JSON.stringify(await benchHgb(rows.length > 0 ? { rows } : {}), null, 2));
}
