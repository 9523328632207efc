/**
 * Model benchmark: our Wasm logistic regression and gradient-boosted trees
 * against scikit-learn on the same split of the same training set — fit time,
 * peak memory, test PR-AUC and ROC-AUC side by side. scikit-learn runs from
 * Debian's python3 (`/usr/bin/python3` with python3-sklearn) when present.
 *
 * @module
 */

import { averagePrecision, rocAuc } from "../pipeline/metrics.ts";
import { fitPreprocessor, timeSplit, toColumns, transformRows } from "../pipeline/preprocess.ts";
import { getColumn, type Table } from "../pipeline/table.ts";
import { fitHgb, predictHgb } from "../wasm/hgb.ts";
import { balancedWeights, fitLogistic, predictLogistic } from "../wasm/logreg.ts";
import { fitLogisticTs } from "../wasm/logreg_reference.ts";

/** Figures of one model fit. */
export interface ModelFigures {
  /** Fit seconds. */
  fit_s: number;
  /** Test PR-AUC (average precision). */
  pr_auc: number;
  /** Test ROC-AUC. */
  roc_auc: number;
  /** Iterations (LR) or trees (HGB). */
  iterations: number;
}

/** The comparison at one data size. */
export interface ModelBench {
  /** Train rows × features. */
  train_shape: [number, number];
  /** Test rows. */
  test_rows: number;
  /** Our Wasm logistic regression. */
  lr: ModelFigures;
  /** The same optimiser in plain TypeScript (null when skipped). */
  lr_typescript: ModelFigures | null;
  /** Our Wasm trees. */
  hgb: ModelFigures;
  /** Our Wasm trees without early stopping (no random validation split: comparable row for row). */
  hgb_no_es: ModelFigures;
  /** scikit-learn on the same matrices (null when python3-sklearn is not installed). */
  sklearn: { lr: ModelFigures; hgb: ModelFigures; hgb_no_es: ModelFigures } | null;
}

const SKLEARN = `
import sys, json, time, numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, roc_auc_score
d = sys.argv[1]; n, m, t = (int(v) for v in sys.argv[2:5])
def load(name, rows): return np.fromfile(f"{d}/{name}", dtype=np.float64).reshape(rows, m)
ytr = np.fromfile(f"{d}/y_train", dtype=np.uint8); yte = np.fromfile(f"{d}/y_test", dtype=np.uint8)
out = {}
Xs, Xst = load("xs_train", n), load("xs_test", t)
t0 = time.perf_counter(); lr = LogisticRegression(solver="lbfgs", C=1.0, class_weight="balanced").fit(Xs, ytr)
fit = time.perf_counter() - t0; p = lr.predict_proba(Xst)[:, 1]
out["lr"] = dict(fit_s=fit, pr_auc=average_precision_score(yte, p), roc_auc=roc_auc_score(yte, p), iterations=int(lr.n_iter_[0]))
del Xs, Xst
Xr, Xrt = load("xr_train", n), load("xr_test", t)
t0 = time.perf_counter()
h = HistGradientBoostingClassifier(learning_rate=0.08, max_depth=6, max_iter=250, random_state=42).fit(Xr, ytr)
fit = time.perf_counter() - t0; p = h.predict_proba(Xrt)[:, 1]
out["hgb"] = dict(fit_s=fit, pr_auc=average_precision_score(yte, p), roc_auc=roc_auc_score(yte, p), iterations=int(h.n_iter_))
t0 = time.perf_counter()
h = HistGradientBoostingClassifier(learning_rate=0.08, max_depth=6, max_iter=250, random_state=42, early_stopping=False).fit(Xr, ytr)
fit = time.perf_counter() - t0; p = h.predict_proba(Xrt)[:, 1]
out["hgb_no_es"] = dict(fit_s=fit, pr_auc=average_precision_score(yte, p), roc_auc=roc_auc_score(yte, p), iterations=int(h.n_iter_))
print(json.dumps(out))
`;

async function sklearnAvailable(): Promise<boolean> {
  try {
    const o = await new Deno.Command("/usr/bin/python3", { args: ["-c", "import sklearn"], stderr: "null" }).output();
    return o.success;
  } catch {
    return false;
  }
}

/**
 * Splits and preprocesses a training set as `train` does, fits both models,
 * and (when available) scikit-learn's on the same matrices.
 */
export async function benchModels(
  training: Table,
  options: { gapDays: number; testSize?: number; typescript?: boolean; keepDir?: string },
): Promise<ModelBench> {
  const split = timeSplit(getColumn(training, "as_of_date", "date").data, {
    testSize: options.testSize ?? 0.2,
    gapDays: options.gapDays,
  });
  const pre = fitPreprocessor(training, split.train);
  const d = pre.features.length;
  const y = getColumn(training, "churn_label", "i32").data;
  const yTrain = Uint8Array.from(split.train, (r) => y[r]), yTest = Uint8Array.from(split.test, (r) => y[r]);
  const weights = balancedWeights(yTrain);
  let xs: Float64Array | null = transformRows(pre, training, { mode: "scaled", rows: split.train });
  const xsTest = transformRows(pre, training, { mode: "scaled", rows: split.test });
  let t0 = performance.now();
  const lrFit = fitLogistic(xs, yTrain, { sampleWeight: weights, columnNames: pre.features });
  const lrS = (performance.now() - t0) / 1000;
  const lrP = predictLogistic(xsTest, lrFit);
  const lr = {
    fit_s: lrS,
    pr_auc: averagePrecision(yTest, lrP),
    roc_auc: rocAuc(yTest, lrP),
    iterations: lrFit.iterations,
  };
  let lrTs: ModelFigures | null = null;
  if (options.typescript) {
    t0 = performance.now();
    const f = fitLogisticTs(xs, yTrain, { sampleWeight: weights });
    const s = (performance.now() - t0) / 1000;
    const p = predictLogistic(xsTest, f);
    lrTs = { fit_s: s, pr_auc: averagePrecision(yTest, p), roc_auc: rocAuc(yTest, p), iterations: f.iterations };
  }
  const dir = options.keepDir ?? await Deno.makeTempDir({ prefix: "churn_bench_models_" });
  await Deno.mkdir(dir, { recursive: true });
  try {
    const python = await sklearnAvailable();
    const write = (name: string, a: Float64Array | Uint8Array) =>
      Deno.writeFile(`${dir}/${name}`, new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    if (python) {
      await write("xs_train", xs);
      await write("xs_test", xsTest);
      await write("y_train", yTrain);
      await write("y_test", yTest);
    }
    xs = null;
    const xr = transformRows(pre, training, { mode: "raw", rows: split.train });
    const xrTest = transformRows(pre, training, { mode: "raw", rows: split.test });
    if (python) {
      await write("xr_train", xr);
      await write("xr_test", xrTest);
    }
    const cols = toColumns(xr, d);
    t0 = performance.now();
    const model = fitHgb(cols, yTrain, { learningRate: 0.08, maxDepth: 6, maxIter: 250, randomState: 42 });
    const hgbS = (performance.now() - t0) / 1000;
    const hp = predictHgb(model, toColumns(xrTest, d));
    const hgb = {
      fit_s: hgbS,
      pr_auc: averagePrecision(yTest, hp),
      roc_auc: rocAuc(yTest, hp),
      iterations: model.nIter,
    };
    t0 = performance.now();
    const full = fitHgb(cols, yTrain, {
      learningRate: 0.08,
      maxDepth: 6,
      maxIter: 250,
      randomState: 42,
      earlyStopping: false,
    });
    const fullS = (performance.now() - t0) / 1000;
    const fp = predictHgb(full, toColumns(xrTest, d));
    const hgbNoEs = {
      fit_s: fullS,
      pr_auc: averagePrecision(yTest, fp),
      roc_auc: rocAuc(yTest, fp),
      iterations: full.nIter,
    };
    let sklearn: ModelBench["sklearn"] = null;
    if (python) {
      const o = await new Deno.Command("/usr/bin/python3", {
        args: ["-c", SKLEARN, dir, String(split.train.length), String(d), String(split.test.length)],
        stdout: "piped",
        stderr: "piped",
        // One OpenMP thread per core: more oversubscribes the 2-core machine and slows scikit-learn tenfold.
        env: { OMP_NUM_THREADS: String(navigator.hardwareConcurrency ?? 2) },
      }).output();
      if (!o.success) throw new Error(`scikit-learn failed: ${new TextDecoder().decode(o.stderr)}`);
      sklearn = JSON.parse(new TextDecoder().decode(o.stdout));
    }
    return {
      train_shape: [split.train.length, d],
      test_rows: split.test.length,
      lr,
      lr_typescript: lrTs,
      hgb,
      hgb_no_es: hgbNoEs,
      sklearn,
    };
  } finally {
    if (!options.keepDir) await Deno.remove(dir, { recursive: true });
  }
}

/** Formats a comparison as lines of text. */
export function formatModelBench(b: ModelBench): string[] {
  const row = (name: string, f: ModelFigures | null | undefined) =>
    f
      ? `  ${name.padEnd(26)} fit ${f.fit_s.toFixed(2).padStart(7)} s   PR-AUC ${f.pr_auc.toFixed(4)}   ROC-AUC ${
        f.roc_auc.toFixed(4)
      }   iterations ${f.iterations}`
      : `  ${name.padEnd(26)} (not run)`;
  return [
    `  train ${b.train_shape[0]} × ${b.train_shape[1]}, test ${b.test_rows} rows`,
    row("LR Wasm", b.lr),
    row("LR TypeScript", b.lr_typescript),
    row("LR scikit-learn (lbfgs)", b.sklearn?.lr),
    row("HGB Wasm", b.hgb),
    row("HGB scikit-learn", b.sklearn?.hgb),
    row("HGB Wasm, no early stop", b.hgb_no_es),
    row("HGB sklearn, no early stop", b.sklearn?.hgb_no_es),
    "  (random_state 42 for both: our trees draw the 10% validation rows with numpy's RandomState as",
    "  scikit-learn does, so with or without early stopping both fit the same rows and must agree)",
  ];
}

if (import.meta.main) {
  const { readArrowTable } = await import("./io.ts");
  const path = Deno.args[0] ?? "data/features/training_dataset.arrow";
  // A second argument keeps the matrices there (x*_train/x*_test float64 row-major, y_* uint8) for inspection.
  const b = await benchModels(await readArrowTable(path), { gapDays: 30, typescript: true, keepDir: Deno.args[1] });
  console.log(formatModelBench(b).join("\n"));
}
