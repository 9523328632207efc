/**
 * `deno task features`, `deno task labels`, `deno task training-set`: the
 * user_daily grid → user_features_daily, labels_daily and training_dataset
 * (Arrow IPC in `paths.features`; `--csv` also writes CSV copies). Every step
 * streams its input in chunks of whole users, so memory stays bounded by the
 * chunk size, not the data size.
 *
 * @module
 */

import { ArrowStreamEncoder, type IntWidth, schemaRanges } from "../pipeline/arrow.ts";
import { formatDate } from "../pipeline/dates.ts";
import { CsvWriter } from "../pipeline/csv.ts";
import {
  computeFeatures,
  computeFeatureTables,
  computeLabels,
  computeScoringRows,
  computeTrainingRows,
  type FeatureStorage,
  featureStorage,
  type FeatureTables,
  GRID_BATCHES_KEY,
  type KernelImpl,
  type Population,
  type TrainingRows,
  trainingRowsInPlace,
  UserChunker,
  WHOLE_USERS,
} from "../pipeline/features.ts";
import { checkColumnRanges, type ColumnRanges, getColumn, type Table } from "../pipeline/table.ts";
import type { LabelOutput, RollingOutput } from "../wasm/mod.ts";
import type { Config } from "../config/mod.ts";
import { type FlagValues, stringFlag, type Task, UsageError } from "./cli.ts";
import { atomicWrite, joinPath, readArrowBatches, readArrowSchema, writeJsonAtomic, writeTableCsv } from "./io.ts";

/** Options of {@link writeTableStream}. */
export interface TableStreamOptions {
  /** Also write the rows as CSV to this path. */
  csvPath?: string;
  /** fsync the Arrow file before its rename (default true). */
  sync?: boolean;
  /** Arrow storage widths of i32 columns (see `ArrowStreamOptions`). */
  widths?: ReadonlyMap<string, IntWidth>;
}

/**
 * Writes a stream of tables with one schema as an Arrow file and, optionally, a CSV file,
 * atomically; `sync: false` skips the Arrow file's fsync (see `atomicWrite`).
 */
export async function writeTableStream(
  path: string,
  produce: (emit: (table: Table) => Promise<void>) => Promise<void>,
  options: TableStreamOptions = {},
): Promise<number> {
  let rows = 0;
  const run = async (csvWrite?: (chunk: Uint8Array) => Promise<void>) => {
    await atomicWrite(path, async (write) => {
      const enc = new ArrowStreamEncoder({ widths: options.widths });
      const csv = csvWrite ? new CsvWriter(csvWrite) : null;
      let first = true;
      await produce(async (table) => {
        for (const chunk of enc.encode(table)) await write(chunk);
        enc.recycle();
        if (csv) await writeTableCsv(table, csv, { header: first, close: false });
        first = false;
        rows += table.length;
      });
      if (first) throw new Error(`Nothing to write to ${path}: the input had no batches`);
      for (const chunk of enc.finish()) await write(chunk);
      await csv?.close();
    }, { sync: options.sync });
  };
  // CSV has no end marker to detect a cut-short file: CSV copies are always fsynced.
  if (options.csvPath) await atomicWrite(options.csvPath, (w) => run(w));
  else await run();
  return rows;
}

/**
 * Streams the grid at `path` in chunks of whole users. `onChunk` receives each
 * chunk in order; an empty grid gives one empty chunk (so outputs keep their schema).
 * With `options.ranges`, every batch is checked against them first.
 *
 * @throws {RangeError} naming the column, row and value outside `options.ranges`.
 */
export async function forEachUserChunk(
  path: string,
  onChunk: (chunk: Table) => Promise<void>,
  options: { ranges?: ColumnRanges; wholeUsers?: boolean } = {},
): Promise<void> {
  const chunker = new UserChunker({ wholeUsers: options.wholeUsers ? { name: path } : undefined });
  let empty: Table | null = null, any = false, rows = 0;
  for await (const batch of readArrowBatches(path)) {
    if (options.ranges) checkColumnRanges(batch, options.ranges, { name: path, firstRow: rows });
    rows += batch.length;
    if (batch.length === 0) empty = batch;
    for (const chunk of chunker.push(batch)) {
      any = true;
      await onChunk(chunk);
    }
  }
  for (const chunk of chunker.finish()) {
    any = true;
    await onChunk(chunk);
  }
  if (!any && empty) await onChunk(empty);
}

/**
 * The storage widths of the feature tables of the grid at `path` (see `featureStorage`), from
 * the value ranges `prepare` records in the grid's schema: read from its first message only. A
 * grid without them (written by another tool) gives the widths its windows alone guarantee.
 * Pass the ranges and `wholeUsers` (the grid's batches hold whole users) on to
 * {@link forEachUserChunk}, which holds the grid to them.
 */
export function gridStorage(
  path: string,
  options: { windows: readonly number[]; windowDays: number },
): { ranges: ColumnRanges; wholeUsers: boolean; storage: FeatureStorage } {
  const schema = readArrowSchema(path);
  const ranges = schemaRanges(schema);
  const wholeUsers = schema.metadata.get(GRID_BATCHES_KEY) === WHOLE_USERS;
  return { ranges, wholeUsers, storage: featureStorage(ranges, options) };
}

/** Shared options of the three steps. */
export interface FeatureStepOptions {
  /** Also write CSV copies. */
  csv?: boolean;
  /** Kernel implementation (default wasm). */
  impl?: KernelImpl;
  /** fsync the outputs before their rename (default true; config `store.fsync_derived_tables`). */
  sync?: boolean;
}

/** Computes user_features_daily from user_daily; returns the rows written. */
export async function runFeatures(
  dailyPath: string,
  outDir: string,
  options: FeatureStepOptions & { windows: readonly number[] },
): Promise<number> {
  let reuse: RollingOutput | undefined;
  const out = joinPath(outDir, "user_features_daily.arrow");
  const { ranges, wholeUsers, storage: { features: widths } } = gridStorage(dailyPath, {
    windows: options.windows,
    windowDays: 0,
  });
  return await writeTableStream(out, async (emit) => {
    await forEachUserChunk(dailyPath, async (chunk) => {
      const r = computeFeatures(chunk, { windows: options.windows, impl: options.impl, reuse, widths });
      reuse = r.kernel;
      await emit(r.table);
    }, { ranges, wholeUsers });
  }, { csvPath: options.csv ? joinPath(outDir, "user_features_daily.csv") : undefined, sync: options.sync, widths });
}

/** Computes labels_daily from user_daily; returns the rows written. */
export async function runLabels(
  dailyPath: string,
  outDir: string,
  options: FeatureStepOptions & { windowDays: number },
): Promise<number> {
  let reuse: LabelOutput | undefined, reuseTable: Table | undefined;
  const out = joinPath(outDir, "labels_daily.arrow");
  const { ranges, wholeUsers, storage: { labels: widths } } = gridStorage(dailyPath, {
    windows: [],
    windowDays: options.windowDays,
  });
  return await writeTableStream(out, async (emit) => {
    await forEachUserChunk(dailyPath, async (chunk) => {
      const r = computeLabels(chunk, { windowDays: options.windowDays, impl: options.impl, reuse, reuseTable });
      reuse = r.kernel;
      reuseTable = r.table;
      await emit(r.table);
    }, { ranges, wholeUsers });
  }, { csvPath: options.csv ? joinPath(outDir, "labels_daily.csv") : undefined, sync: options.sync, widths });
}

/** Summary of the training set, written beside it. */
export interface TrainingSetSummary {
  /** Rows in the training set. */
  rows: number;
  /** Rows with churn_label 1. */
  positives: number;
  /** positives / rows. */
  churn_rate: number;
  /** The population rule applied. */
  population: Population;
  /** Labelled rows the population rule left out. */
  excluded_by_population: number;
}

/** What goes into training_dataset, counted chunk by chunk, and the summary written beside it. */
class TrainingSetTally {
  positives = 0;
  excluded = 0;
  #emitted = false;

  /** Whether a chunk with `rows` training rows is written: all but empty chunks after the first (which keeps the schema). */
  wants(rows: number): boolean {
    return rows > 0 || !this.#emitted;
  }

  /** Counts a chunk's training rows, about to be written. */
  add(table: Table): void {
    const label = getColumn(table, "churn_label", "i32").data;
    for (let i = 0; i < label.length; i++) this.positives += label[i];
    this.#emitted = true;
  }

  /** Writes training_dataset_summary.json into `outDir` and returns it. */
  async finish(
    outDir: string,
    options: { rows: number; population: Population; sync?: boolean },
  ): Promise<TrainingSetSummary> {
    const { rows, population } = options;
    const summary: TrainingSetSummary = {
      rows,
      positives: this.positives,
      churn_rate: rows ? this.positives / rows : 0,
      population,
      excluded_by_population: this.excluded,
    };
    await writeJsonAtomic(joinPath(outDir, "training_dataset_summary.json"), summary, { sync: options.sync });
    return summary;
  }
}

/** Computes training_dataset from user_daily (features ⋈ labels, population rule); returns its summary. */
export async function runTrainingSet(
  dailyPath: string,
  outDir: string,
  options: FeatureStepOptions & { windows: readonly number[]; windowDays: number; population: Population },
): Promise<TrainingSetSummary> {
  const tally = new TrainingSetTally();
  let reuse: TrainingRows["kernels"] | undefined;
  const out = joinPath(outDir, "training_dataset.arrow");
  const { ranges, wholeUsers, storage: widths } = gridStorage(dailyPath, options);
  const rows = await writeTableStream(out, async (emit) => {
    await forEachUserChunk(dailyPath, async (chunk) => {
      const r = computeTrainingRows(chunk, { ...options, reuse, widths: widths.features });
      reuse = r.kernels;
      tally.excluded += r.excluded;
      if (!tally.wants(r.table.length)) return;
      tally.add(r.table);
      await emit(r.table);
    }, { ranges, wholeUsers });
  }, {
    csvPath: options.csv ? joinPath(outDir, "training_dataset.csv") : undefined,
    sync: options.sync,
    widths: widths.training,
  });
  return await tally.finish(outDir, { rows, population: options.population, sync: options.sync });
}

/** What {@link runFeatureTables} wrote. */
export interface FeatureTablesSummary {
  /** Rows of user_features_daily. */
  features: number;
  /** Rows of labels_daily. */
  labels: number;
  /** The training set's summary. */
  training: TrainingSetSummary;
}

/**
 * Computes user_features_daily, labels_daily and training_dataset in one pass over the grid
 * (read once, each kernel run once per chunk, the three files written side by side): the same
 * files as {@link runFeatures}, {@link runLabels} and {@link runTrainingSet} one after the other.
 */
export async function runFeatureTables(
  dailyPath: string,
  outDir: string,
  options: FeatureStepOptions & { windows: readonly number[]; windowDays: number; population: Population },
): Promise<FeatureTablesSummary> {
  const csv = (name: string) => options.csv ? joinPath(outDir, `${name}.csv`) : undefined;
  const file = (name: string) => joinPath(outDir, `${name}.arrow`);
  const tally = new TrainingSetTally();
  let labels = 0, training = 0;
  let reuse: FeatureTables["reuse"] | undefined;
  const { ranges, wholeUsers, storage: widths } = gridStorage(dailyPath, options);
  const features = await writeTableStream(file("user_features_daily"), async (emitFeatures) => {
    labels = await writeTableStream(file("labels_daily"), async (emitLabels) => {
      training = await writeTableStream(file("training_dataset"), async (emitTraining) => {
        await forEachUserChunk(dailyPath, async (chunk) => {
          const r = computeFeatureTables(chunk, { ...options, reuse, widths: widths.features });
          reuse = r.reuse;
          tally.excluded += r.excluded;
          // The writers have copied or written each table when emit resolves: the feature
          // table's arrays can then be compacted in place into the training rows.
          await emitFeatures(r.features);
          await emitLabels(r.labels);
          if (!tally.wants(r.trainingRows.length)) return;
          const rows = trainingRowsInPlace(r);
          tally.add(rows);
          await emitTraining(rows);
        }, { ranges, wholeUsers });
      }, { csvPath: csv("training_dataset"), sync: options.sync, widths: widths.training });
    }, { csvPath: csv("labels_daily"), sync: options.sync, widths: widths.labels });
  }, { csvPath: csv("user_features_daily"), sync: options.sync, widths: widths.features });
  const summary = await tally.finish(outDir, { rows: training, population: options.population, sync: options.sync });
  return { features, labels, training: summary };
}

function implFlag(value: string | boolean | undefined): KernelImpl {
  if (value === undefined || value === "wasm") return "wasm";
  if (value === "typescript") return "typescript";
  throw new UsageError(`Invalid value for --kernels: "${value}" (expected wasm or typescript)`);
}

const POPULATION_FLAG = {
  population: {
    type: "string",
    value: "RULE",
    description: "active (users active in the trailing W days) or all",
    default: "config churn.population",
  },
} as const;

/** The input grid, output folder and options of the steps that build the training set. */
function trainingSetArgs(
  config: Config,
  flags: FlagValues,
): {
  input: string;
  output: string;
  options: FeatureStepOptions & { windows: readonly number[]; windowDays: number; population: Population };
} {
  const population = stringFlag(flags, "population", config.churn.population);
  if (population !== "active" && population !== "all") {
    throw new UsageError(`Invalid value for --population: "${population}" (expected active or all)`);
  }
  return {
    input: joinPath(stringFlag(flags, "input-dir", config.paths.processed), "user_daily.arrow"),
    output: stringFlag(flags, "output-dir", config.paths.features),
    options: {
      csv: flags.csv === true,
      impl: implFlag(flags.kernels),
      windows: config.features.windows_days,
      windowDays: config.churn.window_days,
      population,
      sync: config.store.fsync_derived_tables,
    },
  };
}

const COMMON = {
  "input-dir": {
    type: "string",
    value: "DIR",
    description: "Folder with user_daily.arrow",
    default: "config paths.processed",
  },
  "output-dir": {
    type: "string",
    value: "DIR",
    description: "Where to write the table",
    default: "config paths.features",
  },
  csv: { type: "boolean", description: "Also write the table as CSV" },
  kernels: {
    type: "string",
    value: "IMPL",
    description: "wasm (the Wasm core) or typescript (the reference implementation)",
    default: "wasm",
  },
} as const;

/** The `features` task. */
export const featuresTask: Task = {
  name: "features",
  summary: "Compute rolling-window features per user and day (user_features_daily).",
  flags: {
    ...COMMON,
    windows: {
      type: "string",
      value: "LIST",
      description: "Comma-separated window lengths in days",
      default: "config features.windows_days",
    },
  },
  async run({ config, flags, log }) {
    const input = joinPath(stringFlag(flags, "input-dir", config.paths.processed), "user_daily.arrow");
    const output = stringFlag(flags, "output-dir", config.paths.features);
    let windows = config.features.windows_days;
    if (typeof flags.windows === "string") {
      windows = flags.windows.split(",").map((s) => Number(s.trim()));
      if (windows.some((w) => !Number.isInteger(w) || w < 1) || new Set(windows).size !== windows.length) {
        throw new UsageError(`Invalid value for --windows: "${flags.windows}" (expected distinct positive integers)`);
      }
    }
    const t0 = performance.now();
    const rows = await runFeatures(input, output, {
      windows,
      csv: flags.csv === true,
      impl: implFlag(flags.kernels),
      sync: config.store.fsync_derived_tables,
    });
    log(
      `${rows} rows, windows ${windows.join("/")} days → ${output}/user_features_daily.arrow in ${
        ((performance.now() - t0) / 1000).toFixed(3)
      } s`,
    );
    return 0;
  },
};

/** The `labels` task. */
export const labelsTask: Task = {
  name: "labels",
  summary: "Compute churn labels per user and day (labels_daily); the last W days of each user are dropped.",
  flags: {
    ...COMMON,
    "window-days": {
      type: "string",
      value: "N",
      description: "Churn window W in days",
      default: "config churn.window_days",
    },
  },
  async run({ config, flags, log }) {
    const input = joinPath(stringFlag(flags, "input-dir", config.paths.processed), "user_daily.arrow");
    const output = stringFlag(flags, "output-dir", config.paths.features);
    const w = flags["window-days"] === undefined ? config.churn.window_days : Number(flags["window-days"]);
    if (!Number.isInteger(w) || w < 1) {
      throw new UsageError(`Invalid value for --window-days: "${flags["window-days"]}" (expected a positive integer)`);
    }
    const t0 = performance.now();
    const rows = await runLabels(input, output, {
      windowDays: w,
      csv: flags.csv === true,
      impl: implFlag(flags.kernels),
      sync: config.store.fsync_derived_tables,
    });
    log(
      `${rows} labelled rows (W = ${w} days) → ${output}/labels_daily.arrow in ${
        ((performance.now() - t0) / 1000).toFixed(3)
      } s`,
    );
    return 0;
  },
};

/** The `training-set` task. */
export const trainingSetTask: Task = {
  name: "training-set",
  summary:
    "Build the training set: features joined with labels on (user_id, as_of_date), population rule applied (training_dataset).",
  flags: { ...COMMON, ...POPULATION_FLAG },
  async run({ config, flags, log }) {
    const { input, output, options } = trainingSetArgs(config, flags);
    const population = options.population;
    const t0 = performance.now();
    const s = await runTrainingSet(input, output, options);
    log(
      `${s.rows} rows, churn rate ${
        (s.churn_rate * 100).toFixed(1)
      }% (population ${population}, ${s.excluded_by_population} labelled rows left out) → ${output}/training_dataset.arrow in ${
        ((performance.now() - t0) / 1000).toFixed(3)
      } s`,
    );
    return 0;
  },
};

/** The `features:all` task. */
export const featureTablesTask: Task = {
  name: "features:all",
  summary:
    "Compute user_features_daily, labels_daily and training_dataset in one pass over the grid (what pipeline and retrain run).",
  flags: { ...COMMON, ...POPULATION_FLAG },
  async run({ config, flags, log }) {
    const { input, output, options } = trainingSetArgs(config, flags);
    const population = options.population;
    const t0 = performance.now();
    const s = await runFeatureTables(input, output, options);
    log(
      `${s.features} feature rows (windows ${
        config.features.windows_days.join("/")
      } days), ${s.labels} labelled rows ` +
        `(W = ${config.churn.window_days} days), ${s.training.rows} training rows, churn rate ${
          (s.training.churn_rate * 100).toFixed(1)
        }% (population ${population}) → ${output} in ${((performance.now() - t0) / 1000).toFixed(3)} s`,
    );
    return 0;
  },
};

/** What {@link forEachScoringRows} read. */
export interface ScoringRowsSummary {
  /** The date scored (days since epoch). */
  date: number;
  /** Rows of that date the population rule left out. */
  excluded: number;
  /** Rows handed to `onRows`. */
  rows: number;
}

/** Options of {@link forEachScoringRows}. */
export interface ScoringRowsStreamOptions {
  /** The date (days since epoch), or null for the latest date in the grid. */
  date: number | null;
  /** Feature windows (the model's). */
  windows: readonly number[];
  /** Churn window W (the population rule looks back W days). */
  windowDays: number;
  /** Population rule. */
  population: Population;
  /** What the rows are for, in messages ("score", "check"). */
  purpose: string;
  /** Receives each chunk's rows of the date (a table valid during the call). */
  onRows: (rows: Table) => void;
  /** Called when a later date than the rows so far appears (latest-date mode): forget them. */
  onRestart: () => void;
}

/**
 * Streams the grid at `path` and hands over the feature rows of one date (the
 * requested one, or the latest) for the population, chunk by chunk: what batch
 * scoring and the drift check both need.
 *
 * @throws {RangeError} naming the grid's date range when the date has no rows.
 */
export async function forEachScoringRows(path: string, options: ScoringRowsStreamOptions): Promise<ScoringRowsSummary> {
  let date: number | null = options.date, excluded = 0, rows = 0, first = Infinity, last = -Infinity;
  let reuse: Parameters<typeof computeScoringRows>[1]["reuse"];
  await forEachUserChunk(path, (chunk) => {
    const dates = getColumn(chunk, "as_of_date", "date").data;
    for (let i = 0; i < dates.length; i++) {
      if (dates[i] < first) first = dates[i];
      if (dates[i] > last) last = dates[i];
    }
    const r = computeScoringRows(chunk, {
      date: options.date,
      windows: options.windows,
      windowDays: options.windowDays,
      population: options.population,
      reuse,
    });
    reuse = r.kernels;
    if (r.date === null) return Promise.resolve();
    if (options.date === null && date !== null && r.date !== date) {
      if (r.date < date) return Promise.resolve();
      options.onRestart(); // a later date than the chunks so far: start over on it
      excluded = 0;
      rows = 0;
    }
    date = r.date;
    excluded += r.excluded;
    if (r.table.length > 0) {
      rows += r.table.length;
      options.onRows(r.table);
    }
    return Promise.resolve();
  });
  if (first === Infinity) throw new RangeError(`${path} has no rows to ${options.purpose}`);
  if (rows === 0) {
    throw new RangeError(
      `No rows to ${options.purpose} on ${date === null ? "the latest date" : formatDate(date)}: user_daily covers ${
        formatDate(first)
      } to ${formatDate(last)}${excluded ? ` and the ${excluded} rows of that date are outside the population` : ""}`,
    );
  }
  return { date: date!, excluded, rows };
}
