import assert from "node:assert/strict";
import { bucketCounts, codeCounts, psi, PSI_BLOCK, psiMemoryBytes } from "../../wasm/psi.ts";
import { bucketCountsTs, codeCountsTs, PSI_FLOOR, psiTs, sharesOf } from "../../wasm/psi_reference.ts";
import { benchPsi } from "../../wasm/psi_bench.ts";
import { Random } from "../../pipeline/random.ts";

const rnd = new Random(11);

/** Random Float64 values on a coarse grid (so that many equal edges), with some NaN. */
function floats(n: number, nanShare = 0.1): Float64Array {
  return Float64Array.from(
    { length: n },
    () => rnd.uniform() < nanShare ? NaN : Math.round(rnd.uniform() * 40 - 10) / 2,
  );
}

function ints(n: number, lo: number, hi: number): Int32Array {
  return Int32Array.from({ length: n }, () => lo + Math.floor(rnd.uniform() * (hi - lo)));
}

Deno.test("bucketCounts puts x in the bucket with as many edges ≤ x, outer buckets open and NaN read as 0", () => {
  const values = Float64Array.from([-100, 0.999, 1, 1.5, 2, 2, 3, 1e9, NaN, -0, Infinity, -Infinity]);
  // Buckets: (-∞, 1), [1, 2), [2, +∞).
  const expected = [5, 2, 5];
  assert.deepEqual([...bucketCounts(values, { edges: [1, 2] })], expected);
  assert.deepEqual([...bucketCountsTs(values, { edges: [1, 2] })], expected);
  // With an edge at 0 a missing value (read as 0) falls at or above it; with an edge above 0, below.
  const nan = Float64Array.from([NaN, NaN, -1]);
  assert.deepEqual([...bucketCounts(nan, { edges: [0] })], [1, 2]);
  assert.deepEqual([...bucketCounts(nan, { edges: [0.5] })], [3, 0]);
  assert.deepEqual([...bucketCounts(nan, { edges: [-0] })], [1, 2]);
});

Deno.test("bucketCounts on Float64, Int32 and byte values equals the reference at every length around the block size", () => {
  const edgeSets = [
    [-2, -0.5, 0, 0, 1.5, 2, 2, 7, 9],
    [0, 0, 0, 0, 0, 0, 0, 0, 0],
    [3],
    [-Infinity, -1e300, 0.25, 1e300, Infinity],
    [-3e9, -2147483648.5, -2147483648, 2147483647, 2147483647.5, 5e9],
  ];
  for (const n of [0, 1, 7, 8, 9, 15, 16, 17, PSI_BLOCK - 1, PSI_BLOCK, PSI_BLOCK + 1, 3 * PSI_BLOCK + 5]) {
    const f = floats(n), i = ints(n, -20, 30), u = Uint8Array.from({ length: n }, () => rnd.uniform() < 0.4 ? 1 : 0);
    const extreme = Int32Array.from({ length: n }, (_, k) => [-2147483648, 2147483647, 0, -1][k % 4]);
    for (const edges of edgeSets) {
      for (const values of [f, i, u, extreme]) {
        const got = bucketCounts(values, { edges });
        assert.deepEqual(
          [...got],
          [...bucketCountsTs(values, { edges })],
          `n=${n} edges=${edges} ${values.constructor.name}`,
        );
        assert.equal(got.reduce((a, b) => a + b, 0), n);
      }
    }
  }
});

Deno.test("bucketCounts compares integers with fractional edges exactly", () => {
  const values = Int32Array.from([1, 2, 2, 3, 4]);
  // Buckets (-∞, 1.5), [1.5, 2), [2, 3.5), [3.5, +∞).
  assert.deepEqual([...bucketCounts(values, { edges: [1.5, 2, 3.5] })], [1, 0, 3, 1]);
  assert.deepEqual([...bucketCounts(values, { edges: [] })], [5]);
});

Deno.test("bucketCounts fills a given output array and rejects bad edges, values and outputs", () => {
  const out = new Float64Array(3);
  assert.equal(bucketCounts(Float64Array.from([1, 5]), { edges: [2, 4], out }), out);
  assert.deepEqual([...out], [1, 0, 1]);
  assert.throws(() => bucketCounts(Float64Array.from([1]), { edges: [1, NaN] }), /edges\[1\] is NaN/);
  assert.throws(
    () => bucketCounts(Float64Array.from([1]), { edges: [2, 1] }),
    /edges\[1\] \(1\) is smaller than edges\[0\]/,
  );
  assert.throws(() => bucketCounts([1, 2] as unknown as Float64Array, { edges: [1] }), TypeError);
  assert.throws(() => bucketCounts(Float64Array.from([1]), { edges: [1], out: new Float64Array(3) }), RangeError);
});

Deno.test("codeCounts maps codes through the slots, missing through slot 0 and unknown codes to other", () => {
  const codes = Int32Array.from([-1, 0, 1, 2, 5, 0, 0, 0, 1, -7]);
  const options = { slots: Int32Array.from([3, 0, 1, 2]), buckets: 4, other: 3 };
  assert.deepEqual([...codeCounts(codes, options)], [4, 2, 1, 3]);
  assert.deepEqual([...codeCountsTs(codes, options)], [4, 2, 1, 3]);
  for (const n of [0, 3, 4, 5, PSI_BLOCK + 3, 20_000]) {
    const c = ints(n, -2, 9);
    const o = { slots: Int32Array.from([5, 0, 1, 2, 3, 4, 5, 5]), buckets: 6, other: 5 };
    assert.deepEqual([...codeCounts(c, o)], [...codeCountsTs(c, o)], `n=${n}`);
  }
  assert.throws(() => codeCounts(codes, { ...options, other: 4 }), /other must be a bucket/);
  assert.throws(() => codeCounts(codes, { ...options, slots: Int32Array.from([0, 9]) }), /slots\[1\] must be in/);
});

Deno.test("psi is Σ (c − r)·ln(c / r) with shares floored at 1e-6, in Wasm as in the reference", () => {
  const r = [0.5, 0.3, 0.2], c = [0.2, 0.3, 0.5];
  const expected = (0.2 - 0.5) * Math.log(0.2 / 0.5) + 0 + (0.5 - 0.2) * Math.log(0.5 / 0.2);
  assert.ok(Math.abs(psi(r, c) - expected) < 1e-15);
  assert.ok(Math.abs(psiTs(r, c) - expected) < 1e-15);
  assert.equal(psi(r, r), 0);
  // An empty bucket on one side is floored, never a division by zero or an infinity.
  const floored = (1 - PSI_FLOOR) * Math.log(1 / PSI_FLOOR) + (PSI_FLOOR - 1) * Math.log(PSI_FLOOR / 1);
  assert.ok(Math.abs(psi([1, 0], [0, 1]) - floored) < 1e-9);
  assert.ok(Number.isFinite(psi([0, 0], [0, 0])) && psi([0, 0], [0, 0]) === 0);
  for (let t = 0; t < 200; t++) {
    const k = 1 + Math.floor(rnd.uniform() * 12);
    const a = sharesOf(Array.from({ length: k }, () => rnd.uniform() < 0.2 ? 0 : rnd.uniform()));
    const b = sharesOf(Array.from({ length: k }, () => rnd.uniform() < 0.2 ? 0 : rnd.uniform()));
    const w = psi(a, b), ts = psiTs(a, b);
    assert.ok(Math.abs(w - ts) <= 1e-12 * Math.max(1, ts), `${w} vs ${ts}`);
    assert.ok(w >= 0);
  }
  assert.throws(() => psi([0.5, 0.5], [1]), /reference has 2 shares but current has 1/);
  assert.throws(() => psi([], []), /no shares/);
  assert.throws(() => psi([NaN], [1]), /reference\[0\] must be a finite share/);
});

Deno.test("sharesOf returns zeros for zero counts instead of dividing by zero", () => {
  assert.deepEqual([...sharesOf([0, 0, 0])], [0, 0, 0]);
  assert.deepEqual([...sharesOf([1, 3])], [0.25, 0.75]);
});

Deno.test("the loader grows its memory for many edges and still counts correctly afterwards", () => {
  const before = psiMemoryBytes();
  const edges = Array.from({ length: 200_000 }, (_, i) => i / 10 - 50);
  const values = floats(5000, 0.05);
  const got = bucketCounts(values, { edges });
  assert.ok(psiMemoryBytes() > before, "the memory grew");
  assert.deepEqual([...got], [...bucketCountsTs(values, { edges })]);
  // Views rebuilt: a small call after the growth is right too.
  assert.deepEqual([...bucketCounts(Float64Array.from([1, 2, 3]), { edges: [2] })], [1, 2]);
});

Deno.test("benchPsi times the drift check at a small size and finds Wasm and the reference equal", () => {
  const f = benchPsi({ users: [300], bigRows: 5000, trainingRows: 4000, runs: 1 });
  assert.equal(f.cases.length, 3);
  assert.deepEqual(f.cases.map((c) => c.rows), [300, 5000, 5000]);
  assert.deepEqual(f.cases.map((c) => c.features), [47, 20, 47]);
  for (const c of f.cases) {
    assert.equal(c.mismatches, 0);
    assert.ok(c.wasm_ms > 0 && c.ts_ms > 0);
  }
});
