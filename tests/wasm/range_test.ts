import assert from "node:assert/strict";
import { int32Range } from "../../wasm/mod.ts";
import { intRangeReference } from "../../wasm/reference.ts";
import { integerRanges, makeTable } from "../../pipeline/table.ts";
import { prng, randInt } from "./grid.ts";

Deno.test("int32Range() matches the reference on random arrays, every tail length and the Int32 extremes", () => {
  const rand = prng(2026);
  const lengths = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 255, 256, 257, 65535, 65536, 65537, 200_003];
  for (const [trial, n] of lengths.entries()) {
    const data = new Int32Array(n);
    const span = [10, 1000, 2 ** 31][trial % 3];
    for (let i = 0; i < n; i++) data[i] = Math.floor((rand() - 0.5) * span);
    // The extremes at random places, the last value included (the scalar tail).
    if (trial % 2 === 0) data[randInt(rand, { min: 0, max: n - 1 })] = -(2 ** 31);
    if (trial % 4 === 0) data[n - 1] = 2 ** 31 - 1;
    assert.deepEqual(int32Range(data), intRangeReference(data), `n = ${n}`);
  }
  // All values equal, negative, and in a view that does not start at its buffer's start.
  assert.deepEqual(int32Range(new Int32Array(1000).fill(-7)), [-7, -7]);
  const view = Int32Array.from({ length: 300 }, (_, i) => i - 150).subarray(5, 290);
  assert.deepEqual(int32Range(view), [-145, 139]);
});

Deno.test("int32Range() rejects an empty array and other array types", () => {
  assert.throws(() => int32Range(new Int32Array(0)), { name: "RangeError", message: /must not be empty/ });
  assert.throws(() => int32Range(new Float64Array(4) as unknown as Int32Array), {
    name: "TypeError",
    message: "data must be an Int32Array",
  });
});

Deno.test("integerRanges() gives the same ranges through the Wasm scan and the JavaScript one", () => {
  const rand = prng(9);
  const long = Int32Array.from({ length: 5000 }, () => randInt(rand, { min: -500, max: 70000 }));
  const short = long.slice(0, 100), days = long.map((v) => v + 19000);
  const narrow = Int16Array.from(long, (v) => v % 30000);
  const wide = integerRanges(makeTable([
    ["long", { type: "i32", data: long }],
    ["narrow", { type: "i32", data: narrow }],
    ["day", { type: "date", data: days }],
  ]));
  // The expected ranges from Math.min and Math.max: independent of both scans.
  const range = (a: ArrayLike<number>) => [Math.min(...Array.from(a)), Math.max(...Array.from(a))];
  assert.deepEqual(wide.get("long"), range(long));
  assert.deepEqual(wide.get("narrow"), range(narrow));
  assert.deepEqual(wide.get("day"), range(days));
  const few = integerRanges(makeTable([["short", { type: "i32", data: short }]]));
  assert.deepEqual(few.get("short"), range(short));
});
