/**
 * Plain TypeScript implementations of the Wasm kernels, same inputs and outputs as `mod.ts`:
 *
 * - `rollingReference` and `labelsReference` follow the definitions literally (every window summed
 *   row by row, every gap scanned back): the test oracles, slow on purpose.
 * - `rollingTs` and `labelsTs` are what one would write in TypeScript for speed (prefix sums, one
 *   pass per column and window): the baseline of the benchmark.
 *
 * @module
 */

import {
  checkLabels,
  checkRolling,
  type CountArray,
  countOut,
  type LabelInput,
  type LabelOptions,
  type LabelOutput,
  type NumericColumn,
  outArray,
  type RollingInput,
  type RollingOptions,
  type RollingOutput,
  type SumColumn,
} from "./shapes.ts";

/** Reads a column as Int32 values (what the kernels do with counting inputs). */
function asInt32(column: NumericColumn): Int32Array {
  return column instanceof Int32Array ? column : Int32Array.from(column);
}

/** The rolling features by their definitions: the oracle of the Wasm kernel (Int32 and Float64 arrays, ignoring `out` and `widths`). */
export function rollingReference(input: RollingInput, options: RollingOptions): RollingOutput {
  const { rows, users, windows, rateWindow } = checkRolling(input, options);
  const g = input.groupStarts;
  const sum = (x: NumericColumn, { out, w }: { out: NumericColumn; w: number }): void => {
    for (let u = 0; u < users; u++) {
      for (let r = g[u]; r < g[u + 1]; r++) {
        let s = 0;
        for (let j = Math.max(g[u], r - w + 1); j <= r; j++) if (!Number.isNaN(x[j])) s += x[j];
        out[r] = s;
      }
    }
  };
  const sums: Record<string, NumericColumn[]> = {};
  for (const [name, column] of Object.entries(input.columns)) {
    sums[name] = windows.map((w) => {
      const out = column instanceof Int32Array ? new Int32Array(rows) : new Float64Array(rows);
      sum(column, { out, w });
      return out;
    });
  }
  const quizMean = windows.map((w) => {
    const out = new Float64Array(rows);
    for (let u = 0; u < users; u++) {
      for (let r = g[u]; r < g[u + 1]; r++) {
        let s = 0, n = 0;
        for (let j = Math.max(g[u], r - w + 1); j <= r; j++) {
          if (!Number.isNaN(input.quiz[j])) {
            s += input.quiz[j];
            n++;
          }
        }
        out[r] = n === 0 ? NaN : s / n;
      }
    }
    return out;
  });
  const fail = new Int32Array(rows), ok = new Int32Array(rows);
  sum(asInt32(input.payFail), { out: fail, w: rateWindow });
  sum(asInt32(input.paySuccess), { out: ok, w: rateWindow });
  const payFailRate = new Float64Array(rows);
  for (let r = 0; r < rows; r++) payFailRate[r] = fail[r] + ok[r] === 0 ? 0 : fail[r] / (fail[r] + ok[r]);
  const active = asInt32(input.active), dss = asInt32(input.daysSinceSignup);
  const daysSinceLastActivity = new Int32Array(rows);
  for (let u = 0; u < users; u++) {
    for (let r = g[u]; r < g[u + 1]; r++) {
      let j = r;
      while (j >= g[u] && active[j] === 0) j--;
      daysSinceLastActivity[r] = j >= g[u] ? r - j : dss[r];
    }
  }
  return { windows: [...windows], rateWindow, sums, quizMean, payFailRate, daysSinceLastActivity };
}

/** The churn labels by their definitions: the oracle of the Wasm kernel. */
export function labelsReference(input: LabelInput, options: LabelOptions): LabelOutput {
  const { rows, users, w } = checkLabels(input, options);
  const g = input.groupStarts, active = asInt32(input.active);
  const futureActiveDays = new Int32Array(rows), trailingActive = new Int32Array(rows);
  const labelled = new Uint8Array(rows), churnLabel = new Uint8Array(rows);
  for (let u = 0; u < users; u++) {
    const last = g[u + 1] - 1;
    for (let r = g[u]; r <= last; r++) {
      let f = 0, t = 0;
      for (let j = r + 1; j <= Math.min(r + w, last); j++) f += active[j] === 0 ? 0 : 1;
      for (let j = Math.max(g[u], r - w + 1); j <= r; j++) t += active[j] === 0 ? 0 : 1;
      futureActiveDays[r] = f;
      trailingActive[r] = t;
      labelled[r] = r + w <= last ? 1 : 0;
      churnLabel[r] = f === 0 ? 1 : 0;
    }
  }
  return { windowDays: w, futureActiveDays, labelled, churnLabel, trailingActive };
}

/** Prefix-sum scratch of the fast implementations, kept between calls (fresh memory is slow). */
let scratch = { pi: new Int32Array(0), pi2: new Int32Array(0), hi: new Float64Array(0), lo: new Float64Array(0) };

function scratchFor(n: number): typeof scratch {
  if (scratch.pi.length < n) {
    scratch = { pi: new Int32Array(n), pi2: new Int32Array(n), hi: new Float64Array(n), lo: new Float64Array(n) };
  }
  return scratch;
}

const F64 = { type: Float64Array, accept: [Float64Array] } as const;

/** Int32 prefix sums with a leading 0 (wrapping, so differences of in-range window sums are exact). */
function prefixInt(x: NumericColumn, p: Int32Array): void {
  let s = 0;
  p[0] = 0;
  for (let i = 0; i < x.length; i++) {
    s = (s + x[i]) | 0;
    p[i + 1] = s;
  }
}

/** Double-double prefix sums with a leading 0 (NaN counted as 0); `n` gets the count of non-NaN values. */
function prefixFloat(x: Float64Array, { hi, lo, n }: { hi: Float64Array; lo: Float64Array; n?: Int32Array }): void {
  let s = 0, c = 0, k = 0;
  hi[0] = lo[0] = 0;
  if (n) n[0] = 0;
  for (let i = 0; i < x.length; i++) {
    let v = x[i];
    if (v !== v) v = 0;
    else k++;
    const t = s + v, bp = t - s;
    c += (s - (t - bp)) + (v - bp);
    s = t;
    hi[i + 1] = s;
    lo[i + 1] = c;
    if (n) n[i + 1] = k;
  }
}

/**
 * The rolling features with prefix sums in plain TypeScript (the same algorithm and accuracy as
 * the Wasm kernel): the benchmark's baseline. Accepts `options.out` like `rollingFeatures`.
 */
export function rollingTs(input: RollingInput, options: RollingOptions): RollingOutput {
  const { rows, users, windows, rateWindow } = checkRolling(input, options);
  const g = input.groupStarts, out = options.out;
  const { pi, pi2, hi, lo } = scratchFor(rows + 1);
  const windowInt = (p: Int32Array, { w, dest }: { w: number; dest: SumColumn }): void => {
    for (let u = 0; u < users; u++) {
      const gs = g[u], ge = g[u + 1], base = p[gs], head = Math.min(ge, gs + w);
      let r = gs;
      for (; r < head; r++) dest[r] = (p[r + 1] - base) | 0;
      for (; r < ge; r++) dest[r] = (p[r + 1] - p[r + 1 - w]) | 0;
    }
  };
  const windowFloat = (dest: Float64Array, { w, n }: { w: number; n?: Int32Array }): void => {
    for (let u = 0; u < users; u++) {
      const gs = g[u], ge = g[u + 1];
      for (let r = gs; r < ge; r++) {
        const a = Math.max(gs, r + 1 - w);
        const s = (hi[r + 1] - hi[a]) + (lo[r + 1] - lo[a]);
        dest[r] = n ? s / (n[r + 1] - n[a]) : s;
      }
    }
  };
  const sums: Record<string, SumColumn[]> = {};
  for (const [name, column] of Object.entries(input.columns)) {
    const prev = out?.sums[name];
    if (column instanceof Int32Array) {
      prefixInt(column, pi);
      sums[name] = windows.map((w, i) => {
        const dest = countOut(prev?.[i], rows, {
          width: options.widths?.sums?.[name]?.[i] ?? 32,
          float: true,
          name: `sums.${name}[${i}]`,
        });
        windowInt(pi, { w, dest });
        return dest;
      });
    } else {
      prefixFloat(column, { hi, lo });
      sums[name] = windows.map((w, i) => {
        const dest: Float64Array = outArray(prev?.[i] as Float64Array | undefined, rows, {
          ...F64,
          name: `sums.${name}[${i}]`,
        });
        windowFloat(dest, { w });
        return dest;
      });
    }
  }
  prefixFloat(input.quiz, { hi, lo, n: pi });
  const quizMean = windows.map((w, i) => {
    const dest: Float64Array = outArray(out?.quizMean[i], rows, { ...F64, name: `quizMean[${i}]` });
    windowFloat(dest, { w, n: pi });
    return dest;
  });
  prefixInt(input.payFail, pi);
  prefixInt(input.paySuccess, pi2);
  const payFailRate: Float64Array = outArray(out?.payFailRate, rows, { ...F64, name: "payFailRate" });
  for (let u = 0; u < users; u++) {
    const gs = g[u], ge = g[u + 1];
    for (let r = gs; r < ge; r++) {
      const a = Math.max(gs, r + 1 - rateWindow);
      const f = pi[r + 1] - pi[a], t = f + pi2[r + 1] - pi2[a];
      payFailRate[r] = t === 0 ? 0 : f / t;
    }
  }
  const active = input.active, dss = input.daysSinceSignup;
  const daysSinceLastActivity = countOut(out?.daysSinceLastActivity, rows, {
    width: options.widths?.daysSinceLastActivity ?? 32,
    name: "daysSinceLastActivity",
  }) as CountArray;
  for (let u = 0; u < users; u++) {
    let last = -1;
    for (let r = g[u]; r < g[u + 1]; r++) {
      if ((active[r] | 0) !== 0) last = r;
      daysSinceLastActivity[r] = last >= 0 ? r - last : dss[r];
    }
  }
  return { windows: [...windows], rateWindow, sums, quizMean, payFailRate, daysSinceLastActivity };
}

/** The churn labels with prefix sums in plain TypeScript: the benchmark's baseline. */
export function labelsTs(input: LabelInput, options: LabelOptions): LabelOutput {
  const { rows, users, w } = checkLabels(input, options);
  const g = input.groupStarts, out = options.out;
  const p = scratchFor(rows + 1).pi;
  prefixInt(input.active, p);
  const i32 = { type: Int32Array, accept: [Int32Array] } as const;
  const u8 = { type: Uint8Array, accept: [Uint8Array] } as const;
  const futureActiveDays: Int32Array = outArray(out?.futureActiveDays, rows, { ...i32, name: "futureActiveDays" });
  const trailingActive: Int32Array = outArray(out?.trailingActive, rows, { ...i32, name: "trailingActive" });
  const labelled: Uint8Array = outArray(out?.labelled, rows, { ...u8, name: "labelled" });
  const churnLabel: Uint8Array = outArray(out?.churnLabel, rows, { ...u8, name: "churnLabel" });
  for (let u = 0; u < users; u++) {
    const gs = g[u], last = g[u + 1] - 1;
    for (let r = gs; r <= last; r++) {
      const f = p[Math.min(r + w, last) + 1] - p[r + 1];
      futureActiveDays[r] = f;
      churnLabel[r] = f === 0 ? 1 : 0;
      labelled[r] = r + w <= last ? 1 : 0;
      trailingActive[r] = p[r + 1] - p[Math.max(gs, r + 1 - w)];
    }
  }
  return { windowDays: w, futureActiveDays, labelled, churnLabel, trailingActive };
}

/**
 * The smallest and largest value of an integer array (not empty), one value at a time: the
 * oracle of `int32Range`, and the range of short and narrow arrays (see `integerRanges`).
 */
export function intRangeReference(data: CountArray): [number, number] {
  let lo = data[0], hi = data[0];
  for (let i = 1; i < data.length; i++) {
    if (data[i] < lo) lo = data[i];
    if (data[i] > hi) hi = data[i];
  }
  return [lo, hi];
}
