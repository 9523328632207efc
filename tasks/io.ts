/**
 * File I/O for the tasks: atomic writes (temporary name, fsync, rename), streaming
 * CSV reads, CSV and Arrow IPC table files.
 *
 * @module
 */

import { Message, MessageHeader, type RecordBatch, RecordBatchReader } from "apache-arrow";
import { tableFromArrow, tableFromArrowBatch, tableToArrowChunks } from "../pipeline/arrow.ts";
import { CsvParser, type CsvRecord, CsvWriter } from "../pipeline/csv.ts";
import { formatDate } from "../pipeline/dates.ts";
import type { Table } from "../pipeline/table.ts";

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

async function writeAll(file: Deno.FsFile, chunk: Uint8Array): Promise<void> {
  let off = 0;
  while (off < chunk.length) off += await file.write(chunk.subarray(off));
}

/**
 * Writes a file atomically: `produce` writes to a temporary file beside `path`,
 * which is flushed to disk and renamed over `path` only when `produce`
 * succeeds. A crash or kill at any point leaves either the old file or the new
 * one, never a truncated file under `path`.
 */
export async function atomicWrite(
  path: string,
  produce: (write: (chunk: Uint8Array) => Promise<void>) => Promise<void>,
): Promise<void> {
  const dir = dirname(path);
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
  const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
  let ok = false;
  try {
    await produce((chunk) => writeAll(file, chunk));
    await file.sync();
    ok = true;
  } finally {
    file.close();
    if (!ok) await Deno.remove(tmp).catch(() => {});
  }
  await Deno.rename(tmp, path);
}

/** Writes bytes or text to `path` atomically. */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  await atomicWrite(path, (write) => write(bytes));
}

/** Writes a JSON document atomically (pretty-printed, trailing newline). */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
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

/** Writes a table as an Arrow IPC stream file, atomically. */
export async function writeArrowTable(path: string, table: Table): Promise<void> {
  await atomicWrite(path, async (write) => {
    for (const chunk of tableToArrowChunks(table)) await write(chunk);
  });
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
  try {
    return tableFromArrow(bytes);
  } catch (e) {
    throw new Error(`Cannot read ${path} as an Arrow IPC table: ${(e as Error).message}`);
  }
}

/**
 * Reads an Arrow IPC stream file message by message: metadata and dictionary
 * bodies as copies, record-batch bodies as views of one reused buffer (so
 * reading never allocates fresh memory per batch, and nothing is copied twice).
 */
async function* arrowMessages(file: Deno.FsFile, path: string): AsyncGenerator<Uint8Array> {
  let buf = new Uint8Array(1 << 20);
  const head = new Uint8Array(8);
  const view = new DataView(head.buffer);
  const readExactly = async (into: Uint8Array): Promise<boolean> => {
    let off = 0;
    while (off < into.length) {
      const n = await file.read(into.subarray(off));
      if (n === null) {
        if (off === 0) return false;
        throw new Error(`Cannot read ${path}: the Arrow stream ends in the middle of a message`);
      }
      off += n;
    }
    return true;
  };
  for (;;) {
    if (!(await readExactly(head.subarray(0, 4)))) return;
    let size = view.getInt32(0, true);
    const continuation = size === -1;
    if (continuation) {
      if (!(await readExactly(head.subarray(4, 8)))) return;
      size = view.getInt32(4, true);
    }
    if (size === 0) {
      yield continuation ? head.slice(0, 8) : head.slice(0, 4);
      return;
    }
    const meta = new Uint8Array((continuation ? 8 : 4) + size);
    meta.set(head.subarray(0, continuation ? 8 : 4));
    await readExactly(meta.subarray(continuation ? 8 : 4));
    const message = Message.decode(meta.subarray(continuation ? 8 : 4));
    yield meta;
    const bodyLength = Number(message.bodyLength);
    if (bodyLength === 0) continue;
    if (message.headerType === MessageHeader.RecordBatch) {
      if (bodyLength > buf.length) buf = new Uint8Array(Math.max(bodyLength, buf.length * 2));
      const body = buf.subarray(0, bodyLength);
      await readExactly(body);
      yield body;
    } else {
      const body = new Uint8Array(bodyLength);
      await readExactly(body);
      yield body;
    }
  }
}

/**
 * Streams an Arrow IPC file batch by batch as tables, so a table larger than
 * memory can be processed. Each table is a view of a reused buffer: it is valid
 * until the next one is requested (copy what must outlive it).
 *
 * @throws {Error} naming the file when it is missing or not Arrow IPC.
 */
export async function* readArrowBatches(path: string): AsyncGenerator<Table> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`Cannot read ${path}: file not found (run the step that writes it first)`);
    }
    throw e;
  }
  try {
    let reader: AsyncIterable<RecordBatch>;
    try {
      reader = await RecordBatchReader.from(arrowMessages(file, path));
    } catch (e) {
      throw new Error(`Cannot read ${path} as an Arrow IPC table: ${(e as Error).message}`);
    }
    for await (const batch of reader) yield tableFromArrowBatch(batch);
  } finally {
    file.close();
  }
}
