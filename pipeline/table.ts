/**
 * The one in-memory table shape used between every pipeline step: named columns
 * backed by typed arrays, strings dictionary-encoded.
 *
 * Missing values: `NaN` in `f64` columns, code `-1` in `dict` columns. `i32`,
 * `date` and `bool` columns have no missing values.
 *
 * @module
 */

import { int32Range } from "../wasm/mod.ts";
import { intRangeReference } from "../wasm/reference.ts";

/** A column of 64-bit floats; `NaN` marks a missing value. */
export interface F64Column {
  /** Column kind. */
  readonly type: "f64";
  /** The values. */
  readonly data: Float64Array;
}

/** A column of instants in milliseconds since the Unix epoch (UTC); `NaN` marks a missing value. */
export interface TimestampColumn {
  /** Column kind. */
  readonly type: "timestamp";
  /** Milliseconds since the epoch. */
  readonly data: Float64Array;
}

/** The arrays an {@link I32Column} may hold: Int32, or narrower where every value fits. */
export type IntArray = Int32Array | Int16Array | Int8Array;

/**
 * A column of 32-bit integers (no missing values). Read from a file stored narrowly (Int16,
 * Int8), its values are held in an array of that width.
 */
export interface I32Column {
  /** Column kind. */
  readonly type: "i32";
  /** The values. */
  readonly data: IntArray;
}

/** A column of calendar dates stored as days since 1970-01-01 (no missing values). */
export interface DateColumn {
  /** Column kind. */
  readonly type: "date";
  /** Days since the Unix epoch. */
  readonly data: Int32Array;
}

/** A column of booleans stored as 0/1 bytes (no missing values). */
export interface BoolColumn {
  /** Column kind. */
  readonly type: "bool";
  /** 0 or 1 per row. */
  readonly data: Uint8Array;
}

/** A dictionary-encoded string column; code `-1` marks a missing value. */
export interface DictColumn {
  /** Column kind. */
  readonly type: "dict";
  /** Index into `dictionary` per row, or -1 for missing. */
  readonly codes: Int32Array;
  /** The distinct strings. */
  readonly dictionary: readonly string[];
}

/** Any column. */
export type Column = F64Column | TimestampColumn | I32Column | DateColumn | BoolColumn | DictColumn;

/** The kind of a column. */
export type ColumnType = Column["type"];

/** A table: an ordered set of equally long named columns. */
export interface Table {
  /** Number of rows. */
  readonly length: number;
  /** Columns in order. */
  readonly columns: ReadonlyMap<string, Column>;
}

/** Returns the number of rows of a column. */
export function columnLength(column: Column): number {
  return column.type === "dict" ? column.codes.length : column.data.length;
}

/** Guaranteed smallest and largest values of integer columns, by name. */
export type ColumnRanges = ReadonlyMap<string, readonly [number, number]>;

/** Int32 arrays at least this long are scanned by the Wasm core (see {@link rangeOf}). */
const WASM_RANGE_MIN = 256;

/**
 * The smallest and largest of `data` (not empty): by the Wasm core's v128 scan for a long Int32
 * array (the grid's columns: the range check of every batch of the 2,000-user feature step took
 * 15–20 ms in JavaScript), else by its plain TypeScript reference.
 */
function rangeOf(data: IntArray): [number, number] {
  return data instanceof Int32Array && data.length >= WASM_RANGE_MIN ? int32Range(data) : intRangeReference(data);
}

/** The smallest and largest value of every non-empty i32 and date column of `table`. */
export function integerRanges(table: Table): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const [name, c] of table.columns) {
    if ((c.type === "i32" || c.type === "date") && c.data.length > 0) out.set(name, rangeOf(c.data));
  }
  return out;
}

/**
 * Checks that every i32 and date column of `table` named in `ranges` stays within its range.
 *
 * @throws {RangeError} naming the table, the column, the row and the value.
 */
export function checkColumnRanges(
  table: Table,
  ranges: ColumnRanges,
  options: { name: string; firstRow?: number },
): void {
  for (const [name, [lo, hi]] of ranges) {
    const c = table.columns.get(name);
    if (c === undefined || (c.type !== "i32" && c.type !== "date") || c.data.length === 0) continue;
    const data = c.data, [min, max] = rangeOf(data);
    if (min >= lo && max <= hi) continue;
    const bad = data.findIndex((v) => v < lo || v > hi);
    throw new RangeError(
      `${options.name} column "${name}" has value ${data[bad]} at row ${(options.firstRow ?? 0) + bad}, ` +
        `outside the range ${lo}..${hi} its schema records`,
    );
  }
}

/**
 * Builds a table from named columns, checking that all have the same length.
 *
 * @throws {RangeError} when the columns differ in length.
 */
export function makeTable(columns: Iterable<[string, Column]> | Record<string, Column>): Table {
  const entries = Symbol.iterator in columns
    ? [...(columns as Iterable<[string, Column]>)]
    : Object.entries(columns as Record<string, Column>);
  const map = new Map<string, Column>();
  let length = -1;
  for (const [name, column] of entries) {
    const n = columnLength(column);
    if (length === -1) length = n;
    else if (n !== length) {
      throw new RangeError(
        `Column "${name}" has ${n} rows but the table has ${length}`,
      );
    }
    if (map.has(name)) throw new RangeError(`Duplicate column name "${name}"`);
    map.set(name, column);
  }
  return { length: Math.max(length, 0), columns: map };
}

/**
 * Returns the named column, checking its kind.
 *
 * @throws {TypeError} when the column is missing or of another kind.
 */
export function getColumn<K extends ColumnType>(
  table: Table,
  name: string,
  type: K,
): Extract<Column, { type: K }> {
  const column = table.columns.get(name);
  if (column === undefined) {
    throw new TypeError(
      `Missing column "${name}" (have: ${[...table.columns.keys()].join(", ")})`,
    );
  }
  if (column.type !== type) {
    throw new TypeError(`Column "${name}" is ${column.type}, expected ${type}`);
  }
  return column as Extract<Column, { type: K }>;
}

/** Returns the string at `row` of a dictionary column, or `null` when missing. */
export function dictValue(column: DictColumn, row: number): string | null {
  const code = column.codes[row];
  return code < 0 ? null : column.dictionary[code];
}

/** Returns a new table with only the rows whose indices are given, in that order. */
export function takeRows(table: Table, indices: Int32Array): Table {
  const out: [string, Column][] = [];
  for (const [name, column] of table.columns) {
    out.push([name, takeColumn(column, indices)]);
  }
  return makeTable(out);
}

/** A typed array {@link gather} copies. */
type Numbers = Float64Array | Int32Array | Uint8Array | Int16Array | Int8Array;

/** The values of an integer column as an Int32Array: the array itself, or a widened copy. */
export function toInt32Array(data: IntArray): Int32Array {
  return data instanceof Int32Array ? data : new Int32Array(data);
}

/**
 * Runs of consecutive indices at least this long are copied as blocks by {@link gather}; shorter
 * ones element by element, which allocates nothing (a block copy needs a subarray object).
 */
const BLOCK_COPY = 256;

/**
 * `dst[i] = src[indices[i]]` for every i, with long runs of consecutive indices (the common
 * case: rows kept in order) copied as blocks.
 */
function gather<T extends Numbers>(dst: T, src: T, indices: Int32Array): void {
  const n = indices.length;
  let i = 0;
  while (i < n) {
    const start = indices[i];
    let j = i + 1;
    while (j < n && indices[j] === start + (j - i)) j++;
    if (j - i >= BLOCK_COPY) dst.set(src.subarray(start, start + (j - i)) as never, i);
    else for (let k = i; k < j; k++) dst[k] = src[start + (k - i)];
    i = j;
  }
}

/** A constructor of the typed arrays {@link arrayFor} returns. */
export interface NumbersConstructor<T extends Numbers> {
  new (buffer: ArrayBuffer, offset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

/**
 * An array of `n` elements: a view over the buffer of `options.reuse` (an array of the same
 * type that is no longer needed) when it has room, as fresh memory is slow; else a new array
 * with room for `options.capacity` elements (default `n`). The contents are not cleared.
 */
export function arrayFor<T extends Numbers>(
  ctor: NumbersConstructor<T>,
  n: number,
  options: { reuse?: T; capacity?: number } = {},
): T {
  const size = ctor.BYTES_PER_ELEMENT, prev = options.reuse;
  if (prev && prev.buffer.byteLength - prev.byteOffset >= n * size) {
    return new ctor(prev.buffer as ArrayBuffer, prev.byteOffset, n);
  }
  return new ctor(new ArrayBuffer(Math.max(n, options.capacity ?? n) * size), 0, n);
}

/** Options of {@link takeColumn}. */
export interface TakeColumnOptions {
  /**
   * A column of the same type that is no longer needed: its buffer is refilled when it holds
   * enough rows (fresh memory is slow), else a new array is allocated.
   */
  reuse?: Column;
  /** Rows to allocate room for when a new array is needed (at least the rows taken). */
  capacity?: number;
}

/**
 * Returns a column with only the given rows, in that order: a new array, or a view over the
 * buffer of `options.reuse`.
 */
export function takeColumn(column: Column, indices: Int32Array, options: TakeColumnOptions = {}): Column {
  const n = indices.length;
  const reuse = options.reuse?.type === column.type ? options.reuse : undefined;
  const target = <T extends Numbers>(ctor: NumbersConstructor<T>, prev?: T): T =>
    arrayFor(ctor, n, { reuse: prev, capacity: options.capacity });
  switch (column.type) {
    case "f64":
    case "timestamp": {
      const data = target(Float64Array, reuse?.type === "f64" || reuse?.type === "timestamp" ? reuse.data : undefined);
      gather(data, column.data, indices);
      return { type: column.type, data };
    }
    case "i32": {
      // Same width as the source; a reused buffer of any width serves as bytes.
      const ctor = column.data.constructor as NumbersConstructor<IntArray>;
      const prev = reuse?.type === "i32" ? reuse.data : undefined;
      const data = target(ctor, prev && new ctor(prev.buffer as ArrayBuffer, prev.byteOffset, 0));
      gather(data, column.data, indices);
      return { type: "i32", data };
    }
    case "date": {
      const data = target(Int32Array, reuse?.type === "date" ? reuse.data : undefined);
      gather(data, column.data, indices);
      return { type: column.type, data };
    }
    case "bool": {
      const data = target(Uint8Array, reuse?.type === "bool" ? reuse.data : undefined);
      gather(data, column.data, indices);
      return { type: "bool", data };
    }
    case "dict": {
      const codes = target(Int32Array, reuse?.type === "dict" ? reuse.codes : undefined);
      gather(codes, column.codes, indices);
      return { type: "dict", codes, dictionary: column.dictionary };
    }
  }
}

/** Returns a table holding rows `[start, end)` as views (no copy). */
export function sliceTable(table: Table, start: number, end: number): Table {
  const out: [string, Column][] = [];
  for (const [name, c] of table.columns) {
    out.push([
      name,
      c.type === "dict"
        ? { type: "dict", codes: c.codes.subarray(start, end), dictionary: c.dictionary }
        : { type: c.type, data: c.data.subarray(start, end) } as Column,
    ]);
  }
  return makeTable(out);
}

/**
 * Dictionary-encodes strings as they arrive. `encode()` returns the code of a
 * string, adding it when new.
 */
export class DictEncoder {
  readonly #index = new Map<string, number>();
  /** The distinct strings, in first-seen order. */
  readonly dictionary: string[] = [];

  /** Creates an encoder, optionally seeded with known values (codes 0..n-1). */
  constructor(initial: readonly string[] = []) {
    for (const s of initial) this.encode(s);
  }

  /** Returns the code of `value`, adding it to the dictionary when new. */
  encode(value: string): number {
    let code = this.#index.get(value);
    if (code === undefined) {
      code = this.dictionary.length;
      this.dictionary.push(value);
      this.#index.set(value, code);
    }
    return code;
  }

  /** Returns the code of `value`, or -1 when it has not been seen. */
  lookup(value: string): number {
    return this.#index.get(value) ?? -1;
  }
}

/** The typed-array constructors a growable column can use. */
export type GrowableArray = Float64Array | Int32Array | Uint8Array | Float32Array;

/**
 * A typed array that grows by doubling as values are appended. `finish()`
 * returns the filled prefix without copying when it is already full.
 */
export class Growable<T extends GrowableArray> {
  #data: T;
  #length = 0;
  readonly #make: (n: number) => T;

  /** Creates a growable array with an initial capacity. */
  constructor(make: (n: number) => T, capacity = 1024) {
    this.#make = make;
    this.#data = make(Math.max(16, capacity));
  }

  /** Number of values appended. */
  get length(): number {
    return this.#length;
  }

  /** Appends one value. */
  push(value: number): void {
    if (this.#length === this.#data.length) this.#grow();
    this.#data[this.#length++] = value;
  }

  /** Returns the values appended so far (a view; valid until the next push). */
  view(): T {
    return this.#data.subarray(0, this.#length) as T;
  }

  /** Returns the values as an exactly sized array (copies only when needed). */
  finish(): T {
    if (this.#length === this.#data.length) return this.#data;
    const out = this.#make(this.#length);
    out.set(this.#data.subarray(0, this.#length) as never);
    return out;
  }

  #grow(): void {
    const next = this.#make(this.#data.length * 2);
    next.set(this.#data as never);
    this.#data = next;
  }
}

/**
 * Concatenates tables with the same columns (names and kinds, in order).
 * Dictionary columns whose dictionaries differ are re-encoded.
 *
 * @throws {TypeError} when the tables' columns differ.
 */
export function concatTables(tables: readonly Table[]): Table {
  if (tables.length === 0) throw new TypeError("concatTables() needs at least one table");
  const first = tables[0];
  const n = tables.reduce((s, t) => s + t.length, 0);
  const out: [string, Column][] = [];
  for (const [name, c0] of first.columns) {
    const parts = tables.map((t, i) => {
      const c = t.columns.get(name);
      if (c === undefined || c.type !== c0.type) {
        throw new TypeError(`Table ${i} has no ${c0.type} column "${name}" to concatenate`);
      }
      return c;
    });
    if (c0.type === "dict") {
      const enc = new DictEncoder(c0.dictionary);
      const codes = new Int32Array(n);
      let off = 0;
      for (const p of parts as DictColumn[]) {
        const same = p.dictionary === c0.dictionary ||
          (p.dictionary.length <= enc.dictionary.length && p.dictionary.every((s, k) => enc.dictionary[k] === s));
        const remap = same ? null : p.dictionary.map((s) => enc.encode(s));
        for (let i = 0; i < p.codes.length; i++) {
          const c = p.codes[i];
          codes[off + i] = c < 0 || remap === null ? c : remap[c];
        }
        off += p.codes.length;
      }
      out.push([name, { type: "dict", codes, dictionary: enc.dictionary }]);
      continue;
    }
    // Integer columns keep their width when every part has it, else widen to Int32.
    const ctor = c0.data.constructor as NumbersConstructor<IntArray> & (new (n: number) => IntArray);
    const data = c0.type === "f64" || c0.type === "timestamp"
      ? new Float64Array(n)
      : c0.type === "bool"
      ? new Uint8Array(n)
      : c0.type === "i32" && parts.every((p) => (p as I32Column).data instanceof ctor)
      ? new ctor(n)
      : new Int32Array(n);
    let off = 0;
    for (const p of parts as Exclude<Column, DictColumn>[]) {
      data.set(p.data as never, off);
      off += p.data.length;
    }
    out.push([name, { type: c0.type, data } as Column]);
  }
  if (tables.some((t) => t.columns.size !== first.columns.size)) {
    throw new TypeError("Tables to concatenate have different numbers of columns");
  }
  return makeTable(out);
}
