/**
 * Liveness and readiness: `GET /live` answers while the process runs;
 * `GET /ready` (and `GET /health`, the same answer) is 200 with the served
 * model once one is loaded, else 503 with the reason as a problem document.
 *
 * @module
 */

import type { Context, Hono } from "hono";
import type { AppEnv } from "./middleware.ts";
import type { LoadedModel, ModelHolder } from "./model_holder.ts";
import { modelUnavailable } from "./predict.ts";

/** The model summary of `/ready`. */
export interface ModelSummary {
  /** The version (artifact name). */
  version: string;
  /** Model family. */
  type: string;
  /** Training time (ISO-8601 UTC). */
  trained_at: string;
}

/** Returns the summary of a loaded model. */
export function modelSummary(loaded: LoadedModel): ModelSummary {
  return { version: loaded.version, type: loaded.type, trained_at: loaded.model.trained_at };
}

/** Options of {@link registerHealthRoutes}. */
export interface HealthRoutesOptions {
  /** The served model. */
  holder: ModelHolder;
}

/** Registers `GET /live`, `GET /ready` and `GET /health` on `app`. */
export function registerHealthRoutes(app: Hono<AppEnv>, options: HealthRoutesOptions): void {
  const { holder } = options;
  app.get("/live", (c) => c.json({ status: "live" }));
  const ready = (c: Context<AppEnv>): Response => {
    const loaded = holder.current;
    if (loaded === null) throw modelUnavailable(holder.reason);
    const body: { status: "ready"; model: ModelSummary; reload_error?: string } = {
      status: "ready",
      model: modelSummary(loaded),
    };
    const error = holder.lastError;
    if (error !== null) body.reload_error = error;
    return c.json(body);
  };
  app.get("/ready", ready);
  app.get("/health", ready);
}
