/**
 * Plain TypeScript implementations of the gradient-boosting kernels of `hgb.ts`, written from
 * scikit-learn's definitions without the Wasm kernels' shortcuts: the test oracle.
 *
 * - {@link createReferenceKernels}: the {@link HgbKernels} of a fit (binning by a linear scan of
 *   the thresholds, histograms feature by feature, scikit-learn's split search loops as they are,
 *   without skipping empty bins, a filter-based partition). Pass them to `fitHgb` as
 *   `options.kernels` to train with them.
 * - {@link predictHgbReference} and {@link hgbContributionsReference}: prediction and
 *   contributions by walking each row down each tree.
 *
 * @module
 */

import type {
  HgbContributions,
  HgbHistogram,
  HgbKernelData,
  HgbKernels,
  HgbModel,
  HgbNodeStats,
  HgbSplit,
  HgbTreeNodes,
} from "./hgb.ts";

/** log(1 + exp(x)) with scikit-learn 1.2's cutoffs. */
function log1pexp(x: number): number {
  if (x <= -37) return Math.exp(x);
  if (x <= 18) return Math.log1p(Math.exp(x));
  if (x <= 33.3) return x + Math.exp(-x);
  return x;
}

/** The node a row reaches in a tree, given how a split node routes the row. */
function walk(tree: HgbTreeNodes, goesLeft: (node: number) => boolean): number[] {
  const path = [0];
  let i = 0;
  while (tree.feature[i] >= 0) {
    i = goesLeft(i) ? tree.left[i] : tree.right[i];
    path.push(i);
  }
  return path;
}

class ReferenceKernels implements HgbKernels {
  #data: HgbKernelData | null = null;
  #nf = 0;
  #n = 0;
  #binned = new Uint8Array(0);
  #raw = new Float64Array(0);
  #g = new Float32Array(0);
  #h = new Float32Array(0);
  #part = new Int32Array(0);
  #hasMissing = new Uint8Array(0);
  #slots: HgbHistogram[] = [];

  #d(): HgbKernelData {
    if (!this.#data) throw new Error("The kernels have no data: call load() first");
    return this.#data;
  }

  load(data: HgbKernelData): Uint8Array {
    const nf = data.columns.length, n = data.y.length;
    this.#data = data;
    this.#nf = nf;
    this.#n = n;
    this.#binned = new Uint8Array(n * nf);
    for (let f = 0; f < nf; f++) {
      const nThresholds = data.nBinsNonMissing[f] - 1;
      const t = data.tables.subarray(f * 256, f * 256 + nThresholds);
      for (let r = 0; r < n; r++) {
        const x = data.columns[f][r];
        let b = 0;
        if (Number.isNaN(x)) {
          b = data.missingBin;
        } else {
          // scikit-learn's bin: the first b with x <= t[b], else the last non-missing bin.
          while (b < nThresholds && !(x <= t[b])) b++;
        }
        this.#binned[f * n + r] = b;
      }
    }
    this.#raw = new Float64Array(n);
    for (const r of data.train) this.#raw[r] = data.baseline;
    for (const r of data.validation) this.#raw[r] = data.baseline;
    this.#g = new Float32Array(n);
    this.#h = new Float32Array(n);
    this.#part = data.train.slice();
    this.#hasMissing = new Uint8Array(nf);
    for (let f = 0; f < nf; f++) {
      for (const r of data.train) if (this.#binned[f * n + r] === data.missingBin) this.#hasMissing[f] = 1;
    }
    this.#slots = [];
    return this.#hasMissing.slice();
  }

  gradients(): number {
    const d = this.#d();
    let loss = 0;
    for (const r of d.train) {
      const raw = this.#raw[r], t = d.y[r], w = d.weights ? d.weights[r] : 1;
      const e = Math.exp(-raw);
      let g = ((1 - t) - t * e) / (1 + e);
      let h = e / ((1 + e) * (1 + e));
      let l = log1pexp(raw) - t * raw;
      if (d.weights) {
        g *= w;
        h *= w;
        l *= w;
      }
      this.#g[r] = g;
      this.#h[r] = h;
      loss += l;
    }
    return loss;
  }

  setGradients(gradients: Float32Array, hessians: Float32Array): void {
    this.#d();
    this.#g.set(gradients.subarray(0, this.#n));
    this.#h.set(hessians.subarray(0, this.#n));
  }

  validationLoss(): number {
    const d = this.#d();
    let loss = 0;
    for (const r of d.validation) {
      const l = log1pexp(this.#raw[r]) - d.y[r] * this.#raw[r];
      loss += d.weights ? l * d.weights[r] : l;
    }
    return loss;
  }

  startTree(): void {
    this.#part = this.#d().train.slice();
  }

  rootSums(): [number, number] {
    let g = 0, h = 0;
    for (const r of this.#part) {
      g += this.#g[r];
      h += this.#h[r];
    }
    return [g, h];
  }

  histogram(slot: number, { start, count }: { start: number; count: number }): void {
    this.#d();
    const m = this.#nf * 256;
    const hist: HgbHistogram = {
      sumGradients: new Float64Array(m),
      sumHessians: new Float64Array(m),
      counts: new Int32Array(m),
    };
    for (let f = 0; f < this.#nf; f++) {
      for (let i = start; i < start + count; i++) {
        const r = this.#part[i];
        const k = f * 256 + this.#binned[f * this.#n + r];
        hist.sumGradients[k] += this.#g[r];
        hist.sumHessians[k] += this.#h[r];
        hist.counts[k] += 1;
      }
    }
    this.#slots[slot] = hist;
  }

  subtract(parent: number, child: number): void {
    const p = this.#slots[parent], c = this.#slots[child];
    for (let k = 0; k < p.counts.length; k++) {
      p.sumGradients[k] -= c.sumGradients[k];
      p.sumHessians[k] -= c.sumHessians[k];
      p.counts[k] -= c.counts[k];
    }
  }

  findSplit(slot: number, node: HgbNodeStats): HgbSplit {
    const d = this.#d();
    const hist = this.#slots[slot];
    const { count: n, sumGradients: sumG, sumHessians: sumH, value } = node;
    const l2 = d.l2;
    const nodeValue = (g: number, h: number): number => -g / (h + l2 + 1e-15);
    const lossNode = sumG * value;
    const gainOf = (gl: number, hl: number, gr: number, hr: number): number => {
      let gain = lossNode;
      gain -= gl * nodeValue(gl, hl);
      gain -= gr * nodeValue(gr, hr);
      return gain;
    };
    type Best = { gain: number; bin: number; missingLeft: boolean; gl: number; hl: number; nl: number };
    let best: Best & { feature: number } = { gain: -1, bin: 0, missingLeft: false, gl: 0, hl: 0, nl: 0, feature: 0 };
    for (let f = 0; f < this.#nf; f++) {
      const nb = d.nBinsNonMissing[f], hm = this.#hasMissing[f];
      const at = (b: number): [number, number, number] => {
        const k = f * 256 + b;
        return [hist.counts[k], hist.sumGradients[k], hist.sumHessians[k]];
      };
      const fb: Best = { gain: -1, bin: 0, missingLeft: false, gl: 0, hl: 0, nl: 0 };
      // _find_best_bin_to_split_left_to_right
      let gl = 0, hl = 0, nl = 0;
      for (let b = 0; b < nb - 1 + hm; b++) {
        const [c, g, h] = at(b);
        nl += c;
        const nr = n - nl;
        hl += h;
        const hr = sumH - hl;
        gl += g;
        const gr = sumG - gl;
        if (nl < d.minSamplesLeaf) continue;
        if (nr < d.minSamplesLeaf) break;
        if (hl < d.minHessian) continue;
        if (hr < d.minHessian) break;
        const gain = gainOf(gl, hl, gr, hr);
        if (gain > fb.gain && gain > d.minGain) Object.assign(fb, { gain, bin: b, missingLeft: false, gl, hl, nl });
      }
      // _find_best_bin_to_split_right_to_left
      if (hm) {
        let gr = 0, hr = 0, nr = 0;
        for (let b = nb - 2; b >= 0; b--) {
          const [c, g, h] = at(b + 1);
          nr += c;
          const nl = n - nr;
          hr += h;
          const hl = sumH - hr;
          gr += g;
          const gl = sumG - gr;
          if (nr < d.minSamplesLeaf) continue;
          if (nl < d.minSamplesLeaf) break;
          if (hr < d.minHessian) continue;
          if (hl < d.minHessian) break;
          const gain = gainOf(gl, hl, gr, hr);
          if (gain > fb.gain && gain > d.minGain) Object.assign(fb, { gain, bin: b, missingLeft: true, gl, hl, nl });
        }
      }
      if (f === 0 || fb.gain > best.gain) best = { ...fb, feature: f };
    }
    const gr = sumG - best.gl, hr = sumH - best.hl;
    return {
      gain: best.gain,
      feature: best.feature,
      bin: best.bin,
      missingLeft: best.missingLeft,
      sumGradientLeft: best.gl,
      sumHessianLeft: best.hl,
      countLeft: best.nl,
      sumGradientRight: gr,
      sumHessianRight: hr,
      countRight: n - best.nl,
      valueLeft: nodeValue(best.gl, best.hl),
      valueRight: nodeValue(gr, hr),
    };
  }

  partition({ start, count }: { start: number; count: number }, split: HgbSplit): number {
    const d = this.#d();
    const rows = [...this.#part.subarray(start, start + count)];
    const col = split.feature * this.#n;
    const left = (r: number): boolean => {
      const b = this.#binned[col + r];
      return (split.missingLeft && b === d.missingBin) || b <= split.bin;
    };
    const l = rows.filter(left), r = rows.filter((x) => !left(x));
    this.#part.set([...l, ...r], start);
    return l.length;
  }

  addLeaf({ start, count }: { start: number; count: number }, value: number): void {
    for (let i = start; i < start + count; i++) this.#raw[this.#part[i]] += value;
  }

  addTreeToValidation(tree: HgbTreeNodes): void {
    const d = this.#d();
    for (const r of d.validation) {
      const path = walk(tree, (i) => {
        const b = this.#binned[tree.feature[i] * this.#n + r];
        return b === d.missingBin ? tree.missingLeft[i] === 1 : b <= tree.bin[i];
      });
      this.#raw[r] += tree.value[path[path.length - 1]];
    }
  }

  readHistogram(slot: number): HgbHistogram {
    const h = this.#slots[slot];
    return { sumGradients: h.sumGradients.slice(), sumHessians: h.sumHessians.slice(), counts: h.counts.slice() };
  }

  readPartition({ start, count }: { start: number; count: number }): Int32Array {
    return this.#part.slice(start, start + count);
  }

  readRaw(): Float64Array {
    return this.#raw.slice();
  }

  readBinned(): Uint8Array {
    return this.#binned.slice();
  }
}

/** The plain TypeScript kernels (a fresh fit state). */
export function createReferenceKernels(): HgbKernels {
  return new ReferenceKernels();
}

/** Tree `k` of a model as {@link HgbTreeNodes} (raw thresholds, Infinity for a split on missing values). */
export function modelTree(model: HgbModel, k: number): HgbTreeNodes {
  const t = model.trees, a = t.starts[k], b = t.starts[k + 1];
  return {
    feature: t.feature.slice(a, b),
    threshold: t.threshold.slice(a, b).map((x) => x === null ? Infinity : x),
    bin: t.bin.slice(a, b),
    missingLeft: t.missingLeft.slice(a, b),
    left: t.left.slice(a, b),
    right: t.right.slice(a, b),
    value: t.value.slice(a, b),
  };
}

/** A row's path through a tree on raw values (NaN follows the missing flag, else x <= threshold goes left). */
function rawPath(tree: HgbTreeNodes, { columns, row }: { columns: readonly Float64Array[]; row: number }): number[] {
  return walk(tree, (i) => {
    const x = columns[tree.feature[i]][row];
    return Number.isNaN(x) ? tree.missingLeft[i] === 1 : x <= tree.threshold[i];
  });
}

/** Probabilities (or raw scores with `raw`) of every row, walking each row down each tree. */
export function predictHgbReference(
  model: HgbModel,
  columns: readonly Float64Array[],
  options: { raw?: boolean } = {},
): Float64Array {
  const n = columns[0].length;
  const out = new Float64Array(n).fill(model.baseline);
  for (let k = 0; k < model.nIter; k++) {
    const tree = modelTree(model, k);
    for (let r = 0; r < n; r++) {
      const path = rawPath(tree, { columns, row: r });
      out[r] += tree.value[path[path.length - 1]];
    }
  }
  if (!options.raw) { for (let r = 0; r < n; r++) out[r] = 1 / (1 + Math.exp(-out[r])); }
  return out;
}

/** Saabas contributions of every row (features then bias), walking each row down each tree. */
export function hgbContributionsReference(model: HgbModel, columns: readonly Float64Array[]): HgbContributions {
  const n = columns[0].length, nf = model.nFeatures, width = nf + 1;
  const values = new Float64Array(n * width);
  for (let r = 0; r < n; r++) values[r * width + nf] = model.baseline;
  for (let k = 0; k < model.nIter; k++) {
    const tree = modelTree(model, k);
    for (let r = 0; r < n; r++) {
      const path = rawPath(tree, { columns, row: r });
      values[r * width + nf] += tree.value[0];
      for (let s = 1; s < path.length; s++) {
        values[r * width + tree.feature[path[s - 1]]] += tree.value[path[s]] - tree.value[path[s - 1]];
      }
    }
  }
  return { rows: n, features: nf, values };
}
