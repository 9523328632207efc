/**
 * The zod schemas of the HTTP API: requests (built per model, so the input
 * schema names every feature the production model takes, with its type),
 * responses and problem documents. They are the contract: invalid input is
 * reported from them, the OpenAPI document is generated from them, and the
 * tests check answers against them.
 *
 * Input rules (strict): a numeric feature is a JSON number in
 * [-1e9, 1e9] or `null` (missing) — a number inside a string such as `"3"` is
 * rejected, as are booleans; a categorical feature is a string of at most 200
 * characters or `null`; a feature the model does not take is ignored and
 * listed in the answer; `features` holds at most 1,000 entries; unknown
 * top-level fields are rejected.
 *
 * @module
 */

import { z } from "zod";
import type { Reason } from "../pipeline/scoring.ts";
import type { ModelSummary } from "./health.ts";
import type { ReloadResult } from "./model_holder.ts";
import type { Prediction } from "./predict.ts";
import { type FieldError, jsonPointer, type ProblemDocument } from "./problem.ts";

/** Largest magnitude accepted for a numeric feature. */
export const NUMERIC_LIMIT = 1e9;
/** Longest categorical value accepted, in characters. */
export const MAX_CATEGORY_LENGTH = 200;
/** Longest string `user_id` accepted, in characters. */
export const MAX_USER_ID_LENGTH = 128;
/** Most entries accepted in one `features` object. */
export const MAX_FEATURE_ENTRIES = 1000;
/** Most field errors listed in one problem document (`error_count` gives the total). */
export const MAX_FIELD_ERRORS = 200;

/** One input feature of a model, as the API documents it. */
export interface InputFeature {
  /** The feature name, a key of `features`. */
  name: string;
  /** `number` or `category`. */
  type: "number" | "category";
  /** What a missing value (absent or null) becomes. */
  default: string;
  /** The training mean (numeric features): the "typical" value reasons compare with. */
  mean?: number;
  /** The categories seen in training (categorical features); any other value encodes as none of them. */
  categories?: string[];
}

/** Describes a JSON value's kind for an error message, e.g. `a string`, `an array`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "number":
      return Number.isFinite(value) ? "a number" : "a number too large to represent";
    case "string":
      return "a string";
    case "boolean":
      return "a boolean";
    case "object":
      return "an object";
    default:
      return typeof value;
  }
}

function typeError(expected: string): (issue: { input?: unknown }) => string {
  return (issue) =>
    issue.input === undefined ? "is required" : `must be ${expected}, got ${describeValue(issue.input)}`;
}

/** The `user_id` field: a non-empty string or an integer; answered as a string. */
export const UserIdSchema: z.ZodType<string | number> = z.union([
  z.string()
    .min(1, { error: "must not be an empty string" })
    .max(MAX_USER_ID_LENGTH, { error: `must be at most ${MAX_USER_ID_LENGTH} characters long` }),
  z.int({ error: "must be a safe integer" }),
], { error: typeError("a non-empty string or an integer") }).meta({
  description: `The user's id: a string of 1 to ${MAX_USER_ID_LENGTH} characters or an integer; answered as a string.`,
});

/** The optional `snapshot_date` field: the as-of date of the features, echoed back. */
export const SnapshotDateSchema: z.ZodType<string> = z.iso.date({ error: typeError("a calendar date YYYY-MM-DD") })
  .meta({
    description: "The date the features were computed for (YYYY-MM-DD); echoed in the answer.",
  });

function numericFeature(f: InputFeature): z.ZodType {
  return z.number({ error: typeError("a number or null (numbers inside strings are not accepted)") })
    .min(-NUMERIC_LIMIT, { error: `must be at least -${NUMERIC_LIMIT.toExponential()}` })
    .max(NUMERIC_LIMIT, { error: `must be at most ${NUMERIC_LIMIT.toExponential()}` })
    .nullable().optional()
    .meta({
      description: `Numeric input. Missing or null: ${f.default}.${
        f.mean === undefined ? "" : ` Training mean ${Number(f.mean.toPrecision(6))}.`
      }`,
    });
}

function categoricalFeature(f: InputFeature): z.ZodType {
  const seen = (f.categories ?? []).join(", ");
  return z.string({ error: typeError("a string or null") })
    .max(MAX_CATEGORY_LENGTH, { error: `must be at most ${MAX_CATEGORY_LENGTH} characters long` })
    .nullable().optional()
    .meta({
      description: `Categorical input; training categories: ${seen}. Missing or null: ${f.default}. ` +
        "Another value encodes as none of the training categories.",
      examples: f.categories?.filter((c) => c !== "missing").slice(0, 3),
    });
}

/** Builds the schema of the `features` object for a model's inputs (any input list: the generic schema for none). */
export function featuresSchema(inputs: readonly InputFeature[]): z.ZodType {
  const shape: Record<string, z.ZodType> = {};
  for (const f of inputs) shape[f.name] = f.type === "number" ? numericFeature(f) : categoricalFeature(f);
  const catchall = inputs.length === 0
    ? z.union([z.number(), z.string(), z.null()]).meta({
      description: "A feature value: a number or null for numeric features, a string or null for categorical ones.",
    })
    : z.unknown().meta({ description: "A feature the model does not take: ignored and listed in ignored_features." });
  return z.object(shape, { error: typeError("an object of feature values") })
    .catchall(catchall)
    .check((ctx) => {
      const n = Object.keys(ctx.value).length;
      if (n > MAX_FEATURE_ENTRIES) {
        ctx.issues.push({
          code: "custom",
          input: ctx.value,
          message: `has ${n} entries; at most ${MAX_FEATURE_ENTRIES} are accepted`,
        });
      }
    })
    .meta({
      description: "Feature values by name. A missing feature takes its training default and is listed in " +
        "defaults_used; a feature the model does not take is ignored and listed in ignored_features.",
    });
}

/** The request schemas of one model. */
export interface RequestSchemas {
  /** `POST /predict` body. */
  instance: z.ZodType;
  /** `POST /predict/batch` body. */
  batch: z.ZodType;
}

/** Builds the request schemas for a model's inputs and the batch limit (config `server.max_batch`). */
export function requestSchemas(inputs: readonly InputFeature[], maxBatch: number): RequestSchemas {
  const instance = z.strictObject({
    user_id: UserIdSchema,
    snapshot_date: SnapshotDateSchema.optional(),
    features: featuresSchema(inputs),
  }, { error: typeError("a JSON object") }).meta({
    description: "One user's features. Unknown top-level fields are rejected.",
  });
  const batch = z.strictObject({
    instances: z.array(instance, { error: typeError("an array of instances") })
      .min(1, { error: "must hold at least one instance" })
      .max(maxBatch, { error: `must hold at most ${maxBatch} instances (server.max_batch)` }),
  }, { error: typeError("a JSON object") }).meta({
    description: `Up to ${maxBatch} instances, answered in order.`,
  });
  return { instance: z.compile(instance), batch: z.compile(batch) };
}

/** One top reason of a prediction. */
export const ReasonSchema: z.ZodType<Reason> = z.object({
  feature: z.string().meta({ description: "The input feature." }),
  contribution: z.number().meta({ description: "Its contribution to the log-odds of churn (positive: raises risk)." }),
  text: z.string().meta({ description: "The reason in words." }),
});

/** The answer of `POST /predict` (and each item of a batch answer). */
export const PredictionSchema: z.ZodType<Prediction> = z.object({
  user_id: z.string(),
  snapshot_date: z.iso.date().nullable(),
  churn_risk: z.number().min(0).max(1).meta({ description: "Probability of churn in the churn window." }),
  model_version: z.string(),
  risk_band: z.enum(["low", "medium", "high"]).meta({ description: "From config scoring.risk_bands." }),
  risk_percentile: z.number().min(0).max(100).nullable().meta({
    description: "Percentile of the risk among the model's test-split scores (null when the model has none).",
  }),
  top_reasons: z.array(ReasonSchema).max(3),
  defaults_used: z.array(z.string()).meta({ description: "Inputs that were missing or null and took defaults." }),
  ignored_features: z.array(z.string()).meta({ description: "Features given that the model does not take." }),
  unseen_categories: z.array(z.string()).meta({
    description: "Categorical inputs whose value was not seen in training (encoded as none of the categories).",
  }),
});

/** The answer of `POST /predict/batch`. */
export interface BatchPrediction {
  /** The model version that answered every instance. */
  model_version: string;
  /** How many predictions. */
  count: number;
  /** The predictions, in the order of the instances. */
  predictions: Prediction[];
}

/** The answer of `POST /predict/batch`. */
export const BatchPredictionSchema: z.ZodType<BatchPrediction> = z.object({
  model_version: z.string(),
  count: z.int().min(1),
  predictions: z.array(PredictionSchema),
});

/** A field error of a problem document. */
export const FieldErrorSchema: z.ZodType<FieldError> = z.object({
  pointer: z.string().meta({ description: "JSON pointer (RFC 6901) into the request body." }),
  detail: z.string(),
});

/** A problem document (RFC 9457). */
export const ProblemSchema: z.ZodType<ProblemDocument> = z.object({
  type: z.string(),
  title: z.string(),
  status: z.int().min(400).max(599),
  detail: z.string(),
  instance: z.string(),
  request_id: z.string().optional(),
  errors: z.array(FieldErrorSchema).optional(),
  error_count: z.int().optional(),
});

/** The model summary in `/ready`. */
export const ModelSummarySchema: z.ZodType<ModelSummary> = z.object({
  version: z.string(),
  type: z.enum(["baseline_logreg", "candidate_hgb"]),
  trained_at: z.string(),
});

/** The answer of `GET /live`. */
export const LiveSchema: z.ZodType<{ status: "live" }> = z.object({ status: z.literal("live") });

/** The answer of `GET /ready` and `GET /health` when a model is loaded. */
export interface ReadyDocument {
  /** Always `ready`. */
  status: "ready";
  /** The served model. */
  model: ModelSummary;
  /** Why the last reload failed, while the model above is still served. */
  reload_error?: string;
}

/** The answer of `GET /ready` and `GET /health` when a model is loaded. */
export const ReadySchema: z.ZodType<ReadyDocument> = z.object({
  status: z.literal("ready"),
  model: ModelSummarySchema,
  reload_error: z.string().optional().meta({
    description: "Why the last reload failed; the model above is still served.",
  }),
});

/** The answer of `POST /admin/reload`. */
export const ReloadSchema: z.ZodType<ReloadResult> = z.object({
  changed: z.boolean(),
  version: z.string().nullable(),
  previous: z.string().nullable(),
  error: z.string().optional(),
});

/** The model card as JSON (see `ModelCard` in `model_card.ts` for the meaning of each field). */
export interface ModelCardDocument {
  /** The version. */
  version: string;
  /** Model family. */
  type: string;
  /** Training time. */
  trained_at: string;
  /** Load time. */
  loaded_at: string;
  /** `scaled` or `raw`. */
  input_mode: "scaled" | "raw";
  /** Evaluation threshold. */
  threshold: number;
  /** Feature settings of training. */
  feature_settings: { windows_days: number[]; churn_window_days: number; population: string };
  /** Test-split metrics. */
  metrics: Record<string, unknown> | null;
  /** Training figures. */
  training: Record<string, unknown> | null;
  /** Every input. */
  inputs: InputFeature[];
  /** Inputs training left out. */
  left_out_inputs: { name: string; reason: string }[];
  /** Registry aliases. */
  aliases: Record<string, { version: string; set_at: string }>;
  /** The last alias moves, newest first. */
  history: Record<string, unknown>[];
}

/** The answer of `GET /model` (the production model's card). */
export const ModelCardSchema: z.ZodType<ModelCardDocument> = z.object({
  version: z.string(),
  type: z.string(),
  trained_at: z.string(),
  loaded_at: z.string(),
  input_mode: z.enum(["scaled", "raw"]),
  threshold: z.number(),
  feature_settings: z.object({
    windows_days: z.array(z.int()),
    churn_window_days: z.int(),
    population: z.string(),
  }),
  metrics: z.record(z.string(), z.unknown()).nullable().meta({
    description: "Test-split evaluation from the metrics document (null when it is missing).",
  }),
  training: z.record(z.string(), z.unknown()).nullable(),
  inputs: z.array(z.object({
    name: z.string(),
    type: z.enum(["number", "category"]),
    default: z.string(),
    mean: z.number().optional(),
    categories: z.array(z.string()).optional(),
  })),
  left_out_inputs: z.array(z.object({ name: z.string(), reason: z.string() })),
  aliases: z.record(z.string(), z.object({ version: z.string(), set_at: z.string() })),
  history: z.array(z.record(z.string(), z.unknown())).meta({ description: "The last alias moves, newest first." }),
});

/** The parts of a zod issue {@link fieldErrors} reads. */
export interface IssueLike {
  /** The issue code (`unrecognized_keys` lists keys). */
  readonly code: string;
  /** Where in the input. */
  readonly path: readonly PropertyKey[];
  /** What is wrong. */
  readonly message: string;
  /** The unknown keys of an `unrecognized_keys` issue. */
  readonly keys?: readonly string[];
}

/**
 * Turns zod issues into field errors with JSON pointers: one per bad field, an
 * unknown key named by its own pointer. At most `limit` are returned; `count`
 * is the total.
 */
export function fieldErrors(
  issues: readonly IssueLike[],
  limit: number = MAX_FIELD_ERRORS,
): { errors: FieldError[]; count: number } {
  const errors: FieldError[] = [];
  let count = 0;
  const add = (path: readonly PropertyKey[], detail: string) => {
    count++;
    if (errors.length < limit) errors.push({ pointer: jsonPointer(path), detail });
  };
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys" && issue.keys) {
      for (const k of issue.keys) add([...issue.path, k], "is not a known field");
    } else add(issue.path, issue.message);
  }
  return { errors, count };
}
