/**
 * HTTP benchmark of the prediction service: starts it in this process on a
 * loopback port with the configured store's production model, drives it with
 * `wrk` (a Lua script POSTing a realistic single prediction, at 16 and 64
 * connections, then 1,000-row batches), and reads the server-side time of a
 * 1,000-row batch from the `Server-Timing` header of sequential requests.
 *
 * `deno run -A tasks/bench_http.ts [--duration 10] [--json FILE]`. Needs
 * `wrk` on the PATH (`apt-get install -y wrk`) and a production model
 * (`deno task pipeline`). Request log lines are formatted as in production but
 * discarded, so the figures include logging's CPU cost but not a terminal's.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Config, loadConfig } from "../config/mod.ts";
import { createLogger, type LoadedModel } from "../routes/mod.ts";
import { createService, startServer } from "./serve.ts";

/** One `wrk` run. */
export interface WrkResult {
  /** What was sent. */
  label: string;
  /** Concurrent connections. */
  connections: number;
  /** Seconds of load. */
  duration_s: number;
  /** Completed requests. */
  requests: number;
  /** Requests per second. */
  requests_per_s: number;
  /** Median latency in milliseconds. */
  p50_ms: number;
  /** 90th percentile latency in milliseconds. */
  p90_ms: number;
  /** 99th percentile latency in milliseconds. */
  p99_ms: number;
  /** Non-2xx answers plus socket errors. */
  errors: number;
}

/** Server-side time of batch requests, in milliseconds, from `Server-Timing`. */
export interface BatchServerTime {
  /** Rows per batch. */
  rows: number;
  /** Bytes per request body. */
  body_bytes: number;
  /** Requests measured. */
  samples: number;
  /** Median total handler time. */
  median_ms: number;
  /** 90th percentile. */
  p90_ms: number;
  /** Fastest. */
  min_ms: number;
  /** Median per phase (`read`, `validate`, `score`, `serialize`). */
  phases_median_ms: Record<string, number>;
}

/** What {@link benchHttp} measured. */
export interface BenchHttpReport {
  /** The model served. */
  model: { version: string; type: string; inputs: number };
  /** Machine facts, for reading the figures. */
  machine: { cpus: number; loadavg_before: number[]; note: string };
  /** `server.max_body_bytes` in force (raised for the batch when the config's is too small). */
  max_body_bytes: number;
  /** Single predictions, one run per connection count. */
  single: WrkResult[];
  /** 1,000-row batches under load. */
  batch: WrkResult;
  /** Server time of a batch, sequential requests. */
  batch_server_time: BatchServerTime;
  /** The targets and whether they were met. */
  targets: {
    single_rps_at_64: { target: number; measured: number; met: boolean };
    single_p99_ms_at_64: { target: number; measured: number; met: boolean };
    batch_server_ms: { target: number; measured: number; met: boolean };
  };
}

/** Options of {@link benchHttp}. */
export interface BenchHttpOptions {
  /** Configuration (default `loadConfig()`); its store must hold a production model. */
  config?: Config;
  /** Seconds per `wrk` run (default 10, at most 60). */
  durationSeconds?: number;
  /** Connection counts for single predictions (default 16 and 64). */
  connections?: number[];
  /** `wrk` threads (default 2). */
  threads?: number;
  /** Rows per batch (default 1000). */
  batchRows?: number;
  /** Connections for the batch run (default 4). */
  batchConnections?: number;
  /** Sequential batch requests timed for the server time (default 50). */
  batchSamples?: number;
  /** The `wrk` executable (default `wrk`). */
  wrk?: string;
  /** Progress lines. */
  log?: (message: string) => void;
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Builds realistic instances for a model: every input, values around the training means. */
export function sampleInstances(
  model: LoadedModel,
  options: { count: number; seed?: number },
): Record<string, unknown>[] {
  const rand = seeded(options.seed ?? 1);
  return Array.from({ length: options.count }, (_, i) => {
    const features: Record<string, number | string> = {};
    for (const f of model.inputs) {
      if (f.type === "number") {
        const v = Math.max(0, (f.mean ?? 0) * (0.25 + 1.5 * rand()));
        features[f.name] = Number.isInteger(f.mean) || v > 10 ? Math.round(v) : Math.round(v * 100) / 100;
      } else {
        const cats = (f.categories ?? []).filter((c) => c !== "missing");
        features[f.name] = cats.length ? cats[Math.floor(rand() * cats.length)] : "missing";
      }
    }
    return { user_id: 100000 + i, snapshot_date: "2026-04-30", features };
  });
}

function toMs(value: string, unit: string): number {
  const v = Number(value);
  return unit === "us" ? v / 1000 : unit === "s" ? v * 1000 : unit === "m" ? v * 60000 : v;
}

/**
 * Parses `wrk --latency` output.
 *
 * @throws {Error} when the output has no Requests/sec line.
 */
export function parseWrk(output: string): Omit<WrkResult, "label" | "connections" | "duration_s"> {
  const rps = output.match(/Requests\/sec:\s+([\d.]+)/);
  if (!rps) throw new Error(`Cannot read wrk's output:\n${output}`);
  const pct = (p: number) => {
    const m = output.match(new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m"));
    return m ? toMs(m[1], m[2]) : NaN;
  };
  const requests = Number(output.match(/(\d+) requests in/)?.[1] ?? NaN);
  const non2xx = Number(output.match(/Non-2xx or 3xx responses:\s+(\d+)/)?.[1] ?? 0);
  const sock = output.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const socketErrors = sock ? sock.slice(1).reduce((s, v) => s + Number(v), 0) : 0;
  return {
    requests,
    requests_per_s: Number(rps[1]),
    p50_ms: pct(50),
    p90_ms: pct(90),
    p99_ms: pct(99),
    errors: non2xx + socketErrors,
  };
}

async function runWrk(
  options: { wrk: string; threads: number; connections: number; duration: number; script: string; url: string },
): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(options.wrk, {
    args: [
      `-t${Math.min(options.threads, options.connections)}`,
      `-c${options.connections}`,
      `-d${options.duration}s`,
      "--timeout",
      "10s",
      "--latency",
      "-s",
      options.script,
      options.url,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(stdout);
  if (code !== 0) throw new Error(`wrk exited with code ${code}: ${new TextDecoder().decode(stderr)}${out}`);
  return out;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * Runs the benchmark and returns the figures.
 *
 * @throws {Error} when `wrk` is missing or there is no production model.
 */
export async function benchHttp(options: BenchHttpOptions = {}): Promise<BenchHttpReport> {
  const log = options.log ?? (() => {});
  const base = options.config ?? loadConfig();
  const duration = Math.min(60, Math.max(1, options.durationSeconds ?? 10));
  const threads = options.threads ?? 2;
  const batchRows = options.batchRows ?? 1000;
  const wrk = options.wrk ?? "wrk";
  try {
    await new Deno.Command(wrk, { args: ["--version"], stdout: "null", stderr: "null" }).output();
  } catch {
    throw new Error(`Cannot run ${wrk}: install it (apt-get install -y wrk)`);
  }
  const loadavgBefore = Deno.loadavg();
  const logger = createLogger({ level: base.logging.level, format: base.logging.format, write: () => {} });
  // The batch body must fit: raise the limit for the run when the configured one is smaller.
  const probe = await createService(base, { logger, env: () => undefined });
  const model = probe.holder.current;
  const reason = probe.holder.reason;
  await probe.close();
  if (model === null) throw new Error(`No production model to benchmark: ${reason}`);
  const single = JSON.stringify(sampleInstances(model, { count: 1 })[0]);
  const batch = JSON.stringify({ instances: sampleInstances(model, { count: batchRows, seed: 2 }) });
  const batchBytes = new TextEncoder().encode(batch).length;
  const maxBody = Math.max(base.server.max_body_bytes, batchBytes);
  if (maxBody > base.server.max_body_bytes) {
    log(`a ${batchRows}-row batch is ${batchBytes} bytes: server.max_body_bytes raised to it for the run`);
  }
  const config: Config = {
    ...base,
    server: { ...base.server, max_body_bytes: maxBody, max_batch: Math.max(base.server.max_batch, batchRows) },
  };
  const dir = await Deno.makeTempDir({ prefix: "churn_bench_http_" });
  const server = await startServer(config, { hostname: "127.0.0.1", port: 0, logger, env: () => undefined });
  try {
    const script = async (name: string, body: string) => {
      await Deno.writeTextFile(`${dir}/${name}.json`, body);
      const path = `${dir}/${name}.lua`;
      await Deno.writeTextFile(
        path,
        [
          'wrk.method = "POST"',
          'wrk.headers["Content-Type"] = "application/json"',
          `local f = assert(io.open(${JSON.stringify(`${dir}/${name}.json`)}, "rb"))`,
          'wrk.body = f:read("*a")',
          "f:close()",
        ].join("\n") + "\n",
      );
      return path;
    };
    const singleScript = await script("single", single);
    const batchScript = await script("batch", batch);
    const url = (path: string) => `${server.url}${path}`;
    // Warm-up: compile the hot paths before measuring.
    for (let i = 0; i < 200; i++) {
      await (await fetch(url("/predict"), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: single,
      }))
        .arrayBuffer();
    }
    const singles: WrkResult[] = [];
    for (const c of options.connections ?? [16, 64]) {
      log(`wrk: single predictions, ${c} connections, ${duration} s`);
      const out = await runWrk({ wrk, threads, connections: c, duration, script: singleScript, url: url("/predict") });
      singles.push({ label: "single", connections: c, duration_s: duration, ...parseWrk(out) });
    }
    const bc = options.batchConnections ?? 4;
    log(`wrk: ${batchRows}-row batches, ${bc} connections, ${duration} s`);
    const batchOut = await runWrk({
      wrk,
      threads,
      connections: bc,
      duration,
      script: batchScript,
      url: url("/predict/batch"),
    });
    const batchRun: WrkResult = {
      label: `batch of ${batchRows}`,
      connections: bc,
      duration_s: duration,
      ...parseWrk(batchOut),
    };
    log("server time of sequential batches (Server-Timing)");
    const totals: number[] = [];
    const phases: Record<string, number[]> = {};
    const samples = options.batchSamples ?? 50;
    for (let i = 0; i < samples; i++) {
      const res = await fetch(url("/predict/batch"), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: batch,
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`A batch request answered ${res.status}`);
      for (const part of (res.headers.get("server-timing") ?? "").split(",")) {
        const m = part.trim().match(/^(\w+);dur=([\d.]+)$/);
        if (!m) continue;
        if (m[1] === "total") totals.push(Number(m[2]));
        else (phases[m[1]] ??= []).push(Number(m[2]));
      }
    }
    totals.sort((a, b) => a - b);
    const phaseMedians: Record<string, number> = {};
    for (const [k, v] of Object.entries(phases)) phaseMedians[k] = quantile(v.sort((a, b) => a - b), 0.5);
    const at64 = singles.find((s) => s.connections === 64) ?? singles[singles.length - 1];
    const batchMedian = quantile(totals, 0.5);
    return {
      model: { version: model.version, type: model.type, inputs: model.inputs.length },
      machine: {
        cpus: navigator.hardwareConcurrency,
        loadavg_before: loadavgBefore,
        note: "server and wrk share this machine's cores (and other work on it): figures are noisy",
      },
      max_body_bytes: maxBody,
      single: singles,
      batch: batchRun,
      batch_server_time: {
        rows: batchRows,
        body_bytes: batchBytes,
        samples: totals.length,
        median_ms: batchMedian,
        p90_ms: quantile(totals, 0.9),
        min_ms: totals[0],
        phases_median_ms: phaseMedians,
      },
      targets: {
        single_rps_at_64: { target: 15000, measured: at64.requests_per_s, met: at64.requests_per_s >= 15000 },
        single_p99_ms_at_64: { target: 15, measured: at64.p99_ms, met: at64.p99_ms <= 15 },
        batch_server_ms: { target: 5, measured: batchMedian, met: batchMedian < 5 },
      },
    };
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { duration: { type: "string" }, json: { type: "string" }, help: { type: "boolean" } },
  });
  if (values.help) {
    console.log("Usage: deno run -A tasks/bench_http.ts [--duration SECONDS] [--json FILE]");
    Deno.exit(0);
  }
  const report = await benchHttp({
    durationSeconds: values.duration ? Number(values.duration) : undefined,
    log: (m) => console.error(`[bench:http] ${m}`),
  });
  const f = (v: number) => v.toFixed(2);
  console.log(`model ${report.model.version} (${report.model.type}, ${report.model.inputs} inputs)`);
  console.log(`machine: ${report.machine.cpus} cpus, load ${report.machine.loadavg_before.map(f).join(" ")}`);
  for (const r of [...report.single, report.batch]) {
    console.log(
      `${r.label.padEnd(14)} c=${String(r.connections).padEnd(3)} ${f(r.requests_per_s).padStart(10)} req/s  ` +
        `p50 ${f(r.p50_ms)} ms  p99 ${f(r.p99_ms)} ms  errors ${r.errors}`,
    );
  }
  const b = report.batch_server_time;
  console.log(
    `batch server time (${b.rows} rows, ${b.body_bytes} bytes): median ${f(b.median_ms)} ms, p90 ${f(b.p90_ms)} ms; ` +
      Object.entries(b.phases_median_ms).map(([k, v]) => `${k} ${f(v)}`).join(", "),
  );
  for (const [k, t] of Object.entries(report.targets)) {
    console.log(`${t.met ? "met " : "MISS"} ${k}: ${f(t.measured)} (target ${t.target})`);
  }
  if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(report, null, 2) + "\n");
}
