/**
 * Conversion between {@link Table} and Apache Arrow IPC (stream format), the
 * format of every intermediate table. Columns map to Float64, Int32, Date32
 * (days), Uint8 (bool, tagged in field metadata), Float64 milliseconds
 * (timestamp, tagged) and Dictionary<Utf8, Int32>.
 *
 * @module
 */

import {
  type Data,
  DataType,
  Date_,
  DateUnit,
  Dictionary,
  Field,
  Float64,
  Int32,
  makeData,
  Precision,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  tableFromIPC,
  Uint8,
  Utf8,
  type Vector,
  vectorFromArray,
} from "apache-arrow";
import { type Column, concatTables, makeTable, type Table } from "./table.ts";

/** Rows per Arrow record batch. */
export const BATCH_ROWS = 1 << 16;

const TYPE_KEY = "churn_mlops.type";

function validityFromCodes(codes: Int32Array): Uint8Array | undefined {
  let missing = false;
  for (let i = 0; i < codes.length; i++) {
    if (codes[i] < 0) {
      missing = true;
      break;
    }
  }
  if (!missing) return undefined;
  const bits = new Uint8Array((codes.length + 7) >> 3);
  for (let i = 0; i < codes.length; i++) if (codes[i] >= 0) bits[i >> 3] |= 1 << (i & 7);
  return bits;
}

function fieldFor(name: string, c: Column, dictId: number): Field {
  switch (c.type) {
    case "f64":
      return new Field(name, new Float64(), false);
    case "timestamp":
      return new Field(name, new Float64(), false, new Map([[TYPE_KEY, "timestamp_ms"]]));
    case "i32":
      return new Field(name, new Int32(), false);
    case "date":
      return new Field(name, new Date_(DateUnit.DAY), false);
    case "bool":
      return new Field(name, new Uint8(), false, new Map([[TYPE_KEY, "bool"]]));
    case "dict":
      return new Field(name, new Dictionary(new Utf8(), new Int32(), dictId), true);
  }
}

/**
 * Encodes tables with one schema as one Arrow IPC stream, batch by batch: the
 * first `encode()` fixes the schema; dictionaries may grow between batches (a
 * replacement dictionary is written when they change). Returned chunks are
 * mostly views of the tables' own arrays: write them out before changing them.
 */
export class ArrowStreamEncoder {
  readonly #writer = new RecordBatchStreamWriter();
  #schema: Schema | null = null;
  #names: string[] = [];
  readonly #dicts = new Map<string, { source: readonly string[]; size: number; vector: Vector<Utf8> }>();

  #drain(): Uint8Array[] {
    // deno-lint-ignore no-explicit-any
    const values = (this.#writer as any)._sink._values.splice(0) as ArrayBufferView[];
    return values.map((v) => v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }

  #dictionary(name: string, dictionary: readonly string[]): Vector<Utf8> {
    const cached = this.#dicts.get(name);
    if (cached && cached.source === dictionary && cached.size === dictionary.length) return cached.vector;
    const vector = vectorFromArray([...dictionary], new Utf8());
    this.#dicts.set(name, { source: dictionary, size: dictionary.length, vector });
    return vector;
  }

  /**
   * Encodes `table` as record batches of at most {@link BATCH_ROWS} rows.
   *
   * @throws {TypeError} when the columns differ from the first table's.
   */
  encode(table: Table): Uint8Array[] {
    const cols = [...table.columns];
    if (this.#schema === null) {
      let dictId = 0;
      this.#schema = new Schema(cols.map(([name, c]) => fieldFor(name, c, c.type === "dict" ? dictId++ : 0)));
      this.#names = cols.map(([name]) => name);
    } else if (cols.length !== this.#names.length || cols.some(([name], i) => name !== this.#names[i])) {
      throw new TypeError(`Batch columns (${cols.map(([n]) => n).join(", ")}) differ from the stream's schema`);
    }
    const fields = this.#schema.fields;
    const n = table.length;
    for (let start = 0; start < n || start === 0; start += BATCH_ROWS) {
      const end = Math.min(n, start + BATCH_ROWS);
      const length = end - start;
      const children: Data[] = cols.map(([name, c], i) => {
        const type = fields[i].type;
        if (c.type === "dict") {
          const codes = c.codes.subarray(start, end);
          return makeData({
            type,
            length,
            data: codes,
            nullBitmap: validityFromCodes(codes),
            dictionary: this.#dictionary(name, c.dictionary),
          } as never);
        }
        return makeData({ type, length, data: c.data.subarray(start, end) } as never);
      });
      const data = makeData({ type: new Struct(fields), length, children } as never);
      this.#writer.write(new RecordBatch(this.#schema, data as never));
      if (n === 0) break;
    }
    return this.#drain();
  }

  /** Ends the stream and returns its last chunks. */
  finish(): Uint8Array[] {
    this.#writer.finish();
    return this.#drain();
  }
}

/** Encodes a table as Arrow IPC stream chunks (mostly views of the table's arrays). */
export function tableToArrowChunks(table: Table): Uint8Array[] {
  const enc = new ArrowStreamEncoder();
  return [...enc.encode(table), ...enc.finish()];
}

/** Encodes a table as one Arrow IPC stream buffer. */
export function tableToArrow(table: Table): Uint8Array {
  const chunks = tableToArrowChunks(table);
  let size = 0;
  for (const c of chunks) size += c.byteLength;
  const out = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.byteLength;
  }
  return out;
}

/**
 * Converts one Arrow record batch to a table. Numeric columns, and dictionary codes
 * without missing values, are views of the batch's buffers (no copy); codes with
 * missing values are copied (missing → -1).
 *
 * @throws {TypeError} on a column type this project does not use.
 */
export function tableFromArrowBatch(batch: RecordBatch): Table {
  const n = batch.numRows;
  const out: [string, Column][] = [];
  for (const field of batch.schema.fields) {
    const data = batch.getChild(field.name)!.data[0];
    const type = field.type;
    const tag = field.metadata.get(TYPE_KEY);
    if (DataType.isFloat(type) && type.precision === Precision.DOUBLE) {
      const values = (data.values as Float64Array).subarray(0, n);
      out.push([
        field.name,
        tag === "timestamp_ms" ? { type: "timestamp", data: values } : { type: "f64", data: values },
      ]);
    } else if (DataType.isInt(type) && type.bitWidth === 32 && type.isSigned) {
      out.push([field.name, { type: "i32", data: (data.values as Int32Array).subarray(0, n) }]);
    } else if (DataType.isDate(type) && type.unit === DateUnit.DAY) {
      out.push([field.name, { type: "date", data: (data.values as Int32Array).subarray(0, n) }]);
    } else if (DataType.isInt(type) && type.bitWidth === 8 && !type.isSigned) {
      out.push([field.name, { type: "bool", data: (data.values as Uint8Array).subarray(0, n) }]);
    } else if (DataType.isDictionary(type)) {
      const dictionary = data.dictionary ? [...(data.dictionary.toArray() as string[])] : [];
      const vals = data.values as Int32Array;
      let codes: Int32Array;
      if (data.nullCount === 0) codes = vals.subarray(0, n);
      else {
        codes = new Int32Array(n);
        for (let i = 0; i < n; i++) codes[i] = data.getValid(i) ? vals[i] : -1;
      }
      out.push([field.name, { type: "dict", codes, dictionary }]);
    } else {
      throw new TypeError(`Column "${field.name}" has unsupported Arrow type ${type}`);
    }
  }
  return makeTable(out);
}

/**
 * Decodes an Arrow IPC buffer (stream or file format) into one table.
 *
 * @throws {TypeError} on a column type this project does not use.
 */
export function tableFromArrow(bytes: Uint8Array): Table {
  const t = tableFromIPC(bytes);
  const parts = t.batches.map((b) => tableFromArrowBatch(b));
  if (parts.length === 0) {
    return makeTable(t.schema.fields.map((f) => [f.name, emptyColumnFor(f)]));
  }
  return parts.length === 1 ? parts[0] : concatTables(parts);
}

function emptyColumnFor(field: Field): Column {
  const type = field.type;
  const tag = field.metadata.get(TYPE_KEY);
  if (DataType.isFloat(type)) return { type: tag === "timestamp_ms" ? "timestamp" : "f64", data: new Float64Array(0) };
  if (DataType.isDate(type)) return { type: "date", data: new Int32Array(0) };
  if (DataType.isDictionary(type)) return { type: "dict", codes: new Int32Array(0), dictionary: [] };
  if (DataType.isInt(type) && type.bitWidth === 8) return { type: "bool", data: new Uint8Array(0) };
  return { type: "i32", data: new Int32Array(0) };
}
