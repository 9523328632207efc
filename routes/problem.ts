/**
 * Problem details (RFC 9457): every error the service answers is an
 * `application/problem+json` document with `type`, `title`, `status`,
 * `detail` and `instance`, plus `request_id` and, for invalid input, an
 * `errors` array with a JSON pointer and the reason for every bad field.
 * Handlers throw a {@link ProblemError}; the one `app.onError` shapes it.
 *
 * @module
 */

import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/** The media type of problem documents. */
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** One bad field of a request. */
export interface FieldError {
  /** JSON pointer (RFC 6901) to the field in the request body, e.g. `/features/logins_7d`. */
  pointer: string;
  /** What is wrong with it. */
  detail: string;
}

/** A problem document (RFC 9457) as this service writes it. */
export interface ProblemDocument {
  /** URI naming the kind of problem. */
  type: string;
  /** Short summary of that kind of problem (the same for every occurrence). */
  title: string;
  /** The HTTP status code. */
  status: number;
  /** What went wrong this time. */
  detail: string;
  /** The request path this occurrence belongs to. */
  instance: string;
  /** The request id (also in the `X-Request-Id` header). */
  request_id?: string;
  /** Every bad field, for invalid input. */
  errors?: FieldError[];
  /** How many bad fields there were in all, when `errors` was cut short. */
  error_count?: number;
}

/** The kinds of problem this service reports, with their type URI, title and status. */
export const PROBLEM_TYPES = {
  invalid_input: {
    type: "urn:churn-mlops:problem:invalid-input",
    title: "The request does not match the schema",
    status: 422,
  },
  malformed_json: {
    type: "urn:churn-mlops:problem:malformed-json",
    title: "The request body is not valid JSON",
    status: 400,
  },
  bad_request: { type: "urn:churn-mlops:problem:bad-request", title: "Bad request", status: 400 },
  too_large: { type: "urn:churn-mlops:problem:body-too-large", title: "The request body is too large", status: 413 },
  unsupported_media_type: {
    type: "urn:churn-mlops:problem:unsupported-media-type",
    title: "The request body must be JSON",
    status: 415,
  },
  method_not_allowed: { type: "urn:churn-mlops:problem:method-not-allowed", title: "Method not allowed", status: 405 },
  not_found: { type: "urn:churn-mlops:problem:not-found", title: "Not found", status: 404 },
  unauthorized: { type: "urn:churn-mlops:problem:unauthorized", title: "Missing or invalid credentials", status: 401 },
  model_unavailable: {
    type: "urn:churn-mlops:problem:model-unavailable",
    title: "No model is being served",
    status: 503,
  },
  shutting_down: { type: "urn:churn-mlops:problem:shutting-down", title: "The service is shutting down", status: 503 },
  internal: { type: "urn:churn-mlops:problem:internal", title: "Internal error", status: 500 },
} as const satisfies Record<string, { type: string; title: string; status: ContentfulStatusCode }>;

/** A kind of problem. */
export type ProblemKind = keyof typeof PROBLEM_TYPES;

/** Options of {@link ProblemError}. */
export interface ProblemOptions {
  /** Every bad field (for `invalid_input`). */
  errors?: FieldError[];
  /** Total bad fields when `errors` was cut short. */
  errorCount?: number;
  /** Extra response headers (e.g. `Allow`, `Retry-After`, `WWW-Authenticate`). */
  headers?: Record<string, string>;
  /** The status, when not the kind's own (an `HTTPException` from elsewhere). */
  status?: ContentfulStatusCode;
  /** The underlying error. */
  cause?: unknown;
}

/** An error answered as a problem document; thrown by handlers and middleware, shaped by `app.onError`. */
export class ProblemError extends HTTPException {
  /** The kind of problem. */
  readonly kind: ProblemKind;
  /** What went wrong this time. */
  readonly detail: string;
  /** Every bad field. */
  readonly errors?: FieldError[];
  /** Total bad fields when `errors` was cut short. */
  readonly errorCount?: number;
  /** Extra response headers. */
  readonly headers: Record<string, string>;

  /** Creates the error; the status is the kind's unless `options.status` says otherwise. */
  constructor(kind: ProblemKind, detail: string, options: ProblemOptions = {}) {
    super(options.status ?? PROBLEM_TYPES[kind].status, { message: detail, cause: options.cause });
    this.name = "ProblemError";
    this.kind = kind;
    this.detail = detail;
    this.errors = options.errors;
    this.errorCount = options.errorCount;
    this.headers = options.headers ?? {};
  }
}

/** Where a problem occurred. */
export interface ProblemContext {
  /** The request path. */
  instance: string;
  /** The request id. */
  requestId?: string;
}

/** Builds the problem document of a {@link ProblemError}. */
export function problemDocument(error: ProblemError, context: ProblemContext): ProblemDocument {
  const { type, title } = PROBLEM_TYPES[error.kind];
  const doc: ProblemDocument = { type, title, status: error.status, detail: error.detail, instance: context.instance };
  if (context.requestId !== undefined) doc.request_id = context.requestId;
  if (error.errors !== undefined) doc.errors = error.errors;
  if (error.errorCount !== undefined && error.errors !== undefined && error.errorCount > error.errors.length) {
    doc.error_count = error.errorCount;
  }
  return doc;
}

/**
 * Builds the `application/problem+json` response of a {@link ProblemError}:
 * the one place error answers are shaped, for the app's `onError` and
 * `notFound` and for the server's answers outside the app.
 */
export function problemResponse(error: ProblemError, context: ProblemContext): Response {
  return new Response(JSON.stringify(problemDocument(error, context)), {
    status: error.status,
    headers: { ...error.headers, "Content-Type": PROBLEM_CONTENT_TYPE },
  });
}

/** Escapes one JSON-pointer reference token (RFC 6901: `~` → `~0`, `/` → `~1`). */
export function pointerToken(token: string | number): string {
  return String(token).replaceAll("~", "~0").replaceAll("/", "~1");
}

/** Returns the JSON pointer of a path, e.g. `["features", "logins_7d"]` → `/features/logins_7d` (`""` for the root). */
export function jsonPointer(path: readonly PropertyKey[]): string {
  return path.map((p) => "/" + pointerToken(typeof p === "symbol" ? p.toString() : p)).join("");
}
