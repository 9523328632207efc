/**
 * Benchmark of the Wasm kernels against the plain TypeScript implementations, end to end (input
 * copies into Wasm memory and output copies out included), on a synthetic `user_daily` grid
 * processed in chunks of whole users, each chunk's outputs written straight into full-length
 * feature columns (`out` = views of them).
 *
 * `deno run -A wasm/bench.ts [users] [days]` prints the figures as JSON.
 *
 * @module
 */

import { churnLabels, rollingFeatures } from "./mod.ts";
import { labelsReference, labelsTs, rollingReference, rollingTs } from "./reference.ts";
import type { LabelInput, LabelOutput, NumericColumn, RollingInput, RollingOutput, SumColumn } from "./shapes.ts";

/** Timings of one kernel: the fastest of the runs, in milliseconds. */
export interface KernelFigures {
  /** Wasm kernel through `mod.ts`, copies included. */
  wasm_ms: number;
  /** `rollingTs` / `labelsTs`: prefix sums in plain TypeScript. */
  ts_ms: number;
  /** `rollingReference` / `labelsReference`: the literal definitions (null when skipped). */
  reference_ms: number | null;
  /** ts_ms / wasm_ms. */
  speedup_vs_ts: number;
  /** reference_ms / wasm_ms (null when skipped). */
  speedup_vs_reference: number | null;
  /** Output values where the Wasm and TypeScript results differ (beyond 1e-9 relative); 0 expected. */
  mismatches: number;
}

/** The benchmark's figures. */
export interface BenchFigures {
  /** Users in the grid. */
  users: number;
  /** Rows per user. */
  days: number;
  /** Rows in the grid. */
  rows: number;
  /** Rows per chunk of whole users. */
  chunk_rows: number;
  /** Feature windows. */
  windows: number[];
  /** Churn window. */
  churn_window: number;
  /** Runs per implementation (the fastest is reported). */
  runs: number;
  /** Rolling features. */
  rolling: KernelFigures;
  /** Churn labels. */
  labels: KernelFigures;
}

/** Options of {@link benchKernels}. */
export interface BenchOptions {
  /** Rows per chunk of whole users (default 1,000,000). */
  chunkRows?: number;
  /** Feature windows (default [7, 14, 30]). */
  windows?: number[];
  /** Churn window (default 30). */
  churnWindow?: number;
  /** Runs per implementation (default 3). */
  runs?: number;
  /** Also time the literal reference implementations, once (default true). */
  reference?: boolean;
}

/** A synthetic grid of `users` × `days` rows with plausible activity (seeded, deterministic). */
export function syntheticGrid(users: number, days: number): RollingInput {
  const rows = users * days;
  let seed = 0x9e3779b9;
  const rand = (): number => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  const groupStarts = new Int32Array(users + 1);
  const int = () => new Int32Array(rows);
  const active = int(), events = int(), logins = int(), enroll = int(), quizN = int();
  const payOk = int(), payFail = int(), tickets = int(), dss = int();
  const watch = new Float64Array(rows), quiz = new Float64Array(rows).fill(NaN);
  for (let u = 0; u < users; u++) {
    groupStarts[u + 1] = (u + 1) * days;
    const engagement = rand(), churnDay = rand() < 0.4 ? Math.floor(rand() * days) : days, offset = u % 30;
    for (let d = 0; d < days; d++) {
      const r = u * days + d;
      dss[r] = offset + d;
      if (d >= churnDay || rand() > 0.15 + 0.8 * engagement) continue;
      active[r] = 1;
      logins[r] = 1 + (rand() < 0.5 ? 1 : 0);
      watch[r] = rand() < 0.8 ? 2 + 60 * rand() * (1 + engagement) : 0;
      if (rand() < 0.3) {
        quizN[r] = 1;
        quiz[r] = 50 + 40 * rand();
      }
      enroll[r] = rand() < 0.05 ? 1 : 0;
      payOk[r] = rand() < 0.03 ? 1 : 0;
      payFail[r] = rand() < 0.01 ? 1 : 0;
      tickets[r] = rand() < 0.02 ? 1 : 0;
      events[r] = logins[r] + (watch[r] > 0 ? 1 : 0) + quizN[r] + enroll[r] + payOk[r] + payFail[r] + tickets[r];
    }
  }
  return {
    groupStarts,
    columns: {
      active_days: active,
      events,
      logins,
      enroll,
      watch_minutes: watch,
      quiz_attempts: quizN,
      payment_success: payOk,
      payment_failed: payFail,
      support_ticket: tickets,
    },
    active,
    quiz,
    paySuccess: payOk,
    payFail,
    daysSinceSignup: dss,
  };
}

/** Row ranges of chunks of whole users, about `chunkRows` rows each. */
function chunkRanges(groupStarts: Int32Array, chunkRows: number): [number, number][] {
  const users = groupStarts.length - 1, ranges: [number, number][] = [];
  let first = 0;
  for (let u = 1; u <= users; u++) {
    if (u === users || groupStarts[u + 1] - groupStarts[first] > chunkRows) {
      ranges.push([first, u]);
      first = u;
    }
  }
  return ranges;
}

/** The chunk of users [u0, u1) as an input of views (no copy), group starts rebased. */
function chunkOf(grid: RollingInput, { u0, u1 }: { u0: number; u1: number }): RollingInput {
  const a = grid.groupStarts[u0], b = grid.groupStarts[u1];
  const groupStarts = grid.groupStarts.slice(u0, u1 + 1).map((x) => x - a);
  const cut = <T extends NumericColumn>(c: T): T => c.subarray(a, b) as T;
  const columns: Record<string, NumericColumn> = {};
  for (const [name, c] of Object.entries(grid.columns)) columns[name] = cut(c);
  return {
    groupStarts,
    columns,
    active: columns.active_days ?? cut(grid.active),
    quiz: cut(grid.quiz),
    paySuccess: columns.payment_success ?? cut(grid.paySuccess),
    payFail: columns.payment_failed ?? cut(grid.payFail),
    daysSinceSignup: cut(grid.daysSinceSignup),
  };
}

/** Full-length output columns for the whole grid, pre-faulted. */
function rollingColumns(
  grid: RollingInput,
  { windows, rateWindow, rows }: { windows: number[]; rateWindow: number; rows: number },
): RollingOutput {
  const sums: Record<string, NumericColumn[]> = {};
  for (const [name, c] of Object.entries(grid.columns)) {
    sums[name] = windows.map(() => (c instanceof Int32Array ? new Int32Array(rows) : new Float64Array(rows)).fill(1));
  }
  return {
    windows,
    rateWindow,
    sums,
    quizMean: windows.map(() => new Float64Array(rows).fill(1)),
    payFailRate: new Float64Array(rows).fill(1),
    daysSinceLastActivity: new Int32Array(rows).fill(1),
  };
}

/** Views of rows [a, b) of every output column. */
function sliceRolling(out: RollingOutput, { a, b }: { a: number; b: number }): RollingOutput {
  const sums: Record<string, SumColumn[]> = {};
  for (const [name, list] of Object.entries(out.sums)) sums[name] = list.map((c) => c.subarray(a, b));
  return {
    windows: out.windows,
    rateWindow: out.rateWindow,
    sums,
    quizMean: out.quizMean.map((c) => c.subarray(a, b)),
    payFailRate: out.payFailRate.subarray(a, b),
    daysSinceLastActivity: out.daysSinceLastActivity.subarray(a, b),
  };
}

function allArrays(out: RollingOutput | LabelOutput): ArrayLike<number>[] {
  if ("sums" in out) {
    return [...Object.values(out.sums).flat(), ...out.quizMean, out.payFailRate, out.daysSinceLastActivity];
  }
  return [out.futureActiveDays, out.labelled, out.churnLabel, out.trailingActive];
}

function countMismatches(a: RollingOutput | LabelOutput, b: RollingOutput | LabelOutput): number {
  const xs = allArrays(a), ys = allArrays(b);
  let bad = 0;
  xs.forEach((x, k) => {
    const y = ys[k];
    for (let i = 0; i < x.length; i++) {
      const p = x[i], q = y[i];
      if (p === q || (p !== p && q !== q)) continue;
      if (Math.abs(p - q) > 1e-9 * Math.max(Math.abs(p), Math.abs(q))) bad++;
    }
  });
  return bad;
}

function fastest(runs: number, fn: () => void): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return Math.round(best * 10) / 10;
}

function ratio(slow: number | null, fast: number): number | null {
  return slow === null ? null : Math.round((slow / fast) * 100) / 100;
}

/**
 * Times the rolling-feature and label kernels (Wasm, fast TypeScript, literal reference) on a
 * synthetic grid of `users` × `days` rows and checks that the Wasm and TypeScript outputs agree.
 */
export function benchKernels(users: number, days: number, options: BenchOptions = {}): BenchFigures {
  const windows = options.windows ?? [7, 14, 30];
  const churnWindow = options.churnWindow ?? 30;
  const runs = options.runs ?? 3;
  const chunkRows = options.chunkRows ?? 1_000_000;
  const grid = syntheticGrid(users, days);
  const rows = users * days;
  const rateWindow = windows.includes(30) ? 30 : Math.max(...windows);
  const chunks = chunkRanges(grid.groupStarts, chunkRows).map(([u0, u1]) => ({
    a: grid.groupStarts[u0],
    b: grid.groupStarts[u1],
    input: chunkOf(grid, { u0: u0, u1: u1 }),
  }));

  const wasmOut = rollingColumns(grid, { windows, rateWindow, rows });
  const tsOut = rollingColumns(grid, { windows, rateWindow, rows });
  const rollingWasm = fastest(runs, () => {
    for (const c of chunks) rollingFeatures(c.input, { windows, out: sliceRolling(wasmOut, { a: c.a, b: c.b }) });
  });
  const rollingTsMs = fastest(runs, () => {
    for (const c of chunks) rollingTs(c.input, { windows, out: sliceRolling(tsOut, { a: c.a, b: c.b }) });
  });
  const rollingMismatches = countMismatches(wasmOut, tsOut);
  const rollingRef = options.reference === false ? null : fastest(1, () => {
    for (const c of chunks) rollingReference(c.input, { windows });
  });

  const labelOut = (): LabelOutput => ({
    windowDays: churnWindow,
    futureActiveDays: new Int32Array(rows).fill(1),
    labelled: new Uint8Array(rows).fill(1),
    churnLabel: new Uint8Array(rows).fill(1),
    trailingActive: new Int32Array(rows).fill(1),
  });
  const sliceLabels = (o: LabelOutput, { a, b }: { a: number; b: number }): LabelOutput => ({
    windowDays: o.windowDays,
    futureActiveDays: o.futureActiveDays.subarray(a, b),
    labelled: o.labelled.subarray(a, b),
    churnLabel: o.churnLabel.subarray(a, b),
    trailingActive: o.trailingActive.subarray(a, b),
  });
  const labelInputs: { a: number; b: number; input: LabelInput }[] = chunks.map((c) => ({
    a: c.a,
    b: c.b,
    input: { groupStarts: c.input.groupStarts, active: c.input.active },
  }));
  const wasmLabels = labelOut(), tsLabels = labelOut();
  const labelsWasm = fastest(runs, () => {
    for (const c of labelInputs) {
      churnLabels(c.input, { windowDays: churnWindow, out: sliceLabels(wasmLabels, { a: c.a, b: c.b }) });
    }
  });
  const labelsTsMs = fastest(runs, () => {
    for (const c of labelInputs) {
      labelsTs(c.input, { windowDays: churnWindow, out: sliceLabels(tsLabels, { a: c.a, b: c.b }) });
    }
  });
  const labelMismatches = countMismatches(wasmLabels, tsLabels);
  const labelsRef = options.reference === false ? null : fastest(1, () => {
    for (const c of labelInputs) labelsReference(c.input, { windowDays: churnWindow });
  });

  return {
    users,
    days,
    rows,
    chunk_rows: chunkRows,
    windows,
    churn_window: churnWindow,
    runs,
    rolling: {
      wasm_ms: rollingWasm,
      ts_ms: rollingTsMs,
      reference_ms: rollingRef,
      speedup_vs_ts: ratio(rollingTsMs, rollingWasm)!,
      speedup_vs_reference: ratio(rollingRef, rollingWasm),
      mismatches: rollingMismatches,
    },
    labels: {
      wasm_ms: labelsWasm,
      ts_ms: labelsTsMs,
      reference_ms: labelsRef,
      speedup_vs_ts: ratio(labelsTsMs, labelsWasm)!,
      speedup_vs_reference: ratio(labelsRef, labelsWasm),
      mismatches: labelMismatches,
    },
  };
}

if (import.meta.main) {
  const users = Number(Deno.args[0] ?? 100_000), days = Number(Deno.args[1] ?? 120);
  console.log(JSON.stringify(benchKernels(users, days), null, 2));
}
