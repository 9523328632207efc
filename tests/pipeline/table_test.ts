import assert from "node:assert/strict";
import { prng } from "../helpers/prng.ts";
import { type Column, takeColumn } from "../../pipeline/table.ts";

/** Ascending row picks with long runs, short runs and gaps, as the training rows are. */
function picks(rand: () => number, n: number): Int32Array {
  const out: number[] = [];
  for (let r = 0; r < n; r++) {
    if (rand() < 0.03) r += Math.floor(rand() * 40);
    if (r < n && rand() < 0.9) out.push(r);
  }
  return Int32Array.from(out);
}

function values(c: Column): number[] {
  return c.type === "dict" ? [...c.codes] : [...c.data];
}

Deno.test("takeColumn() copies runs and single rows exactly as a row-by-row gather", () => {
  const rand = prng(7);
  for (let trial = 0; trial < 20; trial++) {
    const n = 1 + Math.floor(rand() * 3000);
    const idx = trial % 4 === 0
      ? Int32Array.from({ length: 50 }, () => Math.floor(rand() * n)) // unsorted, repeated
      : picks(rand, n);
    const columns: Column[] = [
      { type: "f64", data: Float64Array.from({ length: n }, () => rand() * 100) },
      { type: "i32", data: Int32Array.from({ length: n }, () => Math.floor(rand() * 1e6)) },
      { type: "date", data: Int32Array.from({ length: n }, (_, i) => 20000 + i) },
      { type: "bool", data: Uint8Array.from({ length: n }, () => (rand() < 0.5 ? 1 : 0)) },
      {
        type: "dict",
        codes: Int32Array.from({ length: n }, () => Math.floor(rand() * 4) - 1),
        dictionary: ["a", "b", "c"],
      },
    ];
    for (const c of columns) {
      const src = values(c);
      const expected = [...idx].map((i) => src[i]);
      const got = takeColumn(c, idx);
      assert.equal(got.type, c.type);
      assert.deepEqual(values(got), expected, `${c.type}, trial ${trial}`);
    }
  }
});

Deno.test("takeColumn() refills the buffer of a reused column when it has room, else allocates", () => {
  const src: Column = { type: "f64", data: Float64Array.from({ length: 100 }, (_, i) => i) };
  const first = takeColumn(src, Int32Array.of(1, 2, 3), { capacity: 10 });
  assert.equal(first.type === "f64" && first.data.buffer.byteLength, 80, "room for the capacity");
  const second = takeColumn(src, Int32Array.of(9, 8, 7, 6, 5), { reuse: first });
  assert.ok(second.type === "f64" && first.type === "f64" && second.data.buffer === first.data.buffer);
  assert.deepEqual(values(second), [9, 8, 7, 6, 5]);
  const big = takeColumn(src, Int32Array.from({ length: 20 }, (_, i) => i), { reuse: second });
  assert.ok(big.type === "f64" && second.type === "f64" && big.data.buffer !== second.data.buffer, "too small: new");
  // A reused column of another type is ignored.
  const ints = takeColumn({ type: "i32", data: Int32Array.of(4, 5, 6) }, Int32Array.of(2, 0), { reuse: first });
  assert.deepEqual(values(ints), [6, 4]);
  assert.ok(ints.type === "i32" && ints.data.buffer !== (first.type === "f64" && first.data.buffer));
});
