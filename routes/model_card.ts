/**
 * `GET /model`: the served model's card — version, type, training time, test
 * metrics (from its metrics document), the input schema (every input with its
 * type and default, categorical inputs with their categories), the inputs
 * training left out, the registry aliases and the last alias moves.
 *
 * @module
 */

import type { Hono } from "hono";
import type { HistoryEvent, RegistryState } from "../tasks/registry.ts";
import type { InputFeature } from "./schemas.ts";
import type { AppEnv } from "./middleware.ts";
import type { LoadedModel, ModelHolder } from "./model_holder.ts";
import { modelUnavailable } from "./predict.ts";

/** How many alias moves the card lists. */
export const CARD_HISTORY = 10;

/** The model card. */
export interface ModelCard {
  /** The version (artifact name). */
  version: string;
  /** Model family. */
  type: string;
  /** Training time. */
  trained_at: string;
  /** When the service loaded it. */
  loaded_at: string;
  /** `scaled` (logistic) or `raw` (trees). */
  input_mode: "scaled" | "raw";
  /** Decision threshold of the evaluation. */
  threshold: number;
  /** Feature windows, churn window and population the inputs were computed with. */
  feature_settings: LoadedModel["model"]["features"];
  /** Test-split metrics, or null without a metrics document. */
  metrics: Record<string, unknown> | null;
  /** Training figures (rows, churn rates, split, data fingerprint), or null. */
  training: Record<string, unknown> | null;
  /** Every input. */
  inputs: readonly InputFeature[];
  /** Inputs training left out (constant on the training rows). */
  left_out_inputs: { name: string; reason: string }[];
  /** The registry aliases. */
  aliases: RegistryState["aliases"];
  /** The last alias moves, newest first. */
  history: HistoryEvent[];
}

/** Builds the card of a loaded model with the registry state. */
export function modelCard(loaded: LoadedModel, state: RegistryState): ModelCard {
  const m = loaded.metrics;
  return {
    version: loaded.version,
    type: loaded.type,
    trained_at: loaded.model.trained_at,
    loaded_at: loaded.loadedAt,
    input_mode: loaded.model.input_mode,
    threshold: loaded.model.threshold,
    feature_settings: loaded.model.features,
    metrics: m ? { ...m.metrics } : null,
    training: m
      ? {
        train_rows: m.train_rows,
        test_rows: m.test_rows,
        churn_rate_train: m.churn_rate_train,
        churn_rate_test: m.churn_rate_test,
        split: m.split,
        fit_seconds: m.fit_seconds,
        data: m.data ? { sha256: m.data.sha256, rows: m.data.rows } : null,
      }
      : null,
    inputs: loaded.inputs,
    left_out_inputs: loaded.model.preprocessor.dropped ?? [],
    aliases: state.aliases,
    history: state.history.slice(-CARD_HISTORY).reverse(),
  };
}

/** Options of {@link registerModelCardRoute}. */
export interface ModelCardOptions {
  /** The served model. */
  holder: ModelHolder;
}

/** Registers `GET /model` on `app`. */
export function registerModelCardRoute(app: Hono<AppEnv>, options: ModelCardOptions): void {
  const { holder } = options;
  app.get("/model", async (c) => {
    const loaded = holder.current;
    if (loaded === null) throw modelUnavailable(holder.reason);
    let state: RegistryState;
    try {
      state = (await holder.registry.read()).state;
    } catch (e) {
      throw modelUnavailable(`The registry cannot be read: ${(e as Error).message}`);
    }
    return c.json(modelCard(loaded, state));
  });
}
