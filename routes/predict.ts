/**
 * `POST /predict` and `POST /predict/batch`: strict input handling and
 * scoring with exactly what batch scoring uses (the model's compiled scorer,
 * `riskBand`, `riskPercentile` from `pipeline/scoring.ts`).
 *
 * Per request: take the served model reference once (the request finishes on
 * it even if a reload swaps the model meanwhile), read the body within the
 * size limit, validate, score, answer. Validation has two paths that accept
 * exactly the same bodies: a hand-written check for the common valid body,
 * and the model's zod schema, which decides whenever the quick check
 * declines and produces the list of every bad field (the tests prove the two
 * agree on thousands of random bodies).
 *
 * The fast path ({@link fastPredictions}) serves every body the quick check
 * accepts: one pass checks the instances and encodes them, as the model's
 * preprocessing does, straight into buffers kept per model; the rows are
 * scored with the scorer the model holder compiled at load; the answer's JSON
 * is written directly. The general path ({@link scoreInstances}: one small
 * table, `scoreRowsWith`, `JSON.stringify`) answers the rest; the tests prove
 * both give the same bytes on random instances.
 *
 * Answers carry `Server-Timing` (`read`, `validate`, `score`, `serialize`,
 * `total`, in milliseconds).
 *
 * @module
 */

import type { Context, Hono, MiddlewareHandler } from "hono";
import { z } from "zod";
import {
  type EncodedScores,
  type Reason,
  reasonTextJson,
  riskBand,
  type RiskBands,
  riskPercentile,
  scoreEncoded,
  scoreRowsWith,
} from "../pipeline/scoring.ts";
import type { Column, Table } from "../pipeline/table.ts";
import { readJsonBody } from "./body.ts";
import type { AppEnv } from "./middleware.ts";
import type { ServiceMetrics } from "./metrics.ts";
import type { LoadedModel, ModelHolder } from "./model_holder.ts";
import { ProblemError } from "./problem.ts";
import { fieldErrors, MAX_CATEGORY_LENGTH, MAX_FEATURE_ENTRIES, MAX_USER_ID_LENGTH, NUMERIC_LIMIT } from "./schemas.ts";

/** One validated instance of a prediction request. */
export interface PredictInstance {
  /** The user's id. */
  user_id: string | number;
  /** The features' as-of date. */
  snapshot_date?: string;
  /** Feature values by name. */
  features: Record<string, unknown>;
}

/** One prediction, as answered. */
export interface Prediction {
  /** The user's id as a string. */
  user_id: string;
  /** The as-of date given, or null. */
  snapshot_date: string | null;
  /** Churn probability. */
  churn_risk: number;
  /** The model version that answered. */
  model_version: string;
  /** `low`, `medium` or `high` (config `scoring.risk_bands`). */
  risk_band: "low" | "medium" | "high";
  /** Percentile among the model's test-split scores, or null. */
  risk_percentile: number | null;
  /** Up to three features raising the risk most. */
  top_reasons: Reason[];
  /** Inputs that were missing or null and took their training default. */
  defaults_used: string[];
  /** Features given that the model does not take. */
  ignored_features: string[];
  /** Categorical inputs whose value was not seen in training. */
  unseen_categories: string[];
}

const DATE_PATTERN: RegExp = z.regexes.date;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The part of the quick check that does not depend on the model: only the keys
 * `user_id`, `features` and optional `snapshot_date`, a valid user id and date,
 * and a plain `features` object (whose values are checked by the callers).
 */
function hasValidEnvelope(value: unknown): value is PredictInstance {
  if (!isPlainObject(value)) return false;
  let hasFeatures = false, hasUser = false;
  for (const k of Object.keys(value)) {
    if (k === "features") hasFeatures = true;
    else if (k === "user_id") hasUser = true;
    else if (k !== "snapshot_date") return false;
  }
  if (!hasFeatures || !hasUser) return false;
  const uid = value.user_id;
  if (typeof uid === "string") {
    if (uid.length < 1 || uid.length > MAX_USER_ID_LENGTH) return false;
  } else if (!Number.isSafeInteger(uid)) return false;
  if ("snapshot_date" in value) {
    const d = value.snapshot_date;
    if (typeof d !== "string" || !DATE_PATTERN.test(d)) return false;
  }
  return isPlainObject(value.features);
}

/** The quick check of a numeric input's value (not null): a number within the limit. */
function isNumericValue(v: unknown): v is number {
  return typeof v === "number" && v >= -NUMERIC_LIMIT && v <= NUMERIC_LIMIT;
}

/** The quick check of a categorical input's value (not null): a string within the length limit. */
function isCategoryValue(v: unknown): v is string {
  return typeof v === "string" && v.length <= MAX_CATEGORY_LENGTH;
}

/**
 * The quick check: true only for a body the model's zod schema accepts too. It
 * may decline a valid body (the zod schema then decides), never accept an invalid one.
 */
export function isValidInstance(loaded: LoadedModel, value: unknown): value is PredictInstance {
  if (!hasValidEnvelope(value)) return false;
  const f = value.features;
  const keys = Object.keys(f);
  if (keys.length > MAX_FEATURE_ENTRIES) return false;
  for (const k of keys) {
    const v = f[k];
    if (v === null) continue;
    if (loaded.numericNames.has(k)) {
      if (!isNumericValue(v)) return false;
    } else if (loaded.categoricalNames.has(k)) {
      if (!isCategoryValue(v)) return false;
    }
  }
  return true;
}

function invalidInput(issues: Parameters<typeof fieldErrors>[0], hint = ""): ProblemError {
  const { errors, count } = fieldErrors(issues);
  const where = errors.slice(0, 3).map((e) => `${e.pointer || "(the body)"} ${e.detail}`).join("; ");
  return new ProblemError(
    "invalid_input",
    `${count} invalid field${count === 1 ? "" : "s"}: ${where}${count > 3 ? "; …" : ""}${hint}`,
    { errors, errorCount: count },
  );
}

/**
 * Validates the body of `POST /predict` against the model's schema.
 *
 * @throws {ProblemError} 422 listing every bad field.
 */
export function validateInstance(loaded: LoadedModel, body: unknown): PredictInstance {
  if (isValidInstance(loaded, body)) return body;
  const r = loaded.schemas.instance.safeParse(body);
  if (r.success) return body as PredictInstance;
  throw invalidInput(r.error.issues, Array.isArray(body) ? " (to score several users, POST /predict/batch)" : "");
}

/**
 * Validates the body of `POST /predict/batch`: `{"instances": [...]}` with 1 to
 * `maxBatch` instances.
 *
 * @throws {ProblemError} 422 listing every bad field (the first 200, with `error_count`).
 */
export function validateBatch(loaded: LoadedModel, body: unknown, options: { maxBatch: number }): PredictInstance[] {
  const { maxBatch } = options;
  if (isPlainObject(body) && Array.isArray(body.instances) && body.instances.length > maxBatch) {
    throw invalidInput([{
      code: "too_big",
      path: ["instances"],
      message: `holds ${body.instances.length} instances; at most ${maxBatch} are accepted (server.max_batch)`,
    }]);
  }
  if (
    isPlainObject(body) && Object.keys(body).length === 1 && Array.isArray(body.instances) &&
    body.instances.length >= 1 && body.instances.every((x) => isValidInstance(loaded, x))
  ) return body.instances as PredictInstance[];
  const r = loaded.schemas.batch.safeParse(body);
  if (r.success) return (body as { instances: PredictInstance[] }).instances;
  throw invalidInput(r.error.issues);
}

/** Column buffers for scoring rows with one model, and the table over them with the training dictionaries. */
interface Scratch {
  numeric: Float64Array[];
  codes: Int32Array[];
  table: Table;
}

/** One-row buffers per model, reused by single predictions (scoring is synchronous, so no request sees another's). */
const singleRow = new WeakMap<LoadedModel, Scratch>();

function tableOf(loaded: LoadedModel, s: Omit<Scratch, "table">, dictionaries?: readonly (readonly string[])[]): Table {
  const columns = new Map<string, Column>();
  loaded.numeric.forEach((name, j) => columns.set(name, { type: "f64", data: s.numeric[j] }));
  loaded.categorical.forEach((c, j) =>
    columns.set(c.name, { type: "dict", codes: s.codes[j], dictionary: dictionaries?.[j] ?? c.categories })
  );
  return { length: s.codes[0]?.length ?? s.numeric[0]?.length ?? 0, columns };
}

function allocate(loaded: LoadedModel, n: number): Scratch {
  const f64 = new ArrayBuffer(8 * n * loaded.numeric.length);
  const i32 = new ArrayBuffer(4 * n * loaded.categorical.length);
  const s = {
    numeric: loaded.numeric.map((_, j) => new Float64Array(f64, 8 * n * j, n)),
    codes: loaded.categorical.map((_, j) => new Int32Array(i32, 4 * n * j, n)),
  };
  return { ...s, table: tableOf(loaded, s) };
}

function scratchFor(loaded: LoadedModel, n: number): Scratch {
  if (n !== 1) return allocate(loaded, n);
  let s = singleRow.get(loaded);
  if (s === undefined) singleRow.set(loaded, s = allocate(loaded, 1));
  return s;
}

/**
 * Scores validated instances with a loaded model: one table row per instance,
 * missing inputs as the training defaults (numeric NaN, categorical code -1 =
 * "missing"), unseen categories encoded as none of the training categories.
 */
export function scoreInstances(
  loaded: LoadedModel,
  instances: readonly PredictInstance[],
  options: { bands: RiskBands },
): Prediction[] {
  const { bands } = options;
  const n = instances.length;
  const scratch = scratchFor(loaded, n);
  const { numeric, codes } = scratch;
  let dictionaries: string[][] | null = null;
  const defaults: string[][] = new Array(n), ignored: string[][] = new Array(n), unseen: string[][] = new Array(n);
  const nNum = loaded.numeric.length, nCat = loaded.categorical.length;
  const given = new Uint8Array(nNum + nCat);
  for (let i = 0; i < n; i++) {
    const f = instances[i].features;
    const unknown: string[] = [], fresh: string[] = [];
    given.fill(0);
    // One pass over the given keys (own keys only: Object.keys).
    const keys = Object.keys(f);
    for (let q = 0; q < keys.length; q++) {
      const k = keys[q];
      const slot = loaded.slots.get(k);
      if (slot === undefined) {
        unknown.push(k);
        continue;
      }
      const v = f[k];
      if (slot < nNum) {
        if (typeof v !== "number") continue; // null: missing
        numeric[slot][i] = v;
        given[slot] = 1;
        continue;
      }
      if (typeof v !== "string") continue; // null: missing
      const j = slot - nNum, spec = loaded.categorical[j];
      let code = spec.index.get(v);
      if (code === undefined) {
        // An unseen category: appended to this request's dictionary, so it encodes as none of the training ones.
        fresh.push(spec.name);
        dictionaries ??= loaded.categorical.map((c) => [...c.categories]);
        code = dictionaries[j].indexOf(v, spec.categories.length);
        if (code < 0) code = dictionaries[j].push(v) - 1;
      }
      codes[j][i] = code;
      given[slot] = 1;
    }
    const used: string[] = [];
    for (let j = 0; j < nNum; j++) {
      if (given[j]) continue;
      numeric[j][i] = NaN;
      used.push(loaded.numeric[j]);
    }
    for (let j = 0; j < nCat; j++) {
      if (given[nNum + j]) continue;
      codes[j][i] = -1;
      used.push(loaded.categorical[j].name);
    }
    defaults[i] = used;
    ignored[i] = unknown;
    unseen[i] = fresh;
  }
  const table = dictionaries === null ? scratch.table : tableOf(loaded, scratch, dictionaries);
  const { risk, reasons } = scoreRowsWith(loaded.scorer, table, { reasons: 3 });
  const quantiles = loaded.model.score_quantiles ?? [];
  const out: Prediction[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const p = risk[i];
    const pct = riskPercentile(p, quantiles);
    out[i] = {
      user_id: String(instances[i].user_id),
      snapshot_date: instances[i].snapshot_date ?? null,
      churn_risk: p,
      model_version: loaded.version,
      risk_band: riskBand(p, bands),
      risk_percentile: Number.isNaN(pct) ? null : pct,
      top_reasons: reasons[i] ?? [],
      defaults_used: defaults[i],
      ignored_features: ignored[i],
      unseen_categories: unseen[i],
    };
  }
  return out;
}

/** The instances of a batch body of the shape the quick check accepts (1 to `maxBatch` of them), else null. */
function quickBatch(body: unknown, maxBatch: number): unknown[] | null {
  if (!isPlainObject(body) || Object.keys(body).length !== 1 || !Array.isArray(body.instances)) return null;
  const n = body.instances.length;
  return n >= 1 && n <= maxBatch ? body.instances : null;
}

/** Per-model state of the fast path: JSON pieces, and buffers reused by every request (scoring is synchronous). */
interface FastModel {
  /** The model's input names as JSON strings, by slot. */
  names: string[];
  /** The model version as a JSON string. */
  version: string;
  /** Encoded rows (row-major, `scorer.width` per row). */
  x: Float64Array;
  /** Raw numeric inputs per row (NaN when missing), for the reasons' sentences. */
  values: Float64Array;
  /** Risks. */
  risk: Float64Array;
  /** Which inputs the current row gave. */
  given: Uint8Array;
  /** The feature keys of the last instance encoded, and the slot of each (-1: not an input). */
  keys: string[];
  /** Slots of {@link keys}. */
  keySlots: Int32Array;
}

const fastModels = new WeakMap<LoadedModel, FastModel>();

function fastModel(loaded: LoadedModel, rows: number): FastModel {
  const s = loaded.scorer;
  let f = fastModels.get(loaded);
  if (f === undefined) {
    f = {
      names: s.groups.map((g) => JSON.stringify(g)),
      version: JSON.stringify(loaded.version),
      x: new Float64Array(0),
      values: new Float64Array(0),
      risk: new Float64Array(0),
      given: new Uint8Array(s.groups.length),
      keys: [],
      keySlots: new Int32Array(0),
    };
    fastModels.set(loaded, f);
  }
  if (f.risk.length < rows) {
    f.x = new Float64Array(rows * s.width);
    f.values = new Float64Array(rows * s.numericCount);
    f.risk = new Float64Array(rows);
  }
  return f;
}

/** Instances encoded by {@link encodeInstances}, with the parts of their answers that come from the input. */
interface EncodedInstances {
  /** Rows. */
  n: number;
  /** The model's fast-path state holding the encoded rows. */
  fast: FastModel;
  /** Per row: `user_id` as a JSON string. */
  users: string[];
  /** Per row: `snapshot_date` as JSON. */
  dates: string[];
  /** Per row: the items of `defaults_used`, `ignored_features` and `unseen_categories` as JSON ("" for none). */
  defaults: string[];
  /** See {@link defaults}. */
  ignored: string[];
  /** See {@link defaults}. */
  unseen: string[];
}

/**
 * The fast path's check and encoding in one pass: encodes the instances as
 * the model's preprocessing does (into reused buffers), or returns null as
 * soon as one is not a body {@link isValidInstance} accepts (the general path
 * then decides, with the zod schema's errors). Accepts exactly what
 * {@link isValidInstance} accepts (the tests check both on random bodies).
 */
function encodeInstances(loaded: LoadedModel, instances: readonly unknown[]): EncodedInstances | null {
  const n = instances.length;
  const s = loaded.scorer;
  const fast = fastModel(loaded, n);
  const { x, values, given, names } = fast;
  const d = s.width, nNum = s.numericCount, nCat = s.starts.length, g = nNum + nCat;
  const { scaled, means, scales, missingValues, starts, sizes, missingSlots, categoryIndex } = s;
  const slots = loaded.slots;
  const users: string[] = new Array(n), dates: string[] = new Array(n);
  const defaultsOf: string[] = new Array(n), ignoredOf: string[] = new Array(n), unseenOf: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const value = instances[i];
    if (!hasValidEnvelope(value)) return null;
    const uid = value.user_id;
    // A checked date is digits and dashes: nothing to escape.
    const date = value.snapshot_date === undefined ? "null" : `"${value.snapshot_date}"`;
    const f = value.features;
    const keys = Object.keys(f);
    if (keys.length > MAX_FEATURE_ENTRIES) return null;
    // Instances of a request usually list the same keys in the same order: their slots are looked up once.
    let same = keys.length === fast.keys.length;
    for (let q = 0; same && q < keys.length; q++) same = keys[q] === fast.keys[q];
    if (!same) {
      fast.keys = keys;
      fast.keySlots = Int32Array.from(keys, (k) => slots.get(k) ?? -1);
    }
    const keySlots = fast.keySlots;
    const vals = Object.values(f); // in the order of Object.keys
    given.fill(0);
    const row = i * d, raw = i * nNum;
    let ignored = "", unseen = "";
    for (let q = 0; q < keys.length; q++) {
      const slot = keySlots[q];
      if (slot < 0) {
        ignored += ignored === "" ? JSON.stringify(keys[q]) : "," + JSON.stringify(keys[q]);
        continue;
      }
      const v = vals[q];
      if (v === null) continue; // missing
      if (slot < nNum) {
        if (!isNumericValue(v)) return null;
        x[row + slot] = scaled ? ((v === v ? v : 0) - means[slot]) / scales[slot] : v;
        values[raw + slot] = v;
      } else {
        if (!isCategoryValue(v)) return null;
        const c = slot - nNum, at = row + starts[c];
        for (let j = 0; j < sizes[c]; j++) x[at + j] = 0;
        const code = categoryIndex[c].get(v);
        if (code === undefined) unseen += unseen === "" ? names[slot] : "," + names[slot]; // encodes as no category
        else x[at + code] = 1;
      }
      given[slot] = 1;
    }
    let defaults = "";
    for (let slot = 0; slot < g; slot++) {
      if (given[slot]) continue;
      defaults += defaults === "" ? names[slot] : "," + names[slot];
      if (slot < nNum) {
        x[row + slot] = missingValues[slot];
        values[raw + slot] = NaN;
      } else {
        const c = slot - nNum, at = row + starts[c];
        for (let j = 0; j < sizes[c]; j++) x[at + j] = 0;
        if (missingSlots[c] >= 0) x[at + missingSlots[c]] = 1;
      }
    }
    users[i] = typeof uid === "string" ? JSON.stringify(uid) : `"${uid}"`; // a safe integer's digits need no escaping
    dates[i] = date;
    defaultsOf[i] = defaults;
    ignoredOf[i] = ignored;
    unseenOf[i] = unseen;
  }
  return { n, fast, users, dates, defaults: defaultsOf, ignored: ignoredOf, unseen: unseenOf };
}

function jsonNumber(v: number): string {
  return Number.isFinite(v) ? String(v) : "null";
}

/**
 * The answer's JSON text for encoded and scored instances: what JSON.stringify
 * gives for the general path's answer (one prediction, or the batch
 * document), built by concatenation.
 */
function answerJson(
  loaded: LoadedModel,
  encoded: EncodedInstances,
  options: { scored: EncodedScores; bands: RiskBands; batch: boolean },
): string {
  const s = loaded.scorer;
  const { scored, bands } = options;
  const { n, fast } = encoded;
  const { x, values, names } = fast;
  const nNum = s.numericCount, k = scored.reasons;
  const quantiles = loaded.model.score_quantiles ?? [];
  let out = options.batch ? `{"model_version":${fast.version},"count":${n},"predictions":[` : "";
  const version = `,"model_version":${fast.version},"risk_band":"`;
  for (let i = 0; i < n; i++) {
    const p = scored.risk[i];
    const pct = riskPercentile(p, quantiles);
    out += (i === 0 ? '{"user_id":' : ',{"user_id":') + encoded.users[i] + ',"snapshot_date":' + encoded.dates[i] +
      ',"churn_risk":' + jsonNumber(p) + version + riskBand(p, bands) + '","risk_percentile":' +
      (Number.isNaN(pct) ? "null" : jsonNumber(pct)) + ',"top_reasons":[';
    for (let q = 0; q < k; q++) {
      const group = scored.top[i * k + q];
      if (group < 0) break;
      out += (q === 0 ? '{"feature":' : ',{"feature":') + names[group] + ',"contribution":' +
        jsonNumber(scored.contributions[i * k + q]) + ',"text":' +
        reasonTextJson(s, group, { x, row: i, value: group < nNum ? values[i * nNum + group] : NaN }) + "}";
    }
    out += '],"defaults_used":[' + encoded.defaults[i] + '],"ignored_features":[' + encoded.ignored[i] +
      '],"unseen_categories":[' + encoded.unseen[i] + "]}";
  }
  if (!options.batch) return out;
  out += "]}";
  // V8 keeps a text built by concatenation as a tree of pieces and copies it into one string when it is first
  // read; reading it here (a search for a character JSON text cannot hold raw) makes that copy part of the
  // serialize phase, as JSON.stringify's was, rather than of the response write.
  out.indexOf("\u0000");
  return out;
}

/** What {@link fastPredictions} answers. */
export interface FastPredictions {
  /**
   * The answer's JSON text, exactly `JSON.stringify` of the general path's answer: with `batch`,
   * `{model_version, count, predictions}`; else the one prediction.
   */
  text: string;
  /** The risks, in order (a buffer reused by the next call on the same model: read it before). */
  risk: Float64Array;
  /** The clock when the instances were checked and encoded. */
  encodedAt: number;
  /** The clock when they were scored. */
  scoredAt: number;
}

/** Options of {@link fastPredictions}. */
export interface FastPredictionsOptions {
  /** Risk bands (config `scoring.risk_bands`). */
  bands: RiskBands;
  /** Answer the batch document (default false: one instance, answered as one prediction). */
  batch?: boolean;
  /** Marks the phases (default: none). */
  clock?: () => number;
}

/**
 * The fast path of {@link scoreInstances}: checks and encodes the instances
 * in one pass with what the model holder compiled at load, scores them
 * without building a table, and writes the answer's JSON directly. Returns
 * null when the quick check ({@link isValidInstance}) declines an instance;
 * the caller then validates with the zod schema and takes the general path.
 */
export function fastPredictions(
  loaded: LoadedModel,
  instances: readonly unknown[],
  options: FastPredictionsOptions,
): FastPredictions | null {
  const clock = options.clock ?? (() => 0);
  const batch = options.batch ?? false;
  if (!batch && instances.length !== 1) throw new RangeError(`Expected one instance, got ${instances.length}`);
  const encoded = encodeInstances(loaded, instances);
  if (encoded === null) return null;
  const encodedAt = clock();
  const scored = scoreEncoded(loaded.scorer, encoded.fast.x.subarray(0, encoded.n * loaded.scorer.width), {
    reasons: 3,
    out: encoded.fast.risk,
  });
  const scoredAt = clock();
  const text = answerJson(loaded, encoded, { scored, bands: options.bands, batch });
  return { text, risk: scored.risk, encodedAt, scoredAt };
}

/** Returns the 503 problem for "no model loaded". */
export function modelUnavailable(reason: string): ProblemError {
  return new ProblemError("model_unavailable", reason, { headers: { "Retry-After": "5" } });
}

/** Options of {@link registerPredictRoutes}. */
export interface PredictRoutesOptions {
  /** The served model. */
  holder: ModelHolder;
  /** Where predictions are counted. */
  metrics: ServiceMetrics;
  /** Risk bands (config `scoring.risk_bands`). */
  bands: RiskBands;
  /** Largest body accepted (config `server.max_body_bytes`). */
  maxBodyBytes: number;
  /** Most instances per batch (config `server.max_batch`). */
  maxBatch: number;
  /** Milliseconds from an arbitrary origin. */
  clock: () => number;
  /** Middleware run before the handlers (the API-key check), or null when there is nothing to check. */
  guard: MiddlewareHandler<AppEnv> | null;
}

const ms = (v: number) => Math.round(v * 1000) / 1000;

/** Registers `POST /predict` and `POST /predict/batch` on `app`. */
export function registerPredictRoutes(app: Hono<AppEnv>, options: PredictRoutesOptions): void {
  const { holder, metrics, bands, clock, maxBodyBytes, maxBatch } = options;
  const handle = (batch: boolean) => async (c: Context<AppEnv>): Promise<Response> => {
    const t0 = clock();
    const loaded = holder.current; // the model this request finishes on, whatever reloads happen meanwhile
    if (loaded === null) throw modelUnavailable(holder.reason);
    c.set("modelVersion", loaded.version);
    const body = await readJsonBody(c.req.raw, maxBodyBytes);
    const t1 = clock();
    let text: string, risks: ArrayLike<number>, t2: number, t3: number;
    // The fast path: one pass checks and encodes a body the quick check accepts, straight into reused buffers.
    const list = batch ? quickBatch(body, maxBatch) : [body];
    const fast = list === null ? null : fastPredictions(loaded, list, { bands, batch, clock });
    if (fast !== null) {
      t2 = fast.encodedAt;
      t3 = fast.scoredAt;
      text = fast.text;
      risks = fast.risk;
    } else {
      const instances = batch ? validateBatch(loaded, body, { maxBatch }) : [validateInstance(loaded, body)];
      t2 = clock();
      const predictions = scoreInstances(loaded, instances, { bands });
      t3 = clock();
      text = JSON.stringify(
        batch ? { model_version: loaded.version, count: predictions.length, predictions } : predictions[0],
      );
      risks = predictions.map((p) => p.churn_risk);
    }
    const t4 = clock();
    metrics.observePredictions(risks);
    // One header in the init and the rest set after: Deno builds a Response with a single init header much faster.
    const res = new Response(text, { status: 200, headers: { "Content-Type": "application/json" } });
    res.headers.set(
      "Server-Timing",
      `read;dur=${ms(t1 - t0)}, validate;dur=${ms(t2 - t1)}, score;dur=${ms(t3 - t2)}, ` +
        `serialize;dur=${ms(t4 - t3)}, total;dur=${ms(t4 - t0)}`,
    );
    return res;
  };
  const guard = options.guard;
  if (guard === null) {
    app.post("/predict", handle(false));
    app.post("/predict/batch", handle(true));
  } else {
    app.post("/predict", guard, handle(false));
    app.post("/predict/batch", guard, handle(true));
  }
}
