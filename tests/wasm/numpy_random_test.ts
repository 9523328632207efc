import assert from "node:assert/strict";
import { NumpyRandomState, sklearnDerivedSeed, stratifiedTrainTestSplit } from "../../wasm/numpy_random.ts";

interface SplitCase {
  y: number[];
  test_size: number;
  seed: number;
  train: number[];
  test: number[];
}

interface Fixture {
  derived_seeds: { random_state: number; seed: number }[];
  uint32: number[];
  permutations: { seed: number; n: number; permutation: number[] }[];
  splits: SplitCase[];
  large_split: {
    label_seed: number;
    n: number;
    positives: number;
    y_checksum: number;
    seed: number;
    test_size: number;
    train_head: number[];
    train_tail: number[];
    test_head: number[];
    train_checksum: number;
    test_checksum: number;
  };
  binning: { seed: number; n: number; size: number; head: number[]; checksum: number };
}

const fixture: Fixture = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/hgb/numpy_split.json", import.meta.url)),
);

/** The fixture script's checksum: sum of a[i] × (i mod 1000 + 1), mod 2^31 - 1. */
function checksum(a: ArrayLike<number>): number {
  let s = 0n;
  for (let i = 0; i < a.length; i++) s += BigInt(a[i]) * BigInt((i % 1000) + 1);
  return Number(s % 2147483647n);
}

/** numpy's `random_sample()`: 53 bits from two 32-bit draws. */
function randomSample(rng: NumpyRandomState): number {
  const a = rng.nextUint32() >>> 5, b = rng.nextUint32() >>> 6;
  return (a * 67108864 + b) / 9007199254740992;
}

Deno.test("NumpyRandomState() gives MT19937's reference stream for seed 5489", () => {
  const rng = new NumpyRandomState(5489);
  assert.deepEqual(fixture.uint32.map(() => rng.nextUint32()), fixture.uint32);
});

Deno.test("sklearnDerivedSeed() matches RandomState(r).randint(2**32 - 1, dtype='u8')", () => {
  for (const { random_state, seed } of fixture.derived_seeds) {
    assert.equal(sklearnDerivedSeed(random_state), seed, `random_state ${random_state}`);
  }
});

Deno.test("permutation() matches numpy's RandomState.permutation", () => {
  for (const { seed, n, permutation } of fixture.permutations) {
    assert.deepEqual([...new NumpyRandomState(seed).permutation(n)], permutation, `seed ${seed}, n ${n}`);
  }
});

Deno.test("stratifiedTrainTestSplit() matches scikit-learn's train_test_split with stratify, ties included", () => {
  for (const c of fixture.splits) {
    const [train, test] = stratifiedTrainTestSplit(Uint8Array.from(c.y), { testSize: c.test_size, seed: c.seed });
    assert.deepEqual([...train], c.train, `train of ${JSON.stringify(c.y)}`);
    assert.deepEqual([...test], c.test, `test of ${JSON.stringify(c.y)}`);
  }
});

Deno.test("stratifiedTrainTestSplit() matches scikit-learn on 50,000 rows", () => {
  const f = fixture.large_split;
  const labelRng = new NumpyRandomState(f.label_seed);
  const y = Uint8Array.from({ length: f.n }, () => (randomSample(labelRng) < 0.1 ? 1 : 0));
  assert.equal(checksum(y), f.y_checksum, "labels drawn as numpy's random_sample");
  const [train, test] = stratifiedTrainTestSplit(y, { testSize: f.test_size, seed: f.seed });
  assert.equal(test.length, Math.ceil(f.n * f.test_size));
  assert.deepEqual([...train.subarray(0, 100)], f.train_head);
  assert.deepEqual([...train.subarray(train.length - 100)], f.train_tail);
  assert.deepEqual([...test.subarray(0, 100)], f.test_head);
  assert.equal(checksum(train), f.train_checksum);
  assert.equal(checksum(test), f.test_checksum);
});

Deno.test("the binning subsample matches RandomState(seed).choice(n, size, replace=False)", () => {
  const f = fixture.binning;
  const subset = new NumpyRandomState(f.seed).permutation(f.n).subarray(0, f.size);
  assert.deepEqual([...subset.subarray(0, 100)], f.head);
  assert.equal(checksum(subset), f.checksum);
});

Deno.test("stratifiedTrainTestSplit() and NumpyRandomState() reject bad inputs with the value named", () => {
  assert.throws(() => new NumpyRandomState(-1), /Seed must be an integer in \[0, 2\^32\), got -1/);
  assert.throws(() => new NumpyRandomState(2 ** 32), /got 4294967296/);
  assert.throws(() => new NumpyRandomState(0).interval(1.5), /max must be an integer/);
  assert.throws(
    () => stratifiedTrainTestSplit(Uint8Array.of(0, 0, 0, 1), { testSize: 0.5, seed: 0 }),
    /least populated class has 1 row/,
  );
  assert.throws(
    () => stratifiedTrainTestSplit(Uint8Array.of(0, 0, 1, 1), { testSize: 0.1, seed: 0 }),
    /into 3 and 1 needs at least 2 rows on each side/,
  );
  assert.throws(() => stratifiedTrainTestSplit(Uint8Array.of(0, 1), { testSize: 1, seed: 0 }), /testSize must be/);
});
