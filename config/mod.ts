/**
 * Configuration: YAML defaults, an environment overlay chosen by `CHURN_ENV`
 * (`dev`, `stage`, `prod`), then the file named by `CHURN_MLOPS_CONFIG`,
 * deep-merged and validated with zod after every layer, so an error names the
 * file that introduced it and the key path.
 *
 * @module
 */

import { parse as parseYaml } from "yaml";
import { z } from "zod";

const nonEmpty = z.string().min(1);
const share = z.number().min(0).max(1);
const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "expected YYYY-MM-DD");
const cron = z.string().regex(/^\s*\S+(\s+\S+){4}\s*$/, "expected a 5-field cron expression");

/** The zod schema of the whole configuration. */
export const ConfigSchema = z.strictObject({
  app: z.strictObject({ name: nonEmpty, env: z.enum(["dev", "stage", "prod"]) }),
  paths: z.strictObject({
    raw: nonEmpty,
    processed: nonEmpty,
    features: nonEmpty,
    predictions: nonEmpty,
    models: nonEmpty,
    metrics: nonEmpty,
    registry: nonEmpty,
    reports: nonEmpty,
  }),
  generate: z.strictObject({
    n_users: z.int().min(1),
    days: z.int().min(1),
    start_date: isoDate,
    seed: z.int(),
    paid_ratio: share,
    churn_base_rate: share,
  }),
  validation: z.strictObject({
    max_amount_contamination: share,
    max_examples: z.int().min(1),
  }),
  features: z.strictObject({
    windows_days: z.array(z.int().min(1)).min(1).refine(
      (w) => new Set(w).size === w.length,
      "windows must be distinct",
    ),
  }),
  churn: z.strictObject({ window_days: z.int().min(1), population: z.enum(["active", "all"]) }),
  training: z.strictObject({
    random_state: z.int(),
    test_size: z.number().gt(0).lt(1),
    gap_days: z.int().min(0).nullable(),
    imbalance_strategy: z.enum(["balanced", "none"]),
  }),
  evaluation: z.strictObject({
    primary_metric: z.enum(["pr_auc", "roc_auc"]),
    threshold: share,
  }),
  promotion: z.strictObject({
    min_improvement: z.number().min(0),
    guardrails: z.strictObject({ min_primary_metric: share, max_brier_increase: z.number().min(0) }),
  }),
  scoring: z.strictObject({
    top_k: z.int().min(1),
    risk_bands: z.strictObject({ medium: share, high: share }).refine(
      (b) => b.medium <= b.high,
      "medium must not exceed high",
    ),
  }),
  drift: z.strictObject({
    warn_psi: z.number().min(0),
    fail_psi: z.number().min(0),
    features: z.array(nonEmpty),
  }),
  logging: z.strictObject({
    level: z.enum(["DEBUG", "INFO", "WARNING", "ERROR"]),
    format: z.enum(["json", "text"]),
  }),
  store: z.strictObject({
    backend: z.enum(["fs", "kv"]),
    kv_path: z.string().nullable(),
    fsync_derived_tables: z.boolean(),
  }),
  server: z.strictObject({
    host: nonEmpty,
    port: z.int().min(0).max(65535),
    max_batch: z.int().min(1),
    max_body_bytes: z.int().min(1),
    api_key_env: z.string().nullable(),
  }),
  schedules: z.strictObject({
    enabled: z.boolean(),
    drift: cron,
    drift_retrain: cron,
    score: cron,
    retrain: cron,
  }),
});

/** The validated configuration. */
export type Config = z.infer<typeof ConfigSchema>;

/** A configuration file that cannot be read, parsed or validated. */
export class ConfigError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** One configuration layer: where it came from and its parsed content. */
export interface ConfigLayer {
  /** File path or another label used in error messages. */
  source: string;
  /** The parsed YAML mapping. */
  data: unknown;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Deep-merges `overlay` into `base`: mappings merge key by key, everything else replaces. */
export function deepMerge(base: unknown, overlay: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(overlay)) return structuredClone(overlay);
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overlay)) {
    out[k] = k in base ? deepMerge(base[k], v) : structuredClone(v);
  }
  return out;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p) => typeof p === "number" ? `[${p}]` : String(p)).join(".").replaceAll(".[", "[");
}

/**
 * Merges the layers in order and validates after each, so that the first
 * invalid layer is named in the error.
 *
 * @throws {ConfigError} naming the layer's source and every bad key path.
 */
export function resolveConfig(layers: readonly ConfigLayer[]): Config {
  let merged: unknown = {};
  let result: Config | undefined;
  for (const layer of layers) {
    if (layer.data !== null && layer.data !== undefined && !isPlainObject(layer.data)) {
      throw new ConfigError(`Invalid config in ${layer.source}: the top level must be a mapping`);
    }
    merged = deepMerge(merged, layer.data ?? {});
    const parsed = ConfigSchema.safeParse(merged);
    if (parsed.success) {
      result = parsed.data;
      continue;
    }
    const problems = parsed.error.issues.map((issue) => {
      if (issue.code === "unrecognized_keys") {
        const base = formatPath(issue.path);
        return issue.keys.map((k) => `${base ? base + "." : ""}${k}: unknown key`).join("; ");
      }
      return `${formatPath(issue.path) || "(root)"}: ${issue.message}`;
    });
    throw new ConfigError(`Invalid config in ${layer.source}: ${problems.join("; ")}`);
  }
  if (result === undefined) throw new ConfigError("No configuration layers given");
  return result;
}

/** Where {@link loadConfig} looks and what it reads from the environment. */
export interface LoadConfigOptions {
  /** Folder with default.yaml and the overlays (default: this module's folder). */
  dir?: string | URL;
  /** Environment overlay (default: `CHURN_ENV`, else `dev`). */
  env?: string;
  /** Extra config file (default: `CHURN_MLOPS_CONFIG`). */
  file?: string | null;
  /** Extra in-memory overrides applied last (e.g. from CLI flags). */
  overrides?: unknown;
}

function readLayer(path: string | URL, label: string): ConfigLayer {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (e) {
    throw new ConfigError(`Cannot read config file ${label}: ${(e as Error).message}`);
  }
  try {
    return { source: label, data: parseYaml(text) };
  } catch (e) {
    throw new ConfigError(`Cannot parse config file ${label}: ${(e as Error).message.split("\n")[0]}`);
  }
}

function envVar(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * Loads the configuration: defaults, the `CHURN_ENV` overlay, the
 * `CHURN_MLOPS_CONFIG` file, then `overrides`.
 *
 * @throws {ConfigError} on an unreadable file, an unknown environment, an unknown key or a wrong type.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const dir = options.dir ?? new URL("./", import.meta.url);
  const at = (name: string) => typeof dir === "string" ? `${dir.replace(/\/$/, "")}/${name}` : new URL(name, dir);
  const label = (name: string) => typeof dir === "string" ? `${dir.replace(/\/$/, "")}/${name}` : `config/${name}`;
  const env = options.env ?? envVar("CHURN_ENV") ?? "dev";
  if (!["dev", "stage", "prod"].includes(env)) {
    throw new ConfigError(`Unknown CHURN_ENV "${env}": expected dev, stage or prod`);
  }
  const layers = [
    readLayer(at("default.yaml"), label("default.yaml")),
    readLayer(at(`${env}.yaml`), label(`${env}.yaml`)),
  ];
  const file = options.file === undefined ? envVar("CHURN_MLOPS_CONFIG") : options.file;
  if (file) layers.push(readLayer(file, file));
  if (options.overrides !== undefined) layers.push({ source: "command-line flags", data: options.overrides });
  return resolveConfig(layers);
}
