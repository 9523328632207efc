/**
 * Training (SPEC §7): the baseline logistic regression and the candidate
 * histogram gradient-boosted trees, trained by the Wasm kernels on the
 * time-aware split, evaluated on the test split, packaged as a portable JSON
 * model artifact with its preprocessing. Pure.
 *
 * @module
 */

import { fitHgb, type HgbModel } from "../wasm/hgb.ts";
import { balancedWeights, fitLogistic } from "../wasm/logreg.ts";
import { type BinaryEvaluation, evaluateBinary } from "./metrics.ts";
import {
  fitPreprocessor,
  type Preprocessor,
  type TimeSplit,
  timeSplit,
  toColumns,
  transformRows,
} from "./preprocess.ts";
import { buildProfile, type ReferenceProfile } from "./drift.ts";
import { scoreQuantiles, scoreRows } from "./scoring.ts";
import { getColumn, type Table } from "./table.ts";

/** The two model families. */
export type ModelType = "baseline_logreg" | "candidate_hgb";

/** Version of the model artifact format. */
export const MODEL_SCHEMA_VERSION = 1;

/** The fitted logistic regression. */
export interface LogisticParams {
  /** One coefficient per encoded feature. */
  coef: number[];
  /** The intercept. */
  intercept: number;
}

/** A portable model artifact: everything needed to score a row, as JSON. */
export interface ModelArtifact {
  /** Artifact format version. */
  schema_version: number;
  /** `{model_type}_{YYYYMMDDTHHMMSSZ}`. */
  name: string;
  /** Model family. */
  model_type: ModelType;
  /** ISO-8601 UTC time of training. */
  trained_at: string;
  /** The fitted preprocessing. */
  preprocessor: Preprocessor;
  /** `scaled` (imputed and standardised) for the logistic model, `raw` (NaN kept) for the trees. */
  input_mode: "scaled" | "raw";
  /** The logistic model's parameters (baseline only). */
  logistic?: LogisticParams;
  /** The trees (candidate only). */
  hgb?: HgbModel;
  /** Decision threshold used for the confusion matrix. */
  threshold: number;
  /** The training distribution of every input, for the drift check (never rereads the training data). */
  reference_profile?: ReferenceProfile;
  /** 101 quantiles of the test-split scores: the reference for risk percentiles. */
  score_quantiles?: number[];
  /** Feature windows and churn window the inputs were computed with. */
  features: { windows_days: number[]; churn_window_days: number; population: string };
}

/** The metrics document written beside each model (SPEC §7). */
export interface MetricsDocument {
  /** Model family. */
  model_type: ModelType;
  /** The artifact name. */
  artifact: string;
  /** ISO-8601 UTC time of training. */
  trained_at: string;
  /** Training and test rows. */
  train_rows: number;
  /** Test rows. */
  test_rows: number;
  /** Share of positives in the training rows. */
  churn_rate_train: number;
  /** Share of positives in the test rows. */
  churn_rate_test: number;
  /** How the split was made. */
  split: TimeSplit["info"];
  /** Test-split evaluation. */
  metrics: BinaryEvaluation;
  /** Optimiser figures. */
  training: Record<string, number | boolean | string | null>;
  /** Wall seconds of fitting. */
  fit_seconds: number;
}

/** Options of {@link trainModel}. */
export interface TrainOptions {
  /** Which model to train. */
  modelType: ModelType;
  /** Test fraction of the dates (config `training.test_size`). */
  testSize: number;
  /** Gap in days before the test dates (config `training.gap_days` or the churn window). */
  gapDays: number;
  /** `balanced` sample weights (n / (2·n_class)) or `none` (config `training.imbalance_strategy`). */
  imbalance: "balanced" | "none";
  /** Decision threshold (config `evaluation.threshold`). */
  threshold: number;
  /** K of precision@K (config `scoring.top_k`). */
  topK: number;
  /** Seed for the trees' binning subsample and validation split (config `training.random_state`). */
  randomState: number;
  /** Feature settings recorded in the artifact. */
  features: ModelArtifact["features"];
  /** Training time (default now). */
  now?: Date;
}

/** Returns the artifact name for a model type and time: `{type}_{YYYYMMDDTHHMMSSZ}`. */
export function artifactName(modelType: ModelType, at: Date): string {
  return `${modelType}_${at.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z")}`;
}

function labelsOf(table: Table, rows: Int32Array): Uint8Array {
  const y = getColumn(table, "churn_label", "i32").data;
  const out = new Uint8Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = y[rows[i]];
  return out;
}

function rate(y: Uint8Array): number {
  let s = 0;
  for (const v of y) s += v;
  return y.length ? s / y.length : 0;
}

/**
 * Trains one model on a training set: time-aware split, preprocessing fitted on
 * the training rows, the fit, and the evaluation on the test rows.
 *
 * @throws {RangeError} when the split leaves no rows on a side.
 * @throws {import("../wasm/logreg.ts").TrainingError} on a degenerate training set.
 */
export function trainModel(training: Table, options: TrainOptions): { model: ModelArtifact; metrics: MetricsDocument } {
  const at = options.now ?? new Date();
  const split = timeSplit(getColumn(training, "as_of_date", "date").data, {
    testSize: options.testSize,
    gapDays: options.gapDays,
  });
  if (split.test.length === 0) throw new RangeError("The split left no test rows");
  const pre = fitPreprocessor(training, split.train);
  const yTrain = labelsOf(training, split.train), yTest = labelsOf(training, split.test);
  const mode = options.modelType === "baseline_logreg" ? "scaled" : "raw";
  const xTrain = transformRows(pre, training, { mode, rows: split.train });
  const d = pre.features.length;
  // Class weights apply to the logistic model (scikit-learn's class_weight="balanced"); the trees are
  // trained unweighted, as HistGradientBoostingClassifier's defaults do.
  const weights = options.imbalance === "balanced" && options.modelType === "baseline_logreg"
    ? balancedWeights(yTrain)
    : undefined;
  const t0 = performance.now();
  const model: ModelArtifact = {
    schema_version: MODEL_SCHEMA_VERSION,
    name: artifactName(options.modelType, at),
    model_type: options.modelType,
    trained_at: at.toISOString(),
    preprocessor: pre,
    input_mode: mode,
    threshold: options.threshold,
    features: options.features,
    reference_profile: buildProfile(pre, training, { rows: split.train }),
  };
  let trainingInfo: MetricsDocument["training"];
  if (options.modelType === "baseline_logreg") {
    const fit = fitLogistic(xTrain, yTrain, { sampleWeight: weights, columnNames: pre.features });
    model.logistic = { coef: [...fit.coef], intercept: fit.intercept };
    trainingInfo = {
      solver: "newton-cholesky (same optimum as lbfgs)",
      iterations: fit.iterations,
      grad_norm: fit.gradNorm,
      converged: fit.converged,
      loss: fit.loss,
      class_weight: options.imbalance,
    };
  } else {
    const hgb = fitHgb(toColumns(xTrain, d), yTrain, {
      learningRate: 0.08,
      maxDepth: 6,
      maxIter: 250,
      randomState: options.randomState,
      featureNames: pre.features,
    });
    model.hgb = hgb;
    trainingInfo = {
      iterations: hgb.nIter,
      train_rows_fitted: hgb.nTrainRows,
      validation_rows: hgb.nValidationRows,
      class_weight: "none",
    };
  }
  const fitSeconds = (performance.now() - t0) / 1000;
  const scores = scoreRows(model, training, { rows: split.test }).risk;
  model.score_quantiles = scoreQuantiles(scores);
  const metrics = evaluateBinary(yTest, scores, { threshold: options.threshold, topK: options.topK });
  return {
    model,
    metrics: {
      model_type: options.modelType,
      artifact: model.name,
      trained_at: model.trained_at,
      train_rows: split.train.length,
      test_rows: split.test.length,
      churn_rate_train: rate(yTrain),
      churn_rate_test: rate(yTest),
      split: split.info,
      metrics,
      training: trainingInfo,
      fit_seconds: fitSeconds,
    },
  };
}
