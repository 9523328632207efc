/**
 * `deno task train` (baseline logistic regression) and `deno task
 * train:candidate` (gradient-boosted trees): training_dataset → a versioned
 * model artifact and its metrics document, written through the artifact store.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { Config } from "../config/mod.ts";
import { type MetricsDocument, type ModelArtifact, type ModelType, trainModel } from "../pipeline/train.ts";
import { stringFlag, type Task } from "./cli.ts";
import { joinPath, READ_CHUNK, readArrowTable } from "./io.ts";
import { Registry } from "./registry.ts";
import { openStore, putJson } from "./store/mod.ts";

/** The metrics document as written: the training figures plus the config and the data it was trained on. */
export interface WrittenMetrics extends MetricsDocument {
  /** The data the model was trained on. */
  data: { path: string; sha256: string; bytes: number; rows: number };
  /** The configuration in force. */
  config: Config;
}

/** Returns the SHA-256 of a file, streamed. */
export async function fileSha256(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  const file = await Deno.open(path);
  const buf = new Uint8Array(READ_CHUNK);
  let bytes = 0;
  try {
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      hash.update(buf.subarray(0, n));
      bytes += n;
    }
  } finally {
    file.close();
  }
  return { sha256: hash.digest("hex"), bytes };
}

/** Trains one model from `{dir}/training_dataset.arrow` and stores it; returns what was written. */
export async function runTrain(
  config: Config,
  modelType: ModelType,
  options: { dir?: string; log?: (m: string) => void } = {},
): Promise<{ model: ModelArtifact; metrics: WrittenMetrics }> {
  const log = options.log ?? (() => {});
  const path = joinPath(options.dir ?? config.paths.features, "training_dataset.arrow");
  const table = await readArrowTable(path);
  const fingerprint = await fileSha256(path);
  log(`${table.length} rows from ${path}`);
  const { model, metrics } = trainModel(table, {
    modelType,
    testSize: config.training.test_size,
    gapDays: config.training.gap_days ?? config.churn.window_days,
    imbalance: config.training.imbalance_strategy,
    threshold: config.evaluation.threshold,
    topK: config.scoring.top_k,
    randomState: config.training.random_state,
    features: {
      windows_days: config.features.windows_days,
      churn_window_days: config.churn.window_days,
      population: config.churn.population,
    },
  });
  const written: WrittenMetrics = {
    ...metrics,
    data: { path, sha256: fingerprint.sha256, bytes: fingerprint.bytes, rows: table.length },
    config,
  };
  const store = await openStore(config);
  try {
    const registry = new Registry(store, config);
    // The model first, the metrics last: a metrics document always points at a stored model.
    await putJson(store, registry.modelKey(model.name), model);
    await putJson(store, registry.metricsKey(model.name), written);
    log(`stored ${model.name} (${store.backend}: ${registry.modelKey(model.name)})`);
  } finally {
    store.close();
  }
  return { model, metrics: written };
}

function describe(m: WrittenMetrics): string {
  const e = m.metrics;
  const f = (v: number | null) => v === null ? "n/a" : v.toFixed(4);
  return `${m.artifact}: test PR-AUC ${f(e.pr_auc)}, ROC-AUC ${f(e.roc_auc)}, Brier ${f(e.brier)}, ` +
    `precision@10% ${f(e.precision_at.top_10pct)} (train ${m.train_rows} rows, test ${m.test_rows} rows, fit ${
      m.fit_seconds.toFixed(2)
    } s)`;
}

function makeTrainTask(name: string, modelType: ModelType, summary: string): Task {
  return {
    name,
    summary,
    flags: {
      dir: {
        type: "string",
        value: "DIR",
        description: "Folder with training_dataset.arrow",
        default: "config paths.features",
      },
    },
    async run({ config, flags, log }) {
      const { metrics } = await runTrain(config, modelType, {
        dir: stringFlag(flags, "dir", config.paths.features),
        log,
      });
      log(describe(metrics));
      return 0;
    },
  };
}

/** The `train` task: the baseline logistic regression. */
export const trainTask: Task = makeTrainTask(
  "train",
  "baseline_logreg",
  "Train the baseline logistic regression (scikit-learn's lbfgs objective, balanced weights) and store it.",
);

/** The `train:candidate` task: histogram gradient-boosted trees. */
export const trainCandidateTask: Task = makeTrainTask(
  "train:candidate",
  "candidate_hgb",
  "Train the candidate histogram gradient-boosted trees and store it.",
);
