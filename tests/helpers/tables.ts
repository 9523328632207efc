/**
 * Random tables of every column kind, for the Arrow tests.
 *
 * @module
 */

import { makeTable, type Table } from "../../pipeline/table.ts";
import { prng } from "./prng.ts";

/**
 * A maker of random tables with one column of every kind: f64 (with NaN), timestamp, date,
 * bool, i32 columns whose values span Int8, Int16 and Int32, a dictionary column with missing
 * codes whose dictionary grows now and then (one array, grown in place, or a new copy each time
 * with `copies`) and one without missing codes.
 */
export function randomTables(seed: number, options: { growth: number; copies?: boolean }): (n: number) => Table {
  const rand = prng(seed);
  const dictionary = ["a", "b"];
  return (n: number): Table => {
    if (rand() < options.growth) dictionary.push(`é${dictionary.length}`);
    return makeTable({
      f: { type: "f64", data: Float64Array.from({ length: n }, () => rand() < 0.1 ? NaN : rand() * 100) },
      t: { type: "timestamp", data: Float64Array.from({ length: n }, () => Math.floor(rand() * 1e12)) },
      d: { type: "date", data: Int32Array.from({ length: n }, () => 20000 + Math.floor(rand() * 100)) },
      b: { type: "bool", data: Uint8Array.from({ length: n }, () => rand() < 0.5 ? 1 : 0) },
      i8: { type: "i32", data: Int32Array.from({ length: n }, () => Math.floor(rand() * 256) - 128) },
      i16: { type: "i32", data: Int32Array.from({ length: n }, () => Math.floor(rand() * 65536) - 32768) },
      i32: { type: "i32", data: Int32Array.from({ length: n }, () => Math.floor(rand() * 2 ** 32) - 2 ** 31) },
      s: {
        type: "dict",
        codes: Int32Array.from({ length: n }, () => Math.floor(rand() * (dictionary.length + 1)) - 1),
        dictionary: options.copies ? [...dictionary] : dictionary,
      },
      full: {
        type: "dict",
        codes: Int32Array.from({ length: n }, () => Math.floor(rand() * 2)),
        dictionary: ["x", "y"],
      },
    });
  };
}
