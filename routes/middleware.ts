/**
 * Middleware factories of the service: the request context (request id,
 * latency, metrics, one structured log line per request), credential checks
 * for `/predict` (API key) and the admin routes (bearer token), and the 405
 * answer for a known path with the wrong method.
 *
 * Credentials are compared in constant time: both sides are hashed with
 * SHA-256 and the digests compared with a loop that always visits every byte.
 * Tokens are never logged.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import type { Logger } from "./logger.ts";
import type { ServiceMetrics } from "./metrics.ts";
import { ProblemError } from "./problem.ts";

/** The Hono environment of the app: per-request variables. */
export type AppEnv = {
  Variables: {
    /** The request id (from `X-Request-Id` when well formed, else generated). */
    requestId: string;
    /** The model version a prediction was answered with. */
    modelVersion: string;
  };
};

/** A well-formed incoming `X-Request-Id`: 1 to 128 letters, digits, `.`, `_`, `:` or `-`. */
export const REQUEST_ID_PATTERN: RegExp = /^[A-Za-z0-9._:-]{1,128}$/;

/** Label of a path that matches no route. */
export const UNMATCHED_ROUTE = "unmatched";

/** Options of {@link requestContext}. */
export interface RequestContextOptions {
  /** Where requests are counted and timed. */
  metrics: ServiceMetrics;
  /** Where request lines go. */
  logger: Logger;
  /** Milliseconds from an arbitrary origin (default `performance.now`). */
  clock: () => number;
  /** The route pattern of a request path, or {@link UNMATCHED_ROUTE}. */
  routeOf: (path: string) => string;
  /** The served model's version, logged when the handler did not name the version it used. */
  modelVersion: () => string | null;
}

/**
 * Creates the outermost middleware: sets the request id (echoed in
 * `X-Request-Id`), and after the answer counts the request, observes its
 * latency under the route pattern and writes one log line (method, route,
 * status, latency_ms, model_version, request_id) — at ERROR for a 5xx, WARNING for a 503 (no model
 * yet, or shutting down: expected states), else INFO.
 */
export function requestContext(options: RequestContextOptions): MiddlewareHandler<AppEnv> {
  const { metrics, logger, clock, routeOf, modelVersion } = options;
  return async (c, next) => {
    const start = clock();
    const given = c.req.header("x-request-id");
    const id = given !== undefined && REQUEST_ID_PATTERN.test(given) ? given : crypto.randomUUID();
    c.set("requestId", id);
    await next();
    c.res.headers.set("X-Request-Id", id);
    const ms = clock() - start;
    const status = c.res.status;
    const route = routeOf(c.req.path);
    metrics.observeRequest({ method: c.req.method, path: route, status }, ms / 1000);
    const level = status === 503 ? "WARNING" : status >= 500 ? "ERROR" : "INFO";
    if (logger.enabled(level)) {
      logger.log(level, "request", {
        method: c.req.method,
        route,
        status,
        latency_ms: Math.round(ms * 1000) / 1000,
        model_version: c.get("modelVersion") ?? modelVersion(),
        request_id: id,
      });
    }
  };
}

/** Returns the SHA-256 digest of a string. */
export function sha256Digest(value: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(value, "utf8").digest());
}

/**
 * Compares two byte arrays in time that depends only on their length (every
 * byte is visited, whatever differs). Arrays of different lengths are unequal.
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** A secret kept only as its SHA-256 digest, compared in constant time. */
export class Secret {
  readonly #digest: Uint8Array;

  /** Keeps the digest of `value`. */
  constructor(value: string) {
    this.#digest = sha256Digest(value);
  }

  /** Returns whether `candidate` equals the secret (constant time in the candidate's content). */
  matches(candidate: string): boolean {
    return timingSafeEqual(sha256Digest(candidate), this.#digest);
  }
}

function bearerToken(c: Context): string | null {
  const auth = c.req.header("authorization");
  if (auth === undefined) return null;
  const m = auth.match(/^Bearer[ ]+(\S+)\s*$/i);
  return m ? m[1] : null;
}

function unauthorized(detail: string): ProblemError {
  return new ProblemError("unauthorized", detail, {
    headers: { "WWW-Authenticate": 'Bearer realm="churn-mlops"' },
  });
}

/** Options of {@link requireApiKey}. */
export interface ApiKeyOptions {
  /** The expected key, or null to let every request through. */
  key: Secret | null;
}

/**
 * Creates the API-key check of `/predict`: with a key configured, the request
 * must carry it in `X-API-Key` or as `Authorization: Bearer <key>`; 401 otherwise.
 */
export function requireApiKey(options: ApiKeyOptions): MiddlewareHandler<AppEnv> {
  const key = options.key;
  return async (c, next) => {
    if (key !== null) {
      const given = c.req.header("x-api-key") ?? bearerToken(c);
      if (given === null || given === undefined) {
        throw unauthorized("This endpoint needs an API key (X-API-Key header)");
      }
      if (!key.matches(given)) throw unauthorized("The API key is not valid");
    }
    await next();
  };
}

/** Options of {@link requireAdminToken}. */
export interface AdminTokenOptions {
  /** The admin token (env `CHURN_ADMIN_TOKEN`). */
  token: Secret;
}

/** Creates the admin check: `Authorization: Bearer <token>` must match; 401 otherwise. */
export function requireAdminToken(options: AdminTokenOptions): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const given = bearerToken(c);
    if (given === null) throw unauthorized("Admin routes need Authorization: Bearer <token>");
    if (!options.token.matches(given)) throw unauthorized("The admin token is not valid");
    await next();
  };
}

/** Creates the handler of a known path called with a method it does not take: 405 with `Allow`. */
export function methodNotAllowed(allow: readonly string[]): (c: Context) => never {
  const header = allow.join(", ");
  return (c) => {
    throw new ProblemError("method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}; use ${header}`, {
      headers: { Allow: header },
    });
  };
}
