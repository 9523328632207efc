/**
 * Random `user_daily` grids for the kernel tests, from a seeded PRNG, and comparison helpers.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { RollingInput } from "../../wasm/shapes.ts";

export { prng } from "../helpers/prng.ts";

/** The bounds of {@link randInt}. */
export interface IntRange {
  /** Smallest value. */
  min: number;
  /** Largest value. */
  max: number;
}

/** A random integer in [min, max]. */
export function randInt(rand: () => number, { min, max }: IntRange): number {
  return min + Math.floor(rand() * (max - min + 1));
}

/** A grid: the rolling input plus the named columns the pipeline would pass. */
export interface Grid extends RollingInput {
  /** Number of rows. */
  readonly rows: number;
}

/** Options of {@link randomGrid}. */
export interface GridOptions {
  /** Users (default: random 1..40). */
  users?: number;
  /** Smallest user history (default 1). */
  minDays?: number;
  /** Largest user history (default 200). */
  maxDays?: number;
  /** Allow users without rows (default false). */
  emptyUsers?: boolean;
  /** Give one user, at a random place, this many rows. */
  longUser?: number;
}

/**
 * A random grid: activity in bursts with gaps of zeros, counts on active days, fractional watch
 * minutes (large on some users), quiz scores on some active days (NaN otherwise), rare payments.
 */
export function randomGrid(rand: () => number, options: GridOptions = {}): Grid {
  const users = options.users ?? randInt(rand, { min: 1, max: 40 });
  const lengths = Array.from({ length: users }, () => {
    if (options.emptyUsers && rand() < 0.1) return 0;
    return randInt(rand, { min: options.minDays ?? 1, max: options.maxDays ?? 200 });
  });
  if (options.longUser !== undefined) lengths[randInt(rand, { min: 0, max: users - 1 })] = options.longUser;
  const rows = lengths.reduce((a, b) => a + b, 0);
  const groupStarts = new Int32Array(users + 1);
  for (let k = 0; k < users; k++) groupStarts[k + 1] = groupStarts[k] + lengths[k];
  const active = new Int32Array(rows), events = new Int32Array(rows), logins = new Int32Array(rows);
  const enroll = new Int32Array(rows), quizN = new Int32Array(rows), payOk = new Int32Array(rows);
  const payFail = new Int32Array(rows), tickets = new Int32Array(rows), dss = new Int32Array(rows);
  const watch = new Float64Array(rows), quiz = new Float64Array(rows).fill(NaN);
  for (let k = 0; k < users; k++) {
    const pActive = rand(), scale = rand() < 0.2 ? 1000 : 60, offset = randInt(rand, { min: 0, max: 30 });
    let on = rand() < pActive;
    for (let r = groupStarts[k]; r < groupStarts[k + 1]; r++) {
      if (rand() < 0.15) on = !on;
      dss[r] = offset + r - groupStarts[k];
      if (!on || rand() > 0.5 + pActive / 2) continue;
      active[r] = 1;
      logins[r] = randInt(rand, { min: 0, max: 3 });
      enroll[r] = rand() < 0.1 ? 1 : 0;
      watch[r] = rand() < 0.7 ? Math.round(rand() * scale * 1000) / 1000 + rand() * 1e-3 : 0;
      if (rand() < 0.4) {
        quizN[r] = randInt(rand, { min: 1, max: 3 });
        quiz[r] = Math.round(rand() * 10000) / 100;
      }
      payOk[r] = rand() < 0.05 ? 1 : 0;
      payFail[r] = rand() < 0.05 ? randInt(rand, { min: 1, max: 2 }) : 0;
      tickets[r] = rand() < 0.05 ? 1 : 0;
      events[r] = 1 + logins[r] + enroll[r] + quizN[r] + payOk[r] + payFail[r] + tickets[r] + (watch[r] > 0 ? 1 : 0);
    }
  }
  return {
    rows,
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

/** A random list of windows: always positive, sometimes 1, sometimes longer than any history. */
export function randomWindows(rand: () => number): number[] {
  const n = randInt(rand, { min: 1, max: 4 });
  const pool = [1, 2, 3, 7, 10, 14, 30, 60, 199, 250, 1000, 2 ** 31 - 1];
  return Array.from(
    { length: n },
    () => rand() < 0.6 ? pool[randInt(rand, { min: 0, max: pool.length - 1 })] : randInt(rand, { min: 1, max: 90 }),
  );
}

/** What a comparison names in its failure messages, and its tolerance. */
export interface CompareOptions {
  /** Names the compared values. */
  what: string;
  /** Relative tolerance of {@link assertClose} (default 1e-9). */
  rel?: number;
}

/** Asserts two arrays hold the same values exactly (NaN equal to NaN). */
export function assertExact(actual: ArrayLike<number>, expected: ArrayLike<number>, { what }: CompareOptions): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (Object.is(actual[i], expected[i]) || actual[i] === expected[i]) continue;
    assert.fail(`${what}[${i}]: got ${actual[i]}, expected ${expected[i]}`);
  }
}

/** Asserts two float arrays agree within `rel` relative error (NaN must match NaN, 0 must be exact). */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { what, rel = 1e-9 }: CompareOptions,
): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (Number.isNaN(e) && Number.isNaN(a)) continue;
      assert.fail(`${what}[${i}]: got ${a}, expected ${e}`);
    }
    if (Math.abs(a - e) <= rel * Math.max(Math.abs(a), Math.abs(e))) continue;
    assert.fail(`${what}[${i}]: got ${a}, expected ${e} (relative error ${Math.abs(a - e) / Math.abs(e)})`);
  }
}

/** The element type name of a column, for comparing output types. */
export function kindOf(column: ArrayBufferView): string {
  return column.constructor.name;
}
