import assert from "node:assert/strict";
import {
  binThresholds,
  createWasmKernels,
  fitHgb,
  hgbContributions,
  hgbFromJson,
  type HgbKernelData,
  type HgbKernels,
  type HgbModel,
  hgbToJson,
  predictHgb,
} from "../../wasm/hgb.ts";
import {
  createReferenceKernels,
  hgbContributionsReference,
  modelTree,
  predictHgbReference,
} from "../../wasm/hgb_reference.ts";
import { benchHgb, syntheticChurn } from "../../wasm/hgb_bench.ts";
import { averagePrecision, rocAuc } from "../../pipeline/metrics.ts";
import { prng, randInt } from "./grid.ts";

const FIXTURE = new URL("../fixtures/hgb/", import.meta.url);

// ---------------------------------------------------------------------------------------------
// Helpers

/** Random feature columns: continuous, few distinct values, NaN, infinities, constant and all-NaN columns. */
function randomColumns(rand: () => number, { rows, features }: { rows: number; features: number }): Float64Array[] {
  return Array.from({ length: features }, (_, f) => {
    const kind = f % 6;
    const nanRate = rand() < 0.5 ? 0 : rand() * 0.3;
    const col = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let x: number;
      if (kind === 0) x = (rand() - 0.5) * 100;
      else if (kind === 1) x = randInt(rand, { min: 0, max: 5 });
      else if (kind === 2) x = rand() < 0.02 ? (rand() < 0.5 ? Infinity : -Infinity) : Math.exp(rand() * 10);
      else if (kind === 3) x = Math.round(rand() * 400) / 4;
      else if (kind === 4) x = 7;
      else x = rand() < 0.97 ? NaN : rand();
      col[r] = rand() < nanRate ? NaN : x;
    }
    return col;
  });
}

/** Labels driven by the first columns, with noise. */
function labelsFor(columns: Float64Array[], rand: () => number): Uint8Array {
  const n = columns[0].length;
  const y = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    const a = Number.isNaN(columns[0][r]) ? 30 : columns[0][r];
    const b = Number.isNaN(columns[1][r]) ? 4 : columns[1][r];
    y[r] = (a > 10 ? 1 : 0) ^ (b >= 3 ? 1 : 0) ^ (rand() < 0.15 ? 1 : 0);
  }
  if (!y.includes(1)) y[0] = 1;
  if (!y.includes(0)) y[0] = 0;
  return y;
}

/** Kernel data for a random problem: thresholds from the training rows, tables, nothing else fitted. */
function kernelData(
  columns: Float64Array[],
  { y, maxBins, rand }: { y: Uint8Array; maxBins: number; rand: () => number },
): HgbKernelData {
  const n = y.length, nf = columns.length;
  const rows = Array.from({ length: n }, (_, i) => i);
  const isTrain = rows.map(() => rand() < 0.8);
  const train = Int32Array.from(rows.filter((r) => isTrain[r]));
  const validation = Int32Array.from(rows.filter((r) => !isTrain[r]));
  const tables = new Float64Array(nf * 256).fill(Infinity);
  const nBinsNonMissing = new Int32Array(nf);
  columns.forEach((col, f) => {
    const values = Float64Array.from([...train].map((r) => col[r]).filter((x) => !Number.isNaN(x)));
    const t = binThresholds(values, maxBins);
    tables.set(t, f * 256);
    nBinsNonMissing[f] = t.length + 1;
  });
  return {
    columns,
    tables,
    missingBin: maxBins,
    nBinsNonMissing,
    y,
    weights: null,
    train,
    validation,
    baseline: -0.5,
    minSamplesLeaf: randInt(rand, { min: 1, max: 25 }),
    minHessian: 1e-3,
    l2: rand() < 0.5 ? 0 : 0.7,
    minGain: 0,
    maxTreeNodes: 64,
  };
}

/** Random Float32 gradients (some exact zeros) and positive hessians (some tiny). */
function randomGradients(rand: () => number, n: number): [Float32Array, Float32Array] {
  const g = new Float32Array(n), h = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    g[i] = rand() < 0.05 ? 0 : rand() - 0.5;
    h[i] = rand() < 0.05 ? 1e-6 * rand() : rand() * 0.25;
  }
  return [g, h];
}

function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { tol, what }: { tol: number; what: string },
) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (!(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e))) && !(Object.is(a, e))) {
      assert.fail(`${what}[${i}]: ${a} != ${e} (tolerance ${tol})`);
    }
  }
}

/** Parses the fixture CSV: feature columns (empty = NaN) and the churn labels. */
async function loadFixture(): Promise<{ columns: Float64Array[]; y: Uint8Array; expected: FixtureExpected }> {
  const lines = (await Deno.readTextFile(new URL("data.csv", FIXTURE))).trim().split("\n");
  const nf = lines[0].split(",").length - 1, n = lines.length - 1;
  const columns = Array.from({ length: nf }, () => new Float64Array(n));
  const y = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    const cells = lines[r + 1].split(",");
    for (let f = 0; f < nf; f++) columns[f][r] = cells[f] === "" ? NaN : Number(cells[f]);
    y[r] = Number(cells[nf]);
  }
  const expected = JSON.parse(await Deno.readTextFile(new URL("expected.json", FIXTURE))) as FixtureExpected;
  return { columns, y, expected };
}

interface FixtureScores {
  n_iter: number;
  pr_auc: number;
  roc_auc: number;
}

interface FixtureExpected {
  n_train: number;
  early_stopping_auto: FixtureScores;
  early_stopping_auto_spread: (FixtureScores & { random_state: number })[];
  no_early_stopping: FixtureScores & { baseline: number; bin_thresholds: number[][]; test_proba: number[] };
}

function column(values: number[]): Float64Array {
  return Float64Array.from(values);
}

// ---------------------------------------------------------------------------------------------
// Kernels against the reference

Deno.test("the Wasm binning matches the reference on columns with NaN, infinities and few distinct values", () => {
  const rand = prng(101);
  for (let trial = 0; trial < 12; trial++) {
    const rows = randInt(rand, { min: 1, max: 3000 }), features = randInt(rand, { min: 1, max: 13 });
    const columns = randomColumns(rand, { rows, features });
    const y = labelsFor(columns.length > 1 ? columns : [columns[0], columns[0]], rand);
    const maxBins = [255, 255, 16, 3][trial % 4];
    const data = kernelData(columns, { y, maxBins, rand });
    const wasm = createWasmKernels(), reference = createReferenceKernels();
    const flagsWasm = wasm.load(data), flagsRef = reference.load(data);
    assert.deepEqual([...flagsWasm], [...flagsRef], `trial ${trial}: has-missing flags`);
    assert.deepEqual(wasm.readBinned(), reference.readBinned(), `trial ${trial}: bins`);
  }
});

Deno.test("binThresholds() follows scikit-learn: midpoints of distinct values, else midpoint quantiles", () => {
  assert.deepEqual(binThresholds(column([3, 1, 2, 2, 1]), 255), [1.5, 2.5]);
  assert.deepEqual(binThresholds(column([5, 5, 5]), 255), []);
  assert.deepEqual(binThresholds(column([]), 255), []);
  assert.deepEqual(binThresholds(column([1, 2, Infinity]), 255), [1.5, 1e300]);
  assert.deepEqual(binThresholds(column([-Infinity, Infinity]), 255), [0]);
  assert.deepEqual(binThresholds(column([-Infinity, -Infinity, -Infinity, 0, 1]), 2), [-1e300]);
  assert.deepEqual(binThresholds(column([0, 1, Infinity, Infinity]), 2), [1e300]);
  // 5 distinct values on 4 bins: quantiles at 25/50/75%, numpy's "midpoint" method.
  assert.deepEqual(binThresholds(column([0, 1, 2, 3, 4]), 4), [1, 2, 3]);
  assert.deepEqual(binThresholds(column([0, 1, 2, 3, 4, 5]), 4), [1.5, 2.5, 3.5]);
});

/** Loads one random problem into both kernel sets with the same random gradients. */
function loadBoth(seed: number): { wasm: HgbKernels; reference: HgbKernels; data: HgbKernelData; rand: () => number } {
  const rand = prng(seed);
  const rows = randInt(rand, { min: 50, max: 2500 }), features = randInt(rand, { min: 2, max: 14 });
  const columns = randomColumns(rand, { rows, features });
  const data = kernelData(columns, { y: labelsFor(columns, rand), maxBins: [255, 40, 7][seed % 3], rand });
  const wasm = createWasmKernels(), reference = createReferenceKernels();
  wasm.load(data);
  reference.load(data);
  const [g, h] = randomGradients(rand, rows);
  wasm.setGradients(g, h);
  reference.setGradients(g, h);
  return { wasm, reference, data, rand };
}

Deno.test("Wasm histograms, subtraction, split search and partition match the reference exactly", () => {
  for (let trial = 0; trial < 12; trial++) {
    const { wasm, reference, data } = loadBoth(200 + trial);
    const what = `trial ${trial}`;
    const nt = data.train.length;
    for (const k of [wasm, reference]) k.startTree();
    assert.deepEqual(wasm.rootSums(), reference.rootSums(), `${what}: root sums`);
    const [sumG, sumH] = reference.rootSums();
    for (const k of [wasm, reference]) k.histogram(0, { start: 0, count: nt });
    assert.deepEqual(wasm.readHistogram(0), reference.readHistogram(0), `${what}: root histogram`);
    const root = { count: nt, sumGradients: sumG, sumHessians: sumH, value: 0 };
    const split = reference.findSplit(0, root);
    assert.deepEqual(wasm.findSplit(0, root), split, `${what}: root split`);
    if (split.gain <= 0) continue;
    const nLeft = reference.partition({ start: 0, count: nt }, split);
    assert.equal(wasm.partition({ start: 0, count: nt }, split), nLeft, `${what}: rows left`);
    assert.equal(nLeft, split.countLeft, `${what}: rows left vs split`);
    assert.deepEqual(wasm.readPartition({ start: 0, count: nt }), reference.readPartition({ start: 0, count: nt }));
    // Smaller child brute force into slot 1, the larger by subtraction in slot 0.
    const leftSmaller = nLeft < nt - nLeft;
    const small = leftSmaller ? { start: 0, count: nLeft } : { start: nLeft, count: nt - nLeft };
    for (const k of [wasm, reference]) {
      k.histogram(1, small);
      k.subtract(0, 1);
    }
    assert.deepEqual(wasm.readHistogram(1), reference.readHistogram(1), `${what}: small child histogram`);
    assert.deepEqual(wasm.readHistogram(0), reference.readHistogram(0), `${what}: subtracted histogram`);
    // The subtraction equals the larger child's own histogram (counts exactly, sums up to rounding).
    const large = leftSmaller ? { start: nLeft, count: nt - nLeft } : { start: 0, count: nLeft };
    reference.histogram(2, large);
    const direct = reference.readHistogram(2), subtracted = reference.readHistogram(0);
    assert.deepEqual(subtracted.counts, direct.counts, `${what}: subtracted counts`);
    assertClose(subtracted.sumGradients, direct.sumGradients, { tol: 1e-9, what: `${what}: subtracted gradients` });
    for (const [slot, child] of [[1, small], [0, large]] as const) {
      const isLeft = child.start === 0;
      const stats = {
        count: child.count,
        sumGradients: isLeft ? split.sumGradientLeft : split.sumGradientRight,
        sumHessians: isLeft ? split.sumHessianLeft : split.sumHessianRight,
        value: isLeft ? split.valueLeft : split.valueRight,
      };
      assert.deepEqual(wasm.findSplit(slot, stats), reference.findSplit(slot, stats), `${what}: child split`);
    }
  }
});

Deno.test("fitting with the Wasm kernels gives the same model as with the reference kernels", () => {
  for (let trial = 0; trial < 4; trial++) {
    const rand = prng(300 + trial);
    const rows = randInt(rand, { min: 200, max: 2000 });
    const columns = randomColumns(rand, { rows, features: randInt(rand, { min: 2, max: 8 }) });
    const y = labelsFor(columns, rand);
    const options = {
      maxIter: 6,
      earlyStopping: true,
      learningRate: 0.3,
      maxBins: [255, 20][trial % 2],
      minSamplesLeaf: randInt(rand, { min: 1, max: 30 }),
      maxLeafNodes: trial === 3 ? null : 8,
      maxDepth: trial === 2 ? null : 4,
      randomState: trial,
    };
    const wasm = fitHgb(columns, y, options);
    const reference = fitHgb(columns, y, { ...options, kernels: createReferenceKernels() });
    assert.deepEqual(wasm.trees, reference.trees, `trial ${trial}: trees`);
    assert.deepEqual(wasm.binThresholds, reference.binThresholds);
    assert.equal(wasm.baseline, reference.baseline);
    assertClose(wasm.trainLoss, reference.trainLoss, { tol: 1e-12, what: "trainLoss" });
    assertClose(wasm.validationLoss, reference.validationLoss, { tol: 1e-12, what: "validationLoss" });
    assert.ok(wasm.trees.feature.some((f) => f >= 0), "the trees split");
  }
});

Deno.test("predictHgb() and hgbContributions() match the reference on rows with unseen values and NaN", () => {
  const rand = prng(400);
  const train = randomColumns(rand, { rows: 1500, features: 7 });
  const model = fitHgb(train, labelsFor(train, rand), { maxIter: 15, learningRate: 0.2, earlyStopping: false });
  const test = randomColumns(rand, { rows: 3000, features: 7 }).map((c) => c.map((x) => (rand() < 0.1 ? x * 3 : x)));
  assert.deepEqual(predictHgb(model, test, { raw: true }), predictHgbReference(model, test, { raw: true }));
  assertClose(predictHgb(model, test), predictHgbReference(model, test), { tol: 1e-15, what: "probabilities" });
  const contributions = hgbContributions(model, test);
  const expected = hgbContributionsReference(model, test);
  assert.equal(contributions.rows, 3000);
  assert.equal(contributions.features, 7);
  assertClose(contributions.values, expected.values, { tol: 1e-12, what: "contributions" });
  // Each row's contributions and bias add up to its raw score.
  const raw = predictHgb(model, test, { raw: true });
  for (let r = 0; r < 3000; r++) {
    let sum = 0;
    for (let j = 0; j <= 7; j++) sum += contributions.values[r * 8 + j];
    assert.ok(Math.abs(sum - raw[r]) < 1e-9, `row ${r}: contributions sum ${sum}, raw ${raw[r]}`);
  }
  // A subset of rows gives the same rows of the full result.
  const some = hgbContributions(model, test, { rows: [2999, 0, 17] });
  assert.deepEqual([...some.values.subarray(0, 8)], [...contributions.values.subarray(2999 * 8, 3000 * 8)]);
  assert.deepEqual([...some.values.subarray(16, 24)], [...contributions.values.subarray(17 * 8, 18 * 8)]);
});

Deno.test("the raw scores kept during training equal the model's predictions on the training rows", () => {
  const rand = prng(500);
  const columns = randomColumns(rand, { rows: 3000, features: 6 });
  const kernels = createWasmKernels();
  const model = fitHgb(columns, labelsFor(columns, rand), { maxIter: 12, earlyStopping: false, kernels });
  assert.deepEqual(kernels.readRaw(), predictHgb(model, columns, { raw: true }));
});

Deno.test("a fit's kernels refuse to run after another call used the Wasm arena", () => {
  const rand = prng(600);
  const columns = randomColumns(rand, { rows: 300, features: 3 });
  const kernels = createWasmKernels();
  const model = fitHgb(columns, labelsFor(columns, rand), { maxIter: 2, kernels });
  predictHgb(model, columns);
  assert.throws(() => kernels.readRaw(), /arena was used by another call/);
});

// ---------------------------------------------------------------------------------------------
// Behaviour

Deno.test("a single obvious split gives a hand-checkable stump", () => {
  const x = column(Array.from({ length: 100 }, (_, i) => i));
  const y = Uint8Array.from({ length: 100 }, (_, i) => (i >= 50 ? 1 : 0));
  const model = fitHgb([x], y, { maxIter: 1, maxDepth: 1, learningRate: 1 });
  // 100 distinct values: thresholds are the midpoints 0.5 .. 98.5.
  assert.deepEqual(model.binThresholds[0], Array.from({ length: 99 }, (_, i) => i + 0.5));
  assert.equal(model.baseline, 0);
  assert.deepEqual(model.trees.feature, [0, -1, -1]);
  assert.deepEqual(model.trees.threshold, [49.5, 0, 0]);
  assert.deepEqual(model.trees.left, [1, -1, -1]);
  assert.deepEqual(model.trees.right, [2, -1, -1]);
  assert.deepEqual(model.trees.count, [100, 50, 50]);
  // Gradients p - y = ±0.5, hessians 0.25: leaf values -G/H = ∓2.
  assertClose(model.trees.value.slice(1), [-2, 2], { tol: 1e-12, what: "leaf values" });
  // Equal children: missing values (unseen in training) go right.
  assert.deepEqual(model.trees.missingLeft, [0, 0, 0]);
  const p = predictHgb(model, [column([10, 49.5, 49.6, 90, NaN])]);
  const low = 1 / (1 + Math.exp(2)), high = 1 / (1 + Math.exp(-2));
  assertClose(p, [low, low, high, high, high], { tol: 1e-12, what: "probabilities" });
  assertClose(model.trainLoss, [Math.log(2), Math.log(1 + Math.exp(-2))], { tol: 1e-12, what: "trainLoss" });
});

Deno.test("missing values learned in training go to the side with the better gain", () => {
  const rand = prng(700);
  const n = 2000;
  // Positives: x < 0.2 or missing. The missing rows belong with the low values: missing goes left.
  const x = new Float64Array(n), y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const missing = rand() < 0.15;
    x[i] = missing ? NaN : rand();
    y[i] = missing || x[i] < 0.2 ? 1 : 0;
  }
  const model = fitHgb([x], y, { maxIter: 1, maxDepth: 1, learningRate: 1 });
  assert.equal(model.hasMissing[0], true);
  assert.equal(model.trees.missingLeft[0], 1);
  assert.ok(Math.abs(model.trees.threshold[0]! - 0.2) < 0.01, `threshold ${model.trees.threshold[0]}`);
  const [pNaN, pLow, pHigh] = predictHgb(model, [column([NaN, 0.1, 0.9])]);
  assert.equal(pNaN, pLow);
  assert.ok(pNaN > 0.5 && pHigh < 0.5);
  // Mirror: positives are the high values and the missing rows: missing goes right.
  const x2 = x.map((v) => (Number.isNaN(v) ? v : 1 - v));
  const model2 = fitHgb([x2], y, { maxIter: 1, maxDepth: 1, learningRate: 1 });
  assert.equal(model2.trees.missingLeft[0], 0);
  const [qNaN, qLow, qHigh] = predictHgb(model2, [column([NaN, 0.1, 0.9])]);
  assert.equal(qNaN, qHigh);
  assert.ok(qNaN > 0.5 && qLow < 0.5);
});

Deno.test("a split on missing values sends every value left and missing values right", () => {
  const rand = prng(800);
  const n = 1000;
  const x = new Float64Array(n), y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = rand() < 0.3 ? 1 : 0;
    x[i] = y[i] ? NaN : rand();
  }
  const model = fitHgb([x], y, { maxIter: 1, maxDepth: 1, learningRate: 1 });
  const t = model.trees;
  assert.equal(t.threshold[0], null, "an infinite threshold is stored as null");
  assert.equal(t.bin[0], model.binThresholds[0].length);
  assert.equal(t.missingLeft[0], 0);
  const p = predictHgb(model, [column([NaN, 0, 0.99, Infinity, -Infinity])]);
  assert.ok(p[0] > 0.5);
  for (const q of p.subarray(1)) assert.equal(q, p[1]);
  assert.ok(p[1] < 0.5);
  assert.deepEqual(hgbFromJson(hgbToJson(model)), model);
});

Deno.test("without missing values in training, missing values go to the child with more rows", () => {
  const n = 1000;
  const x = column(Array.from({ length: n }, (_, i) => i / n));
  for (const [cut, left] of [[0.7, 1], [0.3, 0]]) {
    const y = Uint8Array.from(x, (v) => (v >= cut ? 1 : 0));
    const model = fitHgb([x], y, { maxIter: 1, maxDepth: 1 });
    assert.equal(model.hasMissing[0], false);
    assert.equal(model.trees.missingLeft[0], left, `cut ${cut}`);
    const [pNaN, pLow, pHigh] = predictHgb(model, [column([NaN, 0, 0.99])]);
    assert.equal(pNaN, left ? pLow : pHigh);
  }
});

Deno.test("a model round-trips through JSON exactly and predicts identically", () => {
  const rand = prng(900);
  const columns = randomColumns(rand, { rows: 2000, features: 6 });
  const model = fitHgb(columns, labelsFor(columns, rand), {
    maxIter: 20,
    earlyStopping: true,
    featureNames: ["a", "b", "c", "d", "e", "f"],
  });
  const text = hgbToJson(model);
  const back = hgbFromJson(text);
  assert.deepEqual(back, model);
  assert.equal(hgbToJson(back), text);
  assert.deepEqual(predictHgb(back, columns), predictHgb(model, columns));
  assert.deepEqual(JSON.parse(JSON.stringify(model)), model, "plain JSON.stringify/parse also round-trips");
  // out: refills a caller's array.
  const out = new Float64Array(2500).fill(-1);
  const p = predictHgb(back, columns, { out });
  assert.equal(p.buffer, out.buffer);
  assert.equal(out[2000], -1);
  assert.deepEqual(p, predictHgb(model, columns));
});

Deno.test("early stopping stops once the validation loss stops improving", () => {
  const rand = prng(1000);
  const n = 12_000;
  const columns = randomColumns(rand, { rows: n, features: 4 });
  // Weak signal plus heavy noise: the validation loss bottoms out early.
  const y = Uint8Array.from({ length: n }, (_, r) => (rand() < (columns[1][r] >= 3 ? 0.3 : 0.2) ? 1 : 0));
  const model = fitHgb(columns, y, {});
  assert.equal(model.params.earlyStopping, true, "auto is on above 10,000 rows");
  assert.equal(model.nValidationRows, 1200);
  assert.equal(model.nTrainRows, 10_800);
  assert.ok(model.nIter > 10 && model.nIter < 250, `n_iter ${model.nIter}`);
  const v = model.validationLoss;
  assert.equal(v.length, model.nIter + 1);
  assert.equal(model.trainLoss.length, model.nIter + 1);
  // scikit-learn's rule: stop when none of the last 10 scores beats the one before them by tol.
  const stops = (k: number) => v.slice(k - 10, k).every((loss) => !(-loss > -v[k - 11] + 1e-7));
  assert.ok(stops(v.length), "the rule holds at the end");
  for (let k = 11; k < v.length; k++) assert.ok(!stops(k), `the rule already held after ${k - 1} trees`);
  // The same data with early stopping off runs every iteration; "auto" is off at 10,000 rows.
  assert.equal(fitHgb(columns, y, { earlyStopping: false, maxIter: 30 }).nIter, 30);
  const small = fitHgb(columns.map((c) => c.subarray(0, 10_000)), y.subarray(0, 10_000), { maxIter: 12 });
  assert.equal(small.params.earlyStopping, false);
  assert.equal(small.nIter, 12);
  assert.deepEqual(small.validationLoss, []);
});

Deno.test("the validation split is stratified and seeded", () => {
  const rand = prng(1100);
  const n = 11_000;
  const columns = randomColumns(rand, { rows: n, features: 2 });
  const y = Uint8Array.from({ length: n }, () => (rand() < 0.1 ? 1 : 0));
  const a = fitHgb(columns, y, { maxIter: 3, randomState: 5 });
  const b = fitHgb(columns, y, { maxIter: 3, randomState: 5 });
  const c = fitHgb(columns, y, { maxIter: 3, randomState: 6 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.validationLoss, c.validationLoss);
  assert.equal(a.nValidationRows, 1100);
});

Deno.test("integer sample weights act like repeated rows", () => {
  const rand = prng(1200);
  const n = 600;
  const columns = [0, 1, 2].map(() => Float64Array.from({ length: n }, () => randInt(rand, { min: 0, max: 30 })));
  const y = Uint8Array.from({ length: n }, (_, r) => (rand() < (columns[0][r] > 15 ? 0.7 : 0.2) ? 1 : 0));
  const weights = Float64Array.from({ length: n }, () => randInt(rand, { min: 1, max: 3 }));
  // Shallow trees keep nodes large: in tiny nodes, different features can make the same split, an
  // exact tie that Float32 rounding (w·g vs. g + g + ...) breaks either way.
  const options = { maxIter: 8, minSamplesLeaf: 1, maxDepth: 3, earlyStopping: false, learningRate: 0.3 };
  const weighted = fitHgb(columns, y, { ...options, sampleWeight: weights });
  const repeat = (values: ArrayLike<number>): number[] => [...weights].flatMap((w, r) => Array(w).fill(values[r]));
  const repeated = fitHgb(columns.map((c) => Float64Array.from(repeat(c))), Uint8Array.from(repeat(y)), options);
  let pos = 0, total = 0;
  for (let r = 0; r < n; r++) {
    pos += weights[r] * y[r];
    total += weights[r];
  }
  assertClose([weighted.baseline], [Math.log(pos / (total - pos))], { tol: 1e-12, what: "baseline" });
  assertClose([repeated.baseline], [weighted.baseline], { tol: 1e-12, what: "baseline" });
  assert.deepEqual(weighted.trees.feature, repeated.trees.feature);
  assertClose(predictHgb(weighted, columns), predictHgb(repeated, columns), { tol: 1e-6, what: "probabilities" });
});

Deno.test("degenerate inputs and options give clear errors", () => {
  const x = column([1, 2, 3, 4]);
  assert.throws(() => fitHgb([new Float64Array(0)], new Uint8Array(0)), { name: "RangeError", message: /0 rows/ });
  assert.throws(() => fitHgb([], new Uint8Array(0)), { name: "TypeError", message: /non-empty array/ });
  assert.throws(() => fitHgb([x], Uint8Array.of(0, 0, 0, 0)), {
    name: "RangeError",
    message: /single class \(all 0\)/,
  });
  assert.throws(() => fitHgb([x], Int32Array.of(1, 1, 1, 1)), {
    name: "RangeError",
    message: /single class \(all 1\)/,
  });
  assert.throws(() => fitHgb([x], Float64Array.of(0, 1, NaN, 1)), { name: "RangeError", message: /y\[2\] is NaN/ });
  assert.throws(() => fitHgb([x], Int32Array.of(0, 1, 2, 1)), { name: "RangeError", message: /y\[2\] is 2/ });
  assert.throws(() => fitHgb([x], Uint8Array.of(0, 1, 1)), { name: "RangeError", message: /3 labels for 4 rows/ });
  assert.throws(() => fitHgb([x, column([1])], Uint8Array.of(0, 1, 0, 1)), {
    name: "RangeError",
    message: /columns\[1\] has 1 rows/,
  });
  assert.throws(() => fitHgb([x], Uint8Array.of(0, 1, 0, 1), { maxBins: 256 }), {
    name: "RangeError",
    message: /maxBins/,
  });
  assert.throws(() => fitHgb([x], Uint8Array.of(0, 1, 0, 1), { learningRate: 0 }), {
    name: "RangeError",
    message: /learningRate/,
  });
  assert.throws(
    () => fitHgb([x], Uint8Array.of(0, 1, 0, 1), { sampleWeight: Float64Array.of(1, -1, 1, 1) }),
    { name: "RangeError", message: /sampleWeight\[1\] is -1/ },
  );
  assert.throws(
    () => fitHgb([x], Uint8Array.of(0, 1, 0, 1), { earlyStopping: true }),
    { name: "RangeError", message: /stratified validation split/ },
  );
  const model = fitHgb([x, x], Uint8Array.of(0, 1, 0, 1), { maxIter: 1, minSamplesLeaf: 1 });
  assert.throws(() => predictHgb(model, [x]), { name: "RangeError", message: /1 features, the model takes 2/ });
  const broken = JSON.parse(hgbToJson(model)) as HgbModel;
  broken.trees.left[0] = 0;
  assert.throws(() => hgbFromJson(JSON.stringify(broken)), { name: "TypeError", message: /node 0 has children/ });
  assert.throws(() => predictHgb(broken, [x, x]), { name: "TypeError", message: /model is invalid/ });
  assert.throws(() => hgbFromJson('{"format":"other"}'), { name: "TypeError", message: /format/ });
});

// ---------------------------------------------------------------------------------------------
// Against scikit-learn

Deno.test("on the churn-like fixture the model matches scikit-learn's HistGradientBoostingClassifier", async () => {
  const { columns, y, expected } = await loadFixture();
  const nt = expected.n_train;
  const train = columns.map((c) => c.subarray(0, nt)), test = columns.map((c) => c.subarray(nt));
  const yTrain = y.subarray(0, nt), yTest = y.subarray(nt);

  // Without early stopping nothing is random: same bins, same trees, same probabilities.
  const fixed = fitHgb(train, yTrain, { earlyStopping: false });
  const sk = expected.no_early_stopping;
  assert.deepEqual(fixed.binThresholds, sk.bin_thresholds);
  assert.equal(fixed.baseline, sk.baseline);
  assert.equal(fixed.nIter, sk.n_iter);
  const p = predictHgb(fixed, test);
  assertClose(p, sk.test_proba, { tol: 1e-9, what: "probabilities vs scikit-learn" });

  // With early stopping, the same random_state draws the same validation rows as numpy: same
  // number of iterations, same scores, for every seed of the spread.
  for (const ref of expected.early_stopping_auto_spread) {
    const model = fitHgb(train, yTrain, { randomState: ref.random_state });
    assert.equal(model.params.earlyStopping, true);
    assert.equal(model.nValidationRows, Math.ceil(0.1 * nt));
    assert.equal(model.nIter, ref.n_iter, `n_iter for random_state ${ref.random_state}`);
    const q = predictHgb(model, test);
    const pr = averagePrecision(yTest, q), roc = rocAuc(yTest, q);
    assert.ok(Math.abs(pr - ref.pr_auc) <= 1e-9, `PR-AUC ${pr} vs scikit-learn ${ref.pr_auc}`);
    assert.ok(Math.abs(roc - ref.roc_auc) <= 1e-9, `ROC-AUC ${roc} vs scikit-learn ${ref.roc_auc}`);
  }
  // The metrics of these tests reproduce scikit-learn's on the same probabilities.
  assert.ok(Math.abs(averagePrecision(yTest, p) - sk.pr_auc) < 1e-9);
  assert.ok(Math.abs(rocAuc(yTest, p) - sk.roc_auc) < 1e-9);
});

Deno.test("model trees can be read back as kernel trees", () => {
  const rand = prng(1300);
  const columns = randomColumns(rand, { rows: 800, features: 3 });
  const model = fitHgb(columns, labelsFor(columns, rand), { maxIter: 3 });
  const tree = modelTree(model, 1);
  assert.equal(tree.feature.length, model.trees.starts[2] - model.trees.starts[1]);
  assert.equal(tree.left[0], 1);
});

// ---------------------------------------------------------------------------------------------
// Benchmark helpers

Deno.test("syntheticChurn() is seeded and churn-like: missing values, both classes, a learnable signal", () => {
  const a = syntheticChurn(5000, { features: 20, seed: 3 });
  const b = syntheticChurn(5000, { features: 20, seed: 3 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(syntheticChurn(5000, { features: 20, seed: 4 }).y, a.y);
  assert.equal(a.columns.length, 20);
  const rate = a.y.reduce((s, v) => s + v, 0) / 5000;
  assert.ok(rate > 0.05 && rate < 0.4, `positive rate ${rate}`);
  assert.ok(a.columns[4].some(Number.isNaN) && a.columns[5].some(Number.isNaN));
  assert.throws(() => syntheticChurn(10, { features: 5, seed: 1 }), { name: "RangeError", message: /features/ });
});

Deno.test("benchHgb() without scikit-learn times our fit and scores the held-out rows", async () => {
  const figures = await benchHgb({ rows: [4000], features: 14, python: null, maxIter: 20 });
  assert.equal(figures.sizes.length, 1);
  const size = figures.sizes[0];
  assert.equal(size.rows, 4000);
  assert.equal(size.holdout_rows, 1000);
  assert.equal(size.ours.n_iter, 20, "4,000 rows: early stopping is off");
  assert.ok(size.ours.fit_ms > 0 && size.ours.predict_ms > 0);
  assert.ok(size.ours.pr_auc > 0.3 && size.ours.pr_auc <= 1, `PR-AUC ${size.ours.pr_auc}`);
  assert.deepEqual(size.sklearn, []);
  assert.equal(size.sklearn_error, "skipped");
  assert.equal(size.fit_time_ratio, null);
});

Deno.test("the average precision the benchmark reports follows the step-wise definition, ties included", () => {
  assert.equal(averagePrecision(Uint8Array.of(1, 0, 1, 0), Float64Array.of(0.9, 0.8, 0.7, 0.1)), (1 + 2 / 3) / 2);
  // Tied scores form one step: recall 1/2 at precision 1/2, then recall 1 at precision 2/3.
  assert.equal(averagePrecision(Uint8Array.of(1, 0, 1), Float64Array.of(0.5, 0.5, 0.1)), 0.5 * 0.5 + 0.5 * (2 / 3));
});
