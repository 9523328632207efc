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

/** One label set of a {@link LightHistogram}. */
interface HistogramSeries {
  /** The label values. */
  readonly labels: Record<string, string>;
  /** Observations per bucket (not cumulative), by upper bound. */
  readonly buckets: Float64Array;
  /** Sum of the observations. */
  sum: number;
  /** Number of observations. */
  count: number;
}

/** A sample as prom-client's registry formats it. */
interface ExportedValue {
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  value: number;
  metricName: string;
  exemplar?: null;
}

/**
 * A histogram that observes into typed arrays and exports exactly what
 * prom-client's `Histogram` (without exemplars) exports for the same
 * observations: the same series order, buckets, sums and counts, so the
 * Prometheus text is unchanged. Registered on a prom-client `Registry`.
 */
export class LightHistogram {
  /** The metric name. */
  readonly name: string;
  /** The help text. */
  readonly help: string;
  /** Always `histogram`. */
  readonly type = "histogram";
  /** How values of several registries combine (as prom-client's histograms). */
  readonly aggregator = "sum";
  readonly #bounds: Float64Array;
  readonly #labelNames: readonly string[];
  /** The series exported, in the order of their first observation. */
  #series: HistogramSeries[] = [];
  /** Every series handed out by {@link series}. */
  readonly #known: HistogramSeries[] = [];

  /** Creates the histogram and registers it on `registry`. */
  constructor(
    registry: Registry,
    config: { name: string; help: string; buckets: readonly number[]; labelNames?: readonly string[] },
  ) {
    this.name = config.name;
    this.help = config.help;
    this.#bounds = Float64Array.from(config.buckets);
    for (let i = 1; i < this.#bounds.length; i++) {
      if (!(this.#bounds[i] > this.#bounds[i - 1])) throw new RangeError(`Buckets of ${config.name} must increase`);
    }
    this.#labelNames = config.labelNames ?? [];
    if (this.#labelNames.length === 0) this.#series.push(this.series({})); // exported from the start, as prom-client
    registry.registerMetric(this as unknown as Histogram);
  }

  #create(labels: Record<string, string>): HistogramSeries {
    return { labels, buckets: new Float64Array(this.#bounds.length), sum: 0, count: 0 };
  }

  /** Returns the series of `labels` (values for every label name), creating it on first use. Keep it to observe into. */
  series(labels: Record<string, string>): HistogramSeries {
    for (const s of this.#known) {
      if (this.#labelNames.every((n) => s.labels[n] === labels[n])) return s;
    }
    const s = this.#create(Object.fromEntries(this.#labelNames.map((n) => [n, labels[n]])));
    this.#known.push(s);
    return s;
  }

  /**
   * Observes `value` in `series` (from {@link series}).
   *
   * @throws {TypeError} when the value is not a finite number (as prom-client).
   */
  observe(series: HistogramSeries, value: number): void {
    if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
    // A series is exported from its first observation on (prom-client's order: first observed first).
    if (series.count === 0 && !this.#series.includes(series)) this.#series.push(series);
    const bounds = this.#bounds;
    for (let b = 0; b < bounds.length; b++) {
      if (value <= bounds[b]) {
        series.buckets[b]++;
        break;
      }
    }
    series.sum += value;
    series.count++;
  }

  /** The values as prom-client's `Histogram.getForPromString()` gives them (the registry formats these). */
  getForPromString(): Promise<
    { name: string; help: string; type: string; values: ExportedValue[]; aggregator: string }
  > {
    const values: ExportedValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.#series) {
      let acc = 0;
      for (let b = 0; b < this.#bounds.length; b++) {
        acc += s.buckets[b];
        values.push({
          labels: { le: this.#bounds[b] },
          sharedLabels: s.labels,
          value: acc,
          metricName: bucket,
          exemplar: null,
        });
      }
      values.push(
        { labels: { le: "+Inf" }, sharedLabels: s.labels, value: s.count, metricName: bucket, exemplar: null },
        { labels: {}, sharedLabels: s.labels, value: s.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels: s.labels, value: s.count, metricName: `${this.name}_count` },
      );
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  /** The values with each series' labels merged in (as prom-client's `Histogram.get()`). */
  async get(): Promise<{ name: string; help: string; type: string; values: ExportedValue[]; aggregator: string }> {
    const data = await this.getForPromString();
    data.values = data.values.map(({ sharedLabels, labels, ...rest }) => ({
      ...rest,
      labels: { ...labels, ...sharedLabels },
    }));
    return data;
  }

  /** Forgets every observation (series observed again reappear, as with prom-client). */
  reset(): void {
    for (const s of this.#series) {
      s.buckets.fill(0);
      s.sum = 0;
      s.count = 0;
    }
    this.#series = [];
  }
}

/** The metrics of one (method, route, status): requests not yet added to the counter, and the latency series. */
interface RequestSeries {
  readonly labels: { method: string; path: string; status: string };
  pending: number;
  readonly latency: HistogramSeries;
}

/** The service's metrics on their own registry. */
export class ServiceMetrics {
  /** The prom-client registry holding every metric of the service. */
  readonly registry: Registry;
  readonly #requests: Counter<"method" | "path" | "status">;
  readonly #latency: LightHistogram;
  readonly #predictions: Counter;
  readonly #risk: LightHistogram;
  readonly #riskSeries: HistogramSeries;
  /** Request series by method, then route, then status. */
  readonly #bySeries = new Map<string, Map<string, Map<number, RequestSeries>>>();
  readonly #requestSeries: RequestSeries[] = [];
  readonly #reloads: Counter<"outcome">;
  #sources: MetricSources = { model: () => null, drift: () => Promise.resolve(null) };

  /** Creates the metrics on `registry` (default: a new one). */
  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    const pendingRequests = this.#requestSeries;
    this.#requests = new Counter({
      name: "churn_api_requests_total",
      help: "HTTP requests by method, route pattern and status code.",
      labelNames: ["method", "path", "status"] as const,
      registers,
      collect() {
        // Requests are counted per series as they come and added here, at scrape time.
        for (const s of pendingRequests) {
          if (s.pending === 0) continue;
          this.inc(s.labels, s.pending);
          s.pending = 0;
        }
      },
    });
    this.#latency = new LightHistogram(registry, {
      name: "churn_api_request_latency_seconds",
      help: "HTTP request latency in seconds by method and route pattern.",
      labelNames: ["method", "path"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    });
    this.#predictions = new Counter({
      name: "churn_api_predictions_total",
      help: "Predictions served (one per instance of a batch).",
      registers,
    });
    this.#risk = new LightHistogram(registry, {
      name: "churn_prediction_risk",
      help: "Churn risks served.",
      buckets: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95],
    });
    this.#riskSeries = this.#risk.series({});
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
    let byPath = this.#bySeries.get(method);
    if (byPath === undefined) this.#bySeries.set(method, byPath = new Map());
    let byStatus = byPath.get(request.path);
    if (byStatus === undefined) byPath.set(request.path, byStatus = new Map());
    let s = byStatus.get(request.status);
    if (s === undefined) {
      s = {
        labels: { method, path: request.path, status: String(request.status) },
        pending: 0,
        latency: this.#latency.series({ method, path: request.path }),
      };
      byStatus.set(request.status, s);
      this.#requestSeries.push(s);
    }
    this.#latency.observe(s.latency, seconds);
    s.pending++;
  }

  /** Counts served predictions and observes their risks. */
  observePredictions(risks: ArrayLike<number>): void {
    this.#predictions.inc(risks.length);
    for (let i = 0; i < risks.length; i++) this.#risk.observe(this.#riskSeries, risks[i]);
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
