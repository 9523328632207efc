/**
 * The tests' seeded PRNG: `prng(seed)` returns floats in [0, 1) (mulberry32, from pipeline/random.ts).
 *
 * @module
 */

export { mulberry32 as prng } from "../../pipeline/random.ts";
