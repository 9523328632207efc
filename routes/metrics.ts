/**
 * Prometheus metrics of the service, on its own prom-client `Registry` (never
 * the global one):
 *
 * - `churn_api_requests_total{method,path,status}`, `churn_api_request_latency_seconds{method,path}`
 *   and `churn_api_predictions_total` — the names and labels of the Python original. `path` is
 *   the route pattern (`/predict`), `unmatched` for an unknown path; `method` is one of the
 *   standard methods or `OTHER`, so label values stay few.
 * - `churn_model_info{version,type} 1` for the served model; `churn_model_loaded` 0/1.
 * - `churn_prediction_risk` — a histogram of the churn risks served.
 * - `churn_model_reloads_total{outcome}` — reloads that changed the model, or failed.
 * - From the latest drift report `${paths.reports}/data_drift_latest.json`, read through the store
 *   at each scrape when it exists: `churn_drift_status` (0 OK, 1 WARN, 2 FAIL),
 *   `churn_drift_max_psi` and `churn_drift_psi{feature}`. Fields read: `status` (`OK`|`WARN`|`FAIL`),
 *   `overall_max_psi` (number) and `psi_by_feature` (an object of feature → number, or of
 *   feature → `{psi}`, or an array of `{feature, psi}`); anything else in the document is ignored.
 *
 * @module
 */

import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Context } from "hono";
import type { LoadedModel } from "./model_holder.ts";

/** The drift figures exported as metrics. */
export interface DriftSummary {
  /** `OK`, `WARN` or `FAIL`. */
  status: "OK" | "WARN" | "FAIL";
  /** The largest PSI over the features, when given. */
  overall_max_psi: number | null;
  /** PSI per feature. */
  psi_by_feature: Map<string, number>;
}

/** Most features exported from a drift report (bounds the label values). */
export const MAX_DRIFT_FEATURES = 500;

const DRIFT_CODE = { OK: 0, WARN: 1, FAIL: 2 } as const;

/** One value of a computed metric. */
interface MetricSample {
  labels: Record<string, string>;
  value: number;
}

/**
 * Reads the fields the metrics use from a drift report document; null when it
 * is not a drift report (no valid `status`).
 */
export function parseDriftReport(doc: unknown): DriftSummary | null {
  if (typeof doc !== "object" || doc === null) return null;
  const d = doc as Record<string, unknown>;
  const status = typeof d.status === "string" ? d.status.toUpperCase() : "";
  if (status !== "OK" && status !== "WARN" && status !== "FAIL") return null;
  const psi = new Map<string, number>();
  const add = (name: unknown, value: unknown) => {
    const v = typeof value === "object" && value !== null ? (value as Record<string, unknown>).psi : value;
    if (typeof name === "string" && typeof v === "number" && Number.isFinite(v) && psi.size < MAX_DRIFT_FEATURES) {
      psi.set(name, v);
    }
  };
  const by = d.psi_by_feature;
  if (Array.isArray(by)) { for (const item of by) add((item as Record<string, unknown>)?.feature, item); }
  else if (typeof by === "object" && by !== null) { for (const [k, v] of Object.entries(by)) add(k, v); }
  const max = typeof d.overall_max_psi === "number" && Number.isFinite(d.overall_max_psi) ? d.overall_max_psi : null;
  return { status, overall_max_psi: max, psi_by_feature: psi };
}

/** Where the metrics read the served model and the drift report at scrape time. */
export interface MetricSources {
  /** The served model. */
  model: () => LoadedModel | null;
  /** The latest drift report, or null when there is none. */
  drift: () => Promise<DriftSummary | null>;
}

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** The service's metrics on their own registry. */
export class ServiceMetrics {
  /** The prom-client registry holding every metric of the service. */
  readonly registry: Registry;
  readonly #requests: Counter<"method" | "path" | "status">;
  readonly #latency: Histogram<"method" | "path">;
  readonly #predictions: Counter;
  readonly #risk: Histogram;
  readonly #reloads: Counter<"outcome">;
  #sources: MetricSources = { model: () => null, drift: () => Promise.resolve(null) };

  /** Creates the metrics on `registry` (default: a new one). */
  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.#requests = new Counter({
      name: "churn_api_requests_total",
      help: "HTTP requests by method, route pattern and status code.",
      labelNames: ["method", "path", "status"] as const,
      registers,
    });
    this.#latency = new Histogram({
      name: "churn_api_request_latency_seconds",
      help: "HTTP request latency in seconds by method and route pattern.",
      labelNames: ["method", "path"] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.#predictions = new Counter({
      name: "churn_api_predictions_total",
      help: "Predictions served (one per instance of a batch).",
      registers,
    });
    this.#risk = new Histogram({
      name: "churn_prediction_risk",
      help: "Churn risks served.",
      buckets: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95],
      registers,
    });
    this.#reloads = new Counter({
      name: "churn_model_reloads_total",
      help: "Model reloads that changed the served model (outcome=changed) or newly failed (outcome=failed).",
      labelNames: ["outcome"] as const,
      registers,
    });
    const sources = () => this.#sources;
    new Gauge({
      name: "churn_model_info",
      help: "The served model: 1 for its version and type.",
      labelNames: ["version", "type"] as const,
      registers,
      collect() {
        this.reset();
        const m = sources().model();
        if (m) this.set({ version: m.version, type: m.type }, 1);
      },
    });
    new Gauge({
      name: "churn_model_loaded",
      help: "1 when a model is loaded and predictions are served, else 0.",
      registers,
      collect() {
        this.set(sources().model() ? 1 : 0);
      },
    });
    // The drift metrics are computed at scrape time from one read of the report, shared by the three
    // (the registry asks every metric at once), and absent — not 0 — while there is no report.
    let pending: Promise<DriftSummary | null> | null = null;
    const report = () => {
      pending ??= sources().drift().catch(() => null).finally(() => pending = null);
      return pending;
    };
    const computed = (name: string, help: string, values: (r: DriftSummary) => MetricSample[]) => {
      registry.registerMetric({
        name,
        help,
        type: "gauge",
        aggregator: "sum",
        async get() {
          const r = await report();
          return { name, help, type: "gauge", aggregator: "sum", values: r === null ? [] : values(r) };
        },
        reset() {},
      } as unknown as Gauge);
    };
    computed(
      "churn_drift_status",
      "Latest data drift status: 0 OK, 1 WARN, 2 FAIL (absent before the first drift report).",
      (r) => [{ labels: {}, value: DRIFT_CODE[r.status] }],
    );
    computed(
      "churn_drift_max_psi",
      "Largest population stability index in the latest drift report.",
      (r) => r.overall_max_psi === null ? [] : [{ labels: {}, value: r.overall_max_psi }],
    );
    computed(
      "churn_drift_psi",
      "Population stability index per feature in the latest drift report.",
      (r) => [...r.psi_by_feature].map(([feature, value]) => ({ labels: { feature }, value })),
    );
  }

  /** Sets where the served model and the drift report are read at scrape time. */
  setSources(sources: MetricSources): void {
    this.#sources = sources;
  }

  /** Counts a request and observes its latency. */
  observeRequest(request: { method: string; path: string; status: number }, seconds: number): void {
    const method = METHODS.has(request.method) ? request.method : "OTHER";
    this.#requests.inc({ method, path: request.path, status: String(request.status) });
    this.#latency.observe({ method, path: request.path }, seconds);
  }

  /** Counts served predictions and observes their risks. */
  observePredictions(risks: ArrayLike<number>): void {
    this.#predictions.inc(risks.length);
    for (let i = 0; i < risks.length; i++) this.#risk.observe(risks[i]);
  }

  /** Counts a reload outcome. */
  observeReload(outcome: "changed" | "failed"): void {
    this.#reloads.inc({ outcome });
  }

  /** Returns the Prometheus text exposition of every metric. */
  async text(): Promise<string> {
    return await this.registry.metrics();
  }
}

/** Handler of `GET /metrics`: the Prometheus text exposition. */
export function metricsHandler(
  metrics: ServiceMetrics,
  options: { extra?: () => Promise<string> } = {},
): (c: Context) => Promise<Response> {
  return async (c) => {
    let body = await metrics.text();
    if (options.extra) {
      // Extra families (the scheduled jobs); a failure to read them never breaks the scrape.
      const extra = await options.extra().catch(() => "");
      if (extra) body += body.endsWith("\n") ? extra : `\n${extra}`;
    }
    return c.body(body, 200, { "Content-Type": metrics.registry.contentType });
  };
}
