import assert from "node:assert/strict";
import { Random } from "../../pipeline/random.ts";

function draws(seed: number, n: number): number[] {
  const r = new Random(seed);
  return Array.from({ length: n }, () => r.nextUint32());
}

interface Moments {
  mean: number;
  variance: number;
  skewness: number;
  kurtosis: number;
}

function moments(sample: Float64Array): Moments {
  const n = sample.length;
  let sum = 0;
  for (const x of sample) sum += x;
  const mean = sum / n;
  let m2 = 0, m3 = 0, m4 = 0;
  for (const x of sample) {
    const d = x - mean, d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  m2 /= n;
  m3 /= n;
  m4 /= n;
  return { mean, variance: m2, skewness: m3 / Math.pow(m2, 1.5), kurtosis: m4 / (m2 * m2) };
}

function sample(n: number, draw: () => number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = draw();
  return out;
}

function near(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);
}

const N = 200_000;

Deno.test("Random gives the sfc32 stream of an independent reference implementation", () => {
  // Computed with arbitrary-precision Python integers (splitmix32 seeding, 12 discarded outputs, sfc32).
  assert.deepEqual(draws(42, 5), [1292587654, 2302704609, 2366179990, 3133131579, 2820559251]);
  assert.deepEqual(draws(0, 3), [2478938104, 743933517, 2734157347]);
  assert.deepEqual(draws(-7, 3), [2272738019, 1598729419, 1390922154]);
  assert.deepEqual(draws(2 ** 40 + 5, 3), [1598234527, 3370866376, 869910855]);
});

Deno.test("Random is deterministic for a seed and differs between nearby seeds", () => {
  assert.deepEqual(draws(7, 1000), draws(7, 1000));
  const a = draws(41, 1000), b = draws(42, 1000);
  const same = a.filter((x, i) => x === b[i]).length;
  assert.ok(same < 3, `${same} equal draws between seeds 41 and 42`);
  const r1 = new Random(5), r2 = new Random(5);
  for (let i = 0; i < 1000; i++) {
    assert.equal(r1.beta(2, 2.5), r2.beta(2, 2.5));
    assert.equal(r1.normal(), r2.normal());
  }
});

Deno.test("Random rejects a seed that is not a safe integer", () => {
  assert.throws(() => new Random(1.5), TypeError);
  assert.throws(() => new Random(NaN), TypeError);
  assert.throws(() => new Random(2 ** 60), TypeError);
});

Deno.test("uniform() lies in [0, 1) with mean 1/2 and variance 1/12", () => {
  const r = new Random(1);
  const xs = sample(N, () => r.uniform());
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const m = moments(xs);
  near(m.mean, 0.5, 0.004, "mean");
  near(m.variance, 1 / 12, 0.001, "variance");
  // Deciles hold about a tenth each.
  const counts = new Array(10).fill(0);
  for (const x of xs) counts[Math.floor(x * 10)]++;
  for (const c of counts) near(c / N, 0.1, 0.004, "decile share");
});

Deno.test("int() covers [lo, hi) uniformly and rejects empty or fractional ranges", () => {
  const r = new Random(2);
  const counts = new Array(7).fill(0);
  for (let i = 0; i < 70_000; i++) {
    const v = r.int(3, 10);
    assert.ok(Number.isInteger(v) && v >= 3 && v < 10, `int(3, 10) gave ${v}`);
    counts[v - 3]++;
  }
  // Chi-square with 6 degrees of freedom: 22.46 is the 0.999 quantile.
  const chi2 = counts.reduce((s, c) => s + (c - 10_000) ** 2 / 10_000, 0);
  assert.ok(chi2 < 22.46, `chi-square ${chi2} for counts ${counts}`);
  assert.equal(r.int(-5, -4), -5);
  const big = r.int(0, 2 ** 32);
  assert.ok(big >= 0 && big < 2 ** 32);
  assert.throws(() => r.int(3, 3), RangeError);
  assert.throws(() => r.int(0, 2.5), RangeError);
  assert.throws(() => r.int(0, 2 ** 32 + 1), RangeError);
});

Deno.test("normal() has mean 0, variance 1, no skew and kurtosis 3", () => {
  const r = new Random(3);
  const m = moments(sample(N, () => r.normal()));
  near(m.mean, 0, 0.01, "mean");
  near(m.variance, 1, 0.015, "variance");
  near(m.skewness, 0, 0.03, "skewness");
  near(m.kurtosis, 3, 0.06, "kurtosis");
});

Deno.test("gamma() has mean and variance equal to its shape, below and above 1", () => {
  for (const shape of [0.5, 2, 3.7]) {
    const r = new Random(4);
    const xs = sample(N, () => r.gamma(shape));
    assert.ok(xs.every((x) => x >= 0));
    const m = moments(xs);
    near(m.mean, shape, 0.02 * Math.sqrt(shape), `mean of Gamma(${shape})`);
    near(m.variance, shape, 0.05 * shape, `variance of Gamma(${shape})`);
  }
  assert.throws(() => new Random(1).gamma(0), RangeError);
  assert.throws(() => new Random(1).gamma(NaN), RangeError);
});

Deno.test("beta(2, 2.5) lies in [0, 1] with mean 4/9 and variance 0.0449", () => {
  const r = new Random(5);
  const xs = sample(N, () => r.beta(2, 2.5));
  assert.ok(xs.every((x) => x >= 0 && x <= 1));
  const m = moments(xs);
  // a/(a+b) and ab/((a+b)^2 (a+b+1)).
  near(m.mean, 2 / 4.5, 0.003, "mean");
  near(m.variance, 5 / (4.5 * 4.5 * 5.5), 0.001, "variance");
  // Skewness 2(b−a)√(a+b+1) / ((a+b+2)√(ab)).
  near(m.skewness, (2 * 0.5 * Math.sqrt(5.5)) / (6.5 * Math.sqrt(5)), 0.02, "skewness");
  assert.throws(() => r.beta(0, 1), RangeError);
  assert.throws(() => r.beta(1, -1), RangeError);
});
