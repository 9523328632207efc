/**
 * `deno task score [--as-of-date YYYY-MM-DD] [--top-k 50]`: batch scoring of
 * the population on a date with the production model, with risk bands,
 * percentiles and top reasons; writes `churn_predictions_{date}.csv`,
 * `churn_top_{K}_{date}.csv` and the stable `churn_predictions_latest.csv`
 * (with `predictions_latest.json` naming the date and model version), all atomically.
 *
 * @module
 */

import type { Config } from "../config/mod.ts";
import { CsvWriter } from "../pipeline/csv.ts";
import { formatDate, parseDate } from "../pipeline/dates.ts";
import type { Population } from "../pipeline/features.ts";
import { riskBand, riskPercentile, scoreRows } from "../pipeline/scoring.ts";
import { concatTables, dictValue, getColumn, type Table } from "../pipeline/table.ts";
import { numberFlag, stringFlag, type Task, UsageError } from "./cli.ts";
import { forEachScoringRows } from "./features.ts";
import { joinPath } from "./io.ts";
import { Registry } from "./registry.ts";
import { type ArtifactStore, openStore, putJson } from "./store/mod.ts";

/** What a scoring run produced. */
export interface ScoreSummary {
  /** The scored date. */
  date: string;
  /** Rows scored. */
  rows: number;
  /** Rows the population rule left out. */
  excluded: number;
  /** The model version. */
  model_version: string;
  /** Files written (store keys). */
  files: string[];
  /** Mean churn risk. */
  mean_risk: number;
}

/** The columns of the predictions file, in order. */
export const PREDICTION_COLUMNS = [
  "user_id",
  "as_of_date",
  "plan",
  "is_paid",
  "country",
  "marketing_source",
  "days_since_signup",
  "days_since_last_activity",
  "churn_risk",
  "risk_rank",
  "risk_band",
  "risk_percentile",
  "top_reasons",
  "model_version",
] as const;

async function predictionsCsv(
  t: Table,
  order: Int32Array,
  cols: { risk: Float64Array; reasons: string[]; band: string[]; pct: Float64Array; version: string },
  limit: number,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const w = new CsvWriter((c) => {
    chunks.push(c.slice());
  });
  w.ascii(PREDICTION_COLUMNS.join(","));
  w.endRow();
  const uid = getColumn(t, "user_id", "i32").data, date = getColumn(t, "as_of_date", "date").data;
  const paid = getColumn(t, "is_paid", "i32").data, dss = getColumn(t, "days_since_signup", "i32").data;
  const dsla = getColumn(t, "days_since_last_activity", "i32").data;
  const dict = (name: string) => getColumn(t, name, "dict");
  const plan = dict("plan"), country = dict("country"), source = dict("marketing_source");
  for (let rank = 0; rank < Math.min(limit, order.length); rank++) {
    const r = order[rank];
    w.int(uid[r]), w.sep(), w.ascii(formatDate(date[r])), w.sep();
    w.string(dictValue(plan, r) ?? ""), w.sep(), w.int(paid[r]), w.sep();
    w.string(dictValue(country, r) ?? ""), w.sep(), w.string(dictValue(source, r) ?? ""), w.sep();
    w.int(dss[r]), w.sep(), w.int(dsla[r]), w.sep();
    w.fixed(cols.risk[r], 6), w.sep(), w.int(rank + 1), w.sep(), w.ascii(cols.band[r]), w.sep();
    w.number(cols.pct[r]), w.sep(), w.string(cols.reasons[r]), w.sep(), w.ascii(cols.version);
    w.endRow();
    await w.maybeFlush();
  }
  await w.close();
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) out.set(c, (off += c.length) - c.length);
  return out;
}

/** Options of {@link runScore}. */
export interface RunScoreOptions {
  /** Date to score (YYYY-MM-DD), default the latest in user_daily. */
  asOfDate?: string;
  /** Rows in the top-K file (default config `scoring.top_k`). */
  topK?: number;
  /** Folder with user_daily.arrow (default config `paths.processed`). */
  inputDir?: string;
  /** An open store (default: opened from the config, closed at the end). */
  store?: ArtifactStore;
}

/**
 * Scores the population on a date with the production model and writes the predictions.
 *
 * @throws {import("./registry.ts").RegistryError} when there is no usable production model.
 * @throws {RangeError} naming the available range when the date has no rows.
 */
export async function runScore(config: Config, options: RunScoreOptions = {}): Promise<ScoreSummary> {
  const store = options.store ?? await openStore(config);
  try {
    const registry = new Registry(store, config);
    const { version, model } = await registry.resolve("production");
    const wanted = options.asOfDate === undefined ? null : parseDate(options.asOfDate);
    const population = (model.features.population ?? config.churn.population) as Population;
    const parts: Table[] = [];
    const dailyPath = joinPath(options.inputDir ?? config.paths.processed, "user_daily.arrow");
    const { date, excluded } = await forEachScoringRows(dailyPath, {
      date: wanted,
      windows: model.features.windows_days,
      windowDays: model.features.churn_window_days,
      population,
      purpose: "score",
      onRows: (rows) => parts.push(structuredClone(rows)),
      onRestart: () => parts.length = 0,
    });
    const table = parts.length === 1 ? parts[0] : concatTables(parts);
    const scored = scoreRows(model, table, { reasons: 3 });
    const n = table.length;
    const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => scored.risk[b] - scored.risk[a] || a - b);
    const quantiles = model.score_quantiles ?? [];
    const cols = {
      risk: scored.risk,
      reasons: scored.reasons.map((rs) => rs.map((x) => x.text).join("; ")),
      band: Array.from(scored.risk, (p) => riskBand(p, config.scoring.risk_bands)),
      pct: Float64Array.from(scored.risk, (p) => riskPercentile(p, quantiles)),
      version,
    };
    const day = formatDate(date);
    const k = options.topK ?? config.scoring.top_k;
    const dir = config.paths.predictions;
    const all = await predictionsCsv(table, order, cols, n);
    const files = [
      store.keyOf(`${dir}/churn_predictions_${day}.csv`),
      store.keyOf(`${dir}/churn_top_${k}_${day}.csv`),
      store.keyOf(`${dir}/churn_predictions_latest.csv`),
    ];
    await store.put(files[0], all);
    await store.put(files[1], await predictionsCsv(table, order, cols, k));
    await store.put(files[2], all);
    let mean = 0;
    for (const p of scored.risk) mean += p;
    const summary: ScoreSummary = {
      date: day,
      rows: n,
      excluded,
      model_version: version,
      files,
      mean_risk: mean / n,
    };
    const manifest = store.keyOf(`${dir}/predictions_latest.json`);
    await putJson(store, manifest, { ...summary, created_at: new Date().toISOString() });
    summary.files.push(manifest);
    return summary;
  } finally {
    if (!options.store) store.close();
  }
}

/** The `score` task. */
export const scoreTask: Task = {
  name: "score",
  summary: "Score the population on a date with the production model: risk, band, percentile, top reasons.",
  flags: {
    "as-of-date": {
      type: "string",
      value: "YYYY-MM-DD",
      description: "Date to score",
      default: "the latest in user_daily",
    },
    "top-k": { type: "string", value: "K", description: "Rows in the top-K file", default: "config scoring.top_k" },
    "input-dir": {
      type: "string",
      value: "DIR",
      description: "Folder with user_daily.arrow",
      default: "config paths.processed",
    },
  },
  async run({ config, flags, log }) {
    const asOf = typeof flags["as-of-date"] === "string" ? flags["as-of-date"] : undefined;
    if (asOf !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(asOf)) {
      throw new UsageError(`Invalid value for --as-of-date: "${asOf}" (expected YYYY-MM-DD)`);
    }
    const topK = numberFlag(flags, "top-k", config.scoring.top_k, true);
    if (topK < 1) throw new UsageError(`Invalid value for --top-k: ${topK} (expected a positive integer)`);
    const t0 = performance.now();
    try {
      const s = await runScore(config, {
        asOfDate: asOf,
        topK,
        inputDir: stringFlag(flags, "input-dir", config.paths.processed),
      });
      log(
        `${s.rows} users scored on ${s.date} with ${s.model_version} (mean risk ${
          s.mean_risk.toFixed(3)
        }, ${s.excluded} outside the population) in ${((performance.now() - t0) / 1000).toFixed(2)} s → ${
          s.files.join(", ")
        }`,
      );
      return 0;
    } catch (e) {
      if (e instanceof RangeError) {
        log(e.message);
        return 1;
      }
      throw e;
    }
  },
};
