/**
 * The OpenAPI 3.1 document of the service, generated from the zod schemas of
 * `routes/schemas.ts` (`z.toJSONSchema`), with the served model's input
 * schema — every feature with its type and default — and `GET /docs`, a
 * self-contained HTML page that renders it (no CDN: the page works offline).
 *
 * @module
 */

import type { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "./middleware.ts";
import type { LoadedModel, ModelHolder } from "./model_holder.ts";
import {
  BatchPredictionSchema,
  LiveSchema,
  ModelCardSchema,
  PredictionSchema,
  ProblemSchema,
  ReadySchema,
  ReloadSchema,
  requestSchemas,
} from "./schemas.ts";

/** Options of {@link openApiDocument}. */
export interface OpenApiOptions {
  /** Most instances per batch. */
  maxBatch: number;
  /** Largest body accepted, in bytes. */
  maxBodyBytes: number;
  /** Whether `/predict` needs an API key. */
  apiKey: boolean;
  /** Whether the admin routes are on. */
  admin: boolean;
  /** The service name (config `app.name`). */
  title: string;
}

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const out = z.toJSONSchema(schema, { io, target: "draft-2020-12", unrepresentable: "any" }) as JsonSchema;
  delete out.$schema;
  return out;
}

const problem = (description: string) => ({
  description,
  content: { "application/problem+json": { schema: { $ref: "#/components/schemas/Problem" } } },
});

const json = (ref: string, description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: `#/components/schemas/${ref}` } } },
});

/** Builds the OpenAPI document for the served model (a generic feature schema when none is loaded). */
export function openApiDocument(loaded: LoadedModel | null, options: OpenApiOptions): Record<string, unknown> {
  const schemas = loaded?.schemas ?? requestSchemas([], options.maxBatch);
  const modelNote = loaded
    ? `Served model: ${loaded.version} (${loaded.type}, trained ${loaded.model.trained_at}).`
    : "No model is loaded: the feature schema below is generic until one is.";
  const security = options.apiKey ? [{ ApiKey: [] }, { Bearer: [] }] : [];
  const inputErrors = {
    "400": problem("Malformed JSON, an empty body or bytes that are not UTF-8."),
    "401": problem("Missing or invalid API key (when one is configured)."),
    "413": problem(`The body is over ${options.maxBodyBytes} bytes (server.max_body_bytes).`),
    "415": problem("The body is not application/json."),
    "422": problem("The body does not match the schema: `errors` lists every bad field with a JSON pointer."),
    "503": problem("No model is loaded; the detail says why."),
  };
  const paths: Record<string, unknown> = {
    "/predict": {
      post: {
        summary: "Churn risk of one user",
        description: "Missing features take their training default (listed in defaults_used); features the model " +
          "does not take are ignored (listed in ignored_features). Numbers inside strings are rejected. " + modelNote,
        security,
        requestBody: {
          required: true,
          content: { "application/json": { schema: { $ref: "#/components/schemas/PredictRequest" } } },
        },
        responses: { "200": json("Prediction", "The prediction."), ...inputErrors },
      },
    },
    "/predict/batch": {
      post: {
        summary: `Churn risk of up to ${options.maxBatch} users`,
        description: "Answers in the order of the instances. " + modelNote,
        security,
        requestBody: {
          required: true,
          content: { "application/json": { schema: { $ref: "#/components/schemas/BatchPredictRequest" } } },
        },
        responses: { "200": json("BatchPrediction", "The predictions, in order."), ...inputErrors },
      },
    },
    "/live": { get: { summary: "Liveness", responses: { "200": json("Live", "The process runs.") } } },
    "/ready": {
      get: {
        summary: "Readiness: a model is loaded",
        responses: { "200": json("Ready", "Ready."), "503": problem("No model is loaded; the detail says why.") },
      },
    },
    "/health": {
      get: {
        summary: "Same as /ready",
        responses: { "200": json("Ready", "Ready."), "503": problem("No model is loaded; the detail says why.") },
      },
    },
    "/model": {
      get: {
        summary: "The served model's card",
        responses: { "200": json("ModelCard", "The card."), "503": problem("No model is loaded.") },
      },
    },
    "/metrics": {
      get: {
        summary: "Prometheus metrics",
        responses: { "200": { description: "Text exposition format 0.0.4.", content: { "text/plain": {} } } },
      },
    },
    "/openapi.json": { get: { summary: "This document", responses: { "200": { description: "OpenAPI 3.1." } } } },
    "/docs": { get: { summary: "This document as a web page", responses: { "200": { description: "HTML." } } } },
  };
  if (options.admin) {
    paths["/admin/reload"] = {
      post: {
        summary: "Reload the production model now",
        security: [{ Bearer: [] }],
        responses: {
          "200": json("Reload", "What the reload did."),
          "401": problem("Missing or invalid admin token."),
        },
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: `${options.title} prediction API`,
      version: loaded?.version ?? "no-model",
      description: "Churn risk for e-learning users from their behavioural features. Errors are RFC 9457 problem " +
        "documents (application/problem+json). " + modelNote,
    },
    paths,
    components: {
      schemas: {
        PredictRequest: jsonSchema(schemas.instance, "input"),
        BatchPredictRequest: jsonSchema(schemas.batch, "input"),
        Prediction: jsonSchema(PredictionSchema, "output"),
        BatchPrediction: jsonSchema(BatchPredictionSchema, "output"),
        Problem: jsonSchema(ProblemSchema, "output"),
        Live: jsonSchema(LiveSchema, "output"),
        Ready: jsonSchema(ReadySchema, "output"),
        ModelCard: jsonSchema(ModelCardSchema, "output"),
        Reload: jsonSchema(ReloadSchema, "output"),
      },
      securitySchemes: {
        ApiKey: { type: "apiKey", in: "header", name: "X-API-Key" },
        Bearer: { type: "http", scheme: "bearer" },
      },
    },
  };
}

/** The docs page: fetches `/openapi.json` and renders the operations and schemas; no external resources. */
export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>API docs</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
.m{display:inline-block;min-width:4.5em;font-weight:700;font-family:monospace}
.get{color:#0a6}.post{color:#06c}code,pre{font-family:ui-monospace,monospace;font-size:13px}
pre{background:#f6f6f6;padding:.75rem;overflow:auto;border-radius:4px}
table{border-collapse:collapse;width:100%;font-size:14px}td,th{border-bottom:1px solid #eee;padding:4px 6px;
text-align:left;vertical-align:top}.muted{color:#777}
</style>
</head>
<body>
<h1 id="title">API docs</h1>
<p id="desc" class="muted">Loading /openapi.json…</p>
<div id="ops"></div>
<h2>Schemas</h2>
<div id="schemas"></div>
<script>
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
const typeOf = (s) => {
  if (!s) return "";
  if (s.$ref) return s.$ref.split("/").pop();
  if (s.anyOf) return s.anyOf.map(typeOf).join(" | ");
  const t = Array.isArray(s.type) ? s.type.join(" | ") : (s.type || "any");
  if (t === "array") return "array of " + typeOf(s.items);
  return t + (s.format ? " (" + s.format + ")" : "");
};
const props = (s) => {
  if (!s || !s.properties) return "";
  const req = new Set(s.required || []);
  let h = "<table><tr><th>field</th><th>type</th><th>description</th></tr>";
  for (const [k, v] of Object.entries(s.properties)) {
    h += "<tr><td><code>" + esc(k) + "</code>" + (req.has(k) ? " *" : "") + "</td><td>" + esc(typeOf(v)) +
      "</td><td>" + esc(v.description || "") + (v.properties ? props(v) : "") +
      (v.items && v.items.properties ? props(v.items) : "") + "</td></tr>";
  }
  return h + "</table>";
};
fetch("openapi.json").then((r) => r.json()).then((doc) => {
  document.title = doc.info.title;
  document.getElementById("title").textContent = doc.info.title + " (" + doc.info.version + ")";
  document.getElementById("desc").textContent = doc.info.description;
  let ops = "";
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      ops += '<div class="op"><span class="m ' + esc(method) + '">' + esc(method.toUpperCase()) + "</span><code>" +
        esc(path) + "</code> — " + esc(op.summary || "") + (op.description ? "<p>" + esc(op.description) + "</p>" : "");
      const body = op.requestBody && op.requestBody.content["application/json"];
      if (body) ops += "<p>Body: <code>" + esc(typeOf(body.schema)) + "</code></p>";
      ops += "<p class=muted>Responses: " + Object.entries(op.responses).map(([s, r]) => esc(s) + " " +
        esc(r.description)).join("; ") + "</p></div>";
    }
  }
  document.getElementById("ops").innerHTML = ops;
  let sch = "";
  for (const [name, s] of Object.entries(doc.components.schemas)) {
    sch += '<h3 id="' + esc(name) + '">' + esc(name) + "</h3>" + (s.description ? "<p>" + esc(s.description) + "</p>" : "") +
      props(s) + "<details><summary>JSON Schema</summary><pre>" + esc(JSON.stringify(s, null, 2)) + "</pre></details>";
  }
  document.getElementById("schemas").innerHTML = sch;
}).catch((e) => { document.getElementById("desc").textContent = "Cannot load openapi.json: " + e; });
</script>
</body>
</html>
`;

/** Options of {@link registerOpenApiRoutes}. */
export interface OpenApiRoutesOptions extends OpenApiOptions {
  /** The served model. */
  holder: ModelHolder;
}

/** Registers `GET /openapi.json` and `GET /docs` on `app`; the document is rebuilt only when the model changes. */
export function registerOpenApiRoutes(app: Hono<AppEnv>, options: OpenApiRoutesOptions): void {
  let cached: { loaded: LoadedModel | null; doc: string } | null = null;
  app.get("/openapi.json", (c) => {
    const loaded = options.holder.current;
    if (cached === null || cached.loaded !== loaded) {
      cached = { loaded, doc: JSON.stringify(openApiDocument(loaded, options)) };
    }
    return c.body(cached.doc, 200, { "Content-Type": "application/json" });
  });
  app.get("/docs", (c) =>
    c.body(DOCS_HTML, 200, {
      "Content-Type": "text/html; charset=utf-8",
      "Content-Security-Policy":
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'",
    }));
}
