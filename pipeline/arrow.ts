/**
 * Conversion between {@link Table} and Apache Arrow IPC (stream format), the
 * format of every intermediate table. Columns map to Float64, Int32 (or Int16 /
 * Int8 where the writer knows the values fit: {@link ArrowStreamOptions}), Date32
 * (days), Uint8 (bool, tagged in field metadata), Float64 milliseconds
 * (timestamp, tagged) and Dictionary<Utf8, Int32>. Int8 and Int16 read back as
 * i32 columns held in arrays of that width.
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
  Int16,
  Int32,
  Int8,
  makeData,
  Message,
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
import { type Column, type ColumnRanges, concatTables, type IntArray, makeTable, type Table } from "./table.ts";

/** Rows per Arrow record batch. */
export const BATCH_ROWS = 1 << 16;

const TYPE_KEY = "churn_mlops.type";
/** Field metadata holding an i32 or date column's guaranteed value range, as "lo,hi". */
const RANGE_KEY = "churn_mlops.range";

/** The ranges recorded in a schema's field metadata (see {@link ArrowStreamOptions}). */
export function schemaRanges(schema: Schema): Map<string, [number, number]> {
  const out = new Map<string, [number, number]>();
  for (const field of schema.fields) {
    const m = /^(-?\d+),(-?\d+)$/.exec(field.metadata.get(RANGE_KEY) ?? "");
    if (m !== null && Number(m[1]) <= Number(m[2])) out.set(field.name, [Number(m[1]), Number(m[2])]);
  }
  return out;
}

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

/** Bits an i32 column is stored in: 8 or 16 when every value fits (32 is the default). */
export type IntWidth = 8 | 16 | 32;

/** The narrowest {@link IntWidth} that holds every integer in `[lo, hi]`. */
export function intWidthFor(lo: number, hi: number): IntWidth {
  if (lo >= -128 && hi <= 127) return 8;
  if (lo >= -32768 && hi <= 32767) return 16;
  return 32;
}

function fieldFor(
  name: string,
  c: Column,
  options: { dictId: number; width: IntWidth; range?: readonly [number, number] },
): Field {
  if (options.range !== undefined && (c.type === "i32" || c.type === "date")) {
    const [lo, hi] = options.range;
    const field = fieldFor(name, c, { ...options, range: undefined });
    return new Field(name, field.type, field.nullable, new Map([[RANGE_KEY, `${lo},${hi}`]]));
  }
  switch (c.type) {
    case "f64":
      return new Field(name, new Float64(), false);
    case "timestamp":
      return new Field(name, new Float64(), false, new Map([[TYPE_KEY, "timestamp_ms"]]));
    case "i32":
      return new Field(
        name,
        options.width === 8 ? new Int8() : options.width === 16 ? new Int16() : new Int32(),
        false,
      );
    case "date":
      return new Field(name, new Date_(DateUnit.DAY), false);
    case "bool":
      return new Field(name, new Uint8(), false, new Map([[TYPE_KEY, "bool"]]));
    case "dict":
      return new Field(name, new Dictionary(new Utf8(), new Int32(), options.dictId), true);
  }
}

/**
 * Buffers of {@link BATCH_ROWS} elements for columns stored in another width than they are held
 * in, by width, shared by the encoders (fresh memory is slow).
 */
const scratch: Record<IntWidth, IntArray[]> = { 8: [], 16: [], 32: [] };
/** Most buffers kept per width in {@link scratch}. */
const MAX_SCRATCH = 256;

/** The values of a column as they are stored. */
type StoredValues = Float64Array | Int32Array | Uint8Array | Int16Array | Int8Array;

/** Options of {@link ArrowStreamEncoder}. */
export interface ArrowStreamOptions {
  /**
   * Storage widths of i32 columns by name (others are stored as Int32): narrower storage means
   * fewer bytes to write and read. The caller guarantees that every value fits (as
   * `featureStorage` derives them from checked input ranges): values are converted as they are,
   * without a check per value.
   */
  widths?: ReadonlyMap<string, IntWidth>;
  /**
   * Guaranteed value ranges of i32 and date columns, recorded in the schema (field metadata
   * `churn_mlops.range`) so that later steps can size what they derive without a pass over the
   * data. They are recorded as given: pass only ranges that hold for the whole stream.
   */
  ranges?: ColumnRanges;
  /** Key-value metadata of the whole schema (facts about the stream that readers may rely on). */
  metadata?: ReadonlyMap<string, string>;
}

/** apache-arrow's IPC metadata classes, which it does not export: taken from a decoded message. */
interface MetadataClasses {
  RecordBatch: new (
    length: number,
    nodes: unknown[],
    buffers: unknown[],
    compression: null,
    variadicBufferCounts: number[],
    metadata: Map<string, string>,
  ) => unknown;
  FieldNode: new (length: number, nullCount: number) => unknown;
  BufferRegion: new (offset: number, length: number) => unknown;
}

let metadataClasses: MetadataClasses | null = null;

/** The library's metadata classes, from the record batch message of a one-row stream it wrote. */
function metadataClassesOf(): MetadataClasses {
  if (metadataClasses !== null) return metadataClasses;
  const writer = new RecordBatchStreamWriter();
  const field = new Field("x", new Int32(), false);
  const child = makeData({ type: new Int32(), length: 1, data: new Int32Array(1) } as never);
  const data = makeData({ type: new Struct([field]), length: 1, children: [child] } as never);
  writer.write(new RecordBatch(new Schema([field]), data as never));
  writer.finish();
  for (const { message } of framedMessages(writer.toUint8Array(true))) {
    if (!message.isRecordBatch()) continue;
    const header = message.header() as unknown as { nodes: object[]; buffers: object[] };
    metadataClasses = {
      RecordBatch: header.constructor as MetadataClasses["RecordBatch"],
      FieldNode: header.nodes[0].constructor as MetadataClasses["FieldNode"],
      BufferRegion: header.buffers[0].constructor as MetadataClasses["BufferRegion"],
    };
    return metadataClasses;
  }
  throw new Error("apache-arrow wrote a stream without a record batch");
}

/**
 * The messages of IPC stream bytes as the library writes them (each framed by the continuation
 * marker and its metadata length), with the byte offset of each, up to the end-of-stream marker
 * or the end of the bytes.
 */
function* framedMessages(bytes: Uint8Array): Generator<{ at: number; message: Message }> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let pos = 0; pos + 8 <= bytes.length;) {
    const size = view.getInt32(pos + 4, true);
    if (size === 0) return;
    const message = Message.decode(bytes.subarray(pos + 8, pos + 8 + size));
    yield { at: pos, message };
    pos += 8 + size + Number(message.bodyLength);
  }
}

const ZEROS = new Uint8Array(8);

/**
 * Rows `[start, end)` of the columns as one record batch message, framed as the library frames
 * it (continuation marker, metadata length, metadata padded to 8 bytes, then each buffer padded to
 * 8 bytes: an empty validity buffer, or the bitmap of a dictionary column with missing codes, then
 * the values). Chunks view `columns`.
 */
function recordBatchMessage(
  columns: readonly { values: StoredValues; codes: boolean }[],
  start: number,
  end: number,
): Uint8Array[] {
  const { RecordBatch: Meta, FieldNode, BufferRegion } = metadataClassesOf();
  const length = end - start;
  const nodes: unknown[] = [], regions: unknown[] = [], body: Uint8Array[] = [];
  let offset = 0;
  const add = (bytes: Uint8Array) => {
    const padded = (bytes.byteLength + 7) & ~7;
    regions.push(new BufferRegion(offset, padded));
    offset += padded;
    if (bytes.byteLength > 0) {
      body.push(bytes);
      if (padded > bytes.byteLength) body.push(ZEROS.subarray(0, padded - bytes.byteLength));
    }
  };
  for (const { values, codes } of columns) {
    const part = values.subarray(start, end);
    // Only dictionary codes can be missing (code -1); other columns never are.
    const bitmap = codes ? validityFromCodes(part as Int32Array) : undefined;
    let nulls = 0;
    if (bitmap !== undefined) { for (let i = 0; i < length; i++) nulls += (part as Int32Array)[i] < 0 ? 1 : 0; }
    nodes.push(new FieldNode(length, nulls));
    add(bitmap ?? ZEROS.subarray(0, 0));
    add(new Uint8Array(part.buffer, part.byteOffset, part.byteLength));
  }
  const meta = Message.encode(
    Message.from(new Meta(length, nodes, regions, null, [], new Map()) as never, offset),
  );
  const framed = (meta.byteLength + 8 + 7) & ~7;
  const head = new Uint8Array(framed);
  const view = new DataView(head.buffer);
  view.setInt32(0, -1, true);
  view.setInt32(4, framed - 8, true);
  head.set(meta, 8);
  return [head, ...body];
}

/** The IPC stream messages in `chunks` (whole messages), joined, without the last message. */
function withoutLastMessage(chunks: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const c of chunks) size += c.byteLength;
  const bytes = new Uint8Array(size);
  size = 0;
  for (const c of chunks) {
    bytes.set(c, size);
    size += c.byteLength;
  }
  let last = 0;
  for (const { at } of framedMessages(bytes)) last = at;
  return bytes.subarray(0, last);
}

/**
 * Arrow vectors of dictionaries, by the array they were built from and its length then (a
 * dictionary only grows), shared by the encoders: the tables written side by side from one grid
 * share its dictionaries, and building a vector is the library's slowest step on first use.
 */
const dictionaryVectors = new WeakMap<readonly string[], { size: number; vector: Vector<Utf8> }>();

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
  readonly #widths: ReadonlyMap<string, IntWidth>;
  readonly #ranges: ColumnRanges;
  readonly #metadata: ReadonlyMap<string, string>;
  /** Buffers of converted columns lent to the last `encode()`'s chunks. */
  readonly #lent: IntArray[] = [];
  /** The stored width of each column, in schema order. */
  #storedWidths: IntWidth[] = [];
  /** The dictionaries of the library's last batch, by column (null: not a dictionary column). */
  #written: (Vector<Utf8> | null)[] | null = null;

  /** Creates an encoder; `options.widths` narrows the storage of i32 columns. */
  constructor(options: ArrowStreamOptions = {}) {
    this.#widths = options.widths ?? new Map();
    this.#ranges = options.ranges ?? new Map();
    this.#metadata = options.metadata ?? new Map();
  }

  /**
   * The width an i32 column is stored in: as `options.widths` says, else the width of its array
   * (an Int8Array or Int16Array column is already narrow).
   */
  #widthOf(name: string, c: Column): IntWidth {
    if (c.type !== "i32") return 32;
    return this.#widths.get(name) ?? (c.data instanceof Int8Array ? 8 : c.data instanceof Int16Array ? 16 : 32);
  }

  /** The column's values in the stream's width for it: the values, or a converted copy. */
  #stored(c: Column, width: IntWidth): StoredValues {
    if (c.type === "dict") return c.codes;
    if (c.type !== "i32") return c.data;
    const data = c.data, n = data.length;
    if (data.BYTES_PER_ELEMENT * 8 === width) return data;
    const ctor = width === 8 ? Int8Array : width === 16 ? Int16Array : Int32Array;
    const pool = scratch[width];
    const buf = n <= BATCH_ROWS && pool.length > 0 ? pool.pop()! : new ctor(Math.max(n, BATCH_ROWS));
    this.#lent.push(buf);
    const out = buf.subarray(0, n);
    out.set(data);
    return out;
  }

  /**
   * Returns the buffers of the last `encode()`'s converted columns for reuse (by any encoder):
   * call once its chunks are written. The next `encode()` does it too.
   */
  recycle(): void {
    for (const b of this.#lent) {
      const pool = scratch[(b.BYTES_PER_ELEMENT * 8) as IntWidth];
      if (b.length === BATCH_ROWS && pool.length < MAX_SCRATCH) pool.push(b);
    }
    this.#lent.length = 0;
  }

  #drain(): Uint8Array[] {
    // deno-lint-ignore no-explicit-any
    const values = (this.#writer as any)._sink._values.splice(0) as ArrayBufferView[];
    return values.map((v) => v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }

  #dictionary(name: string, dictionary: readonly string[]): Vector<Utf8> {
    const cached = this.#dicts.get(name);
    if (cached && cached.source === dictionary && cached.size === dictionary.length) return cached.vector;
    let shared = dictionaryVectors.get(dictionary);
    if (shared === undefined || shared.size !== dictionary.length) {
      shared = { size: dictionary.length, vector: vectorFromArray([...dictionary], new Utf8()) };
      dictionaryVectors.set(dictionary, shared);
    }
    this.#dicts.set(name, { source: dictionary, size: dictionary.length, vector: shared.vector });
    return shared.vector;
  }

  /**
   * Encodes `table` as record batches of at most {@link BATCH_ROWS} rows. The chunks returned
   * view the table's arrays and the encoder's own buffers: write them out before the next call.
   *
   * @throws {TypeError} when the columns differ from the first table's.
   */
  encode(table: Table): Uint8Array[] {
    const cols = [...table.columns];
    if (this.#schema === null) {
      let dictId = 0;
      this.#storedWidths = cols.map(([name, c]) => this.#widthOf(name, c));
      this.#schema = new Schema(
        cols.map(([name, c], i) =>
          fieldFor(name, c, {
            dictId: c.type === "dict" ? dictId++ : 0,
            width: this.#storedWidths[i],
            range: this.#ranges.get(name),
          })
        ),
        new Map(this.#metadata),
      );
      this.#names = cols.map(([name]) => name);
    } else if (cols.length !== this.#names.length || cols.some(([name], i) => name !== this.#names[i])) {
      throw new TypeError(`Batch columns (${cols.map(([n]) => n).join(", ")}) differ from the stream's schema`);
    }
    const fields = this.#schema.fields;
    const n = table.length;
    this.recycle();
    const stored = cols.map(([, c], i) => this.#stored(c, this.#storedWidths[i]));
    const parts = cols.map(([, c], i) => ({ values: stored[i], codes: c.type === "dict" }));
    const out: Uint8Array[] = [];
    for (let start = 0; start < n || start === 0; start += BATCH_ROWS) {
      const end = Math.min(n, start + BATCH_ROWS);
      const dictionaries = cols.map(([name, c]) => c.type === "dict" ? this.#dictionary(name, c.dictionary) : null);
      // Batches whose dictionaries the library has already written are framed here, with the
      // bytes it would write, without its per-batch objects.
      const direct = this.#written !== null && dictionaries.every((d, i) => d === this.#written![i]);
      if (direct) {
        out.push(...recordBatchMessage(parts, start, end));
        continue;
      }
      // The library writes the schema (first) and the dictionaries, with an empty batch whose
      // message is dropped: the batch itself is framed here too. Assembling a whole batch
      // through the library's visitors took 11–16 ms of a 2,000-user step, most of it code run
      // once (an empty table keeps the library's empty batch: it is the batch).
      const children: Data[] = cols.map(([, c], i) => {
        const type = fields[i].type;
        if (c.type === "dict") {
          return makeData({ type, length: 0, data: c.codes.subarray(0, 0), dictionary: dictionaries[i]! } as never);
        }
        return makeData({ type, length: 0, data: stored[i].subarray(0, 0) } as never);
      });
      const data = makeData({ type: new Struct(fields), length: 0, children } as never);
      this.#writer.write(new RecordBatch(this.#schema, data as never));
      this.#written = dictionaries;
      if (n === 0) {
        out.push(...this.#drain());
        break;
      }
      out.push(withoutLastMessage(this.#drain()), ...recordBatchMessage(parts, start, end));
    }
    return out;
  }

  /** Ends the stream and returns its last chunks. */
  finish(): Uint8Array[] {
    this.#writer.finish();
    return this.#drain();
  }
}

/** Encodes a table as Arrow IPC stream chunks (mostly views of the table's arrays). */
export function tableToArrowChunks(table: Table, options: ArrowStreamOptions = {}): Uint8Array[] {
  const enc = new ArrowStreamEncoder(options);
  return [...enc.encode(table), ...enc.finish()];
}

/** Encodes a table as one Arrow IPC stream buffer. */
export function tableToArrow(table: Table, options: ArrowStreamOptions = {}): Uint8Array {
  const chunks = tableToArrowChunks(table, options);
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
    const kind = columnKind(field)?.kind;
    if (kind !== undefined && kind !== "dict") {
      out.push([field.name, { type: kind, data: (data.values as StoredValues).subarray(0, n) } as Column]);
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

/** The kind of table column each Arrow field maps to, or null when the decoder cannot read it. */
function columnKind(field: Field): { kind: Column["type"]; bytes: 1 | 2 | 4 | 8 } | null {
  const type = field.type, tag = field.metadata.get(TYPE_KEY);
  if (DataType.isFloat(type) && type.precision === Precision.DOUBLE) {
    return { kind: tag === "timestamp_ms" ? "timestamp" : "f64", bytes: 8 };
  }
  if (DataType.isInt(type) && type.isSigned && [8, 16, 32].includes(type.bitWidth)) {
    return { kind: "i32", bytes: (type.bitWidth / 8) as 1 | 2 | 4 };
  }
  if (DataType.isDate(type) && type.unit === DateUnit.DAY) return { kind: "date", bytes: 4 };
  if (DataType.isInt(type) && type.bitWidth === 8 && !type.isSigned) return { kind: "bool", bytes: 1 };
  if (
    DataType.isDictionary(type) && DataType.isUtf8(type.dictionary) && type.indices.bitWidth === 32 &&
    type.indices.isSigned
  ) return { kind: "dict", bytes: 4 };
  return null;
}

/**
 * Decodes the record batches of an Arrow IPC stream message by message, straight into tables
 * whose columns view the message bodies (no per-batch library objects): for streams whose every
 * field is of a kind this module writes ({@link ArrowStreamDecoder.supports}); others go through
 * apache-arrow's reader.
 */
export class ArrowStreamDecoder {
  readonly #fields: readonly Field[];
  readonly #kinds: { kind: Column["type"]; bytes: number }[];
  /** The strings of each dictionary, by id. */
  readonly #dictionaries = new Map<number, string[]>();
  readonly #decoder = new TextDecoder();

  /** Whether every field of `schema` is of a kind the decoder reads. */
  static supports(schema: Schema): boolean {
    return schema.fields.every((f) => columnKind(f) !== null);
  }

  /**
   * Creates a decoder for a stream with this schema.
   *
   * @throws {TypeError} when a field is of a kind it does not read.
   */
  constructor(schema: Schema) {
    this.#fields = schema.fields;
    this.#kinds = schema.fields.map((f) => {
      const k = columnKind(f);
      if (k === null) throw new TypeError(`Column "${f.name}" has unsupported Arrow type ${f.type}`);
      return k;
    });
  }

  /**
   * Takes one message after the schema and its body: a dictionary batch updates the
   * dictionaries (null is returned), a record batch becomes a table viewing `body`.
   *
   * @throws {TypeError} on compressed bodies or buffers outside the body.
   */
  decode(message: Message, body: Uint8Array): Table | null {
    if (message.isDictionaryBatch()) {
      const d = message.header() as unknown as {
        id: number;
        isDelta: boolean;
        data: { length: number; buffers: { offset: number; length: number }[] };
      };
      const [, offsets, data] = d.data.buffers;
      const n = Number(d.data.length);
      const off = this.#view(body, offsets, { bytes: 4, n: n + 1 }) as Int32Array;
      const bytes = body.subarray(Number(data.offset), Number(data.offset) + Number(data.length));
      const strings = new Array<string>(n);
      for (let i = 0; i < n; i++) strings[i] = this.#decoder.decode(bytes.subarray(off[i], off[i + 1]));
      const id = Number(d.id);
      this.#dictionaries.set(id, d.isDelta ? [...(this.#dictionaries.get(id) ?? []), ...strings] : strings);
      return null;
    }
    if (!message.isRecordBatch()) return null;
    const h = message.header() as unknown as {
      length: number;
      nodes: { nullCount: number }[];
      buffers: { offset: number; length: number }[];
      compression: unknown;
    };
    if (h.compression) throw new TypeError("Compressed Arrow record batches are not supported");
    const n = Number(h.length);
    const out: [string, Column][] = [];
    this.#fields.forEach((field, i) => {
      const { kind, bytes } = this.#kinds[i];
      const values = this.#view(body, h.buffers[2 * i + 1], { bytes, n, unsigned: kind === "bool" });
      if (kind !== "dict") {
        out.push([field.name, { type: kind, data: values } as Column]);
        return;
      }
      let codes = values as Int32Array;
      if (Number(h.nodes[i].nullCount) > 0) {
        const valid = this.#view(body, h.buffers[2 * i], { bytes: 1, n: (n + 7) >> 3, unsigned: true }) as Uint8Array;
        codes = Int32Array.from(codes, (c, r) => (valid[r >> 3] >> (r & 7)) & 1 ? c : -1);
      }
      const id = (field.type as Dictionary).id;
      out.push([field.name, { type: "dict", codes, dictionary: this.#dictionaries.get(id) ?? [] }]);
    });
    return makeTable(out);
  }

  /** A typed array of `n` elements of `bytes` bytes over the region of `body`. */
  #view(
    body: Uint8Array,
    region: { offset: number; length: number },
    { bytes, n, unsigned = false }: { bytes: number; n: number; unsigned?: boolean },
  ): Float64Array | Int32Array | Int16Array | Int8Array | Uint8Array {
    const start = body.byteOffset + Number(region.offset);
    if (Number(region.offset) + n * bytes > body.byteLength || n * bytes > Number(region.length)) {
      throw new TypeError("An Arrow buffer lies outside its message body");
    }
    const ctor = bytes === 8
      ? Float64Array
      : bytes === 4
      ? Int32Array
      : bytes === 2
      ? Int16Array
      : unsigned
      ? Uint8Array
      : Int8Array;
    if (start % bytes !== 0) {
      return new ctor(body.slice(Number(region.offset), Number(region.offset) + n * bytes).buffer);
    }
    return new ctor(body.buffer as ArrayBuffer, start, n);
  }
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
  if (DataType.isInt(type) && type.bitWidth === 8 && !type.isSigned) return { type: "bool", data: new Uint8Array(0) };
  return { type: "i32", data: new Int32Array(0) };
}
