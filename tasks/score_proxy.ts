/**
 * `deno task score-proxy`: how the served scores look and how the model really did.
 *
 * - The distribution of the latest scores (mean, p50, p90, p99, share at or above the high risk
 *   band, 0.7 by default) from the predictions file of the newest date.
 * - For every predictions file whose outcome window (`churn.window_days`) has passed by the last
 *   date of user_daily, the realized PR-AUC, ROC-AUC, precision@K and Brier score against the
 *   labels that actually happened (computed from user_daily, joined on user_id + as_of_date).
 *
 * Writes `score_proxy_latest.json` and a history entry (`score_proxy_history/<timestamp>.json`)
 * under `paths.reports` through the artifact store.
 *
 * @module
 */

import type { Config } from "../config/mod.ts";
import { tableFromCsvText } from "../pipeline/csv_table.ts";
import { formatDate, parseDate } from "../pipeline/dates.ts";
import { computeLabels } from "../pipeline/features.ts";
import { evaluateBinary } from "../pipeline/metrics.ts";
import { dictValue, getColumn, type IntArray, type Table } from "../pipeline/table.ts";
import type { LabelOutput } from "../wasm/mod.ts";
import { stringFlag, type Task } from "./cli.ts";
import { historyStamp } from "./drift.ts";
import { forEachUserChunk } from "./features.ts";
import { joinPath } from "./io.ts";
import { type ArtifactStore, openStore, putJson } from "./store/mod.ts";

/** Version of the score proxy report format. */
export const SCORE_PROXY_SCHEMA_VERSION = 1;

/** The distribution of one predictions file's scores. */
export interface ScoreDistribution {
  /** The scored date. */
  as_of_date: string;
  /** The model versions that scored it. */
  model_versions: string[];
  /** Rows scored. */
  rows: number;
  /** Mean churn risk. */
  mean: number;
  /** Median. */
  p50: number;
  /** 90th percentile. */
  p90: number;
  /** 99th percentile. */
  p99: number;
  /** Share of rows with risk ≥ `high_threshold`. */
  share_high: number;
  /** The threshold of `share_high` (config `scoring.risk_bands.high`). */
  high_threshold: number;
}

/** How one day's predictions did once their outcome was known. */
export interface RealizedPerformance {
  /** The scored date. */
  as_of_date: string;
  /** The model versions that scored it. */
  model_versions: string[];
  /** The last day of the outcome window (as_of_date + W). */
  outcome_through: string;
  /** Rows in the predictions file. */
  rows: number;
  /** Rows joined with a label. */
  labelled: number;
  /** Rows with no label in user_daily (unknown user or date). */
  unmatched: number;
  /** Labelled rows that churned. */
  positives: number;
  /** positives / labelled. */
  churn_rate: number;
  /** Average precision; null with a single class or no labelled rows. */
  pr_auc: number | null;
  /** ROC AUC; null with a single class or no labelled rows. */
  roc_auc: number | null;
  /** Precision among the K highest-risk labelled rows. */
  precision_at_k: number | null;
  /** The K used: config `scoring.top_k`, at most the labelled rows. */
  k: number;
  /** Brier score; null without labelled rows. */
  brier: number | null;
  /** Why metrics are null, by metric. */
  null_reasons: Record<string, string>;
}

/** The score proxy report. */
export interface ScoreProxyReport {
  /** Format version. */
  schema_version: number;
  /** The latest scores. */
  latest: ScoreDistribution;
  /** Realized performance of every predictions file whose outcome is known, oldest first. */
  realized: RealizedPerformance[];
  /** Predictions files whose outcome window has not passed yet, with the date it will have. */
  pending: { as_of_date: string; outcome_known_on: string }[];
  /** The last date of user_daily (the outcomes known so far). */
  last_data_date: string;
  /** The outcome window W (config `churn.window_days`). */
  churn_window_days: number;
  /** When the report was made (ISO-8601 UTC). */
  created_at: string;
}

/** Options of {@link runScoreProxy}. */
export interface RunScoreProxyOptions {
  /** Folder with user_daily.arrow (default config `paths.processed`). */
  inputDir?: string;
  /** An open store (default: opened from the config, closed at the end). */
  store?: ArtifactStore;
  /** The time of the report (default now). */
  now?: Date;
}

/** What {@link runScoreProxy} produced. */
export interface ScoreProxyRun {
  /** The report written. */
  report: ScoreProxyReport;
  /** The store keys written: the latest report, then the history entry. */
  files: string[];
}

const PREDICTIONS_FILE = /(?:^|\/)churn_predictions_(\d{4}-\d{2}-\d{2})\.csv$/;

/** The value at quantile q of sorted values, by linear interpolation (numpy's default). */
function quantile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * The distribution of scores: mean, p50, p90, p99 and the share at or above `high`.
 *
 * @throws {RangeError} when there are no scores or one is not a number.
 */
export function scoreDistribution(
  scores: Float64Array,
  options: { high: number },
): Pick<ScoreDistribution, "mean" | "p50" | "p90" | "p99" | "share_high" | "high_threshold"> {
  if (scores.length === 0) throw new RangeError("Cannot describe zero scores");
  let sum = 0, high = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    if (Number.isNaN(s)) throw new RangeError(`Score ${i} is not a number`);
    sum += s;
    if (s >= options.high) high++;
  }
  const sorted = Float64Array.from(scores).sort();
  return {
    mean: sum / scores.length,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    share_high: high / scores.length,
    high_threshold: options.high,
  };
}

/** The rows of one predictions file the proxy needs. */
interface Predictions {
  date: number;
  key: string;
  userId: IntArray;
  risk: Float64Array;
  versions: string[];
}

async function readPredictions(store: ArtifactStore, key: string, date: number): Promise<Predictions> {
  const bytes = await store.get(key);
  if (bytes === null) throw new Error(`Predictions file ${key} disappeared while reading`);
  let t: Table;
  try {
    t = tableFromCsvText(new TextDecoder().decode(bytes), {
      user_id: "i32",
      as_of_date: "date",
      churn_risk: "f64",
      model_version: "dict",
    });
  } catch (e) {
    throw new Error(`Cannot read predictions file ${key}: ${(e as Error).message}`);
  }
  const risk = getColumn(t, "churn_risk", "f64").data;
  for (let i = 0; i < risk.length; i++) {
    if (!(risk[i] >= 0 && risk[i] <= 1)) {
      throw new Error(`Predictions file ${key} row ${i + 1}: churn_risk ${risk[i]} is not a probability`);
    }
  }
  const dates = getColumn(t, "as_of_date", "date").data;
  for (let i = 0; i < dates.length; i++) {
    if (dates[i] !== date) {
      throw new Error(
        `Predictions file ${key} row ${i + 1}: as_of_date ${formatDate(dates[i])} is not the file's date`,
      );
    }
  }
  const mv = getColumn(t, "model_version", "dict");
  const versions = new Set<string>();
  for (let i = 0; i < t.length; i++) versions.add(dictValue(mv, i) ?? "");
  return { date, key, userId: getColumn(t, "user_id", "i32").data, risk, versions: [...versions].sort() };
}

/**
 * Reads the labels of `dates` from user_daily (churn window `windowDays`): per date, user_id →
 * churn label, for the rows whose outcome window lies within the data. Also returns the last date.
 */
async function labelsFor(
  dailyPath: string,
  dates: ReadonlySet<number>,
  windowDays: number,
): Promise<{ labels: Map<number, Map<number, number>>; last: number | null }> {
  const labels = new Map<number, Map<number, number>>([...dates].map((d) => [d, new Map()]));
  let last: number | null = null;
  let reuse: LabelOutput | undefined, reuseTable: Table | undefined;
  await forEachUserChunk(dailyPath, async (chunk) => {
    const all = getColumn(chunk, "as_of_date", "date").data;
    for (let i = 0; i < all.length; i++) if (last === null || all[i] > last) last = all[i];
    if (chunk.length === 0) return;
    const r = computeLabels(chunk, { windowDays, reuse, reuseTable });
    reuse = r.kernel;
    reuseTable = r.table;
    const uid = getColumn(r.table, "user_id", "i32").data, d = getColumn(r.table, "as_of_date", "date").data;
    const y = getColumn(r.table, "churn_label", "i32").data;
    for (let i = 0; i < d.length; i++) labels.get(d[i])?.set(uid[i], y[i]);
    await Promise.resolve();
  });
  return { labels, last };
}

/** Realized metrics of one predictions file against the labels of its date. */
function realized(
  p: Predictions,
  labels: Map<number, number>,
  o: { windowDays: number; topK: number; threshold: number },
): RealizedPerformance {
  const y: number[] = [], s: number[] = [];
  for (let i = 0; i < p.userId.length; i++) {
    const label = labels.get(p.userId[i]);
    if (label === undefined) continue;
    y.push(label);
    s.push(p.risk[i]);
  }
  const positives = y.reduce((a, b) => a + b, 0);
  const base = {
    as_of_date: formatDate(p.date),
    model_versions: p.versions,
    outcome_through: formatDate(p.date + o.windowDays),
    rows: p.userId.length,
    labelled: y.length,
    unmatched: p.userId.length - y.length,
    positives,
    churn_rate: y.length ? positives / y.length : 0,
  };
  if (y.length === 0) {
    const why = "no predicted row has a label in user_daily";
    return {
      ...base,
      pr_auc: null,
      roc_auc: null,
      precision_at_k: null,
      k: 0,
      brier: null,
      null_reasons: { pr_auc: why, roc_auc: why, precision_at_k: why, brier: why },
    };
  }
  const k = Math.min(o.topK, y.length);
  const e = evaluateBinary(Uint8Array.from(y), Float64Array.from(s), { threshold: o.threshold, topK: k });
  return {
    ...base,
    pr_auc: e.pr_auc,
    roc_auc: e.roc_auc,
    precision_at_k: e.precision_at.top_k,
    k,
    brier: e.brier,
    null_reasons: e.null_reasons,
  };
}

/** The store keys of the latest score proxy report and of its history folder. */
export function scoreProxyKeys(store: ArtifactStore, config: Config): { latest: string; history: string } {
  return {
    latest: store.keyOf(`${config.paths.reports}/score_proxy_latest.json`),
    history: `${store.keyOf(`${config.paths.reports}/score_proxy_history`)}/`,
  };
}

/**
 * Describes the latest predictions and measures the realized performance of every predictions file
 * whose outcome window has passed; writes the report and a history entry.
 *
 * @throws {Error} when there is no predictions file, or one cannot be read.
 */
export async function runScoreProxy(config: Config, options: RunScoreProxyOptions = {}): Promise<ScoreProxyRun> {
  const store = options.store ?? await openStore(config);
  try {
    const dir = store.keyOf(config.paths.predictions);
    const files = new Map<number, string>();
    for (const key of await store.list(`${dir}/`)) {
      const m = key.slice(dir.length + 1).match(PREDICTIONS_FILE);
      if (m && !key.slice(dir.length + 1).includes("/")) files.set(parseDate(m[1]), key);
    }
    if (files.size === 0) {
      throw new Error(`No predictions files in ${config.paths.predictions} yet: run "deno task score" first`);
    }
    // The latest scores are those of the newest date (a backfill of an older date does not replace them).
    const latestDate = Math.max(...files.keys());
    const w = config.churn.window_days;
    const dailyPath = joinPath(options.inputDir ?? config.paths.processed, "user_daily.arrow");
    const dates = [...files.keys()].sort((a, b) => a - b);
    // One pass over user_daily: the labels of every predicted date (rows whose outcome window lies in
    // the data) and the last date, which says whose outcome is known.
    const { labels, last } = await labelsFor(dailyPath, new Set(dates), w);
    if (last === null) throw new RangeError(`${dailyPath} has no rows`);
    const known = new Set(dates.filter((d) => d + w <= last));

    const latest = await readPredictions(store, files.get(latestDate)!, latestDate);
    const realizedList: RealizedPerformance[] = [];
    for (const d of dates) {
      if (!known.has(d)) continue;
      const p = d === latestDate ? latest : await readPredictions(store, files.get(d)!, d);
      realizedList.push(realized(p, labels.get(d) ?? new Map(), {
        windowDays: w,
        topK: config.scoring.top_k,
        threshold: config.evaluation.threshold,
      }));
    }
    if (latest.risk.length === 0) throw new RangeError(`The latest predictions file ${latest.key} has no rows`);
    const now = options.now ?? new Date();
    const report: ScoreProxyReport = {
      schema_version: SCORE_PROXY_SCHEMA_VERSION,
      latest: {
        as_of_date: formatDate(latestDate),
        model_versions: latest.versions,
        rows: latest.risk.length,
        ...scoreDistribution(latest.risk, { high: config.scoring.risk_bands.high }),
      },
      realized: realizedList,
      pending: dates.filter((d) => !known.has(d)).map((d) => ({
        as_of_date: formatDate(d),
        outcome_known_on: formatDate(d + w),
      })),
      last_data_date: formatDate(last),
      churn_window_days: w,
      created_at: now.toISOString(),
    };
    const keys = scoreProxyKeys(store, config);
    const historyKey = `${keys.history}${historyStamp(now)}.json`;
    await putJson(store, historyKey, report);
    await putJson(store, keys.latest, report);
    return { report, files: [keys.latest, historyKey] };
  } finally {
    if (!options.store) store.close();
  }
}

/** The `score-proxy` task. */
export const scoreProxyTask: Task = {
  name: "score-proxy",
  summary:
    "Score monitoring: distribution of the latest scores, and realized PR-AUC / ROC-AUC / precision@K / Brier of past predictions whose outcome is known.",
  flags: {
    "input-dir": {
      type: "string",
      value: "DIR",
      description: "Folder with user_daily.arrow",
      default: "config paths.processed",
    },
  },
  async run({ config, flags, log }) {
    const { report, files } = await runScoreProxy(config, {
      inputDir: stringFlag(flags, "input-dir", config.paths.processed),
    });
    const l = report.latest;
    const f = (v: number | null) => v === null ? "n/a" : v.toFixed(4);
    log(
      `latest ${l.as_of_date}: ${l.rows} scores, mean ${f(l.mean)}, p50 ${f(l.p50)}, p90 ${f(l.p90)}, p99 ${
        f(l.p99)
      }, ${(l.share_high * 100).toFixed(1)}% ≥ ${l.high_threshold}`,
    );
    for (const r of report.realized) {
      log(
        `realized ${r.as_of_date} (outcome through ${r.outcome_through}, ${r.labelled} labelled, churn ${
          (r.churn_rate * 100).toFixed(1)
        }%): PR-AUC ${f(r.pr_auc)}, ROC-AUC ${f(r.roc_auc)}, precision@${r.k} ${f(r.precision_at_k)}, Brier ${
          f(r.brier)
        }`,
      );
    }
    if (report.realized.length === 0) {
      log(`no predictions old enough yet (outcome window ${report.churn_window_days} days)`);
    }
    log(`→ ${files.join(", ")}`);
    return 0;
  },
};
