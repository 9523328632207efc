/**
 * The typed loader of the WebAssembly numeric core (`core.wasm`, built from `assembly/core.ts` by
 * `build.ts`): the only way the rest of the code reaches the kernels.
 *
 * This module owns the core's linear memory. The core is built with `--runtime stub` and never
 * allocates: each call lays its regions out from the core's heap base (an arena reset at every
 * call) for one block of whole users (`BLOCK_ROWS` rows, more only for a longer user), grows the
 * memory when the layout does not fit (with headroom), rebuilds its typed-array views whenever
 * growth has detached them, then streams the input through it block by block: every input value
 * is copied in once, every kernel runs on the block while it is in cache, and every output value
 * is copied out once, straight into its place in ordinary typed arrays (the caller's own when it
 * passes them, or a previous result, as `out`). The arena stays a few MiB whatever the call's size.
 *
 * @module
 */

import { WasmArena } from "./arena.ts";
import * as core from "./core.wasm";
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

export type {
  CountArray,
  CountWidth,
  LabelInput,
  LabelOptions,
  LabelOutput,
  NumericColumn,
  RollingInput,
  RollingOptions,
  RollingOutput,
  RollingWidths,
  SumColumn,
} from "./shapes.ts";

const arena = new WasmArena(core.memory, core.heap_base());

/** Current size of the core's linear memory in bytes (grows, never shrinks). */
export function wasmMemoryBytes(): number {
  return arena.bytes;
}

/** An Int32 prefix region of `rows + 1` slots, or a double-double Float64 one. */
type Region = { kind: "i32"; p: number } | { kind: "f64"; hi: number; lo: number };

const ACCEPT_F64 = [Float64Array] as const;

/**
 * Rows per block: the loader streams each call through Wasm memory in blocks of whole users of
 * about this many rows, so that a block's regions (about 90 bytes a row) stay in the L2 cache
 * between the kernels, and the arena stays small whatever the call's size (it grows only for a
 * user whose history is longer than a block).
 */
export const BLOCK_ROWS = 8192;

/**
 * Splits users into blocks of at most `BLOCK_ROWS` whole users and rows (a longer user gets a
 * block of its own); returns each block's end user and the most rows in a block.
 */
function blocks(groupStarts: Int32Array, users: number): { ends: number[]; cap: number } {
  const ends: number[] = [];
  let first = 0, cap = 0;
  for (let u = 0; u < users; u++) {
    if (u > first && (groupStarts[u + 1] - groupStarts[first] > BLOCK_ROWS || u - first >= BLOCK_ROWS)) {
      cap = Math.max(cap, groupStarts[u] - groupStarts[first]);
      ends.push(u);
      first = u;
    }
  }
  cap = Math.max(cap, groupStarts[users] - groupStarts[first]);
  ends.push(users);
  return { ends, cap };
}

/** Writes the group starts of users [u0, u1) rebased to the block's first row. */
function writeGroups(groupStarts: Int32Array, { u0, u1, at }: { u0: number; u1: number; at: number }): void {
  const a = groupStarts[u0], o = at >>> 2;
  for (let k = 0; k <= u1 - u0; k++) arena.i32[o + k] = groupStarts[u0 + k] - a;
}

/**
 * Computes the rolling-window features of every row of the grid (see {@link RollingOutput}):
 * the trailing sums of every column in `input.columns` for every window (windows shorter at the
 * start of a user's history, as pandas `rolling(w, min_periods=1)`), the quiz mean per window,
 * the payment fail rate and the days since the last activity.
 *
 * Integer sums are exact (Int32, so a window sum must fit in an Int32); float sums come from
 * double-double prefix sums, within a few ulps of the exact window sum, and exactly 0 on windows
 * of zeros. Pass a previous result as `options.out` to refill its arrays.
 */
export function rollingFeatures(input: RollingInput, options: RollingOptions): RollingOutput {
  const { rows, users, windows, rateWindow } = checkRolling(input, options);
  const out = options.out;
  const g = input.groupStarts;
  const names = Object.keys(input.columns);

  // The output arrays, all checked before any work.
  const sums: Record<string, SumColumn[]> = {};
  for (const name of names) {
    const prev = out?.sums[name];
    sums[name] = windows.map((_, i) =>
      input.columns[name] instanceof Int32Array
        ? countOut(prev?.[i], rows, {
          width: options.widths?.sums?.[name]?.[i] ?? 32,
          float: true,
          name: `sums.${name}[${i}]`,
        })
        : outArray(prev?.[i] as Float64Array | undefined, rows, {
          type: Float64Array,
          accept: ACCEPT_F64,
          name: `sums.${name}[${i}]`,
        })
    );
  }
  const f64Out = (prev: Float64Array | undefined, name: string): Float64Array =>
    outArray(prev, rows, { type: Float64Array, accept: ACCEPT_F64, name });
  const quizMean = windows.map((_, i) => f64Out(out?.quizMean[i], `quizMean[${i}]`));
  const payFailRate = f64Out(out?.payFailRate, "payFailRate");
  const daysSinceLastActivity = countOut(out?.daysSinceLastActivity, rows, {
    width: options.widths?.daysSinceLastActivity ?? 32,
    name: "daysSinceLastActivity",
  }) as CountArray;

  // Lay out one block: group starts, one prefix region per distinct input array, the quiz
  // regions, days_since_signup and one scratch region reused by every output.
  const { ends, cap } = blocks(g, users);
  const layout = arena.layout();
  const groups = layout.take((BLOCK_ROWS + 1) * 4);
  const regions = new Map<NumericColumn, Region>();
  const i32Of = new Map<NumericColumn, number>();
  for (const name of names) {
    const column = input.columns[name];
    if (regions.has(column)) continue;
    if (column instanceof Int32Array) {
      const p = layout.take((cap + 1) * 4);
      regions.set(column, { kind: "i32", p });
      i32Of.set(column, p);
    } else {
      regions.set(column, { kind: "f64", hi: layout.take((cap + 1) * 8), lo: layout.take((cap + 1) * 8) });
    }
  }
  const extra: [NumericColumn, number][] = [];
  for (const column of [input.active, input.paySuccess, input.payFail]) {
    if (i32Of.has(column)) continue;
    const p = layout.take((cap + 1) * 4);
    i32Of.set(column, p);
    extra.push([column, p]);
  }
  const quizHi = layout.take((cap + 1) * 8);
  const quizLo = layout.take((cap + 1) * 8);
  const quizCnt = layout.take((cap + 1) * 4);
  const dss = layout.take(cap * 4);
  const scratch = layout.take(cap * 8);
  arena.reserve(layout.size);
  const sI32 = scratch >>> 2, sF64 = scratch >>> 3;
  // Windows longer than every user's history act like the whole history; clamping keeps the
  // kernels' Int32 index arithmetic in range.
  const clamped = windows.map((w) => Math.min(w, cap + 1));
  const rateW = Math.min(rateWindow, cap + 1);
  const pFail = i32Of.get(input.payFail)!, pOk = i32Of.get(input.paySuccess)!, pAct = i32Of.get(input.active)!;

  let u0 = 0;
  for (const u1 of ends) {
    const a = g[u0], b = g[u1], n = b - a, nu = u1 - u0;
    writeGroups(g, { u0, u1, at: groups });
    // Copy in once, then prefix sums.
    for (const [column, region] of regions) {
      if (region.kind === "i32") {
        arena.i32.set(column.subarray(a, b), (region.p >>> 2) + 1);
        core.prefix_i32(region.p, n);
      } else {
        arena.f64.set(column.subarray(a, b), (region.hi >>> 3) + 1);
        core.prefix_f64(region.hi, region.lo, n);
      }
    }
    for (const [column, p] of extra) {
      arena.i32.set(column.subarray(a, b), (p >>> 2) + 1);
      core.prefix_i32(p, n);
    }
    arena.f64.set(input.quiz.subarray(a, b), (quizHi >>> 3) + 1);
    core.prefix_quiz(quizHi, quizLo, quizCnt, n);
    arena.i32.set(input.daysSinceSignup.subarray(a, b), dss >>> 2);

    // Every output through the scratch region, copied out at once.
    for (const name of names) {
      const region = regions.get(input.columns[name])!;
      const dest = sums[name];
      for (let i = 0; i < clamped.length; i++) {
        if (region.kind === "i32") {
          core.window_i32(region.p, groups, nu, clamped[i], scratch);
          dest[i].set(arena.i32.subarray(sI32, sI32 + n), a);
        } else {
          core.window_f64(region.hi, region.lo, groups, nu, clamped[i], scratch);
          dest[i].set(arena.f64.subarray(sF64, sF64 + n), a);
        }
      }
    }
    for (let i = 0; i < clamped.length; i++) {
      core.window_mean(quizHi, quizLo, quizCnt, groups, nu, clamped[i], scratch);
      quizMean[i].set(arena.f64.subarray(sF64, sF64 + n), a);
    }
    core.window_rate(pFail, pOk, groups, nu, rateW, scratch);
    payFailRate.set(arena.f64.subarray(sF64, sF64 + n), a);
    core.days_since_active(pAct, dss, groups, nu, scratch);
    daysSinceLastActivity.set(arena.i32.subarray(sI32, sI32 + n), a);
    u0 = u1;
  }
  return { windows: [...windows], rateWindow, sums, quizMean, payFailRate, daysSinceLastActivity };
}

/**
 * Computes the churn labels of every row with churn window `options.windowDays` (see
 * {@link LabelOutput}). Pass a previous result as `options.out` to refill its arrays.
 */
export function churnLabels(input: LabelInput, options: LabelOptions): LabelOutput {
  const { rows, users, w } = checkLabels(input, options);
  const out = options.out;
  const g = input.groupStarts;
  const i32 = { type: Int32Array, accept: [Int32Array] } as const;
  const u8 = { type: Uint8Array, accept: [Uint8Array] } as const;
  const futureActiveDays: Int32Array = outArray(out?.futureActiveDays, rows, { ...i32, name: "futureActiveDays" });
  const labelled: Uint8Array = outArray(out?.labelled, rows, { ...u8, name: "labelled" });
  const churnLabel: Uint8Array = outArray(out?.churnLabel, rows, { ...u8, name: "churnLabel" });
  const trailingActive: Int32Array = outArray(out?.trailingActive, rows, { ...i32, name: "trailingActive" });

  const { ends, cap } = blocks(g, users);
  const layout = arena.layout();
  const groups = layout.take((BLOCK_ROWS + 1) * 4);
  const act = layout.take((cap + 1) * 4);
  const fut = layout.take(cap * 4);
  const trail = layout.take(cap * 4);
  const lab = layout.take(cap);
  const churn = layout.take(cap);
  arena.reserve(layout.size);
  const wc = Math.min(w, cap + 1);
  let u0 = 0;
  for (const u1 of ends) {
    const a = g[u0], b = g[u1], n = b - a;
    writeGroups(g, { u0, u1, at: groups });
    arena.i32.set(input.active.subarray(a, b), (act >>> 2) + 1);
    core.prefix_i32(act, n);
    core.labels(act, groups, u1 - u0, wc, fut, lab, churn, trail);
    futureActiveDays.set(arena.i32.subarray(fut >>> 2, (fut >>> 2) + n), a);
    trailingActive.set(arena.i32.subarray(trail >>> 2, (trail >>> 2) + n), a);
    labelled.set(arena.u8.subarray(lab, lab + n), a);
    churnLabel.set(arena.u8.subarray(churn, churn + n), a);
    u0 = u1;
  }
  return { windowDays: w, futureActiveDays, labelled, churnLabel, trailingActive };
}

/** Values per block of {@link int32Range}: 256 KiB of the arena. */
const RANGE_BLOCK = 1 << 16;

/**
 * The smallest and largest value of `data`, scanned four at a time by the core (copied into Wasm
 * memory a block at a time: a copy and a v128 scan cost less than a first pass of JavaScript,
 * which runs in the interpreter until it is optimized).
 *
 * @throws {TypeError} when `data` is not an Int32Array.
 * @throws {RangeError} when `data` is empty.
 */
export function int32Range(data: Int32Array): [number, number] {
  if (!(data instanceof Int32Array)) throw new TypeError("data must be an Int32Array");
  if (data.length === 0) throw new RangeError("data must not be empty: it has no smallest value");
  const block = Math.min(data.length, RANGE_BLOCK);
  const layout = arena.layout();
  const out = layout.take(8);
  const p = layout.take(block * 4);
  arena.reserve(layout.size);
  let lo = Infinity, hi = -Infinity;
  for (let a = 0; a < data.length; a += block) {
    const b = Math.min(data.length, a + block);
    arena.i32.set(data.subarray(a, b), p >>> 2);
    core.range_i32(p, b - a, out);
    lo = Math.min(lo, arena.i32[out >>> 2]);
    hi = Math.max(hi, arena.i32[(out >>> 2) + 1]);
  }
  return [lo, hi];
}
