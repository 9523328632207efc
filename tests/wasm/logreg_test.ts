import assert from "node:assert/strict";
import {
  balancedWeights,
  fitLogistic,
  type LogisticFit,
  type LogisticImpl,
  logregMemoryBytes,
  lossSums,
  predictLogistic,
  TrainingError,
} from "../../wasm/logreg.ts";
import { fitLogisticTs, lossSumsTs, predictLogisticTs } from "../../wasm/logreg_reference.ts";
import { benchLogistic, syntheticMatrix } from "../../wasm/logreg_bench.ts";
import { prng } from "./grid.ts";

const IMPLS: readonly LogisticImpl[] = ["wasm", "typescript"];
const FIXTURE = new URL("../fixtures/logreg/", import.meta.url);

interface Expected {
  coef: number[];
  intercept: number;
  proba: number[];
  optimum_coef: number[];
  optimum_intercept: number;
  optimum_proba: number[];
}

function loadFixture(): {
  x: Float64Array;
  y: Uint8Array;
  names: string[];
  d: number;
  expected: Record<string, Expected>;
} {
  const lines = Deno.readTextFileSync(new URL("data.csv", FIXTURE)).trim().split("\n");
  const header = lines[0].split(",");
  const d = header.length - 1;
  const n = lines.length - 1;
  const x = new Float64Array(n * d), y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const cells = lines[i + 1].split(",");
    for (let k = 0; k < d; k++) x[i * d + k] = Number(cells[k]);
    y[i] = Number(cells[d]);
  }
  const expected = JSON.parse(Deno.readTextFileSync(new URL("expected.json", FIXTURE)));
  return { x, y, names: header.slice(0, d), d, expected };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function assertCoefClose(
  fit: LogisticFit,
  coef: number[],
  { intercept, tol, what }: { intercept: number; tol: number; what: string },
): void {
  const gap = Math.max(maxAbsDiff(fit.coef, coef), Math.abs(fit.intercept - intercept));
  assert.ok(gap <= tol, `${what}: largest coefficient difference ${gap} > ${tol}`);
}

/** A random standardised-looking matrix with a noisy logistic label (not separable). */
function randomProblem(rand: () => number, { n, d }: { n: number; d: number }): { x: Float64Array; y: Uint8Array } {
  const x = new Float64Array(n * d), y = new Uint8Array(n);
  const beta = Array.from({ length: d }, () => (rand() - 0.5) * 2);
  for (let i = 0; i < n; i++) {
    let z = (rand() - 0.5) * 2;
    for (let k = 0; k < d; k++) {
      // Correlated neighbours, some columns skewed.
      const u = rand() * 2 - 1;
      const v = k % 3 === 2 ? Math.exp(u) - 1 : u + (k > 0 ? 0.5 * x[i * d + k - 1] : 0);
      x[i * d + k] = v;
      z += beta[k] * v;
    }
    const u = rand();
    y[i] = z + 2 * Math.log(u / (1 - u)) > 0 ? 1 : 0;
  }
  // Both classes, whatever the draw.
  y[0] = 1;
  y[1] = 0;
  return { x, y };
}

for (const impl of IMPLS) {
  for (const key of ["balanced", "none"] as const) {
    Deno.test(`fitLogistic(${impl}) finds scikit-learn's coefficients with class_weight=${key}`, () => {
      const { x, y, expected } = loadFixture();
      const e = expected[key];
      const sampleWeight = key === "balanced" ? balancedWeights(y) : undefined;
      const fit = fitLogistic(x, y, { sampleWeight, impl });
      assert.ok(fit.converged, `gradNorm ${fit.gradNorm}`);
      assert.ok(fit.iterations >= 3 && fit.iterations <= 15, `iterations ${fit.iterations}`);
      assert.ok(fit.gradNorm <= 1e-10);
      // lbfgs stops a few 1e-6 short of the optimum; newton-cholesky reaches it.
      assertCoefClose(fit, e.coef, { intercept: e.intercept, tol: 1e-4, what: "vs lbfgs" });
      assertCoefClose(fit, e.optimum_coef, { intercept: e.optimum_intercept, tol: 1e-9, what: "vs newton-cholesky" });
      const proba = predictLogistic(x, fit, { impl });
      assert.ok(maxAbsDiff(proba, e.optimum_proba) <= 1e-6, "predict_proba of the optimum");
      assert.ok(maxAbsDiff(proba, e.proba) <= 1e-4, "predict_proba of lbfgs");
    });
  }

  Deno.test(`predictLogistic(${impl}) reproduces scikit-learn's predict_proba from its coefficients`, () => {
    const { x, expected } = loadFixture();
    for (const key of ["balanced", "none"]) {
      const e = expected[key];
      const proba = predictLogistic(x, { coef: Float64Array.from(e.coef), intercept: e.intercept }, { impl });
      const gap = maxAbsDiff(proba, e.proba);
      assert.ok(gap <= 1e-12, `${key}: ${gap}`);
    }
  });
}

Deno.test("balancedWeights() gives n / (2 · n_class) per row, as scikit-learn's class_weight='balanced'", () => {
  const y = Int32Array.from([1, 0, 0, 0, 1, 0, 0, 0]);
  assert.deepEqual([...balancedWeights(y)], [2, 2 / 3, 2 / 3, 2 / 3, 2, 2 / 3, 2 / 3, 2 / 3]);
  const { y: fy } = loadFixture();
  const w = balancedWeights(fy);
  let pos = 0, neg = 0;
  for (let i = 0; i < fy.length; i++) fy[i] === 1 ? (pos += w[i]) : (neg += w[i]);
  assert.ok(Math.abs(pos - fy.length / 2) < 1e-9 && Math.abs(neg - fy.length / 2) < 1e-9);
  assert.throws(() => balancedWeights(new Uint8Array([1, 1])), TrainingError);
  assert.throws(() => balancedWeights(new Uint8Array([0, 2])), RangeError);
});

Deno.test("lossSums() matches the TypeScript pass on random data, every shape and block boundary", () => {
  const rand = prng(4242);
  // Widths around the 4-column tiles and the 2-lane vectors; rows around the sub-blocks and blocks.
  const shapes = [
    [1, 0],
    [5, 1],
    [7, 2],
    [63, 3],
    [64, 4],
    [65, 5],
    [130, 7],
    [200, 8],
    [3000, 13],
    [2500, 60],
    [700, 61],
    [300, 130],
  ];
  for (const [n, d] of shapes) {
    const { x, y } = randomProblem(rand, { n, d });
    if (n === 1) y[0] = 1;
    const theta = Float64Array.from({ length: d + 1 }, () => (rand() - 0.5) * 3);
    for (const sampleWeight of [null, Float64Array.from({ length: n }, () => rand() * 3)]) {
      for (const hessian of [false, true]) {
        const what = `n=${n} d=${d} weights=${sampleWeight !== null} hessian=${hessian}`;
        const a = lossSums(x, y, { theta, sampleWeight, hessian });
        const e = lossSumsTs(x, y, { theta, sampleWeight, hessian });
        const scale = Math.max(1, n);
        assert.ok(Math.abs(a.loss - e.loss) <= 1e-12 * scale, `${what}: loss ${a.loss} vs ${e.loss}`);
        assert.ok(maxAbsDiff(a.gradient, e.gradient) <= 1e-12 * scale, `${what}: gradient`);
        // Scores: the same sums in another order.
        const close = (u: number, v: number): boolean => u === v || Math.abs(u - v) <= 1e-13 * d;
        assert.ok(close(a.minPositive, e.minPositive), `${what}: minPositive`);
        assert.ok(close(a.maxNegative, e.maxNegative), `${what}: maxNegative`);
        assert.equal(a.firstNonFinite, -1);
        if (hessian) assert.ok(maxAbsDiff(a.hessian!, e.hessian!) <= 1e-12 * scale, `${what}: hessian`);
        else assert.equal(a.hessian, null);
      }
    }
  }
});

Deno.test("fitLogistic() in Wasm and in TypeScript reach the same optimum on random problems", () => {
  const rand = prng(99);
  for (let trial = 0; trial < 12; trial++) {
    const d = 1 + Math.floor(rand() * 40), n = 20 * d + Math.floor(rand() * 2000);
    const { x, y } = randomProblem(rand, { n, d });
    const C = [1, 0.05, 20][trial % 3];
    const sampleWeight = trial % 2 === 0 ? balancedWeights(y) : undefined;
    const what = `trial ${trial} n=${n} d=${d} C=${C}`;
    const a = fitLogistic(x, y, { sampleWeight, C });
    const e = fitLogisticTs(x, y, { sampleWeight, C });
    assert.ok(a.converged && e.converged, what);
    assertCoefClose(a, [...e.coef], { intercept: e.intercept, tol: 1e-9, what });
    assert.ok(Math.abs(a.loss - e.loss) <= 1e-10 * Math.abs(e.loss), `${what}: loss`);
    // First-order optimality, from an independent pass: w + C Σ sᵢ(σ − yᵢ)xᵢ = 0 and Σ sᵢ(σ − yᵢ) = 0.
    const theta = Float64Array.from([...a.coef, a.intercept]);
    const sums = lossSumsTs(x, y, { theta, sampleWeight: sampleWeight ?? null, hessian: false });
    const scale = C * (sampleWeight ?? new Float64Array(n).fill(1)).reduce((s, v) => s + v, 0);
    for (let k = 0; k <= d; k++) {
      const g = C * sums.gradient[k] + (k < d ? theta[k] : 0);
      assert.ok(Math.abs(g) <= 1e-9 * scale, `${what}: gradient[${k}] = ${g}`);
    }
  }
});

Deno.test("fitLogistic() without features finds the intercept of the class balance", () => {
  const y = new Uint8Array(400);
  for (let i = 0; i < 100; i++) y[i] = 1;
  for (const impl of IMPLS) {
    const plain = fitLogistic(new Float64Array(0), y, { impl });
    assert.equal(plain.coef.length, 0);
    assert.ok(Math.abs(plain.intercept - Math.log(100 / 300)) < 1e-12);
    const balanced = fitLogistic(new Float64Array(0), y, { impl, sampleWeight: balancedWeights(y) });
    assert.ok(Math.abs(balanced.intercept) < 1e-12);
  }
});

Deno.test("fitLogistic() stops at maxIter and says it has not converged", () => {
  const { x, y } = loadFixture();
  const fit = fitLogistic(x, y, { maxIter: 1 });
  assert.equal(fit.iterations, 1);
  assert.equal(fit.converged, false);
  assert.ok(fit.gradNorm > 1e-10);
});

function assertTrainingError(f: () => unknown, pattern: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof TrainingError, `expected a TrainingError, got ${e}`);
    assert.match(e.message, pattern);
    return true;
  });
}

for (const impl of IMPLS) {
  Deno.test(`fitLogistic(${impl}) rejects a training set without rows or with one class only`, () => {
    assertTrainingError(() => fitLogistic(new Float64Array(0), new Uint8Array(0), { impl }), /has no rows/);
    assertTrainingError(
      () => fitLogistic(new Float64Array(6), new Uint8Array([1, 1, 1]), { impl }),
      /only class 1 \(all 3 rows are labelled 1\)/,
    );
    assertTrainingError(() => fitLogistic(new Float64Array(6), new Int32Array(3), { impl }), /only class 0/);
    const weights = Float64Array.from([1, 0, 0]);
    assertTrainingError(
      () => fitLogistic(new Float64Array(3), new Uint8Array([1, 0, 0]), { impl, sampleWeight: weights }),
      /Class 0 has zero total sample weight/,
    );
  });

  Deno.test(`fitLogistic(${impl}) names the constant column`, () => {
    const { x, y, names, d } = loadFixture();
    const bad = x.slice();
    for (let i = 0; i < y.length; i++) bad[i * d + 5] = 0.25;
    assertTrainingError(
      () => fitLogistic(bad, y, { impl, columnNames: names }),
      /Column 'noise' is constant \(all 2000 values are 0\.25\)/,
    );
    assertTrainingError(() => fitLogistic(bad, y, { impl }), /Column 5 is constant/);
  });

  Deno.test(`fitLogistic(${impl}) names the row and column of a NaN or an infinity`, () => {
    const { x, y, names, d } = loadFixture();
    for (const [value, shown] of [[NaN, "NaN"], [Infinity, "Infinity"], [-Infinity, "-Infinity"]] as const) {
      const bad = x.slice();
      bad[1234 * d + 3] = value;
      bad[1500 * d + 1] = value;
      assertTrainingError(
        () => fitLogistic(bad, y, { impl, columnNames: names }),
        new RegExp(`Row 1234, column 'amount' is ${shown}`),
      );
    }
  });

  Deno.test(`fitLogistic(${impl}) calls perfectly separable classes label leakage`, () => {
    const rand = prng(5);
    const n = 300, x = new Float64Array(n * 2), y = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 4 === 0 ? 1 : 0;
      x[2 * i] = (y[i] === 1 ? 0.5 : -1) + rand() * 0.5; // the label, leaked
      x[2 * i + 1] = rand() - 0.5;
    }
    assertTrainingError(
      () => fitLogistic(x, y, { impl, sampleWeight: balancedWeights(y) }),
      /separable.*label leakage/,
    );
  });
}

Deno.test("fitLogistic() rejects wrong inputs with TypeError or RangeError", () => {
  const x = new Float64Array(8), y = new Uint8Array([0, 1, 0, 1]);
  assert.throws(() => fitLogistic([1, 2] as unknown as Float64Array, y), TypeError);
  assert.throws(() => fitLogistic(x, [0, 1] as unknown as Uint8Array), TypeError);
  assert.throws(() => fitLogistic(new Float64Array(7), y), /x has 7 values, not a multiple of the 4 rows of y/);
  assert.throws(() => fitLogistic(x, new Uint8Array([0, 1, 2, 1])), /y\[2\] is 2, expected 0 or 1/);
  assert.throws(() => fitLogistic(x, y, { C: 0 }), /C must be a finite number > 0/);
  assert.throws(() => fitLogistic(x, y, { tol: NaN }), RangeError);
  assert.throws(() => fitLogistic(x, y, { maxIter: 1.5 }), RangeError);
  assert.throws(() => fitLogistic(x, y, { columnNames: ["a"] }), /columnNames has 1 names, x has 2 columns/);
  assert.throws(() => fitLogistic(x, y, { sampleWeight: new Float64Array(3) }), RangeError);
  assert.throws(
    () => fitLogistic(x, y, { sampleWeight: Float64Array.from([1, -1, 1, 1]) }),
    /sampleWeight\[1\] is -1, expected a finite number >= 0/,
  );
  assert.throws(() => fitLogistic(x, y, { impl: "gpu" as LogisticImpl }), RangeError);
  assert.throws(() => fitLogistic(new Float64Array(3), new Uint8Array(0)), /y is empty/);
});

Deno.test("predictLogistic() writes into out, saturates without NaN and rejects wrong shapes", () => {
  const model = { coef: Float64Array.from([1000, -1]), intercept: 0.5 };
  const x = Float64Array.from([1, 0, -1, 0, 0, 0.5, 0, 0]);
  const out = new Float64Array(6).fill(7);
  for (const impl of IMPLS) {
    const p = predictLogistic(x, model, { out, impl });
    assert.equal(p.length, 4);
    assert.equal(p.buffer, out.buffer);
    assert.deepEqual([...p], [1, 0, 1 / (1 + Math.exp(0)), 1 / (1 + Math.exp(-0.5))]);
    assert.equal(out[4], 7);
  }
  assert.throws(() => predictLogistic(x, model, { out: new Float64Array(3) }), /out has 3 elements, needs at least 4/);
  assert.throws(() => predictLogistic(new Float64Array(3), model), RangeError);
  assert.throws(() => predictLogistic(x, { coef: new Float64Array(0), intercept: 0 }), RangeError);
  assert.equal(Number.isNaN(predictLogistic(Float64Array.from([NaN, 1]), model)[0]), true);
});

Deno.test("predictLogistic() in Wasm matches TypeScript across blocks and widths", () => {
  const rand = prng(7);
  for (const [n, d] of [[1, 1], [3, 2], [5000, 3], [20000, 60], [999, 130]]) {
    const x = Float64Array.from({ length: n * d }, () => (rand() - 0.5) * 6);
    const model = { coef: Float64Array.from({ length: d }, () => rand() - 0.5), intercept: rand() - 0.5 };
    const gap = maxAbsDiff(predictLogistic(x, model), predictLogisticTs(x, model));
    assert.ok(gap <= 1e-13, `n=${n} d=${d}: ${gap}`);
  }
});

Deno.test("fitLogistic() grows Wasm memory for wide rows and still agrees after", () => {
  const rand = prng(31);
  const small = randomProblem(rand, { n: 200, d: 3 });
  const before = fitLogistic(small.x, small.y);
  const bytes = logregMemoryBytes();
  const wide = randomProblem(rand, { n: 1500, d: 600 });
  const big = fitLogistic(wide.x, wide.y, { C: 0.01 });
  assert.ok(logregMemoryBytes() > bytes, "memory grew");
  const bigTs = fitLogisticTs(wide.x, wide.y, { C: 0.01 });
  assertCoefClose(big, [...bigTs.coef], { intercept: bigTs.intercept, tol: 1e-9, what: "wide" });
  const after = fitLogistic(small.x, small.y);
  assert.deepEqual([...after.coef], [...before.coef]);
  assert.equal(after.intercept, before.intercept);
});

Deno.test("benchLogistic() times both implementations and finds the same coefficients", async () => {
  const figures = await benchLogistic(3000, 30, { runs: 1, sklearn: false });
  assert.equal(figures.rows, 3000);
  assert.ok(figures.positive_rate > 0.05 && figures.positive_rate < 0.5, `positives ${figures.positive_rate}`);
  assert.ok(figures.wasm.converged && figures.typescript!.converged);
  assert.ok(figures.typescript!.max_abs_diff_vs_wasm < 1e-9);
  assert.ok(figures.wasm.fit_ms > 0 && figures.speedup_vs_ts! > 0);
  assert.ok(figures.predict_rows_per_s.wasm > 0 && figures.predict_rows_per_s.typescript > 0);
});

Deno.test("syntheticMatrix() standardises every column and draws both classes", () => {
  const { x, y } = syntheticMatrix(5000, 30);
  const d = 30, n = 5000;
  for (let k = 0; k < d; k++) {
    let s = 0, q = 0;
    for (let i = 0; i < n; i++) {
      s += x[i * d + k];
      q += x[i * d + k] ** 2;
    }
    assert.ok(Math.abs(s / n) < 1e-9 && Math.abs(q / n - 1) < 1e-9, `column ${k}`);
  }
  assert.ok(y.some((v) => v === 1) && y.some((v) => v === 0));
});

Deno.test("fitLogistic() gives the same fit for Int32Array and Uint8Array labels", () => {
  const { x, y } = loadFixture();
  const y32 = Int32Array.from(y);
  for (const impl of IMPLS) {
    const a = fitLogistic(x, y, { impl, sampleWeight: balancedWeights(y) });
    const b = fitLogistic(x, y32, { impl, sampleWeight: balancedWeights(y32) });
    assert.deepEqual([...b.coef], [...a.coef]);
    assert.equal(b.intercept, a.intercept);
  }
});
