/**
 * Histogram gradient-boosted trees for binary classification, the algorithm of scikit-learn's
 * `HistGradientBoostingClassifier` (log loss, best-first trees on 255 quantile bins, missing values
 * learned at each split, early stopping on a stratified validation split), with the numeric
 * kernels in WebAssembly (`hgb.wasm`, built from `assembly/hgb.ts` by `build.ts`).
 *
 * - {@link fitHgb} trains a model; {@link predictHgb} gives probabilities; {@link hgbContributions}
 *   splits each raw score into per-feature contributions (Saabas: each split's change of node
 *   value goes to the split feature) for explanations.
 * - A model ({@link HgbModel}) is plain JSON data: it round-trips exactly through
 *   `JSON.stringify`/`JSON.parse`; {@link hgbToJson} and {@link hgbFromJson} (which validates)
 *   do that.
 * - The kernels (binning, histograms with the subtraction trick, split search, row partition,
 *   gradients, prediction) run behind the {@link HgbKernels} interface; the tree growth, the
 *   iterations and early stopping are orchestrated here in TypeScript. `hgb_reference.ts` has
 *   the same kernels in plain TypeScript (the test oracle): pass them as `options.kernels`.
 *
 * This module owns the Wasm module's linear memory as an arena laid out from its heap base: a fit
 * keeps its binned matrix (one byte per row and feature), gradients, raw scores, row partition and
 * histogram slots there; a prediction streams its rows through in blocks. The memory grows when a
 * call needs more and is reused by the next call.
 *
 * @module
 */

import { WasmArena } from "./arena.ts";
import { NumpyRandomState, sklearnDerivedSeed, stratifiedTrainTestSplit } from "./numpy_random.ts";
import * as hgb from "./hgb.wasm";

// ---------------------------------------------------------------------------------------------
// Types

/** Labels: 0 (negative) or 1 (positive) per row. */
export type HgbLabels = Uint8Array | Int32Array | Float64Array;

/** Training options; the defaults are the project's candidate model. */
export interface HgbOptions {
  /** Shrinkage of every leaf value (default 0.08). */
  learningRate?: number;
  /** Largest depth of a tree, in edges from the root, or null for no limit (default 6). */
  maxDepth?: number | null;
  /** Boosting iterations (trees) at most (default 250). */
  maxIter?: number;
  /** Leaves per tree at most, or null for no limit (default 31). */
  maxLeafNodes?: number | null;
  /** Rows per leaf at least (default 20). */
  minSamplesLeaf?: number;
  /** L2 regularization of the leaf values (default 0). */
  l2?: number;
  /** Bins for the non-missing values of a feature, 2..255 (default 255); missing values get one more. */
  maxBins?: number;
  /** Early stopping: "auto" (default) turns it on for more than 10,000 rows. */
  earlyStopping?: "auto" | boolean;
  /**
   * Fraction of the rows held out (stratified) to score early stopping, or null to score the
   * training rows (default 0.1).
   */
  validationFraction?: number | null;
  /** Stop when the last this many scores did not improve on the one before them by more than `tol` (default 10). */
  nIterNoChange?: number;
  /** Improvement needed by early stopping (default 1e-7). */
  tol?: number;
  /**
   * scikit-learn's `random_state` (default 0): the validation split and the binning subsample
   * are drawn exactly as scikit-learn draws them for the same value (see `numpy_random.ts`).
   */
  randomState?: number;
  /** Weight per row (finite, >= 0, summing to more than 0 on the training rows). */
  sampleWeight?: Float64Array;
  /** Names of the features, stored in the model. */
  featureNames?: readonly string[];
  /** The numeric kernels (default: the Wasm kernels of this module). */
  kernels?: HgbKernels;
}

/** The training parameters a model was fitted with (the options, resolved). */
export interface HgbParams {
  /** Shrinkage of every leaf value. */
  learningRate: number;
  /** Largest depth of a tree, or null. */
  maxDepth: number | null;
  /** Boosting iterations at most. */
  maxIter: number;
  /** Leaves per tree at most, or null. */
  maxLeafNodes: number | null;
  /** Rows per leaf at least. */
  minSamplesLeaf: number;
  /** L2 regularization. */
  l2: number;
  /** Bins for the non-missing values of a feature. */
  maxBins: number;
  /** Whether early stopping was on for this fit. */
  earlyStopping: boolean;
  /** Validation fraction, or null when early stopping scored the training rows. */
  validationFraction: number | null;
  /** Early stopping patience. */
  nIterNoChange: number;
  /** Early stopping tolerance. */
  tol: number;
  /** Seed. */
  randomState: number;
}

/**
 * The trees of a model as flat arrays, one entry per node, trees one after another. Within a tree
 * the nodes are in depth-first order (a node, its left subtree, its right subtree; the root
 * first) and `left`/`right` are node numbers within the tree.
 */
export interface HgbTrees {
  /** First node of each tree, plus the total node count at the end (trees + 1 entries). */
  starts: number[];
  /** Split feature, or -1 for a leaf. */
  feature: number[];
  /**
   * Split threshold on the raw value: values <= threshold go left. `null` for a split on missing
   * values (every non-missing value goes left: an infinite threshold); 0 for a leaf.
   */
  threshold: (number | null)[];
  /** Split bin: bins <= bin go left (0 for a leaf). */
  bin: number[];
  /** 1 when missing values go left, else 0. */
  missingLeft: number[];
  /** Left child (node number within the tree), -1 for a leaf. */
  left: number[];
  /** Right child, -1 for a leaf. */
  right: number[];
  /**
   * Node value in raw-score units, shrinkage applied: a leaf's is what the tree predicts; an
   * inner node's is the Newton step it would have had as a leaf (used by the contributions).
   */
  value: number[];
  /** Training rows that reached the node. */
  count: number[];
}

/**
 * A fitted model: plain data that round-trips exactly through JSON. Treat it as immutable once
 * used: {@link predictHgb} and {@link hgbContributions} validate and compile a model object once
 * and reuse that for the object.
 */
export interface HgbModel {
  /** Format tag. */
  format: "hgb-1";
  /** Number of features (columns) the model takes. */
  nFeatures: number;
  /** Feature names, or null. */
  featureNames: string[] | null;
  /** Training parameters. */
  params: HgbParams;
  /** Raw score before the first tree: the log-odds of the (weighted) positive rate of the training rows. */
  baseline: number;
  /** Number of boosting iterations (trees). */
  nIter: number;
  /** Rows the trees were fitted on. */
  nTrainRows: number;
  /** Rows held out for early stopping. */
  nValidationRows: number;
  /** Per feature, the bin thresholds: values <= thresholds[b] and > thresholds[b - 1] are in bin b. */
  binThresholds: number[][];
  /** Per feature, whether the training rows had missing values. */
  hasMissing: boolean[];
  /** Mean (weighted) log loss of the training rows before the first tree and after each one. */
  trainLoss: number[];
  /** The same on the validation rows (empty without a validation split). */
  validationLoss: number[];
  /** The trees. */
  trees: HgbTrees;
}

/** A node's split, as scikit-learn's SplitInfo. */
export interface HgbSplit {
  /** Loss reduction; -1 when no split satisfies the constraints. */
  gain: number;
  /** Split feature. */
  feature: number;
  /** Bins <= bin go left. */
  bin: number;
  /** Whether missing values go left. */
  missingLeft: boolean;
  /** Sum of the gradients of the left child. */
  sumGradientLeft: number;
  /** Sum of the hessians of the left child. */
  sumHessianLeft: number;
  /** Rows in the left child. */
  countLeft: number;
  /** Sum of the gradients of the right child. */
  sumGradientRight: number;
  /** Sum of the hessians of the right child. */
  sumHessianRight: number;
  /** Rows in the right child. */
  countRight: number;
  /** Value (Newton step, no shrinkage) of the left child. */
  valueLeft: number;
  /** Value of the right child. */
  valueRight: number;
}

/** What the split search needs to know about a node besides its histogram. */
export interface HgbNodeStats {
  /** Rows in the node. */
  count: number;
  /** Sum of their gradients. */
  sumGradients: number;
  /** Sum of their hessians. */
  sumHessians: number;
  /** The node's value (0 for the root). */
  value: number;
}

/** A histogram slot's contents: per feature and bin (`f * 256 + b`). */
export interface HgbHistogram {
  /** Sums of the gradients. */
  sumGradients: Float64Array;
  /** Sums of the hessians. */
  sumHessians: Float64Array;
  /** Row counts. */
  counts: Int32Array;
}

/** One tree in the form the kernels take: the node arrays of {@link HgbTrees} for a single tree. */
export interface HgbTreeNodes {
  /** Split feature, -1 for a leaf. */
  feature: ArrayLike<number>;
  /** Raw threshold (Infinity for a split on missing values). */
  threshold: ArrayLike<number>;
  /** Split bin. */
  bin: ArrayLike<number>;
  /** 1 when missing values go left. */
  missingLeft: ArrayLike<number>;
  /** Left child. */
  left: ArrayLike<number>;
  /** Right child. */
  right: ArrayLike<number>;
  /** Node value. */
  value: ArrayLike<number>;
}

/** The training problem handed to {@link HgbKernels.load}. */
export interface HgbKernelData {
  /** Feature columns, all rows (training and validation). */
  columns: readonly Float64Array[];
  /** Per feature 256 thresholds, ascending, padded with +Infinity (features × 256). */
  tables: Float64Array;
  /** Bin of missing values (= max bins). */
  missingBin: number;
  /** Per feature, the bins used by non-missing values. */
  nBinsNonMissing: Int32Array;
  /** Labels, 0 or 1, all rows. */
  y: Uint8Array;
  /** Weights, all rows, or null. */
  weights: Float64Array | null;
  /** Training rows, ascending. */
  train: Int32Array;
  /** Validation rows, ascending (may be empty). */
  validation: Int32Array;
  /** Initial raw score of every row. */
  baseline: number;
  /** Rows per leaf at least. */
  minSamplesLeaf: number;
  /** Hessian per child at least. */
  minHessian: number;
  /** L2 regularization. */
  l2: number;
  /** Gain a split needs to exceed. */
  minGain: number;
  /** Most nodes a tree can have. */
  maxTreeNodes: number;
}

/**
 * The numeric kernels of a fit, holding its state (binned matrix, gradients, raw scores, the
 * partition of the training rows among the nodes of the tree being grown, histogram slots).
 * Two implementations: the Wasm one ({@link createWasmKernels}) and the plain TypeScript one
 * (`createReferenceKernels` in `hgb_reference.ts`).
 */
export interface HgbKernels {
  /**
   * Starts a fit: bins every row, sets every raw score to the baseline; returns the has-missing
   * flag of each feature over the training rows.
   */
  load(data: HgbKernelData): Uint8Array;
  /**
   * Computes the gradients and hessians of the training rows at their raw scores; returns the sum
   * of their (weighted) losses.
   */
  gradients(): number;
  /** Replaces the gradients and hessians of all rows (Float32 values; for tests). */
  setGradients(gradients: Float32Array, hessians: Float32Array): void;
  /** Sum of the (weighted) losses of the validation rows. */
  validationLoss(): number;
  /** Starts a tree: the partition holds all training rows, ascending. */
  startTree(): void;
  /** Sums of the gradients and of the hessians of the training rows, in row order. */
  rootSums(): [number, number];
  /** Builds histogram slot `slot` from the rows at positions [start, start + count) of the partition. */
  histogram(slot: number, range: { start: number; count: number }): void;
  /** Histogram subtraction: slot `parent` becomes parent minus slot `child`. */
  subtract(parent: number, child: number): void;
  /** The best split of a node from its histogram slot. */
  findSplit(slot: number, node: HgbNodeStats): HgbSplit;
  /** Partitions positions [start, start + count) by a split (stable); returns the rows that went left. */
  partition(range: { start: number; count: number }, split: HgbSplit): number;
  /** Adds `value` to the raw scores of the rows at positions [start, start + count) of the partition. */
  addLeaf(range: { start: number; count: number }, value: number): void;
  /** Adds a tree's prediction (on the binned values) to the raw scores of the validation rows. */
  addTreeToValidation(tree: HgbTreeNodes): void;
  /** A copy of a histogram slot (for tests). */
  readHistogram(slot: number): HgbHistogram;
  /** A copy of the partition positions [start, start + count) (for tests). */
  readPartition(range: { start: number; count: number }): Int32Array;
  /** A copy of the raw scores of all rows (for tests). */
  readRaw(): Float64Array;
  /** A copy of the binned matrix, column-major (feature f of row r at f × rows + r; for tests). */
  readBinned(): Uint8Array;
}

/** Options of {@link predictHgb}. */
export interface HgbPredictOptions {
  /** Array to write into (at least as long as the rows); a new one otherwise. */
  out?: Float64Array;
  /** Return raw scores (log-odds) instead of probabilities (default false). */
  raw?: boolean;
}

/** Options of {@link hgbContributions}. */
export interface HgbContributionOptions {
  /** Rows to explain (default: all). */
  rows?: ArrayLike<number>;
  /** Array to write into (at least rows × (features + 1) long); a new one otherwise. */
  out?: Float64Array;
}

/** Per-row feature contributions to the raw score. */
export interface HgbContributions {
  /** Rows explained. */
  rows: number;
  /** Features of the model. */
  features: number;
  /**
   * Row-major, `features + 1` values per row: the contribution of each feature, then the bias
   * (baseline plus the roots' values). A row's values sum to its raw score (log-odds).
   */
  values: Float64Array;
}

// ---------------------------------------------------------------------------------------------
// Constants

/** scikit-learn's `min_hessian_to_split`. */
const MIN_HESSIAN = 1e-3;
/** Thresholds are clipped here (scikit-learn's ALMOST_INF): an infinite threshold means "split on missing". */
const ALMOST_INF = 1e300;
/** Rows used to compute the bin thresholds at most (scikit-learn's subsample). */
export const BINNING_SUBSAMPLE = 200_000;
/** Bytes of one tree node in Wasm memory. */
const NODE_BYTES = 32;

// ---------------------------------------------------------------------------------------------
// Wasm arena

const arena = new WasmArena(hgb.memory, hgb.heap_base());

/** The arena's current owner: every call that lays the arena out claims it. */
let arenaOwner = 0;
let arenaClaims = 0;

/** Claims the arena; returns the claim's id. */
function claimArena(): number {
  arenaOwner = ++arenaClaims;
  return arenaOwner;
}

/** Current size of the hgb module's linear memory in bytes (grows, never shrinks). */
export function hgbMemoryBytes(): number {
  return arena.bytes;
}

// ---------------------------------------------------------------------------------------------
// Wasm kernels

/** Rows per block when streaming columns into the arena. */
const BIN_BLOCK = 4096;

class WasmKernels implements HgbKernels {
  #claim = 0;
  #nf = 0;
  #n = 0;
  #nt = 0;
  #nv = 0;
  #missingBin = 0;
  #minLeaf = 0;
  #minHess = 0;
  #l2 = 0;
  #minGain = 0;
  #xb = 0;
  #y = 0;
  #sw = 0;
  #raw = 0;
  #gh = 0;
  #train = 0;
  #part = 0;
  #buf = 0;
  #val = 0;
  #flags = 0;
  #nbins = 0;
  #xv = 0;
  #ordered = 0;
  #out = 0;
  #tree = 0;
  #maxNodes = 0;
  #pool = 0;
  #slotBytes = 0;
  #arenaBytes = 0;

  #check(): void {
    if (this.#claim === 0) throw new Error("The kernels have no data: call load() first");
    if (arenaOwner !== this.#claim) {
      throw new Error("The Wasm arena was used by another call since load(): a fit's kernels cannot be interleaved");
    }
  }

  load(data: HgbKernelData): Uint8Array {
    const nf = data.columns.length, n = data.y.length, nt = data.train.length, nv = data.validation.length;
    this.#claim = claimArena();
    this.#nf = nf;
    this.#n = n;
    this.#nt = nt;
    this.#nv = nv;
    this.#missingBin = data.missingBin;
    this.#minLeaf = data.minSamplesLeaf;
    this.#minHess = data.minHessian;
    this.#l2 = data.l2;
    this.#minGain = data.minGain;
    this.#maxNodes = data.maxTreeNodes;
    const layout = arena.layout();
    this.#xb = layout.take(n * nf);
    this.#xv = layout.take(nv * nf);
    this.#ordered = layout.take(nt * 8);
    this.#y = layout.take(n);
    this.#sw = data.weights ? layout.take(n * 8) : 0;
    this.#raw = layout.take(n * 8);
    this.#gh = layout.take(n * 8);
    this.#train = layout.take(nt * 4);
    this.#part = layout.take(nt * 4);
    this.#buf = layout.take(nt * 4);
    this.#val = layout.take(nv * 4);
    this.#flags = layout.take(nf);
    this.#nbins = layout.take(nf * 4);
    this.#out = layout.take(16 * 8);
    this.#tree = layout.take(data.maxTreeNodes * NODE_BYTES);
    const tables = layout.take(nf * 256 * 8);
    this.#pool = layout.take(0);
    this.#slotBytes = hgb.slot_bytes(nf);
    // Binning stages one block of one column at the start of the histogram pool.
    const stage = this.#pool;
    this.#arenaBytes = layout.size + Math.max(BIN_BLOCK * 8, 2 * this.#slotBytes);
    arena.reserve(this.#arenaBytes);

    arena.f64.set(data.tables, tables >>> 3);
    arena.i32.set(data.nBinsNonMissing, this.#nbins >>> 2);
    arena.u8.set(data.y, this.#y);
    if (data.weights) arena.f64.set(data.weights, this.#sw >>> 3);
    arena.i32.set(data.train, this.#train >>> 2);
    arena.i32.set(data.validation, this.#val >>> 2);
    for (let f = 0; f < nf; f++) {
      // A binary search over 2^steps - 1 entries covers this feature's thresholds.
      const steps = Math.ceil(Math.log2(data.nBinsNonMissing[f]));
      for (let a = 0; a < n; a += BIN_BLOCK) {
        const b = Math.min(n, a + BIN_BLOCK);
        arena.f64.set(data.columns[f].subarray(a, b), stage >>> 3);
        hgb.bin_column(stage, b - a, tables + f * 2048, steps, this.#missingBin, this.#xb + f * n + a, 1);
      }
    }
    hgb.gather_rows(this.#xb, n, nf, this.#val, nv, this.#xv);
    hgb.fill_raw(this.#raw, this.#train, nt, data.baseline);
    hgb.fill_raw(this.#raw, this.#val, nv, data.baseline);
    hgb.missing_flags(this.#xb, n, nf, this.#train, nt, this.#missingBin, this.#flags);
    return arena.u8.slice(this.#flags, this.#flags + nf);
  }

  gradients(): number {
    this.#check();
    return hgb.grad_hess(this.#raw, this.#y, this.#sw, this.#train, this.#nt, this.#gh);
  }

  setGradients(gradients: Float32Array, hessians: Float32Array): void {
    this.#check();
    const o = this.#gh >>> 2;
    for (let i = 0; i < this.#n; i++) {
      arena.f32[o + 2 * i] = gradients[i];
      arena.f32[o + 2 * i + 1] = hessians[i];
    }
  }

  validationLoss(): number {
    this.#check();
    return hgb.loss_sum(this.#raw, this.#y, this.#sw, this.#val, this.#nv);
  }

  startTree(): void {
    this.#check();
    arena.u8.copyWithin(this.#part, this.#train, this.#train + this.#nt * 4);
  }

  rootSums(): [number, number] {
    this.#check();
    hgb.sum_gh(this.#gh, this.#part, this.#nt, this.#out);
    const o = this.#out >>> 3;
    return [arena.f64[o], arena.f64[o + 1]];
  }

  #slot(slot: number): number {
    const end = this.#pool - arena.base + (slot + 1) * this.#slotBytes;
    if (end > this.#arenaBytes) {
      this.#arenaBytes = end + 4 * this.#slotBytes;
      arena.reserve(this.#arenaBytes);
    }
    return this.#pool + slot * this.#slotBytes;
  }

  histogram(slot: number, { start, count }: { start: number; count: number }): void {
    this.#check();
    const at = this.#slot(slot);
    hgb.hist_build(this.#xb, this.#n, this.#nf, this.#gh, this.#part + start * 4, count, at, this.#ordered);
  }

  subtract(parent: number, child: number): void {
    this.#check();
    hgb.hist_sub(this.#slot(parent), this.#slot(child), this.#nf);
  }

  findSplit(slot: number, node: HgbNodeStats): HgbSplit {
    this.#check();
    hgb.find_split(
      this.#slot(slot),
      this.#nf,
      this.#nbins,
      this.#flags,
      node.count,
      node.sumGradients,
      node.sumHessians,
      node.value,
      this.#minLeaf,
      this.#minHess,
      this.#l2,
      this.#minGain,
      this.#out,
    );
    const o = this.#out >>> 3, h = arena.f64;
    return {
      gain: h[o],
      feature: h[o + 1],
      bin: h[o + 2],
      missingLeft: h[o + 3] === 1,
      sumGradientLeft: h[o + 4],
      sumHessianLeft: h[o + 5],
      countLeft: h[o + 6],
      sumGradientRight: h[o + 7],
      sumHessianRight: h[o + 8],
      countRight: h[o + 9],
      valueLeft: h[o + 10],
      valueRight: h[o + 11],
    };
  }

  partition({ start, count }: { start: number; count: number }, split: HgbSplit): number {
    this.#check();
    return hgb.partition(
      this.#xb,
      this.#n,
      split.feature,
      split.bin,
      split.missingLeft ? 1 : 0,
      this.#missingBin,
      this.#part + start * 4,
      count,
      this.#buf,
    );
  }

  addLeaf({ start, count }: { start: number; count: number }, value: number): void {
    this.#check();
    hgb.add_value(this.#raw, this.#part + start * 4, count, value);
  }

  addTreeToValidation(tree: HgbTreeNodes): void {
    this.#check();
    if (tree.feature.length > this.#maxNodes) throw new RangeError("The tree has more nodes than load() allowed");
    writeNodes(tree, this.#tree);
    hgb.predict_binned(this.#xv, this.#nf, this.#val, this.#nv, this.#tree, this.#missingBin, this.#raw);
  }

  readHistogram(slot: number): HgbHistogram {
    this.#check();
    const at = this.#slot(slot), m = this.#nf * 256;
    const sumGradients = new Float64Array(m), sumHessians = new Float64Array(m);
    const o = at >>> 3;
    for (let i = 0; i < m; i++) {
      sumGradients[i] = arena.f64[o + 2 * i];
      sumHessians[i] = arena.f64[o + 2 * i + 1];
    }
    const c = (at + m * 16) >>> 2;
    return { sumGradients, sumHessians, counts: arena.i32.slice(c, c + m) };
  }

  readPartition({ start, count }: { start: number; count: number }): Int32Array {
    this.#check();
    const o = (this.#part >>> 2) + start;
    return arena.i32.slice(o, o + count);
  }

  readRaw(): Float64Array {
    this.#check();
    return arena.f64.slice(this.#raw >>> 3, (this.#raw >>> 3) + this.#n);
  }

  readBinned(): Uint8Array {
    this.#check();
    return arena.u8.slice(this.#xb, this.#xb + this.#n * this.#nf);
  }
}

/** Writes a tree's nodes at `at` in the Wasm node layout (see `assembly/hgb.ts`). */
function writeNodes(tree: HgbTreeNodes, at: number): void {
  const m = tree.feature.length;
  for (let i = 0; i < m; i++) {
    const p = at + i * NODE_BYTES;
    arena.f64[p >>> 3] = tree.threshold[i];
    arena.f64[(p >>> 3) + 1] = tree.value[i];
    arena.i32[(p >>> 2) + 4] = tree.feature[i];
    arena.i32[(p >>> 2) + 5] = tree.left[i];
    arena.i32[(p >>> 2) + 6] = tree.right[i];
    arena.u8[p + 28] = tree.bin[i];
    arena.u8[p + 29] = tree.missingLeft[i];
  }
}

/** The Wasm kernels (a fresh fit state; the arena is shared, so one fit at a time). */
export function createWasmKernels(): HgbKernels {
  return new WasmKernels();
}

// ---------------------------------------------------------------------------------------------
// Input checks and options

/** Checks the feature columns; returns [features, rows]. */
function checkColumns(columns: readonly Float64Array[], what: string): [number, number] {
  if (!Array.isArray(columns) || columns.length === 0) {
    throw new TypeError(`${what} must be a non-empty array of Float64Array columns`);
  }
  const n = columns[0] instanceof Float64Array ? columns[0].length : -1;
  for (let f = 0; f < columns.length; f++) {
    if (!(columns[f] instanceof Float64Array)) throw new TypeError(`${what}[${f}] must be a Float64Array`);
    if (columns[f].length !== n) {
      throw new RangeError(`${what}[${f}] has ${columns[f].length} rows, ${what}[0] has ${n}`);
    }
  }
  return [columns.length, n];
}

function checkInt(value: number, { name, min, max }: { name: string; min: number; max?: number }): number {
  if (!Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
    const range = max === undefined ? `>= ${min}` : `in [${min}, ${max}]`;
    throw new RangeError(`${name} must be an integer ${range}, got ${value}`);
  }
  return value;
}

function checkNumber(value: number, { name, min, open }: { name: string; min: number; open?: boolean }): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || (open && value === min)) {
    throw new RangeError(`${name} must be a finite number ${open ? ">" : ">="} ${min}, got ${value}`);
  }
  return value;
}

/** Resolves and checks the options against `n` rows. */
function resolveParams(options: HgbOptions, n: number): HgbParams {
  const es = options.earlyStopping ?? "auto";
  if (es !== "auto" && typeof es !== "boolean") {
    throw new TypeError(`earlyStopping must be "auto" or a boolean, got ${es}`);
  }
  const vf = options.validationFraction === undefined ? 0.1 : options.validationFraction;
  if (vf !== null && !(typeof vf === "number" && vf > 0 && vf < 1)) {
    throw new RangeError(`validationFraction must be a number in (0, 1) or null, got ${vf}`);
  }
  const maxDepth = options.maxDepth === undefined ? 6 : options.maxDepth;
  const maxLeafNodes = options.maxLeafNodes === undefined ? 31 : options.maxLeafNodes;
  return {
    learningRate: checkNumber(options.learningRate ?? 0.08, { name: "learningRate", min: 0, open: true }),
    maxDepth: maxDepth === null ? null : checkInt(maxDepth, { name: "maxDepth", min: 1 }),
    maxIter: checkInt(options.maxIter ?? 250, { name: "maxIter", min: 1 }),
    maxLeafNodes: maxLeafNodes === null ? null : checkInt(maxLeafNodes, { name: "maxLeafNodes", min: 2 }),
    minSamplesLeaf: checkInt(options.minSamplesLeaf ?? 20, { name: "minSamplesLeaf", min: 1 }),
    l2: checkNumber(options.l2 ?? 0, { name: "l2", min: 0 }),
    maxBins: checkInt(options.maxBins ?? 255, { name: "maxBins", min: 2, max: 255 }),
    earlyStopping: es === "auto" ? n > 10_000 : es,
    validationFraction: vf,
    nIterNoChange: checkInt(options.nIterNoChange ?? 10, { name: "nIterNoChange", min: 1 }),
    tol: checkNumber(options.tol ?? 1e-7, { name: "tol", min: 0 }),
    randomState: checkInt(options.randomState ?? 0, { name: "randomState", min: 0, max: 2 ** 32 - 1 }),
  };
}

/** Checks the labels; returns them as bytes and the positive count. */
function checkLabels(y: HgbLabels, n: number): { labels: Uint8Array; positives: number } {
  if (!(y instanceof Uint8Array || y instanceof Int32Array || y instanceof Float64Array)) {
    throw new TypeError("y must be a Uint8Array, Int32Array or Float64Array of 0/1 labels");
  }
  if (y.length !== n) throw new RangeError(`y has ${y.length} labels for ${n} rows`);
  const labels = new Uint8Array(n);
  let positives = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (v !== 0 && v !== 1) throw new RangeError(`y[${i}] is ${v}: labels must be 0 or 1`);
    labels[i] = v;
    positives += v;
  }
  if (positives === 0 || positives === n) {
    throw new RangeError(`y has a single class (all ${positives === 0 ? 0 : 1}): fitting needs both classes`);
  }
  return { labels, positives };
}

function checkWeights(w: Float64Array | undefined, n: number): Float64Array | null {
  if (w === undefined) return null;
  if (!(w instanceof Float64Array)) throw new TypeError("sampleWeight must be a Float64Array");
  if (w.length !== n) throw new RangeError(`sampleWeight has ${w.length} values for ${n} rows`);
  for (let i = 0; i < n; i++) {
    if (!(Number.isFinite(w[i]) && w[i] >= 0)) {
      throw new RangeError(`sampleWeight[${i}] is ${w[i]}: weights must be finite and >= 0`);
    }
  }
  return w;
}

// ---------------------------------------------------------------------------------------------
// Randomness, validation split, binning thresholds

/**
 * scikit-learn's stratified validation split (`train_test_split(stratify=y, test_size=fraction,
 * random_state=seed)`): the training and the validation rows, in scikit-learn's order.
 */
function validationSplit(y: Uint8Array, options: { fraction: number; seed: number }): [Int32Array, Int32Array] {
  const n = y.length;
  const nVal = Math.ceil(options.fraction * n), nTrain = n - nVal;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i];
  if (Math.min(positives, n - positives) < 2 || nTrain < 2 || nVal < 2) {
    throw new RangeError(
      `A stratified validation split of ${n} rows (${positives} positive) needs at least 2 rows of each class ` +
        "and 2 rows on each side: turn early stopping off or pass more rows",
    );
  }
  return stratifiedTrainTestSplit(y, { testSize: options.fraction, seed: options.seed });
}

/**
 * Bin thresholds of one feature from its non-missing values, as scikit-learn's
 * `_find_binning_thresholds`: with at most `maxBins` distinct values, the midpoints between
 * consecutive distinct values; otherwise the `maxBins - 1` inner quantiles at i/maxBins
 * (numpy's "midpoint" percentile method); clipped to [-1e300, 1e300] (see `finite`). `values`
 * (no NaN) is sorted in place.
 */
export function binThresholds(values: Float64Array, maxBins: number): number[] {
  return sortedThresholds(values.sort(), maxBins);
}

/** {@link binThresholds} of values already sorted ascending. */
function sortedThresholds(values: Float64Array, maxBins: number): number[] {
  const n = values.length;
  let distinct = n > 0 ? 1 : 0;
  for (let i = 1; i < n && distinct <= maxBins; i++) if (values[i] !== values[i - 1]) distinct++;
  const out: number[] = [];
  if (distinct <= maxBins) {
    let prev = values[0];
    for (let i = 1; i < n; i++) {
      if (values[i] !== prev) {
        out.push(finite((prev + values[i]) * 0.5, [prev, values[i]]));
        prev = values[i];
      }
    }
  } else {
    const step = 100 / maxBins;
    for (let i = 1; i < maxBins; i++) {
      const q = (i * step) / 100;
      const virtual = (n - 1) * q;
      const lo = Math.floor(virtual);
      if (lo === Math.ceil(virtual)) {
        out.push(finite(values[lo], [values[lo], values[lo]]));
      } else {
        const a = values[lo], b = values[lo + 1];
        out.push(finite(b - (b - a) * 0.5, [a, b]));
      }
    }
  }
  return out;
}

/**
 * A threshold `t` between sorted values [a, b], kept in [-1e300, 1e300]: scikit-learn clips at
 * +1e300 (an infinite threshold means "split on missing values"); the clip at -1e300 and the
 * repair of NaN (numpy's answer next to an infinity: the infinity, or 0 between -inf and +inf)
 * keep thresholds finite and JSON-safe. Finite data never needs either.
 */
function finite(t: number, [a, b]: [number, number]): number {
  if (Number.isNaN(t)) t = a === b ? a : a === -Infinity && b === Infinity ? 0 : b === Infinity ? b : a;
  return Math.min(ALMOST_INF, Math.max(-ALMOST_INF, t));
}

/**
 * The thresholds of every feature from the binning rows (NaN skipped): each column's values are
 * gathered into the Wasm arena and radix-sorted there (`sort_f64`), then read in place.
 */
function allThresholds(columns: readonly Float64Array[], rows: Int32Array, maxBins: number): number[][] {
  claimArena();
  const m = rows.length, layout = arena.layout();
  const x = layout.take(m * 8), tmp = layout.take(m * 8), counts = layout.take(6 * 2048 * 4);
  arena.reserve(layout.size);
  const o = x >>> 3;
  return columns.map((column) => {
    let k = 0;
    for (let i = 0; i < m; i++) {
      const v = column[rows[i]];
      if (v === v) arena.f64[o + k++] = v;
    }
    hgb.sort_f64(x, k, tmp, counts);
    return sortedThresholds(arena.f64.subarray(o, o + k), maxBins);
  });
}

// ---------------------------------------------------------------------------------------------
// Training

/** A node of the tree being grown. */
interface GrowNode {
  depth: number;
  start: number;
  count: number;
  sumG: number;
  sumH: number;
  value: number;
  slot: number;
  split: HgbSplit | null;
  missingLeft: boolean;
  left: GrowNode | null;
  right: GrowNode | null;
  leaf: boolean;
}

/** What growing a tree needs besides the kernels. */
interface GrowContext {
  kernels: HgbKernels;
  params: HgbParams;
  hasMissing: Uint8Array;
  nTrain: number;
}

/** Grows one tree best-first, as scikit-learn's TreeGrower; returns its root (unshrunk values). */
function growTree({ kernels, params, hasMissing, nTrain }: GrowContext): { root: GrowNode; leaves: GrowNode[] } {
  const { minSamplesLeaf: minLeaf, maxLeafNodes, maxDepth } = params;
  kernels.startTree();
  const [sumG, sumH] = kernels.rootSums();
  const free: number[] = [];
  let nextSlot = 0;
  const takeSlot = (): number => free.pop() ?? nextSlot++;
  const leaves: GrowNode[] = [];
  const splittable: GrowNode[] = [];
  type Stats = Pick<GrowNode, "depth" | "start" | "count" | "sumG" | "sumH" | "value">;
  const node = (stats: Stats): GrowNode => ({
    ...stats,
    slot: -1,
    split: null,
    missingLeft: false,
    left: null,
    right: null,
    leaf: false,
  });
  const release = (n: GrowNode): void => {
    if (n.slot >= 0) free.push(n.slot);
    n.slot = -1;
  };
  const finalize = (n: GrowNode): void => {
    n.leaf = true;
    leaves.push(n);
    release(n);
  };
  const splitOrFinalize = (n: GrowNode): void => {
    n.split = kernels.findSplit(n.slot, { count: n.count, sumGradients: n.sumG, sumHessians: n.sumH, value: n.value });
    if (n.split.gain <= 0) finalize(n);
    else splittable.push(n);
  };

  const root = node({ depth: 0, start: 0, count: nTrain, sumG, sumH, value: 0 });
  if (nTrain < 2 * minLeaf || sumH < MIN_HESSIAN) {
    finalize(root);
    return { root, leaves };
  }
  root.slot = takeSlot();
  kernels.histogram(root.slot, { start: 0, count: nTrain });
  splitOrFinalize(root);

  while (splittable.length > 0) {
    let best = 0;
    for (let i = 1; i < splittable.length; i++) if (splittable[i].split!.gain > splittable[best].split!.gain) best = i;
    const parent = splittable.splice(best, 1)[0];
    const s = parent.split!;
    const nLeft = kernels.partition({ start: parent.start, count: parent.count }, s);
    if (nLeft !== s.countLeft) {
      throw new Error(`Internal error: the partition sent ${nLeft} rows left, the histogram ${s.countLeft}`);
    }
    const depth = parent.depth + 1;
    const nLeafNodes = leaves.length + splittable.length + 2;
    const left = node({
      depth,
      start: parent.start,
      count: nLeft,
      sumG: s.sumGradientLeft,
      sumH: s.sumHessianLeft,
      value: s.valueLeft,
    });
    const right = node({
      depth,
      start: parent.start + nLeft,
      count: parent.count - nLeft,
      sumG: s.sumGradientRight,
      sumH: s.sumHessianRight,
      value: s.valueRight,
    });
    parent.left = left;
    parent.right = right;
    // Without missing values in training, missing values go to the child with more rows.
    parent.missingLeft = hasMissing[s.feature] ? s.missingLeft : left.count > right.count;

    if (maxLeafNodes !== null && nLeafNodes === maxLeafNodes) {
      finalize(left);
      finalize(right);
      while (splittable.length > 0) finalize(splittable.pop()!);
      release(parent);
      continue;
    }
    if (maxDepth !== null && depth === maxDepth) {
      finalize(left);
      finalize(right);
      release(parent);
      continue;
    }
    if (left.count < 2 * minLeaf) finalize(left);
    if (right.count < 2 * minLeaf) finalize(right);
    if (left.leaf && right.leaf) {
      release(parent);
      continue;
    }
    // The smaller child's histogram from its rows, the larger one's by subtraction in the parent's slot.
    const [small, large] = left.count < right.count ? [left, right] : [right, left];
    small.slot = takeSlot();
    kernels.histogram(small.slot, { start: small.start, count: small.count });
    kernels.subtract(parent.slot, small.slot);
    large.slot = parent.slot;
    parent.slot = -1;
    for (const child of [left, right]) {
      if (child.leaf) release(child);
      else splitOrFinalize(child);
    }
  }
  return { root, leaves };
}

/** Appends a grown tree to the flat arrays (depth-first order); returns its nodes. */
function flattenTree(root: GrowNode, { trees, thresholds, params }: {
  trees: HgbTrees;
  thresholds: number[][];
  params: HgbParams;
}): HgbTreeNodes {
  const lr = params.learningRate;
  const start = trees.feature.length;
  const zero = (v: number): number => (v === 0 ? 0 : v);
  const rawThreshold: number[] = [];
  const visit = (n: GrowNode): number => {
    const i = trees.feature.length - start;
    const value = n === root && !n.leaf ? -n.sumG / (n.sumH + params.l2 + 1e-15) : n.value;
    trees.value.push(zero(value * lr));
    trees.count.push(n.count);
    if (n.leaf) {
      trees.feature.push(-1);
      trees.threshold.push(0);
      rawThreshold.push(0);
      trees.bin.push(0);
      trees.missingLeft.push(0);
      trees.left.push(-1);
      trees.right.push(-1);
      return i;
    }
    const s = n.split!;
    const t = thresholds[s.feature];
    const onMissing = s.bin === t.length; // the last non-missing bin: all values left, missing right
    trees.feature.push(s.feature);
    trees.threshold.push(onMissing ? null : t[s.bin]);
    rawThreshold.push(onMissing ? Infinity : t[s.bin]);
    trees.bin.push(s.bin);
    trees.missingLeft.push(n.missingLeft ? 1 : 0);
    trees.left.push(-1);
    trees.right.push(-1);
    trees.left[start + i] = visit(n.left!);
    trees.right[start + i] = visit(n.right!);
    return i;
  };
  visit(root);
  trees.starts.push(trees.feature.length);
  const end = trees.feature.length;
  return {
    feature: trees.feature.slice(start, end),
    threshold: rawThreshold,
    bin: trees.bin.slice(start, end),
    missingLeft: trees.missingLeft.slice(start, end),
    left: trees.left.slice(start, end),
    right: trees.right.slice(start, end),
    value: trees.value.slice(start, end),
  };
}

/** scikit-learn's `_should_stop` on scores (negative losses). */
function shouldStop(losses: number[], { nIterNoChange, tol }: HgbParams): boolean {
  const ref = nIterNoChange + 1;
  if (losses.length < ref) return false;
  const reference = -losses[losses.length - ref] + tol;
  for (let i = losses.length - ref + 1; i < losses.length; i++) if (-losses[i] > reference) return false;
  return true;
}

/**
 * Fits histogram gradient-boosted trees on the feature `columns` (column-major, NaN = missing)
 * and the 0/1 labels `y`, as scikit-learn's `HistGradientBoostingClassifier` with the same
 * parameters (see {@link HgbOptions}; the defaults are learning_rate=0.08, max_depth=6,
 * max_iter=250 and scikit-learn's other defaults).
 */
export function fitHgb(columns: readonly Float64Array[], y: HgbLabels, options: HgbOptions = {}): HgbModel {
  const [nf, n] = checkColumns(columns, "columns");
  if (n < 2) throw new RangeError(`columns have ${n} rows: fitting needs at least 2`);
  const { labels } = checkLabels(y, n);
  const weights = checkWeights(options.sampleWeight, n);
  const params = resolveParams(options, n);
  if (options.featureNames !== undefined) {
    const names = options.featureNames;
    if (!Array.isArray(names) || names.length !== nf || names.some((s) => typeof s !== "string")) {
      throw new TypeError(`featureNames must be an array of ${nf} strings`);
    }
  }
  const kernels = options.kernels ?? createWasmKernels();
  // scikit-learn derives one seed from random_state for the validation split and the binning subsample.
  const seed = sklearnDerivedSeed(params.randomState);

  // Training and validation rows.
  let train: Int32Array, validation: Int32Array;
  const validate = params.earlyStopping && params.validationFraction !== null;
  if (validate) {
    [train, validation] = validationSplit(labels, { fraction: params.validationFraction!, seed });
  } else {
    train = new Int32Array(n);
    for (let i = 0; i < n; i++) train[i] = i;
    validation = new Int32Array(0);
  }
  const nt = train.length;
  if (nt > 2 ** 31 / 8) throw new RangeError(`${nt} training rows are too many`);
  const weightOf = (rows: Int32Array): number => {
    if (!weights) return rows.length;
    let s = 0;
    for (let i = 0; i < rows.length; i++) s += weights[rows[i]];
    return s;
  };
  const wTrain = weightOf(train), wVal = weightOf(validation);
  if (!(wTrain > 0)) throw new RangeError("sampleWeight sums to 0 on the training rows");
  if (validate && !(wVal > 0)) throw new RangeError("sampleWeight sums to 0 on the validation rows");

  // Bin thresholds from (a seeded subsample of) the training rows.
  let binRows = train;
  if (nt > BINNING_SUBSAMPLE) {
    // choice(nt, BINNING_SUBSAMPLE, replace=False) on a fresh RandomState(seed), as scikit-learn's _BinMapper.
    const pick = new NumpyRandomState(seed).permutation(nt);
    binRows = new Int32Array(BINNING_SUBSAMPLE);
    for (let i = 0; i < BINNING_SUBSAMPLE; i++) binRows[i] = train[pick[i]];
  }
  // The same rows as scikit-learn, visited in ascending order: memory-friendly for the histograms
  // (scikit-learn copies its rows into split order instead); sums differ by rounding only.
  train.sort();
  validation.sort();
  const thresholds = allThresholds(columns, binRows, params.maxBins);
  const tables = new Float64Array(nf * 256).fill(Infinity);
  const nBinsNonMissing = new Int32Array(nf);
  thresholds.forEach((t, f) => {
    tables.set(t, f * 256);
    nBinsNonMissing[f] = t.length + 1;
  });

  // Baseline: log-odds of the (weighted) positive rate, clipped as scikit-learn.
  let pos = 0;
  for (let i = 0; i < nt; i++) pos += labels[train[i]] * (weights ? weights[train[i]] : 1);
  const eps = 10 * Number.EPSILON;
  const p = Math.min(Math.max(pos / wTrain, eps), 1 - eps);
  const baseline = Math.log(p / (1 - p));

  let leavesBound = Math.max(1, Math.floor(nt / params.minSamplesLeaf));
  if (params.maxLeafNodes !== null) leavesBound = Math.min(leavesBound, params.maxLeafNodes);
  if (params.maxDepth !== null && params.maxDepth < 30) leavesBound = Math.min(leavesBound, 2 ** params.maxDepth);
  const hasMissing = kernels.load({
    columns,
    tables,
    missingBin: params.maxBins,
    nBinsNonMissing,
    y: labels,
    weights,
    train,
    validation,
    baseline,
    minSamplesLeaf: params.minSamplesLeaf,
    minHessian: MIN_HESSIAN,
    l2: params.l2,
    minGain: 0,
    maxTreeNodes: 2 * leavesBound - 1,
  });

  const trees: HgbTrees = {
    starts: [0],
    feature: [],
    threshold: [],
    bin: [],
    missingLeft: [],
    left: [],
    right: [],
    value: [],
    count: [],
  };
  const trainLoss: number[] = [kernels.gradients() / wTrain];
  const validationLoss: number[] = validate ? [kernels.validationLoss() / wVal] : [];
  const context: GrowContext = { kernels, params, hasMissing, nTrain: nt };
  for (let it = 0; it < params.maxIter; it++) {
    const { root, leaves } = growTree(context);
    const nodes = flattenTree(root, { trees, thresholds, params });
    for (const leaf of leaves) {
      const value = leaf.value * params.learningRate;
      if (value !== 0) kernels.addLeaf({ start: leaf.start, count: leaf.count }, value);
    }
    trainLoss.push(kernels.gradients() / wTrain);
    if (params.earlyStopping) {
      if (validate) {
        kernels.addTreeToValidation(nodes);
        validationLoss.push(kernels.validationLoss() / wVal);
      }
      if (shouldStop(validate ? validationLoss : trainLoss, params)) break;
    }
  }

  return {
    format: "hgb-1",
    nFeatures: nf,
    featureNames: options.featureNames ? [...options.featureNames] : null,
    params,
    baseline,
    nIter: trees.starts.length - 1,
    nTrainRows: nt,
    nValidationRows: validation.length,
    binThresholds: thresholds,
    hasMissing: [...hasMissing].map((v) => v === 1),
    trainLoss,
    validationLoss,
    trees,
  };
}

// ---------------------------------------------------------------------------------------------
// Models: validation, compiled form, prediction

/**
 * A model's trees in the Wasm node layout, built once per model object: leaves have themselves
 * as children (the branch-free walks of `predict_raw` take exactly a tree's depth in steps).
 */
interface Compiled {
  nodes: ArrayBuffer;
  starts: Int32Array;
  depths: Int32Array;
}

const compiledModels = new WeakMap<HgbModel, Compiled>();

function fail(what: string): never {
  throw new TypeError(`The model is invalid: ${what}`);
}

/**
 * Checks a model's structure (every array, index and feature in range); throws a TypeError naming
 * the first problem.
 */
export function checkHgbModel(model: HgbModel): void {
  if (typeof model !== "object" || model === null) fail("not an object");
  if (model.format !== "hgb-1") fail(`format is ${JSON.stringify(model.format)}, expected "hgb-1"`);
  const nf = model.nFeatures;
  if (!Number.isInteger(nf) || nf < 1) fail(`nFeatures is ${nf}`);
  if (!Number.isInteger(model.nIter) || model.nIter < 0) fail(`nIter is ${model.nIter}`);
  if (typeof model.baseline !== "number" || !Number.isFinite(model.baseline)) fail(`baseline is ${model.baseline}`);
  if (!Array.isArray(model.binThresholds) || model.binThresholds.length !== nf) {
    fail("binThresholds needs one array per feature");
  }
  if (model.featureNames !== null && (!Array.isArray(model.featureNames) || model.featureNames.length !== nf)) {
    fail("featureNames needs one name per feature");
  }
  const t = model.trees;
  if (typeof t !== "object" || t === null) fail("trees is missing");
  const keys = ["feature", "threshold", "bin", "missingLeft", "left", "right", "value", "count"] as const;
  const m = Array.isArray(t.feature) ? t.feature.length : -1;
  for (const key of keys) {
    if (!Array.isArray(t[key]) || t[key].length !== m) fail(`trees.${key} must have one entry per node`);
  }
  if (
    !Array.isArray(t.starts) || t.starts.length !== model.nIter + 1 || t.starts[0] !== 0 || t.starts[model.nIter] !== m
  ) {
    fail("trees.starts must list nIter + 1 node offsets from 0 to the node count");
  }
  for (let k = 0; k < model.nIter; k++) {
    const a = t.starts[k], b = t.starts[k + 1];
    if (!Number.isInteger(a) || !(b > a)) fail(`tree ${k} is empty`);
    for (let i = a; i < b; i++) {
      const f = t.feature[i], size = b - a, local = i - a;
      if (typeof t.value[i] !== "number" || !Number.isFinite(t.value[i])) fail(`node ${i} has value ${t.value[i]}`);
      if (f === -1) continue;
      if (!Number.isInteger(f) || f < 0 || f >= nf) fail(`node ${i} splits on feature ${f}`);
      const th = t.threshold[i];
      if (th !== null && (typeof th !== "number" || Number.isNaN(th))) fail(`node ${i} has threshold ${th}`);
      const l = t.left[i], r = t.right[i];
      // Depth-first order: children come after their parent, which rules out cycles.
      if (!Number.isInteger(l) || !Number.isInteger(r) || l <= local || r <= local || l >= size || r >= size) {
        fail(`node ${i} has children ${l} and ${r} outside its tree`);
      }
      const bin = t.bin[i];
      if (!Number.isInteger(bin) || bin < 0 || bin > 255) fail(`node ${i} has bin ${bin}`);
      if (t.missingLeft[i] !== 0 && t.missingLeft[i] !== 1) fail(`node ${i} has missingLeft ${t.missingLeft[i]}`);
    }
  }
}

/** Validates a model once and builds its Wasm node array. */
function compile(model: HgbModel): Compiled {
  const cached = compiledModels.get(model);
  if (cached) return cached;
  checkHgbModel(model);
  const t = model.trees, m = t.feature.length;
  const nodes = new ArrayBuffer(m * NODE_BYTES);
  const f64 = new Float64Array(nodes), i32 = new Int32Array(nodes), u8 = new Uint8Array(nodes);
  const depth = new Int32Array(m), depths = new Int32Array(model.nIter);
  for (let k = 0; k < model.nIter; k++) {
    const a = t.starts[k];
    for (let i = a; i < t.starts[k + 1]; i++) {
      const th = t.threshold[i], leaf = t.feature[i] < 0;
      f64[4 * i] = th === null ? Infinity : th;
      f64[4 * i + 1] = t.value[i];
      i32[8 * i + 4] = t.feature[i];
      i32[8 * i + 5] = leaf ? i - a : t.left[i];
      i32[8 * i + 6] = leaf ? i - a : t.right[i];
      u8[32 * i + 28] = t.bin[i];
      u8[32 * i + 29] = t.missingLeft[i];
      if (!leaf) depth[a + t.left[i]] = depth[a + t.right[i]] = depth[i] + 1;
      depths[k] = Math.max(depths[k], depth[i]);
    }
  }
  const compiled = { nodes, starts: Int32Array.from(t.starts.slice(0, model.nIter)), depths };
  compiledModels.set(model, compiled);
  return compiled;
}

/** Lays out a prediction call: the model's nodes, tree starts, a block of input rows and a block of outputs. */
function layoutPrediction(compiled: Compiled, { nf, block, width }: { nf: number; block: number; width: number }): {
  nodes: number;
  starts: number;
  depths: number;
  x: number;
  out: number;
} {
  claimArena();
  const layout = arena.layout();
  const nodes = layout.take(compiled.nodes.byteLength);
  const starts = layout.take(compiled.starts.length * 4);
  const depths = layout.take(compiled.depths.length * 4);
  const x = layout.take(block * nf * 8);
  const out = layout.take(block * width * 8);
  arena.reserve(layout.size);
  arena.u8.set(new Uint8Array(compiled.nodes), nodes);
  arena.i32.set(compiled.starts, starts >>> 2);
  arena.i32.set(compiled.depths, depths >>> 2);
  return { nodes, starts, depths, x, out };
}

/** Copies rows [a, b) (or the listed rows) of the columns into the block at `x`, column-major. */
function copyBlock(columns: readonly Float64Array[], { x, a, b, rows }: {
  x: number;
  a: number;
  b: number;
  rows?: ArrayLike<number>;
}): void {
  const len = b - a;
  for (let f = 0; f < columns.length; f++) {
    const o = (x >>> 3) + f * len, col = columns[f];
    if (rows) { for (let i = 0; i < len; i++) arena.f64[o + i] = col[rows[a + i]]; }
    else arena.f64.set(col.subarray(a, b), o);
  }
}

function outArray(out: Float64Array | undefined, length: number): Float64Array {
  if (out === undefined) return new Float64Array(length);
  if (!(out instanceof Float64Array)) throw new TypeError("out must be a Float64Array");
  if (out.length < length) throw new RangeError(`out has ${out.length} values, ${length} needed`);
  return out.length === length ? out : out.subarray(0, length);
}

/** Rows per prediction block. */
const PREDICT_BLOCK = 2048;

/**
 * Predicts the positive-class probability of every row of `columns` (column-major, NaN =
 * missing), as scikit-learn's `predict_proba(X)[:, 1]`: baseline plus every tree's leaf value in
 * order, then the logistic function; `options.raw` returns the raw scores instead.
 */
export function predictHgb(
  model: HgbModel,
  columns: readonly Float64Array[],
  options: HgbPredictOptions = {},
): Float64Array {
  const compiled = compile(model);
  const [nf, n] = checkColumns(columns, "columns");
  if (nf !== model.nFeatures) throw new RangeError(`columns has ${nf} features, the model takes ${model.nFeatures}`);
  const result = outArray(options.out, n);
  const { nodes, starts, depths, x, out } = layoutPrediction(compiled, { nf, block: PREDICT_BLOCK, width: 1 });
  for (let a = 0; a < n; a += PREDICT_BLOCK) {
    const b = Math.min(n, a + PREDICT_BLOCK), len = b - a;
    copyBlock(columns, { x, a, b });
    arena.f64.fill(model.baseline, out >>> 3, (out >>> 3) + len);
    hgb.predict_raw(x, len, nodes, starts, depths, model.nIter, out);
    if (!options.raw) hgb.expit(out, len);
    result.set(arena.f64.subarray(out >>> 3, (out >>> 3) + len), a);
  }
  return result;
}

/**
 * Per-row contributions of each feature to the raw score (Saabas): walking a row's path through
 * every tree, each split's change of node value (child minus parent, shrinkage applied) goes to
 * the split feature; the baseline and the roots' values form the bias. A row's contributions and
 * bias sum to its raw score. Rank a row's features by contribution for its "top reasons".
 */
export function hgbContributions(
  model: HgbModel,
  columns: readonly Float64Array[],
  options: HgbContributionOptions = {},
): HgbContributions {
  const compiled = compile(model);
  const [nf, n] = checkColumns(columns, "columns");
  if (nf !== model.nFeatures) throw new RangeError(`columns has ${nf} features, the model takes ${model.nFeatures}`);
  const rows = options.rows;
  if (rows !== undefined) {
    for (let i = 0; i < rows.length; i++) {
      if (!Number.isInteger(rows[i]) || rows[i] < 0 || rows[i] >= n) {
        throw new RangeError(`rows[${i}] is ${rows[i]}: not a row of columns`);
      }
    }
  }
  const count = rows === undefined ? n : rows.length, width = nf + 1;
  const values = outArray(options.out, count * width);
  const block = Math.max(16, Math.min(PREDICT_BLOCK, Math.floor(2 ** 21 / (width * 8))));
  const { nodes, starts, depths, x, out } = layoutPrediction(compiled, { nf, block, width });
  for (let a = 0; a < count; a += block) {
    const b = Math.min(count, a + block), len = b - a;
    copyBlock(columns, { x, a, b, rows });
    const o = out >>> 3;
    arena.f64.fill(0, o, o + len * width);
    for (let r = 0; r < len; r++) arena.f64[o + r * width + nf] = model.baseline;
    hgb.contributions(x, len, nodes, starts, depths, model.nIter, nf, out);
    values.set(arena.f64.subarray(o, o + len * width), a * width);
  }
  return { rows: count, features: nf, values };
}

/** Serialises a model to JSON text (exact: numbers round-trip). */
export function hgbToJson(model: HgbModel): string {
  return JSON.stringify(model);
}

/** Parses a model from JSON text and validates it. */
export function hgbFromJson(text: string): HgbModel {
  const model = JSON.parse(text) as HgbModel;
  checkHgbModel(model);
  return model;
}
