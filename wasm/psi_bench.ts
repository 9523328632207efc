/**
 * Benchmark of the drift check: the PSI of every model input (`compareToProfile`, the same call
 * path as `deno task drift` once the rows are in memory) for the current rows of one date at
 * 2,000 / 20,000 / 100,000 users, and a 1,000,000-row current set with 20 inputs (the target:
 * under 50 ms in the process) and with every input; the Wasm kernels against the TypeScript
 * reference on the same rows, whose counts must agree exactly.
 *
 * The rows are synthetic, with the model's mix of inputs: 35 Int32 counts, 9 Float64 columns (a
 * share of them missing, as quiz scores are) and 3 categorical columns (47 inputs); the current rows
 * are drawn slightly shifted from the training rows.
 *
 * `deno run -A wasm/psi_bench.ts [--runs 5]` prints the figures as JSON.
 *
 * @module
 */

import { buildProfile, compareToProfile, type ReferenceProfile } from "../pipeline/drift.ts";
import type { Preprocessor } from "../pipeline/preprocess.ts";
import { Random } from "../pipeline/random.ts";
import { type Column, makeTable, type Table } from "../pipeline/table.ts";
import { psiMemoryBytes } from "./psi.ts";

/** Timings of one case: the fastest of the runs, in milliseconds. */
export interface PsiBenchCase {
  /** What was measured. */
  label: string;
  /** Current rows. */
  rows: number;
  /** Inputs checked. */
  features: number;
  /** Int32 inputs among them. */
  int32_features: number;
  /** Float64 inputs among them. */
  float64_features: number;
  /** Categorical inputs among them. */
  categorical_features: number;
  /** The Wasm kernels, copies into Wasm memory included. */
  wasm_ms: number;
  /** The TypeScript reference. */
  ts_ms: number;
  /** ts_ms / wasm_ms. */
  speedup: number;
  /** Million input values per second through the Wasm path. */
  wasm_mvalues_per_s: number;
  /** Features whose PSI differs between the two (beyond 1e-12); 0 expected. */
  mismatches: number;
}

/** The benchmark's figures. */
export interface PsiBenchFigures {
  /** Runs per implementation (the fastest is reported). */
  runs: number;
  /** Training rows profiled. */
  training_rows: number;
  /** Milliseconds to build the reference profile of the 47 inputs (Wasm counts, sorts in TypeScript). */
  profile_ms: number;
  /** The cases. */
  cases: PsiBenchCase[];
  /** Size of the drift kernel's linear memory at the end, in bytes. */
  wasm_memory_bytes: number;
}

/** Options of {@link benchPsi}. */
export interface PsiBenchOptions {
  /** User counts whose one date of rows is checked (default 2,000, 20,000 and 100,000). */
  users?: number[];
  /** Rows of the large current set (default 1,000,000; 0 skips it). */
  bigRows?: number;
  /** Training rows profiled (default 200,000). */
  trainingRows?: number;
  /** Runs per implementation (default 5). */
  runs?: number;
  /** Seed (default 42). */
  seed?: number;
}

type Kind = "i32" | "f64" | "dict";

/** The synthetic inputs: 35 Int32, 9 Float64, 3 categorical, in the model's order of kinds. */
const INPUTS: { name: string; kind: Kind; mean: number }[] = [
  ...Array.from({ length: 35 }, (_, i) => ({ name: `count_${i}`, kind: "i32" as const, mean: 0.5 + (i % 12) * 2.5 })),
  ...Array.from({ length: 9 }, (_, i) => ({ name: `real_${i}`, kind: "f64" as const, mean: 20 + i * 15 })),
  ...["plan", "country", "marketing_source"].map((name) => ({ name, kind: "dict" as const, mean: 0 })),
];
const CATEGORIES: Record<string, string[]> = {
  plan: ["free", "paid"],
  country: ["AU", "CA", "IN", "SG", "UK", "US"],
  marketing_source: ["ads", "community", "organic", "referral", "youtube"],
};

/** A synthetic table of `rows` rows of the given inputs; `shift` scales the means (0 = training). */
function makeRows(rows: number, inputs: typeof INPUTS, o: { shift: number; seed: number }): Table {
  const rnd = new Random(o.seed);
  const cols: [string, Column][] = [];
  for (const f of inputs) {
    const mean = f.mean * (1 + o.shift);
    if (f.kind === "i32") {
      const data = new Int32Array(rows);
      for (let i = 0; i < rows; i++) data[i] = Math.floor(-Math.log(1 - rnd.uniform()) * mean);
      cols.push([f.name, { type: "i32", data }]);
    } else if (f.kind === "f64") {
      const data = new Float64Array(rows);
      for (let i = 0; i < rows; i++) data[i] = rnd.uniform() < 0.3 ? NaN : Math.max(0, mean + 15 * rnd.normal());
      cols.push([f.name, { type: "f64", data }]);
    } else {
      const dictionary = CATEGORIES[f.name];
      const codes = new Int32Array(rows);
      for (let i = 0; i < rows; i++) {
        const u = rnd.uniform();
        codes[i] = u < 0.01
          ? -1
          : Math.min(dictionary.length - 1, Math.floor((u * (1 + o.shift)) ** 1.2 * dictionary.length));
      }
      cols.push([f.name, { type: "dict", codes, dictionary }]);
    }
  }
  return makeTable(cols);
}

function preprocessorOf(inputs: typeof INPUTS): Preprocessor {
  return {
    numeric: inputs.filter((f) => f.kind !== "dict").map((f) => ({ name: f.name, mean: 0, scale: 1 })),
    categorical: inputs.filter((f) => f.kind === "dict").map((f) => ({ name: f.name, categories: CATEGORIES[f.name] })),
    features: [],
    dropped: [],
  };
}

function fastest(runs: number, fn: () => void): number {
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

function measure(
  label: string,
  profile: ReferenceProfile,
  table: Table,
  o: { features: typeof INPUTS; runs: number },
): PsiBenchCase {
  const names = o.features.map((f) => f.name);
  const thresholds = { warn: 0.1, fail: 0.25 };
  const run = (impl: "wasm" | "typescript") => compareToProfile(profile, table, { features: names, thresholds, impl });
  const a = run("wasm"), b = run("typescript"); // warm-up, and the agreement check
  let mismatches = 0;
  a.features.forEach((f, i) => {
    if (Math.abs(f.psi - b.features[i].psi) > 1e-12 * Math.max(1, Math.abs(f.psi))) mismatches++;
  });
  const wasm = fastest(o.runs, () => run("wasm"));
  const ts = fastest(o.runs, () => run("typescript"));
  return {
    label,
    rows: table.length,
    features: names.length,
    int32_features: o.features.filter((f) => f.kind === "i32").length,
    float64_features: o.features.filter((f) => f.kind === "f64").length,
    categorical_features: o.features.filter((f) => f.kind === "dict").length,
    wasm_ms: wasm,
    ts_ms: ts,
    speedup: ts / wasm,
    wasm_mvalues_per_s: (table.length * names.length) / wasm / 1000,
    mismatches,
  };
}

/** Runs the benchmark and returns its figures. */
export function benchPsi(options: PsiBenchOptions = {}): PsiBenchFigures {
  const runs = options.runs ?? 5, seed = options.seed ?? 42;
  const trainingRows = options.trainingRows ?? 200_000;
  const training = makeRows(trainingRows, INPUTS, { shift: 0, seed });
  const all = Int32Array.from({ length: trainingRows }, (_, i) => i);
  const t0 = performance.now();
  const profile = buildProfile(preprocessorOf(INPUTS), training, { rows: all });
  const profileMs = performance.now() - t0;
  const cases: PsiBenchCase[] = [];
  for (const users of options.users ?? [2_000, 20_000, 100_000]) {
    const current = makeRows(users, INPUTS, { shift: 0.05, seed: seed + users });
    cases.push(measure(`one date of ${users} users, every input`, profile, current, { features: INPUTS, runs }));
  }
  const big = options.bigRows ?? 1_000_000;
  if (big > 0) {
    // 20 inputs in the model's proportions of Int32 and Float64 columns (16 and 4).
    const twenty = [
      ...INPUTS.filter((f) => f.kind === "i32").slice(0, 16),
      ...INPUTS.filter((f) => f.kind === "f64").slice(0, 4),
    ];
    const current = makeRows(big, INPUTS, { shift: 0.05, seed: seed + 1 });
    cases.push(
      measure(`${big} rows, 20 numeric inputs (target < 50 ms)`, profile, current, { features: twenty, runs }),
    );
    cases.push(measure(`${big} rows, every input`, profile, current, { features: INPUTS, runs }));
  }
  return { runs, training_rows: trainingRows, profile_ms: profileMs, cases, wasm_memory_bytes: psiMemoryBytes() };
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--runs");
  const runs = i >= 0 ? Number(Deno.args[i + 1]) : 5;
  if (!Number.isInteger(runs) || runs < 1) {
    throw new RangeError(`Invalid --runs ${Deno.args[i + 1]}: expected a positive integer`);
  }
  console.log(JSON.stringify(benchPsi({ runs }), null, 2));
}
