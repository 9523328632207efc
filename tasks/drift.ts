/**
 * `deno task drift [--as-of-date YYYY-MM-DD]`: the Population Stability Index of every input of
 * the production model, between its reference profile (the training distribution, stored in the
 * model artifact) and the population it would score on the latest date of user_daily (or the
 * given date). Writes `data_drift_latest.json` and a history entry
 * (`drift_history/<timestamp>.json`) under `paths.reports` through the artifact store; exit code 2
 * on FAIL, 0 on OK or WARN, 1 on an error.
 *
 * `deno task demo:drift [--strength 1]`: writes a copy of user_daily whose latest 30 days are
 * shifted like the original project's high-drift demo, then runs the drift check on it (FAIL).
 *
 * @module
 */

import type { Config } from "../config/mod.ts";
import { formatDate, parseDate } from "../pipeline/dates.ts";
import {
  checkProfile,
  DriftCounter,
  type DriftResult,
  type DriftStatus,
  type FeatureDrift,
  type ReferenceProfile,
  shiftUserDaily,
} from "../pipeline/drift.ts";
import type { Population } from "../pipeline/features.ts";
import type { ModelArtifact } from "../pipeline/train.ts";
import { getColumn } from "../pipeline/table.ts";
import { numberFlag, stringFlag, type Task, UsageError } from "./cli.ts";
import { forEachScoringRows } from "./features.ts";
import { dirname, joinPath, readArrowTable, writeArrowTable } from "./io.ts";
import { Registry } from "./registry.ts";
import { type ArtifactStore, openStore, putJson } from "./store/mod.ts";

/** Version of the drift report format. */
export const DRIFT_REPORT_SCHEMA_VERSION = 1;

/** How many of the worst features the report shows bucket by bucket (default of {@link RunDriftOptions.worst}). */
export const WORST_FEATURES = 5;

/** The drift report (`data_drift_latest.json` and each history entry). */
export interface DriftReport {
  /** Format version. */
  schema_version: number;
  /** OK, WARN or FAIL: the worst status of any feature. */
  status: DriftStatus;
  /** The largest PSI of any feature. */
  overall_max_psi: number;
  /** The feature with the largest PSI. */
  worst_feature: string;
  /** The thresholds applied (config `drift`). */
  thresholds: { warn_psi: number; fail_psi: number };
  /** The production model version whose profile was the reference. */
  model_version: string;
  /** What the current rows were compared with. */
  reference: {
    /** Always `training`: the model's training rows, profiled when it was trained. */
    source: "training";
    /** First and last training date (from the model's metrics, else from the profile). */
    train_dates: [string, string] | null;
    /** Training rows profiled. */
    rows: number;
  };
  /** The current rows. */
  current: {
    /** The date compared (YYYY-MM-DD). */
    as_of_date: string;
    /** Rows compared. */
    rows: number;
    /** Rows of that date the population rule left out. */
    excluded_by_population: number;
    /** The population rule (the model's, as scoring applies it). */
    population: string;
    /** The user_daily file read. */
    user_daily: string;
  };
  /** Features checked. */
  features_checked: number;
  /** How many features have each status. */
  status_counts: Record<DriftStatus, number>;
  /** PSI per feature, in the model's input order. */
  psi_by_feature: Record<string, number>;
  /** Status per feature. */
  status_by_feature: Record<string, DriftStatus>;
  /** The worst features (largest PSI first) with their reference and current share per bucket. */
  worst_features: FeatureDrift[];
  /** When the check ran (ISO-8601 UTC). */
  checked_at: string;
}

/** Options of {@link runDrift}. */
export interface RunDriftOptions {
  /** Date to compare (YYYY-MM-DD), default the latest in user_daily. */
  asOfDate?: string;
  /** Folder with user_daily.arrow (default config `paths.processed`). */
  inputDir?: string;
  /** Features to check (default config `drift.features`; empty means every model input). */
  features?: readonly string[];
  /** How many of the worst features to show bucket by bucket (default {@link WORST_FEATURES}). */
  worst?: number;
  /** An open store (default: opened from the config, closed at the end). */
  store?: ArtifactStore;
  /** The time of the check (default now). */
  now?: Date;
}

/** What {@link runDrift} produced. */
export interface DriftRun {
  /** The report written. */
  report: DriftReport;
  /** The store keys written: the latest report, then the history entry. */
  files: string[];
}

/** A sortable, unique-enough name for a history entry: `YYYYMMDDTHHMMSSmmmZ-<6 hex>`. */
export function historyStamp(now: Date): string {
  const iso = now.toISOString().replace(/[-:]/g, "").replace(".", "");
  return `${iso}-${crypto.randomUUID().slice(0, 6)}`;
}

/** Returns the exit code of a drift report: 2 on FAIL, 0 otherwise. */
export function driftExitCode(report: Pick<DriftReport, "status">): number {
  return report.status === "FAIL" ? 2 : 0;
}

/** The store keys of the latest drift report and of its history folder. */
export function driftKeys(store: ArtifactStore, config: Config): { latest: string; history: string } {
  return {
    latest: store.keyOf(`${config.paths.reports}/data_drift_latest.json`),
    history: `${store.keyOf(`${config.paths.reports}/drift_history`)}/`,
  };
}

/**
 * Returns the reference profile of a model artifact.
 *
 * @throws {Error} naming the version when the model has no profile (trained before profiles existed).
 * @throws {TypeError} when the stored profile is malformed.
 */
export function profileOf(model: ModelArtifact, version: string): ReferenceProfile {
  const profile = (model as ModelArtifact & { reference_profile?: unknown }).reference_profile;
  if (profile === undefined || profile === null) {
    throw new Error(
      `The production model ${version} has no reference profile (reference_profile), so its drift cannot be ` +
        `checked: it was trained before training stored one; retrain it ("deno task retrain")`,
    );
  }
  try {
    return checkProfile(profile);
  } catch (e) {
    const why = (e as Error).message.replace(/^Invalid reference profile: /, "");
    throw new TypeError(`The production model ${version} has an invalid reference profile: ${why}`);
  }
}

/**
 * Compares the population the production model would score on a date (default the latest in
 * user_daily) with the model's reference profile, and writes the report and a history entry.
 *
 * @throws {import("./registry.ts").RegistryError} when there is no usable production model.
 * @throws {Error} when the model has no reference profile.
 * @throws {RangeError} naming the available dates when the date has no rows, or naming an unknown feature.
 */
export async function runDrift(config: Config, options: RunDriftOptions = {}): Promise<DriftRun> {
  const store = options.store ?? await openStore(config);
  try {
    const registry = new Registry(store, config);
    const { version, model } = await registry.resolve("production");
    const profile = profileOf(model, version);
    const counter = new DriftCounter(profile, { features: options.features ?? config.drift.features });
    const wanted = options.asOfDate === undefined ? null : parseDate(options.asOfDate);
    const population = (model.features.population ?? config.churn.population) as Population;
    const dailyPath = joinPath(options.inputDir ?? config.paths.processed, "user_daily.arrow");
    const { date, excluded, rows } = await forEachScoringRows(dailyPath, {
      date: wanted,
      windows: model.features.windows_days,
      windowDays: model.features.churn_window_days,
      population,
      purpose: "check",
      onRows: (table) => counter.add(table),
      onRestart: () => counter.reset(),
    });
    const result = counter.finish({ warn: config.drift.warn_psi, fail: config.drift.fail_psi });
    const metrics = await registry.metrics(version);
    const now = options.now ?? new Date();
    const report = toReport(result, {
      version,
      profile,
      trainDates: metrics?.split?.train_dates ?? profile.train_dates,
      current: {
        as_of_date: formatDate(date),
        rows,
        excluded_by_population: excluded,
        population,
        user_daily: dailyPath,
      },
      worst: options.worst ?? WORST_FEATURES,
      now,
    });
    const keys = driftKeys(store, config);
    const historyKey = `${keys.history}${historyStamp(now)}.json`;
    // The history entry first: the latest report never names a check the history lacks.
    await putJson(store, historyKey, report);
    await putJson(store, keys.latest, report);
    return { report, files: [keys.latest, historyKey] };
  } finally {
    if (!options.store) store.close();
  }
}

function toReport(
  result: DriftResult,
  o: {
    version: string;
    profile: ReferenceProfile;
    trainDates: [string, string] | null;
    current: DriftReport["current"];
    worst: number;
    now: Date;
  },
): DriftReport {
  const counts: Record<DriftStatus, number> = { OK: 0, WARN: 0, FAIL: 0 };
  for (const f of result.features) counts[f.status]++;
  const worst = [...result.features].sort((a, b) => b.psi - a.psi).slice(0, Math.max(0, o.worst));
  return {
    schema_version: DRIFT_REPORT_SCHEMA_VERSION,
    status: result.status,
    overall_max_psi: result.overall_max_psi,
    worst_feature: result.worst_feature,
    thresholds: { warn_psi: result.thresholds.warn, fail_psi: result.thresholds.fail },
    model_version: o.version,
    reference: { source: "training", train_dates: o.trainDates, rows: o.profile.rows },
    current: o.current,
    features_checked: result.features.length,
    status_counts: counts,
    psi_by_feature: Object.fromEntries(result.features.map((f) => [f.name, f.psi])),
    status_by_feature: Object.fromEntries(result.features.map((f) => [f.name, f.status])),
    worst_features: worst,
    checked_at: o.now.toISOString(),
  };
}

/** Returns a one-line summary of a report. */
export function describeDrift(r: DriftReport): string {
  const c = r.status_counts;
  return `${r.status}: max PSI ${
    r.overall_max_psi.toFixed(4)
  } (${r.worst_feature}); ${c.FAIL} FAIL, ${c.WARN} WARN, ${c.OK} OK ` +
    `of ${r.features_checked} inputs of ${r.model_version}; ${r.current.rows} rows on ${r.current.as_of_date} vs training ${
      r.reference.train_dates?.join(" to ") ?? "(dates unknown)"
    }`;
}

/**
 * Returns the `--as-of-date` flag, or undefined when absent.
 *
 * @throws {UsageError} when it is not YYYY-MM-DD.
 */
export function asOfDateFlag(flags: Record<string, unknown>): string | undefined {
  const v = flags["as-of-date"];
  if (typeof v !== "string") return undefined;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) {
    throw new UsageError(`Invalid value for --as-of-date: "${v}" (expected YYYY-MM-DD)`);
  }
  return v;
}

function featuresFlag(flags: Record<string, unknown>): string[] | undefined {
  const v = flags.features;
  if (typeof v !== "string") return undefined;
  const names = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (names.length === 0) throw new UsageError(`Invalid value for --features: "${v}" (expected comma-separated names)`);
  return names;
}

/** The `drift` task. */
export const driftTask: Task = {
  name: "drift",
  summary:
    "Data drift: PSI of every production model input, latest scoring date vs the training profile; exit 2 on FAIL.",
  flags: {
    "as-of-date": {
      type: "string",
      value: "YYYY-MM-DD",
      description: "Date whose population is compared",
      default: "the latest in user_daily",
    },
    "input-dir": {
      type: "string",
      value: "DIR",
      description: "Folder with user_daily.arrow",
      default: "config paths.processed",
    },
    features: {
      type: "string",
      value: "LIST",
      description: "Comma-separated inputs to check",
      default: "config drift.features, else every model input",
    },
  },
  async run({ config, flags, log }) {
    const { report, files } = await runDrift(config, {
      asOfDate: asOfDateFlag(flags),
      inputDir: stringFlag(flags, "input-dir", config.paths.processed),
      features: featuresFlag(flags),
    });
    log(describeDrift(report));
    for (const f of report.worst_features.filter((f) => f.status !== "OK")) {
      log(`  ${f.status.padEnd(4)} ${f.name}: PSI ${f.psi.toFixed(4)}`);
    }
    log(`→ ${files.join(", ")}`);
    return driftExitCode(report);
  },
};

/** Options of {@link runDemoDrift}. */
export interface RunDemoDriftOptions {
  /** Shift strength (0 changes nothing; default 1). */
  strength?: number;
  /** Latest dates shifted (default 30). */
  days?: number;
  /** Seed of the shift (default 7). */
  seed?: number;
  /** Folder with the real user_daily.arrow (default config `paths.processed`). */
  inputDir?: string;
  /** Folder for the shifted user_daily.arrow (default `demo_drift` beside `paths.processed`). */
  outputDir?: string;
  /** Run the drift check on the shifted copy (default true). */
  check?: boolean;
  /** An open store for the drift check. */
  store?: ArtifactStore;
}

/** What {@link runDemoDrift} did. */
export interface DemoDriftRun {
  /** The shifted user_daily file. */
  path: string;
  /** Rows in it. */
  rows: number;
  /** First shifted date. */
  shifted_from: string;
  /** The drift check on it, when run. */
  drift: DriftRun | null;
}

/** The default folder of the demo's shifted grid: `demo_drift` beside `paths.processed`. */
export function demoDriftDir(config: Config): string {
  return joinPath(dirname(config.paths.processed), "demo_drift");
}

/**
 * Writes a shifted copy of user_daily (see `shiftUserDaily`) into `outputDir` and, unless told not
 * to, runs the drift check on it (which writes the drift report as any check does).
 *
 * @throws {RangeError} when the strength or days are invalid, or user_daily has no rows.
 */
export async function runDemoDrift(config: Config, options: RunDemoDriftOptions = {}): Promise<DemoDriftRun> {
  const source = joinPath(options.inputDir ?? config.paths.processed, "user_daily.arrow");
  const outDir = options.outputDir ?? demoDriftDir(config);
  const daily = await readArrowTable(source);
  if (daily.length === 0) throw new RangeError(`${source} has no rows to shift`);
  const days = options.days ?? 30;
  const shifted = shiftUserDaily(daily, { strength: options.strength ?? 1, days, seed: options.seed });
  const path = joinPath(outDir, "user_daily.arrow");
  await writeArrowTable(path, shifted);
  const dates = getColumn(daily, "as_of_date", "date").data;
  let last = -Infinity;
  for (let i = 0; i < dates.length; i++) if (dates[i] > last) last = dates[i];
  const drift = options.check === false ? null : await runDrift(config, { inputDir: outDir, store: options.store });
  return { path, rows: shifted.length, shifted_from: formatDate(last - days + 1), drift };
}

/** The `demo:drift` task. */
export const demoDriftTask: Task = {
  name: "demo:drift",
  summary:
    "Drift demo: shift the latest 30 days of user_daily (more sessions, heavier watching, lower quiz scores) into a copy and check drift on it (FAIL, exit 2).",
  flags: {
    strength: { type: "string", value: "S", description: "Shift strength, 0 = none", default: "1" },
    days: { type: "string", value: "N", description: "Latest dates shifted", default: "30" },
    seed: { type: "string", value: "N", description: "Seed of the shift", default: "7" },
    "input-dir": {
      type: "string",
      value: "DIR",
      description: "Folder with the real user_daily.arrow",
      default: "config paths.processed",
    },
    "output-dir": {
      type: "string",
      value: "DIR",
      description: "Folder for the shifted user_daily.arrow",
      default: "demo_drift beside paths.processed",
    },
    "no-check": { type: "boolean", description: "Only write the shifted copy; do not run the drift check" },
  },
  async run({ config, flags, log }) {
    const strength = numberFlag(flags, "strength", 1);
    if (strength < 0) throw new UsageError(`Invalid value for --strength: ${strength} (expected a number ≥ 0)`);
    const days = numberFlag(flags, "days", 30, true);
    if (days < 1) throw new UsageError(`Invalid value for --days: ${days} (expected a positive integer)`);
    const outputDir = stringFlag(flags, "output-dir", demoDriftDir(config));
    const run = await runDemoDrift(config, {
      strength,
      days,
      seed: numberFlag(flags, "seed", 7, true),
      inputDir: stringFlag(flags, "input-dir", config.paths.processed),
      outputDir,
      check: flags["no-check"] !== true,
    });
    log(`shifted ${run.shifted_from} onwards (strength ${strength}) → ${run.path} (${run.rows} rows)`);
    if (run.drift === null) {
      log(`check it with: deno task drift --input-dir ${outputDir}`);
      return 0;
    }
    log(describeDrift(run.drift.report));
    for (const f of run.drift.report.worst_features) log(`  ${f.status.padEnd(4)} ${f.name}: PSI ${f.psi.toFixed(4)}`);
    log(`→ ${run.drift.files.join(", ")}`);
    return driftExitCode(run.drift.report);
  },
};
