/**
 * The model registry (SPEC §8) over the artifact store: versions (every stored
 * model with its metrics document), aliases (`production` — the stable
 * `production_latest` — and `challenger`), and an append-only history of
 * every alias move. Updates are compare-and-swap on one registry document, so
 * two processes promoting at once leave it consistent: one wins, the other
 * re-reads and decides again.
 *
 * @module
 */

import type { Config } from "../config/mod.ts";
import { decidePromotion, type GateDecision, type ModelScore } from "../pipeline/promotion.ts";
import type { ModelArtifact, ModelType } from "../pipeline/train.ts";
import { type ArtifactStore, getJson, sha256Hex } from "./store/mod.ts";
import type { WrittenMetrics } from "./train.ts";

/** Alias names: MLflow's rules (letters, digits, `_`, `-`; not `latest`, not `v<digits>`). */
export const ALIAS_PATTERN: RegExp = /^[A-Za-z0-9_-]{1,255}$/;

/** Why an alias moved. */
export type MoveReason = "promotion" | "rollback" | "manual";

/** Where an alias points. */
export interface AliasEntry {
  /** The version (artifact name). */
  version: string;
  /** When it was set (ISO-8601 UTC). */
  set_at: string;
}

/** One alias move in the append-only history. */
export interface HistoryEvent {
  /** When (ISO-8601 UTC). */
  at: string;
  /** Which alias. */
  alias: string;
  /** Previous version, or null. */
  from: string | null;
  /** New version. */
  to: string;
  /** Why. */
  reason: MoveReason;
  /** Explanation, with the numbers. */
  note: string;
  /** The new version's test metrics at that moment. */
  metrics: { pr_auc: number | null; roc_auc: number | null; brier: number } | null;
}

/** The registry document. */
export interface RegistryState {
  /** Format version. */
  schema_version: 1;
  /** Aliases by name. */
  aliases: Record<string, AliasEntry>;
  /** Every alias move, oldest first; only ever appended to. */
  history: HistoryEvent[];
}

/** A registry that cannot be read or is inconsistent; reported without a stack trace. */
export class RegistryError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "RegistryError";
  }
}

/** A stored model version as listed. */
export interface VersionInfo {
  /** Artifact name. */
  version: string;
  /** Model family. */
  model_type: ModelType;
  /** Training time. */
  trained_at: string;
  /** Test PR-AUC. */
  pr_auc: number | null;
  /** Test ROC-AUC. */
  roc_auc: number | null;
  /** Test Brier score. */
  brier: number | null;
  /** Aliases pointing at it. */
  aliases: string[];
}

/**
 * Checks an alias name.
 *
 * @throws {TypeError} naming the alias when it breaks MLflow's rules.
 */
export function checkAlias(alias: string): string {
  if (!ALIAS_PATTERN.test(alias) || alias.toLowerCase() === "latest" || /^v\d+$/i.test(alias)) {
    throw new TypeError(
      `Invalid alias "${alias}": use letters, digits, _ and - (not "latest" or v<number>, which MLflow reserves)`,
    );
  }
  return alias;
}

const EMPTY: RegistryState = { schema_version: 1, aliases: {}, history: [] };

function isState(v: unknown): v is RegistryState {
  if (typeof v !== "object" || v === null) return false;
  const s = v as RegistryState;
  return s.schema_version === 1 && typeof s.aliases === "object" && s.aliases !== null && Array.isArray(s.history) &&
    Object.values(s.aliases).every((a) => typeof a?.version === "string");
}

/** The registry of one configuration, over an artifact store. */
export class Registry {
  readonly #store: ArtifactStore;
  readonly #config: Config;
  /** The key of the registry document. */
  readonly key: string;

  /** Creates the registry view of `store` with the paths of `config`. */
  constructor(store: ArtifactStore, config: Config) {
    this.#store = store;
    this.#config = config;
    this.key = store.keyOf(`${config.paths.registry}/registry.json`);
  }

  /** Key of a version's model artifact. */
  modelKey(version: string): string {
    return this.#store.keyOf(`${this.#config.paths.models}/${version}.json`);
  }

  /** Key of a version's metrics document. */
  metricsKey(version: string): string {
    return this.#store.keyOf(`${this.#config.paths.metrics}/${version}.json`);
  }

  /**
   * Reads the registry document (an empty registry when there is none yet).
   *
   * @throws {RegistryError} when the document is corrupt.
   */
  async read(): Promise<{ state: RegistryState; sha256: string | null }> {
    const bytes = await this.#store.get(this.key);
    if (bytes === null) return { state: structuredClone(EMPTY), sha256: null };
    let state: unknown;
    try {
      state = JSON.parse(new TextDecoder().decode(bytes));
    } catch (e) {
      throw new RegistryError(`The registry ${this.key} is corrupt: ${(e as Error).message}`);
    }
    if (!isState(state)) throw new RegistryError(`The registry ${this.key} is corrupt: not a registry document`);
    return { state, sha256: await sha256Hex(bytes) };
  }

  /**
   * Applies `change` to the current state and stores the result if nobody
   * changed the registry meanwhile; otherwise re-reads and applies it again.
   * `change` returns the new state, or null to leave the registry as it is.
   *
   * @throws {RegistryError} when the registry keeps changing under us.
   */
  async update<T>(change: (state: RegistryState) => Promise<{ state: RegistryState | null; result: T }>): Promise<T> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const { state, sha256 } = await this.read();
      const { state: next, result } = await change(structuredClone(state));
      if (next === null) return result;
      const bytes = new TextEncoder().encode(JSON.stringify(next, null, 2) + "\n");
      if (await this.#store.putIfMatch(this.key, bytes, sha256)) return result;
      await new Promise((r) => setTimeout(r, Math.random() * 20));
    }
    throw new RegistryError(`The registry ${this.key} changed on every one of 50 attempts to update it`);
  }

  /** Returns the metrics document of a version, or null when it has none. */
  async metrics(version: string): Promise<WrittenMetrics | null> {
    try {
      return await getJson<WrittenMetrics>(this.#store, this.metricsKey(version));
    } catch (e) {
      throw new RegistryError(`The metrics document of ${version} is corrupt: ${(e as Error).message}`);
    }
  }

  /**
   * Loads a version's model artifact.
   *
   * @throws {RegistryError} when it is missing or corrupt.
   */
  async model(version: string): Promise<ModelArtifact> {
    let m: ModelArtifact | null;
    try {
      m = await getJson<ModelArtifact>(this.#store, this.modelKey(version));
    } catch (e) {
      throw new RegistryError(`The model artifact ${this.modelKey(version)} is corrupt: ${(e as Error).message}`);
    }
    if (m === null) throw new RegistryError(`The model artifact ${this.modelKey(version)} is missing`);
    return m;
  }

  /** Lists every stored version, oldest first, with its metrics and aliases. */
  async versions(): Promise<VersionInfo[]> {
    const prefix = `${this.#store.keyOf(this.#config.paths.models)}/`;
    const { state } = await this.read();
    const out: VersionInfo[] = [];
    for (const key of await this.#store.list(prefix)) {
      if (!key.endsWith(".json") || key.slice(prefix.length).includes("/")) continue;
      const version = key.slice(prefix.length, -5);
      const m = await this.metrics(version);
      const type = version.startsWith("candidate_hgb") ? "candidate_hgb" : "baseline_logreg";
      out.push({
        version,
        model_type: m?.model_type ?? type,
        trained_at: m?.trained_at ?? "",
        pr_auc: m?.metrics.pr_auc ?? null,
        roc_auc: m?.metrics.roc_auc ?? null,
        brier: m?.metrics.brier ?? null,
        aliases: Object.entries(state.aliases).filter(([, a]) => a.version === version).map(([n]) => n),
      });
    }
    return out.sort((a, b) => a.trained_at.localeCompare(b.trained_at) || a.version.localeCompare(b.version));
  }

  async #score(version: string): Promise<ModelScore | null> {
    const m = await this.metrics(version);
    if (m === null) return null;
    const primary = this.#config.evaluation.primary_metric;
    return { version, model_type: m.model_type, primary: m.metrics[primary], brier: m.metrics.brier };
  }

  #event(
    state: RegistryState,
    alias: string,
    to: string,
    reason: MoveReason,
    note: string,
    metrics: WrittenMetrics | null,
  ): void {
    const at = new Date().toISOString();
    state.history.push({
      at,
      alias,
      from: state.aliases[alias]?.version ?? null,
      to,
      reason,
      note,
      metrics: metrics
        ? { pr_auc: metrics.metrics.pr_auc, roc_auc: metrics.metrics.roc_auc, brier: metrics.metrics.brier }
        : null,
    });
    state.aliases[alias] = { version: to, set_at: at };
  }

  /**
   * Points `alias` at `version` and records why.
   *
   * @throws {TypeError} on an invalid alias; {@link RegistryError} when the version has no stored model.
   */
  async setAlias(alias: string, version: string, options: { reason: MoveReason; note?: string }): Promise<void> {
    checkAlias(alias);
    await this.model(version);
    const metrics = await this.metrics(version);
    await this.update((state) => {
      if (state.aliases[alias]?.version === version) return Promise.resolve({ state: null, result: undefined });
      this.#event(state, alias, version, options.reason, options.note ?? "", metrics);
      return Promise.resolve({ state, result: undefined });
    });
  }

  /**
   * Resolves an alias to its version and model.
   *
   * @throws {RegistryError} when the alias is unset or points at a missing or corrupt artifact.
   */
  async resolve(alias = "production"): Promise<{ version: string; model: ModelArtifact }> {
    const { state } = await this.read();
    const entry = state.aliases[alias];
    if (entry === undefined) {
      throw new RegistryError(`No ${alias} model yet: train and promote one ("deno task pipeline" does both)`);
    }
    try {
      return { version: entry.version, model: await this.model(entry.version) };
    } catch (e) {
      const why = (e as Error).message;
      throw new RegistryError(
        `The ${alias} alias points at ${entry.version}, but ${why[0].toLowerCase()}${why.slice(1)}`,
      );
    }
  }

  /**
   * Runs the promotion gate: the newest baseline and the newest candidate
   * compete; the winner becomes production or the challenger, recorded in the history.
   */
  async promote(): Promise<GateDecision> {
    const versions = await this.versions();
    const newest = (type: ModelType) => versions.filter((v) => v.model_type === type).at(-1);
    const contenders: ModelScore[] = [];
    for (const v of [newest("baseline_logreg"), newest("candidate_hgb")]) {
      if (v === undefined) continue;
      const s = await this.#score(v.version);
      if (s !== null) contenders.push(s);
    }
    const g = this.#config.promotion;
    return await this.update(async (state) => {
      const prodVersion = state.aliases.production?.version;
      const production = prodVersion ? await this.#score(prodVersion) : null;
      const decision = decidePromotion(contenders, production, {
        primaryMetric: this.#config.evaluation.primary_metric,
        minImprovement: g.min_improvement,
        minPrimaryMetric: g.guardrails.min_primary_metric,
        maxBrierIncrease: g.guardrails.max_brier_increase,
      });
      const w = decision.winner;
      if (w === null || decision.action === "none") return { state: null, result: decision };
      const alias = decision.action === "promote" ? "production" : "challenger";
      if (state.aliases[alias]?.version === w.version) return { state: null, result: decision };
      this.#event(state, alias, w.version, "promotion", decision.reasons.join(" "), await this.metrics(w.version));
      if (alias === "production" && state.aliases.challenger?.version === w.version) delete state.aliases.challenger;
      return { state, result: decision };
    });
  }

  /**
   * Moves production back to `version`, or to the version it had before the
   * current one, and records the rollback.
   *
   * @throws {RegistryError} when there is no production model, no earlier version, or the target is missing.
   */
  async rollback(version?: string): Promise<{ from: string; to: string }> {
    if (version !== undefined) await this.model(version);
    return await this.update(async (state) => {
      const current = state.aliases.production?.version;
      if (current === undefined) throw new RegistryError("There is no production model to roll back");
      let target = version;
      if (target === undefined) {
        const lastMove = state.history.findLast((e) => e.alias === "production" && e.to === current);
        target = lastMove?.from ?? undefined;
        if (target === undefined) {
          throw new RegistryError(`Production (${current}) has no earlier version to roll back to`);
        }
        await this.model(target);
      }
      if (target === current) throw new RegistryError(`${target} is already production`);
      this.#event(state, "production", target, "rollback", `Rolled back from ${current}`, await this.metrics(target));
      return { state, result: { from: current, to: target } };
    });
  }
}
