/**
 * A small seeded pseudo-random number generator with the distributions the
 * synthetic data generator needs.
 *
 * The core is **sfc32** (Chris Doty-Humphrey's "Small Fast Chaotic" generator,
 * from PractRand): 128 bits of state, period at least 2^32, passes PractRand and
 * BigCrush, and needs only 32-bit additions, shifts and xors — which JavaScript
 * does exactly with `| 0` and `>>> 0`, so the integer stream is identical on
 * every platform. Its four state words are filled from the seed with
 * **splitmix32** (a bijective 32-bit hash), so nearby seeds (41, 42, 43) give
 * unrelated streams; the first 12 outputs are discarded as the sfc32 authors
 * advise.
 *
 * The float distributions use only `Math.sqrt` (exact by IEEE 754) and
 * `Math.log` / `Math.pow` (V8's fdlibm ports, the same on every platform), so a
 * seed gives the same floats everywhere Deno runs.
 *
 * @module
 */

const TWO_POW_32 = 4294967296;
const INV_TWO_POW_32 = 1 / TWO_POW_32;

/** Returns the next splitmix32 output for `state` (a 32-bit hash of it). */
function splitmix32(state: number): number {
  let z = state | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return z ^ (z >>> 15);
}

/**
 * mulberry32: a seeded generator of floats in [0, 1) in a few lines, for test inputs and
 * benchmark data that need no distribution beyond uniform (the streams the tests and the tree
 * benchmark were written against). The synthetic data uses {@link Random}.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seeded generator: sfc32 for the integer stream, with `uniform`, `int`,
 * `normal` (Marsaglia's polar method with the spare value cached), `gamma`
 * (Marsaglia–Tsang) and `beta` on top. Not cryptographically secure.
 */
export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  #spare = 0;
  #hasSpare = false;

  /**
   * Creates a generator from an integer seed (any safe integer, negative
   * included; the high bits above 2^32 are mixed in too).
   *
   * @throws {TypeError} when `seed` is not a safe integer.
   */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new TypeError(`Seed must be a safe integer, got ${seed}`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO_POW_32) | 0;
    let s = lo;
    s = (s + 0x9e3779b9) | 0;
    this.#a = splitmix32(s);
    s = (s + 0x9e3779b9) | 0;
    this.#b = splitmix32(s ^ hi);
    s = (s + 0x9e3779b9) | 0;
    this.#c = splitmix32(s);
    this.#d = splitmix32(hi ^ 0x5bd1e995);
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Returns the next 32-bit unsigned integer of the sfc32 stream. */
  nextUint32(): number {
    const a = this.#a, b = this.#b, c = this.#c, d = this.#d;
    const t = (((a + b) | 0) + d) | 0;
    this.#d = (d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    this.#c = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /** Returns a uniform float in [0, 1) with 32 bits of resolution (multiples of 2^-32). */
  uniform(): number {
    return this.nextUint32() * INV_TWO_POW_32;
  }

  /**
   * Returns a uniform integer in [lo, hiExclusive), without modulo bias
   * (rejection sampling).
   *
   * @throws {RangeError} when the bounds are not integers, the range is empty,
   * or it spans more than 2^32 values.
   */
  int(lo: number, hiExclusive: number): number {
    const n = hiExclusive - lo;
    if (!Number.isInteger(lo) || !Number.isInteger(hiExclusive) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`Integer range [${lo}, ${hiExclusive}) must be non-empty, integral and at most 2^32 wide`);
    }
    // Largest multiple of n that fits in 32 bits: values at or above it are rejected.
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let x = this.nextUint32();
    while (x >= limit) x = this.nextUint32();
    return lo + (x % n);
  }

  /**
   * Returns a standard normal variate (mean 0, variance 1) by Marsaglia's polar
   * method; every second call returns the cached spare.
   */
  normal(): number {
    if (this.#hasSpare) {
      this.#hasSpare = false;
      return this.#spare;
    }
    let u: number, v: number, s: number;
    do {
      u = this.nextUint32() * (2 * INV_TWO_POW_32) - 1;
      v = this.nextUint32() * (2 * INV_TWO_POW_32) - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt(-2 * Math.log(s) / s);
    this.#spare = v * f;
    this.#hasSpare = true;
    return u * f;
  }

  /**
   * Returns a Gamma(shape, 1) variate by Marsaglia and Tsang's method (with the
   * `U^(1/shape)` boost for shape < 1).
   *
   * @throws {RangeError} when `shape` is not a positive finite number.
   */
  gamma(shape: number): number {
    if (!(shape > 0) || !Number.isFinite(shape)) throw new RangeError(`Gamma shape must be positive, got ${shape}`);
    if (shape < 1) {
      const g = this.gamma(shape + 1);
      let u = this.uniform();
      while (u === 0) u = this.uniform();
      return g * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number, v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.uniform();
      const x2 = x * x;
      if (u < 1 - 0.0331 * x2 * x2) return d * v;
      if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /**
   * Returns a Beta(a, b) variate as `X / (X + Y)` with `X ~ Gamma(a)`, `Y ~ Gamma(b)`.
   *
   * @throws {RangeError} when `a` or `b` is not a positive finite number.
   */
  beta(a: number, b: number): number {
    if (!(a > 0) || !Number.isFinite(a)) throw new RangeError(`Beta parameter a must be positive, got ${a}`);
    if (!(b > 0) || !Number.isFinite(b)) throw new RangeError(`Beta parameter b must be positive, got ${b}`);
    const x = this.gamma(a);
    const y = this.gamma(b);
    return x / (x + y);
  }
}
