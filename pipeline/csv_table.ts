/**
 * Builds a {@link Table} from CSV records with a declared schema (for small
 * files such as fixtures; large inputs have their own streaming cleaners).
 *
 * @module
 */

import { parseCsvText } from "./csv.ts";
import { parseDate } from "./dates.ts";
import { type Column, type ColumnType, DictEncoder, makeTable, type Table } from "./table.ts";

/**
 * Parses CSV text into a table: each schema column is read by its kind (empty →
 * NaN for f64/timestamp, -1 for dict); columns not in the schema are ignored.
 *
 * @throws {TypeError} when a schema column is missing from the header.
 * @throws {RangeError} naming the row and column of a value that does not parse.
 */
export function tableFromCsvText(text: string, schema: Readonly<Record<string, ColumnType>>): Table {
  const [header, ...rows] = parseCsvText(text);
  const out: [string, Column][] = [];
  for (const [name, type] of Object.entries(schema)) {
    const j = header.indexOf(name);
    if (j < 0) throw new TypeError(`CSV has no column "${name}"`);
    const values = rows.map((r) => (r[j] ?? "").trim());
    const num = (v: string, i: number, integer: boolean): number => {
      const x = v === "" ? NaN : Number(v);
      if (v !== "" && (Number.isNaN(x) || (integer && !Number.isInteger(x)))) {
        throw new RangeError(`Cannot parse ${name} at row ${i + 1}: "${v}"`);
      }
      return x;
    };
    switch (type) {
      case "f64":
      case "timestamp":
        out.push([name, { type, data: Float64Array.from(values, (v, i) => num(v, i, false)) }]);
        break;
      case "i32":
        out.push([name, { type, data: Int32Array.from(values, (v, i) => num(v, i, true)) }]);
        break;
      case "bool":
        out.push([name, { type, data: Uint8Array.from(values, (v, i) => num(v, i, true)) }]);
        break;
      case "date":
        out.push([name, { type, data: Int32Array.from(values, (v) => parseDate(v)) }]);
        break;
      case "dict": {
        const enc = new DictEncoder();
        out.push([name, {
          type,
          codes: Int32Array.from(values, (v) => v === "" ? -1 : enc.encode(v)),
          dictionary: enc.dictionary,
        }]);
        break;
      }
    }
  }
  return makeTable(out);
}
