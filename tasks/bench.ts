/**
 * `deno task bench`: times every stage at several data sizes, each step in its
 * own process so its peak RSS is its own, after a `sync` so it does not pay for
 * the previous step's writeback, and compares CSV parsers.
 *
 * Flags: `--sizes 2000,20000,100000` (users), `--days 120`, `--dir bench-data`,
 * `--keep` (keep the generated data), `--json FILE` (also write the figures),
 * `--models-max-users 20000` (largest size at which the models are compared with scikit-learn),
 * `--candidate-max-users 20000` (largest size at which the trees are trained as a step),
 * `--repeat 5` (runs of each feature step: the median is reported, with the range; half as many,
 * rounded up, above 20,000 users. At 2,000 users a run takes a fifth of a second and the machine's
 * noise is as large as the differences; at 100,000 users the same step took 4 s or 10 s depending
 * on what the disk was still doing for the steps before).
 *
 * @module
 */

import { parseArgs } from "node:util";
import Papa from "papaparse";
import { CsvParser } from "../pipeline/csv.ts";
import { benchKernels } from "../wasm/bench.ts";
import { benchModels, formatModelBench } from "./bench_models.ts";
import { READ_CHUNK, readArrowTable } from "./io.ts";

/** One measured step. */
export interface BenchRow {
  /** Users in the data set. */
  users: number;
  /** Step name. */
  step: string;
  /** Wall seconds of the whole process. */
  seconds: number;
  /** Peak resident set size in MiB. */
  peak_rss_mib: number | null;
  /** Rows processed (events for the data steps). */
  rows: number;
  /** Bytes of CSV read or written. */
  csv_bytes: number;
  /** The step's own seconds as it logged them (no Deno start-up, no module loading), when it logs them. */
  step_seconds?: number;
  /** Runs of the step when it was repeated: the figures are then medians (peak RSS: the largest). */
  runs?: number;
  /** The smallest and largest own seconds of the repeated runs. */
  step_seconds_range?: [number, number];
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

async function countLines(path: string): Promise<number> {
  const f = await Deno.open(path);
  const buf = new Uint8Array(READ_CHUNK);
  let n = 0;
  for (;;) {
    const k = await f.read(buf);
    if (k === null) break;
    for (let i = 0; i < k; i++) if (buf[i] === 10) n++;
  }
  f.close();
  return n;
}

/**
 * Writes dirty pages back (`sync`, untimed) so that a step does not pay for the writeback of
 * the files the step before it wrote, as `hyperfine --prepare sync` does; a no-op where there
 * is no `sync` command.
 */
async function settleDisk(): Promise<void> {
  try {
    await new Deno.Command("sync", { stdout: "null", stderr: "null" }).output();
  } catch {
    // no sync(1) here
  }
}

/** Runs `main.ts <args>` in a child process (after {@link settleDisk}) and returns its wall time and peak RSS. */
export async function runStep(
  args: string[],
  env: Record<string, string>,
): Promise<{ seconds: number; peak: number | null; log: string }> {
  const stats = await Deno.makeTempFile({ suffix: ".json" });
  await settleDisk();
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { ...env, CHURN_BENCH_STATS: stats },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - t0) / 1000;
  if (!out.success) {
    throw new Error(`Step "${args.join(" ")}" failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  const s = JSON.parse(await Deno.readTextFile(stats));
  await Deno.remove(stats);
  return { seconds, peak: s.peak_rss_bytes, log: new TextDecoder().decode(out.stderr) };
}

/** Parses a CSV file with our byte parser and with papaparse; returns MB/s and heap growth for each. */
export async function compareCsvParsers(path: string): Promise<Record<string, { mb_per_s: number; rows: number }>> {
  const size = await fileSize(path);
  const results: Record<string, { mb_per_s: number; rows: number }> = {};
  {
    let rows = 0, sum = 0;
    const t0 = performance.now();
    const p = new CsvParser((r) => {
      rows++;
      sum += r.number(0);
    });
    const f = await Deno.open(path);
    const buf = new Uint8Array(READ_CHUNK);
    for (;;) {
      const k = await f.read(buf);
      if (k === null) break;
      p.push(buf.subarray(0, k));
    }
    p.end();
    f.close();
    results["churn-mlops CsvParser (bytes, numbers parsed)"] = {
      mb_per_s: size / 1e6 / ((performance.now() - t0) / 1000),
      rows,
    };
    if (sum < 0) console.log(sum);
  }
  {
    let rows = 0, sum = 0;
    const t0 = performance.now();
    const f = await Deno.open(path);
    const decoder = new TextDecoder();
    const buf = new Uint8Array(READ_CHUNK);
    let carry = "";
    // papaparse's streaming mode is Node-stream based; feed it line-complete text chunks instead.
    for (;;) {
      const k = await f.read(buf);
      if (k === null) break;
      const text = carry + decoder.decode(buf.subarray(0, k), { stream: true });
      const cut = text.lastIndexOf("\n");
      carry = text.slice(cut + 1);
      const res = Papa.parse<string[]>(text.slice(0, cut), { skipEmptyLines: true });
      for (const row of res.data) {
        rows++;
        sum += Number(row[0]);
      }
    }
    if (carry) rows += Papa.parse<string[]>(carry).data.length;
    f.close();
    results["papaparse 5.7.1 (strings, Number())"] = { mb_per_s: size / 1e6 / ((performance.now() - t0) / 1000), rows };
    if (sum < 0) console.log(sum);
  }
  return results;
}

function fmt(n: number | null, digits = 2): string {
  return n === null ? "n/a" : n.toFixed(digits);
}

/** Runs the benchmark and prints a table. */
export async function runBench(argv: string[]): Promise<BenchRow[]> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sizes: { type: "string", default: "2000,20000,100000" },
      days: { type: "string", default: "120" },
      dir: { type: "string", default: "bench-data" },
      keep: { type: "boolean", default: false },
      "models-max-users": { type: "string", default: "20000" },
      "candidate-max-users": { type: "string", default: "20000" },
      repeat: { type: "string", default: "5" },
      json: { type: "string" },
    },
  });
  const sizes = values.sizes!.split(",").map((s) => Number(s.trim()));
  const rows: BenchRow[] = [];
  for (const n of sizes) {
    const base = `${values.dir}/${n}`;
    const raw = `${base}/raw`, processed = `${base}/processed`, reports = `${base}/reports`;
    const cfg = await Deno.makeTempFile({ suffix: ".yaml" });
    await Deno.writeTextFile(
      cfg,
      `paths:\n  raw: ${raw}\n  processed: ${processed}\n  reports: ${reports}\n  features: ${base}/features\n` +
        `  predictions: ${base}/predictions\n  models: ${base}/models\n  metrics: ${base}/metrics\n` +
        `  registry: ${base}/registry\n`,
    );
    const env = { CHURN_MLOPS_CONFIG: cfg };
    const g = await runStep(["generate", "--n-users", String(n), "--days", values.days!], env);
    const eventsBytes = await fileSize(`${raw}/events.csv`);
    const csvBytes = eventsBytes + await fileSize(`${raw}/users.csv`);
    const events = (await countLines(`${raw}/events.csv`)) - 1;
    rows.push({
      users: n,
      step: "generate",
      seconds: g.seconds,
      peak_rss_mib: g.peak && g.peak / 2 ** 20,
      rows: events,
      csv_bytes: csvBytes,
    });
    const v = await runStep(["validate"], env);
    rows.push({
      users: n,
      step: "validate",
      seconds: v.seconds,
      peak_rss_mib: v.peak && v.peak / 2 ** 20,
      rows: events,
      csv_bytes: csvBytes,
    });
    const p = await runStep(["prepare"], env);
    rows.push({
      users: n,
      step: "prepare",
      seconds: p.seconds,
      peak_rss_mib: p.peak && p.peak / 2 ** 20,
      rows: events,
      csv_bytes: csvBytes,
    });
    const gridRows = JSON.parse(await Deno.readTextFile(`${processed}/prepare_summary.json`)).user_daily.rows;
    // The candidate's fit grows to minutes above 20,000 users on 2 cores: larger sizes train the baseline only.
    const candidate = n <= Number(values["candidate-max-users"]) ? ["train:candidate"] : [];
    // The feature steps log their own time ("… in 0.21 s"): the step without process start-up.
    const featureSteps = ["features", "labels", "training-set", "features:all"];
    const steps = [...featureSteps, "train", ...candidate, "promote", "score"];
    const repeat = Math.max(1, n <= 20000 ? Number(values.repeat) : Math.ceil(Number(values.repeat) / 2));
    for (const step of steps) {
      const runs = featureSteps.includes(step) ? repeat : 1;
      const seconds: number[] = [], owns: number[] = [], peaks: number[] = [];
      for (let i = 0; i < runs; i++) {
        const r = await runStep([step], env);
        seconds.push(r.seconds);
        if (r.peak !== null) peaks.push(r.peak);
        const own = featureSteps.includes(step) ? / in (\d+(?:\.\d+)?) s\s*$/m.exec(r.log) : null;
        if (own) owns.push(Number(own[1]));
      }
      rows.push({
        users: n,
        step,
        seconds: median(seconds),
        peak_rss_mib: peaks.length > 0 ? Math.max(...peaks) / 2 ** 20 : null,
        rows: gridRows,
        csv_bytes: 0,
        ...(owns.length > 0 ? { step_seconds: median(owns) } : {}),
        ...(runs > 1 ? { runs, step_seconds_range: [Math.min(...owns), Math.max(...owns)] as [number, number] } : {}),
      });
    }
    if (candidate.length > 0) {
      // The same steps in one process, as `deno task pipeline` runs them (no start-up per step).
      const inProcess = await runStep(["pipeline"], env);
      rows.push({
        users: n,
        step: "pipeline*",
        seconds: inProcess.seconds,
        peak_rss_mib: inProcess.peak && inProcess.peak / 2 ** 20,
        rows: gridRows,
        csv_bytes: 0,
      });
    }
    if (n === sizes[0]) {
      console.log(`\nCSV parser candidates on ${raw}/events.csv (${(eventsBytes / 1e6).toFixed(1)} MB):`);
      for (const [name, r] of Object.entries(await compareCsvParsers(`${raw}/events.csv`))) {
        console.log(`  ${name.padEnd(48)} ${r.mb_per_s.toFixed(0).padStart(6)} MB/s  (${r.rows} rows)`);
      }
    }
    if (n <= Number(values["models-max-users"])) {
      console.log(`\nModels at ${n} users (same split and matrices for ours and scikit-learn's):`);
      const training = await readArrowTable(`${base}/features/training_dataset.arrow`);
      console.log(formatModelBench(await benchModels(training, { gapDays: 30, typescript: n <= 20000 })).join("\n"));
    }
    await Deno.remove(cfg);
    if (!values.keep) await Deno.remove(base, { recursive: true });
    console.log(`\n${n} users × ${values.days} days: ${events} events, ${(csvBytes / 1e6).toFixed(1)} MB of CSV`);
    console.log(`  user_daily grid: ${gridRows} rows`);
    console.log("  step          wall s   rows/s        CSV MB/s   peak RSS MiB   step s (own)");
    let total = 0;
    for (const r of rows.filter((r) => r.users === n)) {
      // features:all redoes features + labels + training-set in one pass: not added to the sum.
      if (r.step !== "pipeline*" && r.step !== "features:all") total += r.seconds;
      console.log(
        `  ${r.step.padEnd(12)} ${fmt(r.seconds).padStart(7)}   ${
          (r.rows / r.seconds).toExponential(2).padStart(9)
        }   ${(r.csv_bytes / 1e6 / r.seconds).toFixed(1).padStart(8)}   ${fmt(r.peak_rss_mib, 0).padStart(8)}   ${
          r.step_seconds === undefined ? "" : fmt(r.step_seconds).padStart(8)
        }${
          r.step_seconds_range
            ? `   (median of ${r.runs}: ${fmt(r.step_seconds_range[0])}–${fmt(r.step_seconds_range[1])})`
            : ""
        }`,
      );
    }
    const own = (step: string) => rows.find((r) => r.users === n && r.step === step)?.step_seconds ?? NaN;
    console.log(
      `  features + labels + training-set, own time: ${
        fmt(own("features") + own("labels") + own("training-set"))
      } s as three tasks, ${fmt(own("features:all"))} s in one pass (features:all, what pipeline runs)`,
    );
    console.log(`  sum of steps ${fmt(total).padStart(7)} s (each step a whole process, including Deno start-up)`);
    console.log("  pipeline*: validate → score in one process, raw data already there (sizes with the candidate only)");
  }
  console.log("\nWasm kernels vs their TypeScript implementations (same data, same run, copies included):");
  for (const n of sizes) {
    const k = benchKernels(n, Number(values.days), { runs: 3, reference: n <= 20000 });
    for (const [name, f] of [["rolling", k.rolling], ["labels", k.labels]] as const) {
      console.log(
        `  ${String(n).padStart(6)} users ${name.padEnd(8)} wasm ${f.wasm_ms.toFixed(1).padStart(7)} ms   ts ${
          f.ts_ms.toFixed(1).padStart(7)
        } ms   ×${f.speedup_vs_ts.toFixed(2)}   mismatches ${f.mismatches}`,
      );
    }
  }
  if (values.json) await Deno.writeTextFile(values.json, JSON.stringify(rows, null, 2));
  return rows;
}

if (import.meta.main) {
  await runBench(Deno.args);
}
