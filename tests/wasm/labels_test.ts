import assert from "node:assert/strict";
import { BLOCK_ROWS, churnLabels, type LabelOutput, wasmMemoryBytes } from "../../wasm/mod.ts";
import { labelsReference, labelsTs } from "../../wasm/reference.ts";
import { assertExact, type CompareOptions, prng, randInt, randomGrid } from "./grid.ts";

function assertSameLabels(actual: LabelOutput, expected: LabelOutput, { what }: CompareOptions): void {
  assert.equal(actual.windowDays, expected.windowDays, `${what}: windowDays`);
  assert.ok(actual.futureActiveDays instanceof Int32Array && actual.trailingActive instanceof Int32Array);
  assert.ok(actual.labelled instanceof Uint8Array && actual.churnLabel instanceof Uint8Array);
  assertExact(actual.futureActiveDays, expected.futureActiveDays, { what: `${what}: futureActiveDays` });
  assertExact(actual.labelled, expected.labelled, { what: `${what}: labelled` });
  assertExact(actual.churnLabel, expected.churnLabel, { what: `${what}: churnLabel` });
  assertExact(actual.trailingActive, expected.trailingActive, { what: `${what}: trailingActive` });
}

function randomWindow(rand: () => number): number {
  const pool = [1, 2, 30, 199, 200, 250, 2 ** 31 - 1];
  return rand() < 0.4 ? pool[randInt(rand, { min: 0, max: pool.length - 1 })] : randInt(rand, { min: 1, max: 60 });
}

Deno.test("churnLabels() matches the reference on random grids", () => {
  const rand = prng(31337);
  for (let trial = 0; trial < 80; trial++) {
    // Every fifth grid spans several blocks of users.
    const users = trial % 5 === 4 ? randInt(rand, { min: 100, max: 160 }) : undefined;
    const grid = randomGrid(rand, { users, emptyUsers: trial % 3 === 0 });
    const windowDays = randomWindow(rand);
    const expected = labelsReference(grid, { windowDays });
    assertSameLabels(churnLabels(grid, { windowDays }), expected, { what: `trial ${trial} W=${windowDays}` });
  }
});

Deno.test("labelsTs() matches the reference on random grids", () => {
  const rand = prng(2718);
  for (let trial = 0; trial < 30; trial++) {
    const grid = randomGrid(rand, { emptyUsers: trial % 3 === 0 });
    const windowDays = randomWindow(rand);
    assertSameLabels(labelsTs(grid, { windowDays }), labelsReference(grid, { windowDays }), { what: `trial ${trial}` });
  }
});

Deno.test("churnLabels() computes a hand-worked two-user case", () => {
  const input = { groupStarts: Int32Array.of(0, 5, 8), active: Int32Array.of(1, 0, 0, 1, 0, 0, 0, 1) };
  const out = churnLabels(input, { windowDays: 2 });
  assert.equal(out.windowDays, 2);
  assert.deepEqual([...out.futureActiveDays], [0, 1, 1, 0, 0, 1, 1, 0]);
  assert.deepEqual([...out.labelled], [1, 1, 1, 0, 0, 1, 0, 0]);
  assert.deepEqual([...out.churnLabel], [1, 0, 0, 1, 1, 0, 0, 1]);
  assert.deepEqual([...out.trailingActive], [1, 1, 0, 1, 1, 0, 0, 1]);
  const floats = churnLabels({ ...input, active: Float64Array.from(input.active) }, { windowDays: 2 });
  assertSameLabels(floats, out, { what: "Float64Array activity" });
});

Deno.test("churnLabels() gives right answers on a big input after a small one (memory growth)", () => {
  const rand = prng(12);
  const small = randomGrid(rand, { users: 2 });
  assertSameLabels(churnLabels(small, { windowDays: 30 }), labelsReference(small, { windowDays: 30 }), {
    what: "small",
  });
  const before = wasmMemoryBytes();
  // Memory is laid out per block of users: a user longer than a block makes it grow.
  const big = randomGrid(rand, { users: 8000, minDays: 100, maxDays: 200, longUser: 20 * BLOCK_ROWS + 3 });
  assertSameLabels(churnLabels(big, { windowDays: 30 }), labelsTs(big, { windowDays: 30 }), { what: "big" });
  assert.ok(wasmMemoryBytes() > before, `memory grew from ${before} to ${wasmMemoryBytes()}`);
  assertSameLabels(churnLabels(small, { windowDays: 7 }), labelsReference(small, { windowDays: 7 }), {
    what: "small again",
  });
});

Deno.test("churnLabels() refills the arrays passed back as out", () => {
  const rand = prng(3);
  const a = randomGrid(rand, { users: 20, minDays: 40, maxDays: 50 });
  const b = randomGrid(rand, { users: 5, minDays: 40, maxDays: 50 });
  const first = churnLabels(a, { windowDays: 30 });
  const second = churnLabels(b, { windowDays: 30, out: first });
  assert.equal(second.churnLabel.buffer, first.churnLabel.buffer);
  assert.equal(second.futureActiveDays.buffer, first.futureActiveDays.buffer);
  assertSameLabels(second, labelsReference(b, { windowDays: 30 }), { what: "second" });
  const third = churnLabels(a, { windowDays: 14, out: second });
  assert.equal(third.trailingActive.buffer, first.trailingActive.buffer);
  assertSameLabels(third, labelsReference(a, { windowDays: 14 }), { what: "third" });
  const short = { ...first, labelled: new Uint8Array(3) };
  assert.throws(() => churnLabels(a, { windowDays: 14, out: short }), {
    name: "RangeError",
    message: `out.labelled has 3 elements, needs at least ${a.rows}`,
  });
});

Deno.test("churnLabels() rejects bad input with a clear error", () => {
  const input = { groupStarts: Int32Array.of(0, 5, 8), active: new Int32Array(8) };
  for (const windowDays of [0, -1, 1.5, NaN]) {
    assert.throws(() => churnLabels(input, { windowDays }), {
      name: "RangeError",
      message: `windowDays must be a positive integer, got ${windowDays}`,
    });
  }
  assert.throws(() => churnLabels({ ...input, groupStarts: Int32Array.of(0, 5, 9) }, { windowDays: 3 }), {
    name: "RangeError",
    message: "groupStarts must end at the number of rows 8, got 9",
  });
  assert.throws(() => churnLabels({ ...input, active: [0, 1] as unknown as Int32Array }, { windowDays: 3 }), {
    name: "TypeError",
    message: "active must be an Int32Array or a Float64Array",
  });
});
