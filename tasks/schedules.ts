/**
 * The built-in schedules (SPEC §11), as plain handlers that `Deno.cron` calls in the service
 * process: the drift check (01:00 UTC daily), the drift-triggered retrain (01:05), batch scoring
 * then the score proxy (02:00) and the weekly retrain (Sundays 03:00); the cron strings come from
 * `config.schedules`.
 *
 * Every run takes a lock in the artifact store first, so that two replicas never run the same job
 * at once: in Deno KV an entry checked and set in one atomic commit with an expiry
 * (`expireIn`), elsewhere a lock document replaced by compare-and-swap (`putIfMatch`) that holds
 * its expiry time. A lock is renewed while its job runs and released when it ends; the lock of a
 * killed replica lapses after its time to live. Every run is recorded under
 * `${paths.reports}/runs/` (job, start, end, outcome, exit code or error), started and finished,
 * and a handler never throws: a job that throws is recorded as failed, so it cannot take the
 * server down.
 *
 * @module
 */

import type { Config } from "../config/mod.ts";
import { describeDrift, driftExitCode, driftKeys, type DriftReport, historyStamp, runDrift } from "./drift.ts";
import { setEventLoopSlice } from "./io.ts";
import { runRetrain } from "./retrain.ts";
import { runDriftRetrain } from "./retrain.ts";
import { runScore } from "./score.ts";
import { runScoreProxy, scoreProxyKeys, type ScoreProxyReport } from "./score_proxy.ts";
import { type ArtifactStore, getJson, KvStore, openStore, putJson, retryBusy, sha256Hex } from "./store/mod.ts";

/** The scheduled jobs. */
export type JobName = "drift" | "drift_retrain" | "score" | "retrain";

/** The scheduled jobs, in the order of their default times. */
export const JOB_NAMES: readonly JobName[] = ["drift", "drift_retrain", "score", "retrain"];

/** How a run ended (`running` while it runs, or when its process was killed). */
export type RunOutcome = "running" | "ok" | "failed" | "skipped-locked";

/** The record of one run, stored as `${paths.reports}/runs/<run_id>_<job>.json`. */
export interface RunRecord {
  /** The job. */
  job: JobName;
  /** `YYYYMMDDTHHMMSSmmmZ-<6 hex>`: start time and a random suffix. */
  run_id: string;
  /** Who ran it: `<host>:<pid>/<run_id>`. */
  owner: string;
  /** Start (ISO-8601 UTC). */
  started_at: string;
  /** End, or null while running. */
  finished_at: string | null;
  /** Wall seconds, or null while running. */
  duration_seconds: number | null;
  /** Outcome: `ok` when the job completed (drift FAIL included: exit code 2), `failed`, `skipped-locked`. */
  outcome: RunOutcome;
  /** The job's exit code (as its `deno task` would return), or null when it threw or was skipped. */
  exit_code: number | null;
  /** The error message when the job threw. */
  error: string | null;
  /** A one-line summary of what the job did. */
  summary: string | null;
  /** For `skipped-locked`: who held the lock. */
  locked_by?: string | null;
}

/** What the service passes to the handlers. */
export interface ScheduleDeps {
  /** An open store shared by the runs (default: each run opens one from the config and closes it). */
  store?: ArtifactStore;
  /** This replica's name in locks and records (default `<hostname>:<pid>`). */
  owner?: string;
  /** Lock time to live in ms (default 15 minutes), renewed every third of it while the job runs. */
  lockTtlMs?: number;
  /** Progress lines (default: stderr). */
  log?: (message: string) => void;
  /** Aborting it stops the crons {@link registerSchedules} registered. */
  signal?: AbortSignal;
}

/** Default lock time to live: 15 minutes. */
export const DEFAULT_LOCK_TTL_MS = 15 * 60_000;

/** What a job body returns. */
interface JobResult {
  exit_code: number;
  ok: boolean;
  summary: string;
}

type JobBody = (config: Config, store: ArtifactStore, log: (m: string) => void) => Promise<JobResult>;

const BODIES: Record<JobName, JobBody> = {
  async drift(config, store) {
    const { report } = await runDrift(config, { store });
    return { exit_code: driftExitCode(report), ok: true, summary: describeDrift(report) };
  },
  async drift_retrain(config, store, log) {
    const r = await runDriftRetrain(config, { store, log });
    const what = r.drift === null
      ? `drift check failed: ${r.drift_error}`
      : r.retrain === null
      ? `drift ${r.drift.status}: no retrain needed`
      : r.retrain.ok
      ? `drift FAIL: retrained; production ${r.retrain.production_after}${r.retrain.promoted ? " (new)" : " (kept)"}`
      : `drift FAIL: retrain failed at ${r.retrain.failed_step}`;
    return { exit_code: r.exit_code, ok: r.exit_code === 0, summary: what };
  },
  async score(config, store) {
    const s = await runScore(config, { store });
    const p = await runScoreProxy(config, { store });
    const last = p.report.realized.at(-1);
    return {
      exit_code: 0,
      ok: true,
      summary: `scored ${s.rows} users on ${s.date} with ${s.model_version} (mean risk ${s.mean_risk.toFixed(3)})` +
        (last ? `; realized PR-AUC ${last.pr_auc?.toFixed(4) ?? "n/a"} on ${last.as_of_date}` : ""),
    };
  },
  async retrain(config, _store, log) {
    const r = await runRetrain(config, { log });
    return {
      exit_code: r.exit_code,
      ok: r.ok,
      summary: r.ok
        ? `retrained; production ${r.production_after}${r.promoted ? " (new)" : " (kept)"}`
        : `retrain failed at ${r.failed_step}`,
    };
  },
};

function defaultOwner(): string {
  let host = "unknown-host";
  try {
    host = Deno.hostname();
  } catch {
    // No permission or no hostname (Deno Deploy): the pid and the run id still tell runs apart.
  }
  return `${host}:${Deno.pid}`;
}

// ---------------------------------------------------------------------------------------------
// Locks

/** A held job lock. */
export interface JobLock {
  /** The job. */
  readonly job: JobName;
  /** The holder. */
  readonly owner: string;
  /** Extends the lock by its time to live; false when it was lost (expired and taken by another). */
  renew(): Promise<boolean>;
  /** Releases the lock if still held. */
  release(): Promise<void>;
}

/** The outcome of {@link acquireJobLock}. */
export type LockAttempt =
  | { acquired: true; lock: JobLock }
  | { acquired: false; holder: string | null; expires_at: string | null };

/** Options of {@link acquireJobLock}. */
export interface LockOptions {
  /** The job. */
  job: JobName;
  /** Who takes it (unique per run). */
  owner: string;
  /** Time to live in ms. */
  ttlMs: number;
}

interface LockValue {
  owner: string;
  expires: number;
  acquired_at: string;
  released?: boolean;
}

function isLockValue(v: unknown): v is LockValue {
  return typeof v === "object" && v !== null && typeof (v as LockValue).owner === "string" &&
    typeof (v as LockValue).expires === "number";
}

/** The store key of a job's lock document (stores other than Deno KV). */
export function lockKey(store: ArtifactStore, config: Config, job: JobName): string {
  return store.keyOf(`${config.paths.reports}/locks/${job}.json`);
}

async function kvLock(store: KvStore, config: Config, o: LockOptions): Promise<LockAttempt> {
  const kv = store.kv;
  const key: Deno.KvKey = [store.prefix, "job_lock", store.keyOf(config.paths.reports), o.job];
  const entry = await retryBusy(() => kv.get<LockValue>(key));
  const now = Date.now();
  // An expired entry may linger until KV deletes it: its expiry time decides.
  if (isLockValue(entry.value) && entry.value.expires > now) {
    return { acquired: false, holder: entry.value.owner, expires_at: new Date(entry.value.expires).toISOString() };
  }
  const value: LockValue = { owner: o.owner, expires: now + o.ttlMs, acquired_at: new Date(now).toISOString() };
  const take = kv.atomic().check(entry).set(key, value, { expireIn: o.ttlMs });
  const res = await retryBusy(() => take.commit());
  if (!res.ok) {
    const winner = (await retryBusy(() => kv.get<LockValue>(key))).value;
    return {
      acquired: false,
      holder: isLockValue(winner) ? winner.owner : null,
      expires_at: isLockValue(winner) ? new Date(winner.expires).toISOString() : null,
    };
  }
  let versionstamp = res.versionstamp;
  return {
    acquired: true,
    lock: {
      job: o.job,
      owner: o.owner,
      async renew() {
        const next = { ...value, expires: Date.now() + o.ttlMs };
        const op = kv.atomic().check({ key, versionstamp }).set(key, next, { expireIn: o.ttlMs });
        const r = await retryBusy(() => op.commit());
        if (r.ok) versionstamp = r.versionstamp;
        return r.ok;
      },
      async release() {
        const op = kv.atomic().check({ key, versionstamp }).delete(key);
        await retryBusy(() => op.commit());
      },
    },
  };
}

async function documentLock(store: ArtifactStore, config: Config, o: LockOptions): Promise<LockAttempt> {
  const key = lockKey(store, config, o.job);
  const encode = (v: LockValue) => new TextEncoder().encode(JSON.stringify(v, null, 2) + "\n");
  const read = async (): Promise<{ bytes: Uint8Array | null; value: LockValue | null }> => {
    const bytes = await store.get(key);
    if (bytes === null) return { bytes, value: null };
    try {
      const v = JSON.parse(new TextDecoder().decode(bytes));
      return { bytes, value: isLockValue(v) ? v : null };
    } catch {
      return { bytes, value: null }; // unreadable: taken as free, replaced by compare-and-swap
    }
  };
  const held = (v: LockValue | null): v is LockValue => v !== null && !v.released && v.expires > Date.now();
  const current = await read();
  if (held(current.value)) {
    return {
      acquired: false,
      holder: current.value.owner,
      expires_at: new Date(current.value.expires).toISOString(),
    };
  }
  const now = Date.now();
  const value: LockValue = { owner: o.owner, expires: now + o.ttlMs, acquired_at: new Date(now).toISOString() };
  let bytes = encode(value);
  const expected = current.bytes === null ? null : await sha256Hex(current.bytes);
  if (!(await store.putIfMatch(key, bytes, expected))) {
    const winner = (await read()).value;
    return {
      acquired: false,
      holder: winner?.owner ?? null,
      expires_at: winner ? new Date(winner.expires).toISOString() : null,
    };
  }
  let sha = await sha256Hex(bytes);
  return {
    acquired: true,
    lock: {
      job: o.job,
      owner: o.owner,
      async renew() {
        const next = encode({ ...value, expires: Date.now() + o.ttlMs });
        const ok = await store.putIfMatch(key, next, sha);
        if (ok) bytes = next, sha = await sha256Hex(next);
        return ok;
      },
      async release() {
        await store.putIfMatch(key, encode({ ...value, expires: 0, released: true }), sha);
      },
    },
  };
}

/**
 * Takes the lock of a job unless another owner holds it unexpired: in Deno KV an entry checked and
 * set in one atomic commit with `expireIn`, in other stores a lock document replaced by
 * compare-and-swap. Exactly one of several concurrent callers gets it.
 *
 * @throws {RangeError} when `ttlMs` is not a positive number.
 */
export async function acquireJobLock(store: ArtifactStore, config: Config, options: LockOptions): Promise<LockAttempt> {
  if (!(options.ttlMs > 0) || !Number.isFinite(options.ttlMs)) {
    throw new RangeError(`Lock ttlMs must be a positive number of milliseconds, got ${options.ttlMs}`);
  }
  return store instanceof KvStore ? await kvLock(store, config, options) : await documentLock(store, config, options);
}

// ---------------------------------------------------------------------------------------------
// Runs

/** The store key prefix of the run records. */
export function runsPrefix(store: ArtifactStore, config: Config): string {
  return `${store.keyOf(`${config.paths.reports}/runs`)}/`;
}

async function writeRecord(store: ArtifactStore, config: Config, record: RunRecord): Promise<void> {
  await putJson(store, `${runsPrefix(store, config)}${record.run_id}_${record.job}.json`, record);
}

function finish(record: RunRecord, started: number): void {
  const end = Date.now();
  record.finished_at = new Date(end).toISOString();
  record.duration_seconds = (end - started) / 1000;
}

/**
 * Runs a job once as the schedule does: takes its lock (or records `skipped-locked`), records the
 * run as running, runs it, records how it ended, releases the lock. Never throws: whatever goes
 * wrong is in the returned record (and, when the store works, in the stored one).
 */
export async function runJob(config: Config, job: JobName, deps: ScheduleDeps = {}): Promise<RunRecord> {
  const log = deps.log ?? ((m: string) => console.error(`[schedule ${job}] ${m}`));
  const t0 = Date.now();
  const runId = historyStamp(new Date(t0));
  const record: RunRecord = {
    job,
    run_id: runId,
    owner: `${deps.owner ?? defaultOwner()}/${runId}`,
    started_at: new Date(t0).toISOString(),
    finished_at: null,
    duration_seconds: null,
    outcome: "running",
    exit_code: null,
    error: null,
    summary: null,
  };
  let store: ArtifactStore;
  try {
    if (!JOB_NAMES.includes(job)) throw new RangeError(`Unknown job "${job}": expected ${JOB_NAMES.join(", ")}`);
    store = deps.store ?? await openStore(config);
  } catch (e) {
    record.outcome = "failed";
    record.error = (e as Error).message ?? String(e);
    finish(record, t0);
    log(`failed before it started: ${record.error}`);
    return record;
  }
  let lock: JobLock | null = null;
  let timer: ReturnType<typeof setInterval> | undefined;
  try {
    const ttl = deps.lockTtlMs ?? DEFAULT_LOCK_TTL_MS;
    const attempt = await acquireJobLock(store, config, { job, owner: record.owner, ttlMs: ttl });
    if (!attempt.acquired) {
      record.outcome = "skipped-locked";
      record.locked_by = attempt.holder;
      record.summary = `another run holds the lock${attempt.holder ? ` (${attempt.holder})` : ""} until ${
        attempt.expires_at ?? "it is released"
      }`;
      log(`skipped: ${record.summary}`);
    } else {
      lock = attempt.lock;
      const held = lock;
      timer = setInterval(() => {
        held.renew().then((ok) => ok || log("lost the lock: it expired and another run took it")).catch((e) =>
          log(`cannot renew the lock: ${(e as Error).message}`)
        );
      }, Math.max(1, ttl / 3));
      await writeRecord(store, config, record);
      log("started");
      const result = await BODIES[job](config, store, log);
      record.outcome = result.ok ? "ok" : "failed";
      record.exit_code = result.exit_code;
      record.summary = result.summary;
    }
  } catch (e) {
    record.outcome = "failed";
    record.error = (e as Error).message ?? String(e);
  } finally {
    if (timer !== undefined) clearInterval(timer);
    finish(record, t0);
    try {
      await writeRecord(store, config, record);
    } catch (e) {
      log(`cannot record the run: ${(e as Error).message}`);
    }
    try {
      await lock?.release();
    } catch (e) {
      log(`cannot release the lock (it lapses by itself): ${(e as Error).message}`);
    }
    if (!deps.store) store.close();
  }
  if (record.outcome !== "skipped-locked") {
    log(`${record.outcome}${record.error ? `: ${record.error}` : record.summary ? `: ${record.summary}` : ""}`);
  }
  return record;
}

/** The 01:00 job: the drift check. Never throws. */
export function driftJob(config: Config, deps: ScheduleDeps = {}): Promise<RunRecord> {
  return runJob(config, "drift", deps);
}

/** The 01:05 job: the drift check, then a retrain when it is FAIL. Never throws. */
export function driftRetrainJob(config: Config, deps: ScheduleDeps = {}): Promise<RunRecord> {
  return runJob(config, "drift_retrain", deps);
}

/** The 02:00 job: batch scoring, then the score proxy. Never throws. */
export function scoreJob(config: Config, deps: ScheduleDeps = {}): Promise<RunRecord> {
  return runJob(config, "score", deps);
}

/** The Sunday 03:00 job: the weekly retrain. Never throws. */
export function retrainJob(config: Config, deps: ScheduleDeps = {}): Promise<RunRecord> {
  return runJob(config, "retrain", deps);
}

/** The cron handler of each job: `() => Promise<void>`, never rejecting. */
export function scheduleHandlers(config: Config, deps: ScheduleDeps = {}): Record<JobName, () => Promise<void>> {
  const wrap = (job: JobName) => async (): Promise<void> => {
    await runJob(config, job, deps);
  };
  return { drift: wrap("drift"), drift_retrain: wrap("drift_retrain"), score: wrap("score"), retrain: wrap("retrain") };
}

/** One cron registered by {@link registerSchedules}. */
export interface RegisteredSchedule {
  /** The job. */
  job: JobName;
  /** The `Deno.cron` name. */
  name: string;
  /** The cron string (UTC). */
  schedule: string;
}

/** The cron name of a job: `churn-mlops-<job>` with `-` for `_`. */
export function cronName(job: JobName): string {
  return `churn-mlops-${job.replaceAll("_", "-")}`;
}

/**
 * Milliseconds of a scheduled job's step between two turns of the event loop: the jobs run in the
 * process that answers requests, and the steps read and write synchronously (see `Pacer`).
 */
export const JOB_SLICE_MS = 25;

/**
 * Registers the four jobs with `Deno.cron` at the times of `config.schedules` when
 * `config.schedules.enabled`; returns what was registered (nothing when disabled). From then on,
 * long steps give the event loop a turn every {@link JOB_SLICE_MS} (`setEventLoopSlice`).
 */
export function registerSchedules(config: Config, deps: ScheduleDeps = {}): RegisteredSchedule[] {
  if (!config.schedules.enabled) return [];
  setEventLoopSlice(JOB_SLICE_MS);
  const handlers = scheduleHandlers(config, deps);
  return JOB_NAMES.map((job) => {
    const name = cronName(job), schedule = config.schedules[job];
    try {
      if (deps.signal) Deno.cron(name, schedule, { signal: deps.signal }, handlers[job]);
      else Deno.cron(name, schedule, handlers[job]);
    } catch (e) {
      throw new RangeError(`Cannot schedule schedules.${job} "${schedule}": ${(e as Error).message}`);
    }
    return { job, name, schedule };
  });
}

/** Options of {@link listRuns}. */
export interface ListRunsOptions {
  /** Most records returned (default 50). */
  limit?: number;
  /** Only this job's runs. */
  job?: JobName;
}

/**
 * Lists the recorded runs, newest first.
 *
 * @throws {RangeError} when `limit` is not a positive integer.
 */
export async function listRuns(
  store: ArtifactStore,
  config: Config,
  options: ListRunsOptions = {},
): Promise<RunRecord[]> {
  const limit = options.limit ?? 50;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  const keys = (await store.list(runsPrefix(store, config)))
    .filter((k) => k.endsWith(".json") && (options.job === undefined || k.endsWith(`_${options.job}.json`)))
    .reverse();
  const out: RunRecord[] = [];
  for (const key of keys) {
    if (out.length >= limit) break;
    try {
      const r = await getJson<RunRecord>(store, key);
      if (r !== null && typeof r.job === "string") out.push(r);
    } catch {
      // A record that cannot be parsed is skipped: listing must not fail on one bad file.
    }
  }
  return out;
}

/** The latest run figures of one job, for `/metrics`. */
export interface JobMetrics {
  /** The job. */
  job: JobName;
  /** Its cron string. */
  schedule: string;
  /** Whether a run is in progress (recorded as running, started less than {@link RUNNING_HORIZON_MS} ago). */
  running: boolean;
  /** The outcome of the latest finished run (`ok` or `failed`), or null when none finished. */
  last_outcome: RunOutcome | null;
  /** The latest finished run's start. */
  last_started_at: string | null;
  /** The latest finished run's end. */
  last_finished_at: string | null;
  /** The latest finished run's wall seconds. */
  last_duration_seconds: number | null;
  /** The latest finished run's exit code. */
  last_exit_code: number | null;
  /** Start of the latest `ok` run among those scanned. */
  last_ok_at: string | null;
}

/** A run recorded as running for longer than this is taken as killed (its process died): 6 hours. */
export const RUNNING_HORIZON_MS = 6 * 3_600_000;

/** What the service can expose in `/metrics`: the schedules, the drift and the score proxy. */
export interface RunMetrics {
  /** Whether the schedules are on (config `schedules.enabled`). */
  schedules_enabled: boolean;
  /** Per job. */
  jobs: JobMetrics[];
  /** The latest drift report, or null. */
  drift: Pick<DriftReport, "status" | "overall_max_psi" | "worst_feature" | "model_version" | "checked_at"> | null;
  /** The latest score proxy, or null. */
  score_proxy: {
    /** Mean of the latest scores. */
    latest_mean: number;
    /** Share of the latest scores in the high band. */
    latest_share_high: number;
    /** PR-AUC of the newest predictions whose outcome is known, or null. */
    realized_pr_auc: number | null;
    /** Their date. */
    realized_as_of_date: string | null;
    /** When the report was made. */
    created_at: string;
  } | null;
}

/**
 * Collects the figures of {@link RunMetrics} from the store: the latest run of each job (among the
 * newest `scan` records, default 500), the latest drift report and score proxy.
 */
export async function runMetrics(
  store: ArtifactStore,
  config: Config,
  options: { scan?: number } = {},
): Promise<RunMetrics> {
  const runs = await listRuns(store, config, { limit: options.scan ?? 500 });
  const now = Date.now();
  const jobs = JOB_NAMES.map((job): JobMetrics => {
    const last = runs.find((r) => r.job === job && (r.outcome === "ok" || r.outcome === "failed"));
    const newest = runs.find((r) => r.job === job && r.outcome !== "skipped-locked");
    return {
      job,
      schedule: config.schedules[job],
      running: newest?.outcome === "running" && now - Date.parse(newest.started_at) < RUNNING_HORIZON_MS,
      last_outcome: last?.outcome ?? null,
      last_started_at: last?.started_at ?? null,
      last_finished_at: last?.finished_at ?? null,
      last_duration_seconds: last?.duration_seconds ?? null,
      last_exit_code: last?.exit_code ?? null,
      last_ok_at: runs.find((r) => r.job === job && r.outcome === "ok")?.started_at ?? null,
    };
  });
  const safe = async <T>(key: string): Promise<T | null> => {
    try {
      return await getJson<T>(store, key);
    } catch {
      return null;
    }
  };
  const d = await safe<DriftReport>(driftKeys(store, config).latest);
  const p = await safe<ScoreProxyReport>(scoreProxyKeys(store, config).latest);
  const realized = p?.realized?.at(-1);
  return {
    schedules_enabled: config.schedules.enabled,
    jobs,
    drift: d && typeof d.status === "string"
      ? {
        status: d.status,
        overall_max_psi: d.overall_max_psi,
        worst_feature: d.worst_feature,
        model_version: d.model_version,
        checked_at: d.checked_at,
      }
      : null,
    score_proxy: p && p.latest
      ? {
        latest_mean: p.latest.mean,
        latest_share_high: p.latest.share_high,
        realized_pr_auc: realized?.pr_auc ?? null,
        realized_as_of_date: realized?.as_of_date ?? null,
        created_at: p.created_at,
      }
      : null,
  };
}

const seconds = (iso: string | null): number | null => iso === null ? null : Date.parse(iso) / 1000;

/**
 * Formats {@link RunMetrics} as Prometheus text exposition lines (gauges), to append to `/metrics`:
 * `churn_job_last_run_timestamp_seconds{job}`, `churn_job_last_run_success{job}` (1 ok, 0
 * failed), `churn_job_last_run_duration_seconds{job}`, `churn_job_last_success_timestamp_seconds{job}`,
 * `churn_job_running{job}`,
 * `churn_score_mean`, `churn_score_share_high`, `churn_realized_pr_auc`. A figure that is unknown is
 * left out. The drift figures are not repeated here: the service exports them from the drift report
 * (`churn_drift_status`, `churn_drift_max_psi`, `churn_drift_psi` in `routes/metrics.ts`).
 */
export function formatRunMetrics(m: RunMetrics): string {
  const lines: string[] = [];
  const gauge = (name: string, help: string, samples: [string, number | null][]) => {
    const known = samples.filter((s): s is [string, number] => s[1] !== null && Number.isFinite(s[1]));
    if (known.length === 0) return;
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, v] of known) lines.push(`${name}${labels} ${v}`);
  };
  const per = (f: (j: JobMetrics) => number | null) =>
    m.jobs.map((j): [string, number | null] => [`{job="${j.job}"}`, f(j)]);
  gauge(
    "churn_job_last_run_timestamp_seconds",
    "Start of the job's latest finished run (Unix seconds).",
    per((j) => seconds(j.last_started_at)),
  );
  gauge(
    "churn_job_last_run_success",
    "1 when the job's latest finished run was ok, 0 when it failed.",
    per((j) => j.last_outcome === null ? null : j.last_outcome === "ok" ? 1 : 0),
  );
  gauge("churn_job_running", "1 while a run of the job is in progress.", per((j) => j.running ? 1 : 0));
  gauge(
    "churn_job_last_run_duration_seconds",
    "Wall time of the job's latest finished run.",
    per((j) => j.last_duration_seconds),
  );
  gauge(
    "churn_job_last_success_timestamp_seconds",
    "Start of the job's latest ok run (Unix seconds).",
    per((j) => seconds(j.last_ok_at)),
  );
  if (m.score_proxy) {
    gauge("churn_score_mean", "Mean churn risk of the latest batch scores.", [["", m.score_proxy.latest_mean]]);
    gauge("churn_score_share_high", "Share of the latest batch scores in the high risk band.", [[
      "",
      m.score_proxy.latest_share_high,
    ]]);
    gauge("churn_realized_pr_auc", "PR-AUC of the newest predictions whose outcome is known.", [[
      "",
      m.score_proxy.realized_pr_auc,
    ]]);
  }
  return lines.length ? lines.join("\n") + "\n" : "";
}
