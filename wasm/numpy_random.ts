/**
 * NumPy's legacy `RandomState` (MT19937), reproduced draw for draw for the few calls
 * scikit-learn's `HistGradientBoostingClassifier` makes with its `random_state`: the seed it
 * derives (`randint(2**32 - 1, dtype="u8")`), the stratified validation split of
 * `train_test_split(stratify=y)` (`StratifiedShuffleSplit`, with `_approximate_mode`) and the
 * binning subsample (`choice(n, 200_000, replace=False)`). Same seed, same rows as scikit-learn,
 * so a fit with early stopping matches scikit-learn's on the same data, not just on average.
 *
 * Sources: numpy/random/src/mt19937 (`mt19937_seed`, `mt19937_gen`), numpy/random/mtrand.pyx
 * (`shuffle`, `permutation`, `choice`), numpy/random/src/distributions (`random_interval`,
 * `buffered_bounded_masked_uint32`), sklearn/model_selection/_split.py and
 * sklearn/utils/__init__.py (`_approximate_mode`). Checked against numpy 1.24 and scikit-learn
 * 1.2 by tests/fixtures/hgb/make_numpy_split.py.
 *
 * @module
 */

const N = 624;
const M = 397;

/** NumPy's legacy `RandomState`: a seeded MT19937 and the integer draws scikit-learn uses. */
export class NumpyRandomState {
  #mt = new Uint32Array(N);
  #pos = N;

  /** Seeds the generator as `numpy.random.RandomState(seed)` (an integer in [0, 2^32)). */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`Seed must be an integer in [0, 2^32), got ${seed}`);
    }
    const mt = this.#mt;
    let s = seed >>> 0;
    for (let i = 0; i < N; i++) {
      mt[i] = s;
      s = (Math.imul(1812433253, s ^ (s >>> 30)) + i + 1) >>> 0;
    }
  }

  /** The next 32 random bits (`next_uint32`). */
  nextUint32(): number {
    if (this.#pos === N) this.#generate();
    let y = this.#mt[this.#pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  #generate(): void {
    const mt = this.#mt;
    for (let i = 0; i < N; i++) {
      const y = (mt[i] & 0x80000000) | (mt[(i + 1) % N] & 0x7fffffff);
      mt[i] = mt[(i + M) % N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.#pos = 0;
  }

  /**
   * A uniform integer in [0, max] for max < 2^32, by masked rejection (`random_interval`, and
   * `randint(max + 1)` for 32-bit ranges).
   */
  interval(max: number): number {
    if (!Number.isInteger(max) || max < 0 || max > 0xffffffff) {
      throw new RangeError(`max must be an integer in [0, 2^32), got ${max}`);
    }
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let value: number;
    do value = (this.nextUint32() & mask) >>> 0; while (value > max);
    return value;
  }

  /** Shuffles `a` in place as `RandomState.shuffle` on a 1-d array (Fisher-Yates from the end). */
  shuffle(a: Int32Array): void {
    for (let i = a.length - 1; i >= 1; i--) {
      const j = this.interval(i);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }

  /** `RandomState.permutation(n)`: 0..n-1 shuffled. */
  permutation(n: number): Int32Array {
    const a = new Int32Array(n);
    for (let i = 0; i < n; i++) a[i] = i;
    this.shuffle(a);
    return a;
  }
}

/**
 * The seed scikit-learn's gradient boosting derives from its `random_state` and uses for the
 * validation split and the binning subsample: `RandomState(randomState).randint(2**32 - 1,
 * dtype="u8")`.
 */
export function sklearnDerivedSeed(randomState: number): number {
  return new NumpyRandomState(randomState).interval(0xfffffffe);
}

/** Options of {@link stratifiedTrainTestSplit}. */
export interface StratifiedSplitOptions {
  /** Fraction of the rows in the test part, in (0, 1): ceil(testSize × n) rows. */
  testSize: number;
  /** The `random_state` passed to `train_test_split` (an integer in [0, 2^32)). */
  seed: number;
}

/**
 * scikit-learn's `train_test_split(range(n), stratify=labels, test_size, random_state=seed)`:
 * the row indices of the train and the test part, in scikit-learn's (shuffled) order.
 * `labels` are small non-negative class codes; every class present needs at least 2 rows.
 */
export function stratifiedTrainTestSplit(
  labels: Uint8Array,
  options: StratifiedSplitOptions,
): [Int32Array, Int32Array] {
  const n = labels.length;
  const { testSize } = options;
  if (!(testSize > 0 && testSize < 1)) throw new RangeError(`testSize must be in (0, 1), got ${testSize}`);
  const nTest = Math.ceil(testSize * n), nTrain = n - nTest;
  // Classes present, ascending (np.unique), and each class's rows ascending (stable argsort).
  const counts = new Array<number>(256).fill(0);
  for (let i = 0; i < n; i++) counts[labels[i]]++;
  const classes = counts.flatMap((c, k) => (c > 0 ? [k] : []));
  const classCounts = classes.map((k) => counts[k]);
  if (Math.min(...classCounts) < 2) {
    throw new RangeError(
      `The least populated class has ${Math.min(...classCounts)} row: a stratified split needs at least 2 per class`,
    );
  }
  if (nTrain < classes.length || nTest < classes.length) {
    throw new RangeError(
      `A stratified split of ${n} rows into ${nTrain} and ${nTest} needs at least ${classes.length} rows on each side`,
    );
  }
  const rowsOf = classes.map((k, c) => {
    const rows = new Int32Array(classCounts[c]);
    for (let i = 0, j = 0; i < n; i++) if (labels[i] === k) rows[j++] = i;
    return rows;
  });
  const rng = new NumpyRandomState(options.seed);
  const nTrainOf = approximateMode(classCounts, nTrain, rng);
  const nTestOf = approximateMode(classCounts.map((c, i) => c - nTrainOf[i]), nTest, rng);
  const train = new Int32Array(nTrain), test = new Int32Array(nTest);
  let t = 0, v = 0;
  rowsOf.forEach((rows, c) => {
    const perm = rng.permutation(rows.length);
    for (let i = 0; i < nTrainOf[c]; i++) train[t++] = rows[perm[i]];
    for (let i = nTrainOf[c]; i < nTrainOf[c] + nTestOf[c]; i++) test[v++] = rows[perm[i]];
  });
  rng.shuffle(train);
  rng.shuffle(test);
  return [train, test];
}

/**
 * scikit-learn's `_approximate_mode`: how many of `nDraws` rows each class gets — the floor of
 * its proportional share, the rest to the largest remainders, ties broken at random.
 */
function approximateMode(classCounts: number[], nDraws: number, rng: NumpyRandomState): number[] {
  const total = classCounts.reduce((a, b) => a + b, 0);
  const continuous = classCounts.map((c) => (c / total) * nDraws);
  const floored = continuous.map(Math.floor);
  let needToAdd = nDraws - floored.reduce((a, b) => a + b, 0);
  if (needToAdd > 0) {
    const remainder = continuous.map((c, i) => c - floored[i]);
    const values = [...new Set(remainder)].sort((a, b) => b - a);
    for (const value of values) {
      const inds = remainder.flatMap((r, i) => (r === value ? [i] : []));
      const addNow = Math.min(inds.length, needToAdd);
      // choice(inds, addNow, replace=False) is permutation(len(inds))[:addNow].
      const perm = rng.permutation(inds.length);
      for (let i = 0; i < addNow; i++) floored[inds[perm[i]]]++;
      needToAdd -= addNow;
      if (needToAdd === 0) break;
    }
  }
  return floored;
}
