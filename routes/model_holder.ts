/**
 * The model holder: the production model the service answers with, and hot
 * reload. It keeps one immutable {@link LoadedModel} and swaps it for a new
 * one in a single assignment once the new one is fully loaded and checked, so
 * a request that took the reference at its start finishes on that model.
 *
 * Change detection: the filesystem backend polls the registry document every
 * `pollMs` (default 1 s) and reloads when its SHA-256 changes; the Deno KV
 * backend watches the manifest key of the registry document
 * (`[prefix, "manifest", registryKey]`, see `tasks/store/kv_store.ts`) with
 * `kv.watch`, and polls as well in case the watch stream ends. `reload()`
 * forces a reload (`POST /admin/reload`).
 *
 * A failed reload (missing or corrupt artifact, corrupt registry) keeps the
 * model being served and records the error; with no model yet, the error is
 * the reason `/ready` answers 503.
 *
 * @module
 */

import { type Column, makeTable } from "../pipeline/table.ts";
import { type CompiledScorer, compileScorer, scoreRowsWith } from "../pipeline/scoring.ts";
import type { ModelArtifact, ModelType } from "../pipeline/train.ts";
import type { Registry, RegistryState } from "../tasks/registry.ts";
import { type ArtifactStore, KvStore } from "../tasks/store/mod.ts";
import type { WrittenMetrics } from "../tasks/train.ts";
import type { Logger } from "./logger.ts";
import { type InputFeature, type RequestSchemas, requestSchemas } from "./schemas.ts";

/** A categorical input of a loaded model with its category index. */
export interface LoadedCategorical {
  /** Feature name. */
  name: string;
  /** Training categories in encoding order. */
  categories: readonly string[];
  /** Category → position in `categories`. */
  index: ReadonlyMap<string, number>;
}

/** A model ready to answer requests; never changed after it is built. */
export interface LoadedModel {
  /** The version (artifact name). */
  readonly version: string;
  /** The model artifact. */
  readonly model: ModelArtifact;
  /** Model family. */
  readonly type: ModelType;
  /** When the service loaded it (ISO-8601 UTC). */
  readonly loadedAt: string;
  /** Every input feature, numeric first, as the API documents it. */
  readonly inputs: readonly InputFeature[];
  /** Numeric input names in model order. */
  readonly numeric: readonly string[];
  /** Categorical inputs in model order. */
  readonly categorical: readonly LoadedCategorical[];
  /** Names of the numeric inputs. */
  readonly numericNames: ReadonlySet<string>;
  /** Names of the categorical inputs. */
  readonly categoricalNames: ReadonlySet<string>;
  /** Input name → column slot: numeric inputs 0…n−1 in order, then categorical inputs. */
  readonly slots: ReadonlyMap<string, number>;
  /** The request schemas of this model. */
  readonly schemas: RequestSchemas;
  /** The model's scoring compiled once at load: encoding arrays, coefficients, reason groups and sentences. */
  readonly scorer: CompiledScorer;
  /** The metrics document, or null when it is missing or unreadable. */
  readonly metrics: WrittenMetrics | null;
}

/** What a reload did. */
export interface ReloadResult {
  /** Whether the served model changed. */
  changed: boolean;
  /** The version served now, or null. */
  version: string | null;
  /** The version served before, or null. */
  previous: string | null;
  /** Why the reload failed, when it did. */
  error?: string;
}

/** Options of {@link prepareModel}. */
export interface PrepareModelOptions {
  /** Batch limit for the batch schema (config `server.max_batch`). */
  maxBatch: number;
  /** The metrics document. */
  metrics?: WrittenMetrics | null;
  /** Load time (default now). */
  now?: Date;
}

function describeDefault(model: ModelArtifact): string {
  return model.input_mode === "scaled"
    ? "imputed as 0 before standardisation, as in training"
    : "treated as missing (the trees' missing-value branch), as in training";
}

/**
 * Checks a model artifact and builds what serving needs from it: input list,
 * category indexes, request schemas, the compiled scorer. Scores one all-defaults row to prove it works.
 *
 * @throws {TypeError} naming the version when the artifact is not a usable model.
 */
export function prepareModel(version: string, model: ModelArtifact, options: PrepareModelOptions): LoadedModel {
  const bad = (why: string) => new TypeError(`Model ${version} cannot be served: ${why}`);
  if (typeof model !== "object" || model === null) throw bad("the artifact is not an object");
  if (model.model_type !== "baseline_logreg" && model.model_type !== "candidate_hgb") {
    throw bad(`unknown model_type ${JSON.stringify(model.model_type)}`);
  }
  const pre = model.preprocessor;
  if (!pre || !Array.isArray(pre.numeric) || !Array.isArray(pre.categorical) || !Array.isArray(pre.features)) {
    throw bad("the preprocessor is missing or malformed");
  }
  if (model.model_type === "baseline_logreg" && !model.logistic) throw bad("the logistic parameters are missing");
  if (model.model_type === "candidate_hgb" && !model.hgb) throw bad("the trees are missing");
  const def = describeDefault(model);
  const inputs: InputFeature[] = [
    ...pre.numeric.map((s) => ({ name: s.name, type: "number" as const, default: def, mean: s.mean })),
    ...pre.categorical.map((s) => ({
      name: s.name,
      type: "category" as const,
      default: s.categories.includes("missing")
        ? 'the category "missing", as in training'
        : 'the category "missing", unseen in training: none of the categories',
      categories: [...s.categories],
    })),
  ];
  const categorical = pre.categorical.map((s) => ({
    name: s.name,
    categories: s.categories,
    index: new Map(s.categories.map((c, i) => [c, i])),
  }));
  // One all-defaults row proves the artifact scores before it replaces the served model.
  const probe = makeTable([
    ...pre.numeric.map((s): [string, Column] => [s.name, { type: "f64", data: new Float64Array([NaN]) }]),
    ...pre.categorical.map((s): [string, Column] => [s.name, {
      type: "dict",
      codes: new Int32Array([-1]),
      dictionary: s.categories,
    }]),
  ]);
  let risk: number;
  let scorer: CompiledScorer;
  try {
    scorer = compileScorer(model);
    risk = scoreRowsWith(scorer, probe, { reasons: 3 }).risk[0];
  } catch (e) {
    throw bad(`scoring a row failed: ${(e as Error).message}`);
  }
  if (!(risk >= 0 && risk <= 1)) throw bad(`scoring a row gave ${risk}, not a probability`);
  return Object.freeze({
    version,
    model,
    type: model.model_type,
    loadedAt: (options.now ?? new Date()).toISOString(),
    inputs,
    numeric: pre.numeric.map((s) => s.name),
    categorical,
    numericNames: new Set(pre.numeric.map((s) => s.name)),
    categoricalNames: new Set(pre.categorical.map((s) => s.name)),
    slots: new Map([...pre.numeric, ...pre.categorical].map((s, i) => [s.name, i])),
    schemas: requestSchemas(inputs, options.maxBatch),
    scorer,
    metrics: options.metrics ?? null,
  });
}

/** Options of {@link ModelHolder}. */
export interface ModelHolderOptions {
  /** Batch limit (config `server.max_batch`). */
  maxBatch: number;
  /** The store the registry lives in; a {@link KvStore} is watched with `kv.watch`. */
  store?: ArtifactStore;
  /** Alias served (default `production`). */
  alias?: string;
  /** Poll interval in milliseconds (default 1000). */
  pollMs?: number;
  /** Where reloads are logged. */
  logger?: Logger;
}

/** Holds the served model and reloads it when the registry alias moves. */
export class ModelHolder {
  readonly #registry: Registry;
  readonly #options: ModelHolderOptions;
  readonly #alias: string;
  #current: LoadedModel | null = null;
  #reason = "The model has not been loaded yet";
  #lastError: string | null = null;
  #sha: string | null | undefined = undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #pending = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #watch: ReadableStreamDefaultReader<unknown> | null = null;
  #watchDone: Promise<void> | null = null;
  #closed = false;
  readonly #listeners: ((result: ReloadResult) => void)[] = [];

  /** Creates a holder over `registry`; call {@link start} to load and follow the alias. */
  constructor(registry: Registry, options: ModelHolderOptions) {
    this.#registry = registry;
    this.#options = options;
    this.#alias = options.alias ?? "production";
  }

  /** The registry the holder reads. */
  get registry(): Registry {
    return this.#registry;
  }

  /** The served model, or null. Take it once at the start of a request and use that reference throughout. */
  get current(): LoadedModel | null {
    return this.#current;
  }

  /** Why no model is served (meaningful when {@link current} is null). */
  get reason(): string {
    return this.#reason;
  }

  /** Why the last reload failed while a model was being served, or null. */
  get lastError(): string | null {
    return this.#current === null ? null : this.#lastError;
  }

  /** Loads the model now and then follows the alias (polling, and `kv.watch` on Deno KV). */
  async start(): Promise<ReloadResult> {
    const first = await this.reload();
    if (this.#closed) return first;
    const pollMs = this.#options.pollMs ?? 1000;
    this.#timer = setInterval(() => {
      if (this.#pending === 0) this.reload().catch(() => {});
    }, pollMs);
    const store = this.#options.store;
    if (store instanceof KvStore) this.#startWatch(store);
    return first;
  }

  #startWatch(store: KvStore): void {
    try {
      const stream = store.kv.watch([[store.prefix, "manifest", this.#registry.key]]);
      const reader = stream.getReader();
      this.#watch = reader;
      this.#watchDone = (async () => {
        try {
          for (;;) {
            const { done } = await reader.read();
            if (done || this.#closed) return;
            await this.reload().catch(() => {});
          }
        } catch (e) {
          if (!this.#closed) this.#options.logger?.log("WARNING", "kv.watch ended; polling only", { error: String(e) });
        }
      })();
    } catch (e) {
      this.#options.logger?.log("WARNING", "kv.watch unavailable; polling only", { error: String(e) });
    }
  }

  /**
   * Reads the registry and swaps in the alias's model when it changed (always
   * re-reads the artifact with `force`). Reloads run one at a time, in order.
   */
  reload(options: { force?: boolean } = {}): Promise<ReloadResult> {
    this.#pending++;
    const run = this.#queue.then(() => this.#reload(options.force ?? false)).then((result) => {
      for (const listener of this.#listeners) {
        try {
          listener(result);
        } catch (e) {
          this.#options.logger?.log("WARNING", "a reload listener failed", { error: String(e) });
        }
      }
      return result;
    }).finally(() => this.#pending--);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Calls `listener` after every reload with its result. */
  onReload(listener: (result: ReloadResult) => void): void {
    this.#listeners.push(listener);
  }

  async #reload(force: boolean): Promise<ReloadResult> {
    const previous = this.#current?.version ?? null;
    const unchanged = (): ReloadResult => ({ changed: false, version: previous, previous });
    const fail = (message: string): ReloadResult => {
      if (this.#current === null) this.#reason = message;
      if (message !== this.#lastError) {
        this.#options.logger?.log(this.#current ? "WARNING" : "INFO", "model reload failed", { error: message });
      }
      this.#lastError = message;
      return { changed: false, version: previous, previous, error: message };
    };
    if (this.#closed) return unchanged();
    let doc: { state: RegistryState; sha256: string | null };
    try {
      doc = await this.#registry.read();
    } catch (e) {
      return fail((e as Error).message);
    }
    if (!force && doc.sha256 === this.#sha && this.#lastError === null) return unchanged();
    const entry = doc.state.aliases[this.#alias];
    if (entry === undefined) {
      return fail(`No ${this.#alias} model yet: train and promote one ("deno task pipeline" does both)`);
    }
    if (!force && entry.version === previous) {
      this.#sha = doc.sha256;
      this.#lastError = null;
      return unchanged();
    }
    let loaded: LoadedModel;
    try {
      const model = await this.#registry.model(entry.version);
      const metrics = await this.#registry.metrics(entry.version).catch(() => null);
      loaded = prepareModel(entry.version, model, { maxBatch: this.#options.maxBatch, metrics });
    } catch (e) {
      const why = (e as Error).message;
      return fail(`The ${this.#alias} alias points at ${entry.version}, but ${why[0].toLowerCase()}${why.slice(1)}`);
    }
    if (this.#closed) return unchanged();
    this.#current = loaded; // the swap: one assignment; requests that took the old reference keep it
    this.#sha = doc.sha256;
    this.#lastError = null;
    this.#reason = "";
    if (loaded.version !== previous) {
      this.#options.logger?.log("INFO", "model loaded", { model_version: loaded.version, previous });
    }
    return { changed: loaded.version !== previous, version: loaded.version, previous };
  }

  /** Stops following the alias and waits for a running reload. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#watch) await this.#watch.cancel().catch(() => {});
    await this.#watchDone;
    await this.#queue;
  }
}
