/**
 * The HTTP service (SPEC §10): one Hono app built by {@link createApp} from
 * its dependencies, so tests drive it with `app.request()` and no server.
 *
 * | route | answer |
 * | --- | --- |
 * | `GET /live` | 200 `{"status":"live"}` |
 * | `GET /ready`, `GET /health` | 200 with the model, or 503 with the reason |
 * | `POST /predict` | one prediction |
 * | `POST /predict/batch` | `{"instances": [...]}` → predictions in order |
 * | `GET /model` | the served model's card |
 * | `GET /metrics` | Prometheus text |
 * | `GET /openapi.json`, `GET /docs` | the API description |
 * | `POST /admin/reload` | reload the model now (bearer `CHURN_ADMIN_TOKEN`; 404 when unset) |
 *
 * Every error is an RFC 9457 problem document shaped in one place: `app.onError`
 * for thrown errors, and the same function for unknown routes.
 *
 * @module
 */

import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Config } from "../config/mod.ts";
import { formatRunMetrics, JOB_NAMES, listRuns, runMetrics } from "../tasks/schedules.ts";
import { type ArtifactStore, getJson } from "../tasks/store/mod.ts";
import { registerHealthRoutes } from "./health.ts";
import { createLogger, type Logger } from "./logger.ts";
import { metricsHandler, parseDriftReport, ServiceMetrics } from "./metrics.ts";
import {
  type AppEnv,
  methodNotAllowed,
  requestContext,
  requireAdminToken,
  requireApiKey,
  Secret,
  UNMATCHED_ROUTE,
} from "./middleware.ts";
import { registerModelCardRoute } from "./model_card.ts";
import type { ModelHolder } from "./model_holder.ts";
import { registerOpenApiRoutes } from "./openapi.ts";
import { registerPredictRoutes } from "./predict.ts";
import { ProblemError, type ProblemKind, problemResponse } from "./problem.ts";

export { createLogger, type Logger, type LoggerOptions, silentLogger } from "./logger.ts";
export { ServiceMetrics } from "./metrics.ts";
export { type LoadedModel, ModelHolder, type ModelHolderOptions, type ReloadResult } from "./model_holder.ts";
export type { AppEnv } from "./middleware.ts";

/** The environment variable holding the admin token; admin routes are off (404) when it is unset or empty. */
export const ADMIN_TOKEN_ENV = "CHURN_ADMIN_TOKEN";

/** What the app is built from. */
export interface AppDeps {
  /** The configuration (server limits, risk bands, paths, logging). */
  config: Config;
  /** The artifact store (the drift report is read from it). */
  store: ArtifactStore;
  /** The served model and its reloads. */
  holder: ModelHolder;
  /** The metrics (default: new, on their own prom-client registry). */
  metrics?: ServiceMetrics;
  /** The logger (default: JSON lines on stderr at `config.logging.level`). */
  logger?: Logger;
  /** Milliseconds from an arbitrary origin, for latencies (default `performance.now`). */
  clock?: () => number;
  /** Reads an environment variable (default `Deno.env.get`; undefined without permission). */
  env?: (name: string) => string | undefined;
}

/** Returns the logger `config.logging` asks for: JSON or text lines on stderr from its level up. */
export function loggerFor(config: Config): Logger {
  return createLogger({ level: config.logging.level, format: config.logging.format });
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

const KIND_BY_STATUS: Partial<Record<number, ProblemKind>> = {
  400: "bad_request",
  401: "unauthorized",
  404: "not_found",
  405: "method_not_allowed",
  413: "too_large",
  415: "unsupported_media_type",
  422: "invalid_input",
  503: "model_unavailable",
};

function answer(c: Context<AppEnv>, error: ProblemError): Response {
  return problemResponse(error, { instance: c.req.path, requestId: c.get("requestId") });
}

/** Creates the service's Hono app. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { config, store, holder } = deps;
  const metrics = deps.metrics ?? new ServiceMetrics();
  const logger = deps.logger ?? loggerFor(config);
  const clock = deps.clock ?? (() => performance.now());
  const env = deps.env ?? readEnv;
  const apiKeyEnv = config.server.api_key_env;
  const apiKeyValue = apiKeyEnv ? env(apiKeyEnv) : undefined;
  const apiKey = apiKeyValue ? new Secret(apiKeyValue) : null;
  const adminValue = env(ADMIN_TOKEN_ENV);
  const adminToken = adminValue ? new Secret(adminValue) : null;

  const driftKey = store.keyOf(`${config.paths.reports}/data_drift_latest.json`);
  metrics.setSources({
    model: () => holder.current,
    drift: async () => parseDriftReport(await getJson(store, driftKey)),
  });
  let lastError: string | undefined;
  holder.onReload((r) => {
    if (r.changed) metrics.observeReload("changed");
    else if (r.error !== undefined && r.error !== lastError) metrics.observeReload("failed"); // once per new failure
    lastError = r.error;
  });

  const routes = new Map<string, string[]>();
  const route = (path: string, methods: string[]) => routes.set(path, methods);
  const app = new Hono<AppEnv>();
  app.use(
    "*",
    requestContext({
      metrics,
      logger,
      clock,
      routeOf: (p) => routes.has(p) ? p : UNMATCHED_ROUTE,
      modelVersion: () => holder.current?.version ?? null,
    }),
  );

  app.get("/", (c) =>
    c.json({
      service: config.app.name,
      docs: "/docs",
      openapi: "/openapi.json",
      predict: "POST /predict",
      model: holder.current?.version ?? null,
    }));
  route("/", ["GET", "HEAD"]);
  registerHealthRoutes(app, { holder });
  for (const p of ["/live", "/ready", "/health"]) route(p, ["GET", "HEAD"]);
  registerPredictRoutes(app, {
    holder,
    metrics,
    bands: config.scoring.risk_bands,
    maxBodyBytes: config.server.max_body_bytes,
    maxBatch: config.server.max_batch,
    clock,
    guard: apiKey === null ? null : requireApiKey({ key: apiKey }), // no key: no check, and one step less per request
  });
  route("/predict", ["POST"]);
  route("/predict/batch", ["POST"]);
  registerModelCardRoute(app, { holder });
  route("/model", ["GET", "HEAD"]);
  app.get(
    "/metrics",
    metricsHandler(metrics, { extra: async () => formatRunMetrics(await runMetrics(store, config)) }),
  );
  route("/metrics", ["GET", "HEAD"]);
  app.get("/runs", async (c) => {
    const limitText = c.req.query("limit") ?? "50";
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > 1000) {
      throw new ProblemError("invalid_input", `Invalid limit "${limitText}": expected an integer from 1 to 1000`, {
        errors: [{ pointer: "/query/limit", detail: "expected an integer from 1 to 1000" }],
      });
    }
    const job = c.req.query("job");
    if (job !== undefined && !(JOB_NAMES as readonly string[]).includes(job)) {
      throw new ProblemError("invalid_input", `Unknown job "${job}": expected one of ${JOB_NAMES.join(", ")}`, {
        errors: [{ pointer: "/query/job", detail: `expected one of ${JOB_NAMES.join(", ")}` }],
      });
    }
    return c.json({ runs: await listRuns(store, config, { limit, job: job as typeof JOB_NAMES[number] | undefined }) });
  });
  route("/runs", ["GET", "HEAD"]);
  registerOpenApiRoutes(app, {
    holder,
    maxBatch: config.server.max_batch,
    maxBodyBytes: config.server.max_body_bytes,
    apiKey: apiKey !== null,
    admin: adminToken !== null,
    title: config.app.name,
  });
  route("/openapi.json", ["GET", "HEAD"]);
  route("/docs", ["GET", "HEAD"]);
  if (adminToken !== null) {
    app.post("/admin/reload", requireAdminToken({ token: adminToken }), async (c) => {
      const result = await holder.reload({ force: true });
      if (result.version !== null) c.set("modelVersion", result.version);
      return c.json(result);
    });
    route("/admin/reload", ["POST"]);
  }
  // A known path with another method: 405 with Allow (registered after the real handlers).
  for (const [path, methods] of routes) app.all(path, methodNotAllowed(methods));

  app.notFound((c) => answer(c, new ProblemError("not_found", `There is no route ${c.req.path}`)));
  app.onError((err, c) => {
    if (err instanceof ProblemError) return answer(c, err);
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode;
      const kind = KIND_BY_STATUS[status] ?? (status >= 500 ? "internal" : "bad_request");
      return answer(c, new ProblemError(kind, err.message || "The request failed", { status }));
    }
    logger.log("ERROR", "unhandled error", {
      request_id: c.get("requestId"),
      route: routes.has(c.req.path) ? c.req.path : UNMATCHED_ROUTE,
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      stack: err instanceof Error ? err.stack : undefined,
    });
    return answer(
      c,
      new ProblemError("internal", "The service failed to answer; the error is logged with the request id"),
    );
  });
  return app;
}
