import assert from "node:assert/strict";
import {
  BLOCK_ROWS,
  type CountWidth,
  rollingFeatures,
  type RollingOutput,
  type RollingWidths,
  wasmMemoryBytes,
} from "../../wasm/mod.ts";
import { rollingReference, rollingTs } from "../../wasm/reference.ts";
import {
  assertClose,
  assertExact,
  type CompareOptions,
  type Grid,
  kindOf,
  prng,
  randInt,
  randomGrid,
  randomWindows,
} from "./grid.ts";

function assertSameFeatures(actual: RollingOutput, expected: RollingOutput, { what }: CompareOptions): void {
  assert.deepEqual(actual.windows, expected.windows, `${what}: windows`);
  assert.equal(actual.rateWindow, expected.rateWindow, `${what}: rateWindow`);
  assert.deepEqual(Object.keys(actual.sums), Object.keys(expected.sums), `${what}: columns`);
  for (const [name, perWindow] of Object.entries(expected.sums)) {
    perWindow.forEach((e, i) => {
      const a = actual.sums[name][i];
      assert.equal(kindOf(a), kindOf(e), `${what}: type of ${name}[${i}]`);
      const label = `${what}: ${name} w=${expected.windows[i]}`;
      if (e instanceof Int32Array) assertExact(a, e, { what: label });
      else assertClose(a, e, { what: label });
    });
  }
  expected.quizMean.forEach((e, i) =>
    assertClose(actual.quizMean[i], e, { what: `${what}: quiz mean w=${expected.windows[i]}` })
  );
  assertClose(actual.payFailRate, expected.payFailRate, { what: `${what}: payFailRate` });
  assertExact(actual.daysSinceLastActivity, expected.daysSinceLastActivity, { what: `${what}: daysSinceLastActivity` });
}

Deno.test("rollingFeatures() matches the reference on random grids", () => {
  const rand = prng(20260101);
  for (let trial = 0; trial < 60; trial++) {
    // Every fifth grid spans several blocks of users.
    const users = trial % 5 === 4 ? randInt(rand, { min: 100, max: 160 }) : undefined;
    const grid = randomGrid(rand, { users, emptyUsers: trial % 3 === 0 });
    const windows = randomWindows(rand);
    const rateWindow = trial % 4 === 0 ? 1 + Math.floor(rand() * 40) : undefined;
    const expected = rollingReference(grid, { windows, rateWindow });
    assertSameFeatures(rollingFeatures(grid, { windows, rateWindow }), expected, { what: `trial ${trial} ${windows}` });
  }
});

Deno.test("rollingTs() matches the reference on random grids", () => {
  const rand = prng(77);
  for (let trial = 0; trial < 30; trial++) {
    const grid = randomGrid(rand, { emptyUsers: trial % 3 === 0 });
    const windows = randomWindows(rand);
    assertSameFeatures(rollingTs(grid, { windows }), rollingReference(grid, { windows }), {
      what: `trial ${trial} ${windows}`,
    });
  }
});

function smallGrid(): Grid {
  const active = Int32Array.of(1, 0, 0, 1, 0, /* B */ 0, 0, 1);
  const payOk = Int32Array.of(1, 0, 0, 1, 0, 0, 0, 0);
  const payFail = Int32Array.of(0, 0, 0, 1, 0, 0, 0, 1);
  return {
    rows: 8,
    groupStarts: Int32Array.of(0, 5, 8),
    columns: {
      active_days: active,
      events: Int32Array.of(2, 0, 0, 3, 0, 0, 0, 1),
      watch_minutes: Float64Array.of(10.5, 0, 0, 4.25, 0, 0, 0, 2),
    },
    active,
    quiz: Float64Array.of(80, NaN, NaN, 60, NaN, NaN, NaN, NaN),
    paySuccess: payOk,
    payFail,
    daysSinceSignup: Int32Array.of(3, 4, 5, 6, 7, 0, 1, 2),
  };
}

Deno.test("rollingFeatures() computes a hand-worked two-user case", () => {
  const out = rollingFeatures(smallGrid(), { windows: [2, 3] });
  assert.deepEqual(out.windows, [2, 3]);
  assert.equal(out.rateWindow, 3);
  assert.deepEqual([...out.sums.active_days[0]], [1, 1, 0, 1, 1, 0, 0, 1]);
  assert.deepEqual([...out.sums.active_days[1]], [1, 1, 1, 1, 1, 0, 0, 1]);
  assert.deepEqual([...out.sums.events[0]], [2, 2, 0, 3, 3, 0, 0, 1]);
  assert.deepEqual([...out.sums.events[1]], [2, 2, 2, 3, 3, 0, 0, 1]);
  assert.ok(out.sums.events[0] instanceof Int32Array);
  assert.ok(out.sums.watch_minutes[0] instanceof Float64Array);
  assert.deepEqual([...out.sums.watch_minutes[0]], [10.5, 10.5, 0, 4.25, 4.25, 0, 0, 2]);
  assert.deepEqual([...out.sums.watch_minutes[1]], [10.5, 10.5, 10.5, 4.25, 4.25, 0, 0, 2]);
  assert.deepEqual([...out.quizMean[0]], [80, 80, NaN, 60, 60, NaN, NaN, NaN]);
  assert.deepEqual([...out.quizMean[1]], [80, 80, 80, 60, 60, NaN, NaN, NaN]);
  assert.deepEqual([...out.payFailRate], [0, 0, 0, 0.5, 0.5, 0, 0, 1]);
  assert.deepEqual([...out.daysSinceLastActivity], [0, 1, 2, 0, 1, 0, 1, 0]);
  const rate30 = rollingFeatures(smallGrid(), { windows: [1, 30, 7] });
  assert.equal(rate30.rateWindow, 30);
  assert.deepEqual([...rate30.payFailRate], [0, 0, 0, 1 / 3, 1 / 3, 0, 0, 1]);
  assert.deepEqual([...rate30.sums.events[0]], [2, 0, 0, 3, 0, 0, 0, 1]);
});

Deno.test("rollingFeatures() gives exact zeros after large watch minutes and stays within 1e-9", () => {
  const rows = 400;
  const watch = new Float64Array(rows);
  const rand = prng(5);
  for (let r = 0; r < 300; r++) watch[r] = 1e4 * rand() + 0.1 * rand();
  watch[350] = 1e-3;
  const zeros = new Int32Array(rows);
  const grid = {
    groupStarts: Int32Array.of(0, rows),
    columns: { watch },
    active: zeros,
    quiz: new Float64Array(rows).fill(NaN),
    paySuccess: zeros,
    payFail: zeros,
    daysSinceSignup: zeros,
  };
  const windows = [7, 30, 365];
  const out = rollingFeatures(grid, { windows });
  assert.equal(out.sums.watch[0][320], 0);
  assert.equal(out.sums.watch[1][349], 0);
  assertClose([out.sums.watch[0][353]], [1e-3], { what: "small window after large ones", rel: 1e-12 });
  const expected = rollingReference(grid, { windows });
  windows.forEach((w, i) => assertClose(out.sums.watch[i], expected.sums.watch[i], { what: `watch w=${w}` }));
});

Deno.test("rollingFeatures() reads Float64Array counts and specials not listed in columns", () => {
  const rand = prng(99);
  for (let trial = 0; trial < 10; trial++) {
    const grid = randomGrid(rand);
    const windows = randomWindows(rand);
    const asF64 = {
      groupStarts: grid.groupStarts,
      columns: { events: Float64Array.from(grid.columns.events) },
      active: Float64Array.from(grid.active),
      quiz: grid.quiz,
      paySuccess: Float64Array.from(grid.paySuccess),
      payFail: Float64Array.from(grid.payFail),
      daysSinceSignup: Float64Array.from(grid.daysSinceSignup),
    };
    const expected = rollingReference(grid, { windows });
    const actual = rollingFeatures(asF64, { windows });
    windows.forEach((w, i) => {
      assert.ok(actual.sums.events[i] instanceof Float64Array);
      assertExact(actual.sums.events[i], expected.sums.events[i], { what: `events w=${w}` });
    });
    assertClose(actual.payFailRate, expected.payFailRate, { what: "payFailRate" });
    assertExact(actual.daysSinceLastActivity, expected.daysSinceLastActivity, { what: "daysSinceLastActivity" });
  }
});

Deno.test("rollingFeatures() gives right answers on a big input after a small one (memory growth)", () => {
  const rand = prng(4242);
  const small = randomGrid(rand, { users: 3 });
  const windows = [7, 14, 30];
  assertSameFeatures(rollingFeatures(small, { windows }), rollingReference(small, { windows }), { what: "small" });
  const before = wasmMemoryBytes();
  // Memory is laid out per block of users: a user longer than a block makes it grow.
  const big = randomGrid(rand, { users: 2500, minDays: 100, maxDays: 200, longUser: 4 * BLOCK_ROWS + 17 });
  assertSameFeatures(rollingFeatures(big, { windows }), rollingTs(big, { windows }), { what: "big" });
  assert.ok(wasmMemoryBytes() > before, `memory grew from ${before} to ${wasmMemoryBytes()}`);
  assertSameFeatures(rollingFeatures(small, { windows }), rollingReference(small, { windows }), {
    what: "small again",
  });
});

Deno.test("rollingFeatures() handles more users without rows than fit in a block", () => {
  const rand = prng(61);
  const inner = randomGrid(rand, { users: 30 });
  // 3 * BLOCK_ROWS users without rows around the 30 real ones.
  const empty = 3 * BLOCK_ROWS, groupStarts = new Int32Array(empty + 30 + 1);
  groupStarts.fill(0, 0, BLOCK_ROWS + 1);
  groupStarts.set(inner.groupStarts, BLOCK_ROWS);
  groupStarts.fill(inner.rows, BLOCK_ROWS + 31);
  const grid = { ...inner, groupStarts };
  const windows = [1, 7, 30];
  assertSameFeatures(rollingFeatures(grid, { windows }), rollingReference(inner, { windows }), { what: "empty users" });
});

Deno.test("rollingFeatures() refills the arrays passed back as out", () => {
  const rand = prng(8);
  const windows = [3, 30];
  const a = randomGrid(rand, { users: 20, minDays: 50, maxDays: 60 });
  const b = randomGrid(rand, { users: 10, minDays: 50, maxDays: 60 });
  const c = randomGrid(rand, { users: 30, minDays: 50, maxDays: 60 });
  const first = rollingFeatures(a, { windows });
  const second = rollingFeatures(b, { windows, out: first });
  assert.equal(second.sums.events[1].buffer, first.sums.events[1].buffer, "smaller chunk reuses the buffer");
  assert.equal(second.quizMean[0].buffer, first.quizMean[0].buffer);
  assert.equal(second.daysSinceLastActivity.length, b.rows);
  assertSameFeatures(second, rollingReference(b, { windows }), { what: "second" });
  const third = rollingFeatures(c, { windows, out: second });
  assertSameFeatures(third, rollingReference(c, { windows }), { what: "third" });
  const fourth = rollingFeatures(a, { windows, out: third });
  assert.equal(fourth.payFailRate.buffer, third.payFailRate.buffer);
  assertSameFeatures(fourth, rollingReference(a, { windows }), { what: "fourth" });
  // Caller-owned arrays are written in place, e.g. slices of a full-length feature column.
  const full = new Float64Array(a.rows + 5).fill(-1);
  const target = { ...first, sums: { ...first.sums, events: [full.subarray(5), new Int32Array(a.rows)] } };
  const fifth = rollingFeatures(a, { windows, out: target });
  assertExact(full.subarray(5), rollingReference(a, { windows }).sums.events[0], { what: "events written in place" });
  assert.equal(full[4], -1);
  assert.equal(fifth.sums.events[0].buffer, full.buffer);
  assert.throws(
    () => rollingFeatures(c, { windows, out: target }),
    (e: Error) =>
      e instanceof RangeError && /out\.sums\.events\[0\] has \d+ elements, needs at least \d+/.test(e.message),
  );
  const wrongType = { ...first, quizMean: [new Int32Array(a.rows), new Int32Array(a.rows)] };
  assert.throws(
    () => rollingFeatures(a, { windows, out: wrongType as unknown as RollingOutput }),
    (e: Error) => e instanceof TypeError && /out\.quizMean\[0\] must be one of Float64Array/.test(e.message),
  );
});

Deno.test("rollingFeatures() rejects bad input with a clear error", () => {
  const grid = smallGrid();
  const windows = [2, 3];
  const bad = (patch: Record<string, unknown>, options: Record<string, unknown> = {}) => () =>
    rollingFeatures({ ...grid, ...patch } as Grid, { windows, ...options } as { windows: number[] });
  assert.throws(bad({ groupStarts: Int32Array.of(0, 5, 7) }), {
    name: "RangeError",
    message: "groupStarts must end at the number of rows 8, got 7",
  });
  assert.throws(bad({ groupStarts: Int32Array.of(1, 5, 8) }), { name: "RangeError", message: /must start at 0/ });
  assert.throws(bad({ groupStarts: Int32Array.of(0, 6, 5, 8) }), { name: "RangeError", message: /non-decreasing/ });
  assert.throws(bad({ groupStarts: new Int32Array(0) }), { name: "RangeError", message: /users \+ 1 entries/ });
  assert.throws(bad({ groupStarts: [0, 5, 8] }), { name: "TypeError", message: "groupStarts must be an Int32Array" });
  assert.throws(bad({ quiz: new Float64Array(7) }), {
    name: "RangeError",
    message: "quiz has 7 rows, expected 8 (the length of active)",
  });
  assert.throws(bad({ quiz: new Int32Array(8) }), { name: "TypeError", message: "quiz must be a Float64Array" });
  assert.throws(bad({ columns: { events: new Int32Array(9) } }), {
    name: "RangeError",
    message: "column events has 9 rows, expected 8 (the length of active)",
  });
  assert.throws(bad({ columns: { events: [1, 2] } }), {
    name: "TypeError",
    message: "column events must be an Int32Array or a Float64Array",
  });
  assert.throws(bad({ payFail: new Int32Array(3) }), { name: "RangeError", message: /payFail has 3 rows/ });
  assert.throws(bad({ active: new Uint8Array(8) }), { name: "TypeError", message: /active must be/ });
  assert.throws(bad({}, { windows: [7, 0] }), {
    name: "RangeError",
    message: "windows[1] must be a positive integer, got 0",
  });
  assert.throws(bad({}, { windows: [-3] }), { name: "RangeError", message: /windows\[0\] must be a positive integer/ });
  assert.throws(bad({}, { windows: [2.5] }), { name: "RangeError", message: /got 2\.5/ });
  assert.throws(bad({}, { windows: [] }), { name: "RangeError", message: /windows must be a non-empty array/ });
  assert.throws(bad({}, { rateWindow: 0 }), { name: "RangeError", message: /rateWindow must be a positive integer/ });
});

Deno.test("rollingFeatures() and rollingTs() write integer outputs into the narrow arrays widths asks for", () => {
  const rand = prng(515);
  for (let trial = 0; trial < 12; trial++) {
    const grid = randomGrid(rand, { users: trial % 4 === 3 ? 120 : undefined });
    const windows = randomWindows(rand);
    const expected = rollingReference(grid, { windows });
    // Each window's sums as narrow as its values allow, cycling 8/16/32 where they allow all.
    const widthFor = (values: ArrayLike<number>, i: number): CountWidth => {
      let lo = 0, hi = 0;
      for (let r = 0; r < values.length; r++) [lo, hi] = [Math.min(lo, values[r]), Math.max(hi, values[r])];
      const fits: CountWidth[] = [32];
      if (lo >= -32768 && hi <= 32767) fits.push(16);
      if (lo >= -128 && hi <= 127) fits.push(8);
      return fits[(trial + i) % fits.length];
    };
    const sums: Record<string, CountWidth[]> = {};
    for (const [name, column] of Object.entries(grid.columns)) {
      if (column instanceof Int32Array) sums[name] = expected.sums[name].map((e, i) => widthFor(e, i));
    }
    const widths = { sums, daysSinceLastActivity: widthFor(expected.daysSinceLastActivity, 0) };
    const types: Record<CountWidth, string> = { 8: "Int8Array", 16: "Int16Array", 32: "Int32Array" };
    for (const [impl, run] of [["wasm", rollingFeatures], ["typescript", rollingTs]] as const) {
      const what = `${impl} trial ${trial} ${windows}`;
      // Twice: fresh arrays, then the first result's narrow arrays refilled.
      const first = run(grid, { windows, widths });
      for (const actual of [first, run(grid, { windows, widths, out: first })]) {
        for (const [name, list] of Object.entries(sums)) {
          list.forEach((w, i) => {
            assert.equal(kindOf(actual.sums[name][i]), types[w], `${what}: type of ${name}[${i}]`);
            assertExact(actual.sums[name][i], expected.sums[name][i], { what: `${what}: ${name}[${i}]` });
          });
        }
        assert.equal(kindOf(actual.daysSinceLastActivity), types[widths.daysSinceLastActivity], what);
        assertExact(actual.daysSinceLastActivity, expected.daysSinceLastActivity, { what: `${what}: dsla` });
        expected.quizMean.forEach((e, i) => assertClose(actual.quizMean[i], e, { what: `${what}: quiz ${i}` }));
      }
    }
  }
});

Deno.test("rollingFeatures() rejects bad widths and out arrays narrower than they ask", () => {
  const grid = smallGrid();
  const windows = [2, 3];
  const run = (widths: unknown, out?: RollingOutput) => () =>
    rollingFeatures(grid, { windows, widths: widths as RollingWidths, out });
  assert.throws(run({ sums: { events: [8, 12] } }), {
    name: "RangeError",
    message: "widths.sums.events[1] must be 8, 16 or 32, got 12",
  });
  assert.throws(run({ sums: { events: [8] } }), {
    name: "RangeError",
    message: "widths.sums.events must list one width per window (2)",
  });
  assert.throws(run({ sums: { watch_minutes: [8, 8] } }), {
    name: "TypeError",
    message: "widths.sums.watch_minutes names no Int32Array column of the input",
  });
  assert.throws(run({ daysSinceLastActivity: 64 }), {
    name: "RangeError",
    message: "widths.daysSinceLastActivity must be 8, 16 or 32, got 64",
  });
  // An Int8 array cannot take sums asked for as Int16; an Int32 one can.
  const narrow = rollingFeatures(grid, { windows, widths: { sums: { events: [8, 8] } } });
  assert.throws(run({ sums: { events: [16, 16] } }, narrow), {
    name: "TypeError",
    message: "out.sums.events[0] must be one of Int32Array, Int16Array, Float64Array",
  });
  const wide = rollingFeatures(grid, { windows });
  const refilled = rollingFeatures(grid, { windows, widths: { sums: { events: [8, 8] } }, out: wide });
  assert.equal(refilled.sums.events[0], wide.sums.events[0]);
  assert.deepEqual([...refilled.sums.events[0]], [2, 2, 0, 3, 3, 0, 0, 1]);
});
