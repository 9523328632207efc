/**
 * File I/O for the tasks: atomic writes (temporary name, fsync, rename), streaming
 * CSV reads, CSV and Arrow IPC table files.
 *
 * Durability: raw data, artifacts, the registry and predictions are fsynced before
 * the rename. Derived tables (the Arrow files of `prepare`, `features`, `labels`,
 * `training-set`) can skip the fsync (`{ sync: false }`, config
 * `store.fsync_derived_tables`): they are recomputed from the raw data by rerunning
 * a step, and the Arrow readers here refuse a stream without its end-of-stream
 * marker, so a table cut short by a power loss is an error naming the file, never a
 * silently shorter table.
 *
 * @module
 */

import { Message, MessageHeader, type RecordBatch, RecordBatchReader, type Schema } from "apache-arrow";
import {
  ArrowStreamDecoder,
  ArrowStreamEncoder,
  type ArrowStreamOptions,
  tableFromArrow,
  tableFromArrowBatch,
} from "../pipeline/arrow.ts";
import { CsvParser, type CsvRecord, CsvWriter } from "../pipeline/csv.ts";
import { formatDate } from "../pipeline/dates.ts";
import { sliceTable, type Table } from "../pipeline/table.ts";

/** Returns the folder part of a path (`.` when there is none). */
export function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

/** Joins path segments with `/`. */
export function joinPath(...parts: string[]): string {
  return parts.filter((p) => p !== "").join("/").replace(/\/+/g, "/");
}

/** Returns whether a path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

function writeAllSync(file: Deno.FsFile, chunk: Uint8Array): void {
  let off = 0;
  while (off < chunk.length) off += file.writeSync(chunk.subarray(off));
}

/** Bytes gathered before one write call: small chunks (Arrow metadata, column buffers) are coalesced. */
const COALESCE_BYTES = 1 << 18;
/** Coalescing buffers of finished files, reused (fresh memory is slow). */
const spareBuffers: Uint8Array[] = [];
/** Most buffers kept in {@link spareBuffers}. */
const MAX_SPARE_BUFFERS = 8;

/** What {@link coalescingWriter} returns. */
interface CoalescingWriter {
  /** Copies `chunk` into the buffer (writing the buffer out when full), or writes it when large. */
  write: (chunk: Uint8Array) => void;
  /** Writes out what the buffer holds. */
  flush: () => void;
  /** Returns the buffer to the spare pool. */
  release: () => void;
}

/**
 * A writer to `file` that gathers chunks smaller than {@link COALESCE_BYTES} in one buffer and
 * writes it out when full (one system call per 256 KiB instead of one per Arrow buffer); larger
 * chunks are written directly.
 *
 * The writes are synchronous. An asynchronous file write copies its bytes into fresh memory on
 * the calling thread before another thread writes them, so it costs the caller more than the
 * write into the page cache itself, and a queue of buffers in flight is more fresh memory: with
 * them, the 2,000-user feature step took 0.22 s against 0.19 s (medians of 8), and the
 * 100,000-user one was no faster. The steps that write are computing on this thread anyway.
 */
function coalescingWriter(file: Deno.FsFile): CoalescingWriter {
  let buf: Uint8Array | null = null, used = 0;
  const flush = (): void => {
    if (buf !== null && used > 0) writeAllSync(file, buf.subarray(0, used));
    used = 0;
  };
  return {
    write(chunk: Uint8Array): void {
      if (chunk.length >= COALESCE_BYTES) {
        flush();
        writeAllSync(file, chunk);
        return;
      }
      buf ??= spareBuffers.pop() ?? new Uint8Array(COALESCE_BYTES);
      if (used + chunk.length > buf.length) flush();
      buf.set(chunk, used);
      used += chunk.length;
    },
    flush,
    release(): void {
      if (buf !== null && spareBuffers.length < MAX_SPARE_BUFFERS) spareBuffers.push(buf);
      buf = null;
      used = 0;
    },
  };
}

/** Milliseconds of work after which a {@link Pacer} gives the event loop a turn, or null (off). */
let sliceMs: number | null = null;

/**
 * Makes long steps give the event loop a turn every `ms` milliseconds (see {@link Pacer}), or
 * never (`null`, the default). The service turns it on, since its schedules run the steps in the
 * process that answers requests; a command-line run has nothing waiting and pays nothing.
 *
 * @throws {RangeError} when `ms` is not a positive number or null.
 */
export function setEventLoopSlice(ms: number | null): void {
  if (ms !== null && !(ms > 0)) throw new RangeError(`The event loop slice must be a positive number of ms, got ${ms}`);
  sliceMs = ms;
}

/** The slice set by {@link setEventLoopSlice}: milliseconds, or null when off. */
export function eventLoopSlice(): number | null {
  return sliceMs;
}

/**
 * Gives the event loop a turn (a zero-delay timer: pending I/O is polled and due timers run) when
 * the slice set by {@link setEventLoopSlice} has passed since the last one. The steps read and
 * write their files synchronously, so without it they would hold the thread from start to end.
 */
export class Pacer {
  #last = performance.now();

  /** Gives the event loop a turn when a slice has passed since the last one. */
  async pace(): Promise<void> {
    if (sliceMs === null || performance.now() - this.#last < sliceMs) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
    this.#last = performance.now();
  }
}

/** What every write of {@link atomicWrite} returns: the chunk is copied or written by then. */
const DONE = Promise.resolve();

/** Options of {@link atomicWrite}. */
export interface AtomicWriteOptions {
  /**
   * fsync the file before the rename (default true). `false` keeps the rename's atomicity for
   * readers but lets a power loss lose the new content: only for files a step can recompute.
   */
  sync?: boolean;
}

/**
 * Writes a file atomically: `produce` writes to a temporary file beside `path`,
 * which is flushed to disk (unless `sync` is false) and renamed over `path` only
 * when `produce` succeeds. A crash or kill at any point leaves either the old file
 * or the new one, never a truncated file under `path`.
 */
export async function atomicWrite(
  path: string,
  produce: (write: (chunk: Uint8Array) => Promise<void>) => Promise<void>,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const dir = dirname(path);
  Deno.mkdirSync(dir, { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const file = Deno.openSync(tmp, { write: true, create: true, truncate: true });
  const out = coalescingWriter(file);
  const write = (chunk: Uint8Array): Promise<void> => {
    try {
      out.write(chunk);
      return DONE;
    } catch (e) {
      return Promise.reject(e);
    }
  };
  let ok = false;
  try {
    await produce(write);
    out.flush();
    if (options.sync ?? true) await file.sync();
    ok = true;
  } finally {
    out.release();
    file.close();
    if (!ok) await Deno.remove(tmp).catch(() => {});
  }
  try {
    await replaceFile(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** `renameat2(2)`'s arguments for "the current directory" and "swap the two names". */
const AT_FDCWD = -100, RENAME_EXCHANGE = 2;

/** `renameat2(2)` with RENAME_EXCHANGE (0 on success), when this process may call it; else null. */
let exchangeNames: ((a: string, b: string) => Promise<number>) | null | undefined;

function exchanger(): ((a: string, b: string) => Promise<number>) | null {
  if (exchangeNames !== undefined) return exchangeNames;
  exchangeNames = null;
  try {
    // Only where the process already holds the FFI permission: never a prompt.
    if (Deno.build.os === "linux" && Deno.permissions.querySync({ name: "ffi" }).state === "granted") {
      const libc = Deno.dlopen("libc.so.6", {
        renameat2: { parameters: ["i32", "buffer", "i32", "buffer", "u32"], result: "i32", nonblocking: true },
      });
      const cString = (s: string) => new TextEncoder().encode(`${s}\0`);
      exchangeNames = (a, b) => libc.symbols.renameat2(AT_FDCWD, cString(a), AT_FDCWD, cString(b), RENAME_EXCHANGE);
    }
  } catch {
    exchangeNames = null; // no libc renameat2 here: plain renames
  }
  return exchangeNames;
}

/**
 * Puts the finished file `tmp` in place of `path`, atomically. When `path` is an existing file,
 * the two names are exchanged (renameat2 RENAME_EXCHANGE, on Linux with FFI allowed) and the old
 * content, now under `tmp`, is removed: ext4 forces the allocation and writeback of a file renamed
 * over another (auto_da_alloc), which took 2.5 s of the 100,000-user feature step, while an
 * exchange leaves the writeback to the kernel's flusher. Otherwise a plain rename.
 */
async function replaceFile(tmp: string, path: string): Promise<void> {
  const swap = exchanger();
  if (swap !== null) {
    const target = await Deno.lstat(path).catch(() => null);
    if (target?.isFile && (await swap(tmp, path)) === 0) {
      await Deno.remove(tmp);
      return;
    }
  }
  await Deno.rename(tmp, path);
}

/** Writes bytes or text to `path` atomically (`options` as {@link atomicWrite}'s). */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  await atomicWrite(path, (write) => write(bytes), options);
}

/** Writes a JSON document atomically (pretty-printed, trailing newline; `options` as {@link atomicWrite}'s). */
export async function writeJsonAtomic(path: string, value: unknown, options: AtomicWriteOptions = {}): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n", options);
}

/** Options of {@link readCsvFile}. */
export interface ReadCsvOptions {
  /** Awaited after each chunk's records were handled (a place for async work such as flushing). */
  afterChunk?: () => Promise<void>;
}

/** Bytes read per chunk when streaming a file. */
export const READ_CHUNK = 1 << 20;

/**
 * Streams a CSV file through a {@link CsvParser}, calling `onRecord` for each
 * record (the header first). Returns the number of bytes read. Holds one 1 MiB
 * chunk and one partial record in memory at a time.
 */
export async function readCsvFile(
  path: string,
  onRecord: (record: CsvRecord) => void,
  options: ReadCsvOptions = {},
): Promise<number> {
  const parser = new CsvParser(onRecord);
  const file = await Deno.open(path, { read: true });
  const buf = new Uint8Array(READ_CHUNK);
  try {
    for (;;) {
      const n = await file.read(buf);
      if (n === null) break;
      parser.push(buf.subarray(0, n));
      if (options.afterChunk) await options.afterChunk();
    }
    parser.end();
  } finally {
    file.close();
  }
  return parser.bytesRead;
}

/** Options of {@link writeTableCsv}. */
export interface WriteTableCsvOptions {
  /** Write the header row (default true). */
  header?: boolean;
  /** Flush and close the writer at the end (default true). */
  close?: boolean;
}

/** Formats a table as CSV through a {@link CsvWriter}: header, then rows. */
export async function writeTableCsv(table: Table, w: CsvWriter, options: WriteTableCsvOptions = {}): Promise<void> {
  const cols = [...table.columns];
  if (options.header ?? true) {
    cols.forEach(([name], i) => {
      if (i > 0) w.sep();
      w.string(name);
    });
    w.endRow();
  }
  const dateCache = new Map<number, string>();
  for (let r = 0; r < table.length; r++) {
    for (let j = 0; j < cols.length; j++) {
      if (j > 0) w.sep();
      const c = cols[j][1];
      switch (c.type) {
        case "f64":
          w.number(c.data[r]);
          break;
        case "i32":
        case "bool":
          w.int(c.data[r]);
          break;
        case "timestamp": {
          const t = c.data[r];
          if (!Number.isNaN(t)) w.ascii(new Date(t).toISOString().replace(".000Z", "Z"));
          break;
        }
        case "date": {
          const d = c.data[r];
          let s = dateCache.get(d);
          if (s === undefined) dateCache.set(d, s = formatDate(d));
          w.ascii(s);
          break;
        }
        case "dict": {
          const code = c.codes[r];
          if (code >= 0) w.string(c.dictionary[code]);
          break;
        }
      }
    }
    w.endRow();
    await w.maybeFlush();
  }
  if (options.close ?? true) await w.close();
}

/** Writes a table as a CSV file, atomically. */
export async function writeCsvTable(path: string, table: Table): Promise<void> {
  await atomicWrite(path, (write) => writeTableCsv(table, new CsvWriter(write)));
}

/**
 * Writes a table as an Arrow IPC stream file, atomically (`options` as {@link atomicWrite}'s and
 * the encoder's). `batchEnds` ends record batches at those rows (each batch still holds at most
 * `BATCH_ROWS` rows).
 */
export async function writeArrowTable(
  path: string,
  table: Table,
  options: AtomicWriteOptions & ArrowStreamOptions & { batchEnds?: readonly number[] } = {},
): Promise<void> {
  await atomicWrite(path, async (write) => {
    const ends = options.batchEnds?.length ? options.batchEnds : [table.length];
    const enc = new ArrowStreamEncoder(options);
    let start = 0;
    for (const end of ends) {
      for (const chunk of enc.encode(start === 0 && end === table.length ? table : sliceTable(table, start, end))) {
        await write(chunk);
      }
      enc.recycle();
      start = end;
    }
    for (const chunk of enc.finish()) await write(chunk);
  }, options);
}

/**
 * Reads an Arrow IPC file into a table.
 *
 * @throws {Error} naming the file when it is missing or not Arrow IPC.
 */
export async function readArrowTable(path: string): Promise<Table> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`Cannot read ${path}: file not found (run the step that writes it first)`);
    }
    throw e;
  }
  if (!hasArrowEnd(bytes)) throw incompleteArrow(path);
  try {
    return tableFromArrow(bytes);
  } catch (e) {
    throw new Error(`Cannot read ${path} as an Arrow IPC table: ${(e as Error).message}`);
  }
}

/** The error for an Arrow file cut short (a crash while it was written without fsync, a copy cut off). */
function incompleteArrow(path: string): Error {
  return new Error(
    `Cannot read ${path}: the Arrow stream has no end-of-stream marker, so the file is incomplete ` +
      "(rerun the step that writes it)",
  );
}

/**
 * Whether Arrow IPC bytes are complete: the file format's closing magic, or a stream whose
 * messages (walked by their lengths) end exactly with the end-of-stream marker.
 */
function hasArrowEnd(bytes: Uint8Array): boolean {
  const n = bytes.length;
  if (n >= 12 && String.fromCharCode(...bytes.subarray(0, 6), ...bytes.subarray(n - 6)) === "ARROW1ARROW1") return true;
  const view = new DataView(bytes.buffer, bytes.byteOffset, n);
  let pos = 0;
  while (pos + 4 <= n) {
    let size = view.getInt32(pos, true);
    pos += 4;
    if (size === -1) {
      if (pos + 4 > n) return false;
      size = view.getInt32(pos, true);
      pos += 4;
    }
    if (size === 0) return pos === n;
    if (size < 0 || pos + size > n) return false;
    const message = Message.decode(bytes.subarray(pos, pos + size));
    pos += size + Number(message.bodyLength);
  }
  return false;
}

/**
 * Reads an Arrow IPC stream file message by message: metadata and dictionary
 * bodies as copies, record-batch bodies as views of one reused buffer (so
 * reading never allocates fresh memory per batch, and nothing is copied twice).
 *
 * The reads are synchronous: the steps that read are computing on this thread anyway, a read
 * from the page cache takes a fraction of a millisecond, and handing it to another thread took
 * longer than that (the first read of the 2,000-user feature step waited 8 ms).
 */
function* arrowMessages(file: Deno.FsFile, path: string): Generator<Uint8Array> {
  // Sized by the first record batch (fresh memory is slow: no larger than needed).
  let buf = new Uint8Array(0);
  const head = new Uint8Array(8);
  const view = new DataView(head.buffer);
  const readExactly = (into: Uint8Array): boolean => {
    let off = 0;
    while (off < into.length) {
      const n = file.readSync(into.subarray(off));
      if (n === null) {
        if (off === 0) return false;
        throw new Error(`Cannot read ${path}: the Arrow stream ends in the middle of a message`);
      }
      off += n;
    }
    return true;
  };
  for (;;) {
    if (!readExactly(head.subarray(0, 4))) throw incompleteArrow(path);
    let size = view.getInt32(0, true);
    const continuation = size === -1;
    if (continuation) {
      if (!readExactly(head.subarray(4, 8))) return;
      size = view.getInt32(4, true);
    }
    if (size === 0) {
      yield continuation ? head.slice(0, 8) : head.slice(0, 4);
      return;
    }
    const meta = new Uint8Array((continuation ? 8 : 4) + size);
    meta.set(head.subarray(0, continuation ? 8 : 4));
    readExactly(meta.subarray(continuation ? 8 : 4));
    const message = Message.decode(meta.subarray(continuation ? 8 : 4));
    yield meta;
    const bodyLength = Number(message.bodyLength);
    if (bodyLength === 0) continue;
    if (message.headerType === MessageHeader.RecordBatch) {
      if (bodyLength > buf.length) buf = new Uint8Array(Math.max(bodyLength, Math.ceil(buf.length * 1.25)));
      const body = buf.subarray(0, bodyLength);
      readExactly(body);
      yield body;
    } else {
      const body = new Uint8Array(bodyLength);
      readExactly(body);
      yield body;
    }
  }
}

/** Opens an Arrow file for reading, naming it when it is missing. */
function openArrow(path: string): Deno.FsFile {
  try {
    return Deno.openSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`Cannot read ${path}: file not found (run the step that writes it first)`);
    }
    throw e;
  }
}

/**
 * The schema of the Arrow IPC stream at `path` (with its metadata and the value ranges recorded
 * in it: see `ArrowStreamOptions`), reading its first message only.
 *
 * @throws {Error} naming the file when it is missing or does not start with a schema.
 */
export function readArrowSchema(path: string): Schema {
  const file = openArrow(path);
  try {
    const first = arrowMessages(file, path).next();
    const message = first.done ? null : messageOf(first.value);
    if (message === null || !message.isSchema()) {
      throw new Error(`Cannot read ${path} as an Arrow IPC table: it does not start with a schema`);
    }
    return message.header() as Schema;
  } finally {
    file.close();
  }
}

/**
 * Streams an Arrow IPC file batch by batch as tables, so a table larger than
 * memory can be processed. Each table is a view of a reused buffer: it is valid
 * until the next one is requested (copy what must outlive it). The file is read synchronously;
 * in the service, the event loop gets a turn between batches every slice (see {@link Pacer}),
 * the caller's work on the batches included.
 *
 * @throws {Error} naming the file when it is missing or not Arrow IPC.
 */
export async function* readArrowBatches(path: string): AsyncGenerator<Table> {
  const file = openArrow(path);
  try {
    const messages = arrowMessages(file, path);
    const first = messages.next();
    const schema = first.done ? null : messageOf(first.value);
    if (schema?.isSchema() && ArrowStreamDecoder.supports(schema.header() as Schema)) {
      // Our own kinds of columns: decoded straight from the message bodies.
      const decoder = new ArrowStreamDecoder(schema.header() as Schema);
      const pacer = new Pacer();
      for (;;) {
        await pacer.pace();
        const next = messages.next();
        if (next.done) return;
        const message = messageOf(next.value);
        if (message === null) return; // the end-of-stream marker
        const body = Number(message.bodyLength) > 0 ? messages.next().value ?? new Uint8Array(0) : new Uint8Array(0);
        let table: Table | null;
        try {
          table = decoder.decode(message, body);
        } catch (e) {
          throw new Error(`Cannot read ${path} as an Arrow IPC table: ${(e as Error).message}`);
        }
        if (table !== null) yield table;
      }
    }
    let reader: AsyncIterable<RecordBatch>;
    try {
      reader = await RecordBatchReader.from((async function* () {
        if (!first.done) yield first.value;
        yield* messages;
      })());
    } catch (e) {
      throw new Error(`Cannot read ${path} as an Arrow IPC table: ${(e as Error).message}`);
    }
    const pacer = new Pacer();
    for await (const batch of reader) {
      yield tableFromArrowBatch(batch);
      await pacer.pace();
    }
  } finally {
    file.close();
  }
}

/** The message framed in `bytes` (continuation marker and length first), or null for the end-of-stream marker. */
function messageOf(bytes: Uint8Array): Message | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const skip = bytes.length >= 8 && view.getInt32(0, true) === -1 ? 8 : 4;
  return bytes.length > skip ? Message.decode(bytes.subarray(skip)) : null;
}
