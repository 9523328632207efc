/**
 * A streaming RFC 4180 CSV reader and a buffered CSV writer that work on bytes.
 *
 * The reader never holds more than one chunk plus one partial record: records
 * are handed to a callback as a {@link CsvRecord} view whose accessors parse
 * numbers and dates straight from the bytes, so a 1 GB file needs a few MiB of
 * heap. Quoted fields may hold delimiters, `""` escapes and newlines.
 *
 * @module
 */

import { parseDateBytes, parseDateTimeBytes } from "./dates.ts";

/** A CSV input the reader cannot parse (binary data, an unterminated quote…). */
export class CsvParseError extends Error {
  /** The 1-based line where the problem starts. */
  readonly line: number;
  /** Creates the error. */
  constructor(message: string, line: number) {
    super(message);
    this.name = "CsvParseError";
    this.line = line;
  }
}

const QUOTE = 34, COMMA = 44, LF = 10, CR = 13, SPACE = 32;
const decoder = new TextDecoder("utf-8", { fatal: false });

/** Strings that mean "missing" in a numeric field, as pandas' `read_csv` defaults. */
export const NA_TOKENS: ReadonlySet<string> = new Set([
  "",
  "NA",
  "N/A",
  "n/a",
  "NaN",
  "nan",
  "-NaN",
  "-nan",
  "null",
  "NULL",
  "None",
  "<NA>",
  "#N/A",
]);

/**
 * One record of a CSV file, valid only during the callback that receives it.
 * Field accessors take the 0-based field index.
 */
export class CsvRecord {
  /** The bytes the field offsets point into. */
  bytes: Uint8Array = new Uint8Array(0);
  /** Number of fields in this record. */
  count = 0;
  /** 1-based line number where this record starts. */
  line = 0;
  /** 0-based index of this record among all records (the header is record 0). */
  index = 0;
  /** Field start offsets (after any opening quote). */
  starts: Int32Array = new Int32Array(64);
  /** Field end offsets (before any closing quote). */
  ends: Int32Array = new Int32Array(64);
  /** 1 when the field was quoted and holds `""` escapes. */
  escaped: Uint8Array = new Uint8Array(64);

  /** Returns the field as a string (unescaped); `""` for a missing field. */
  text(i: number): string {
    if (i >= this.count) return "";
    const s = decoder.decode(this.bytes.subarray(this.starts[i], this.ends[i]));
    return this.escaped[i] ? s.replaceAll('""', '"') : s;
  }

  /** Returns whether the field is empty, absent, or an NA token such as `NaN`. */
  isMissing(i: number): boolean {
    if (i >= this.count) return true;
    let s = this.starts[i], e = this.ends[i];
    const b = this.bytes;
    while (s < e && b[s] === SPACE) s++;
    while (e > s && b[e - 1] === SPACE) e--;
    if (s === e) return true;
    if (e - s > 4) return false;
    const c = b[s];
    // Only a few leading bytes can start an NA token.
    if (c !== 78 && c !== 110 && c !== 45 && c !== 60 && c !== 35) return false;
    return NA_TOKENS.has(decoder.decode(b.subarray(s, e)));
  }

  /**
   * Returns the field as a number: `NaN` when missing or not a number (use
   * {@link CsvRecord.isMissing} to tell which). Plain decimals are parsed from
   * the bytes with correct rounding; other forms (exponents) fall back to `Number`.
   */
  number(i: number): number {
    if (i >= this.count) return NaN;
    return parseNumberBytes(this.bytes, this.starts[i], this.ends[i]);
  }

  /** Returns the field as days since 1970-01-01, or `NaN` when not `YYYY-MM-DD`. */
  date(i: number): number {
    if (i >= this.count) return NaN;
    return parseDateBytes(this.bytes, this.starts[i], this.ends[i]);
  }

  /** Returns the field as epoch milliseconds (UTC), or `NaN` when not ISO-8601. */
  dateTime(i: number): number {
    if (i >= this.count) return NaN;
    return parseDateTimeBytes(this.bytes, this.starts[i], this.ends[i]);
  }
}

const POW10 = [
  1,
  1e1,
  1e2,
  1e3,
  1e4,
  1e5,
  1e6,
  1e7,
  1e8,
  1e9,
  1e10,
  1e11,
  1e12,
  1e13,
  1e14,
  1e15,
  1e16,
  1e17,
  1e18,
  1e19,
  1e20,
  1e21,
  1e22,
];
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Parses a decimal number from `bytes[start, end)` (spaces trimmed); `NaN` when
 * empty or invalid. Mantissas below 2^53 with at most 22 fraction digits take the
 * exact fast path (one correctly rounded division), the rest go through `Number`.
 */
export function parseNumberBytes(bytes: Uint8Array, start: number, end: number): number {
  while (start < end && bytes[start] === SPACE) start++;
  while (end > start && bytes[end - 1] === SPACE) end--;
  if (start === end) return NaN;
  let p = start, neg = false;
  const c0 = bytes[p];
  if (c0 === 45 || c0 === 43) {
    neg = c0 === 45;
    p++;
  }
  let mant = 0, nd = 0, frac = 0, sawDot = false;
  for (; p < end; p++) {
    const c = bytes[p];
    if (c >= 48 && c <= 57) {
      mant = mant * 10 + (c - 48);
      nd++;
      if (sawDot) frac++;
    } else if (c === 46 && !sawDot) sawDot = true;
    else break;
  }
  if (p === end && nd > 0 && mant <= 9007199254740991 && frac <= 22) {
    const v = frac === 0 ? mant : mant / POW10[frac];
    return neg ? -v : v;
  }
  const text = decoder.decode(bytes.subarray(start, end));
  if (!NUMBER_RE.test(text)) {
    const lower = text.toLowerCase();
    if (lower === "inf" || lower === "+inf" || lower === "infinity") return Infinity;
    if (lower === "-inf" || lower === "-infinity") return -Infinity;
    return NaN;
  }
  return Number(text);
}

/** Options of {@link CsvParser}. */
export interface CsvParserOptions {
  /** Field delimiter byte (default `,`). */
  delimiter?: number;
}

/**
 * An incremental CSV parser: `push()` chunks of bytes, then `end()`. Each complete
 * record (the header included, as record 0) is passed to `onRecord`. Blank lines
 * are skipped; a UTF-8 BOM is dropped. Throws {@link CsvParseError} on a NUL
 * byte (binary input) or an unterminated quoted field.
 */
export class CsvParser {
  #buf = new Uint8Array(1 << 16);
  #len = 0;
  #line = 1;
  #index = 0;
  #first = true;
  readonly #rec = new CsvRecord();
  readonly #onRecord: (record: CsvRecord) => void;
  readonly #delim: number;
  /** Total bytes pushed so far. */
  bytesRead = 0;

  /** Creates a parser calling `onRecord` for each record. */
  constructor(onRecord: (record: CsvRecord) => void, options: CsvParserOptions = {}) {
    this.#onRecord = onRecord;
    this.#delim = options.delimiter ?? COMMA;
  }

  /** Feeds the next chunk of bytes. */
  push(chunk: Uint8Array): void {
    this.bytesRead += chunk.length;
    let data = chunk;
    if (this.#first && data.length > 0) {
      if (data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) data = data.subarray(3);
      this.#first = false;
    }
    const nul = data.indexOf(0);
    if (nul >= 0) {
      throw new CsvParseError(
        `Input is not a text CSV file: NUL byte near line ${this.#line + countLf(data, 0, nul)}`,
        this.#line,
      );
    }
    const need = this.#len + data.length;
    if (need > this.#buf.length) {
      const next = new Uint8Array(Math.max(need, this.#buf.length * 2));
      next.set(this.#buf.subarray(0, this.#len));
      this.#buf = next;
    }
    this.#buf.set(data, this.#len);
    this.#len = need;
    this.#parse(false);
  }

  /** Signals the end of input and flushes the last record. */
  end(): void {
    this.#parse(true);
  }

  #parse(final: boolean): void {
    const buf = this.#buf, len = this.#len, delim = this.#delim, rec = this.#rec;
    rec.bytes = buf;
    let p = 0;
    while (p < len) {
      // Skip blank lines.
      const c0 = buf[p];
      if (c0 === LF) {
        this.#line++;
        p++;
        continue;
      }
      if (c0 === CR) {
        if (p + 1 < len) {
          p += buf[p + 1] === LF ? 2 : 1;
          this.#line++;
          continue;
        }
        if (!final) break;
        p++;
        this.#line++;
        continue;
      }
      const recStart = p;
      const startLine = this.#line;
      let lines = 0;
      let nf = 0;
      let complete = false;
      let q = p;
      for (;;) {
        if (nf === rec.starts.length) this.#growFields();
        if (q < len && buf[q] === QUOTE) {
          // Quoted field.
          let r = q + 1, esc = 0;
          let closed = false;
          while (r < len) {
            const c = buf[r];
            if (c === QUOTE) {
              if (r + 1 < len && buf[r + 1] === QUOTE) {
                esc = 1;
                r += 2;
                continue;
              }
              if (r + 1 >= len && !final) break; // need the next byte to decide
              closed = true;
              break;
            }
            if (c === LF) lines++;
            r++;
          }
          if (!closed) {
            if (final) {
              throw new CsvParseError(
                `Unterminated quoted field starting at line ${startLine}`,
                startLine,
              );
            }
            break; // incomplete record
          }
          rec.starts[nf] = q + 1;
          rec.ends[nf] = r;
          rec.escaped[nf] = esc;
          nf++;
          q = r + 1;
          if (q >= len) {
            if (final) {
              complete = true;
              p = q;
            }
            break;
          }
          const c = buf[q];
          if (c === delim) {
            q++;
            continue;
          }
          if (c === LF || c === CR) {
            p = this.#endOfLine(q, len, final);
            if (p < 0) break;
            complete = true;
            break;
          }
          throw new CsvParseError(
            `Unexpected character after a closing quote at line ${startLine + lines}`,
            startLine + lines,
          );
        }
        // Unquoted field.
        let r = q;
        while (r < len) {
          const c = buf[r];
          if (c === delim || c === LF || c === CR) break;
          r++;
        }
        if (r >= len) {
          if (final) {
            rec.starts[nf] = q;
            rec.ends[nf] = r;
            rec.escaped[nf] = 0;
            nf++;
            complete = true;
            p = r;
          }
          break;
        }
        rec.starts[nf] = q;
        rec.ends[nf] = r;
        rec.escaped[nf] = 0;
        nf++;
        if (buf[r] === delim) {
          q = r + 1;
          if (q >= len && final) {
            rec.starts[nf] = q;
            rec.ends[nf] = q;
            rec.escaped[nf] = 0;
            nf++;
            complete = true;
            p = q;
            break;
          }
          continue;
        }
        p = this.#endOfLine(r, len, final);
        if (p < 0) break;
        complete = true;
        break;
      }
      if (!complete) {
        p = recStart;
        break;
      }
      rec.count = nf;
      rec.line = startLine;
      rec.index = this.#index++;
      this.#line = startLine + lines + 1;
      this.#onRecord(rec);
    }
    // Keep the partial record at the front of the buffer.
    if (p > 0) {
      buf.copyWithin(0, p, len);
      this.#len = len - p;
    }
    if (final) this.#len = 0;
  }

  /** Returns the offset after the line ending at `at`, or -1 when more bytes are needed. */
  #endOfLine(at: number, len: number, final: boolean): number {
    if (this.#buf[at] === LF) return at + 1;
    if (at + 1 < len) return this.#buf[at + 1] === LF ? at + 2 : at + 1;
    return final ? at + 1 : -1;
  }

  #growFields(): void {
    const r = this.#rec, n = r.starts.length * 2;
    const s = new Int32Array(n), e = new Int32Array(n), x = new Uint8Array(n);
    s.set(r.starts);
    e.set(r.ends);
    x.set(r.escaped);
    r.starts = s;
    r.ends = e;
    r.escaped = x;
  }
}

function countLf(b: Uint8Array, from: number, to: number): number {
  let n = 0;
  for (let i = from; i < to; i++) if (b[i] === LF) n++;
  return n;
}

/** Parses a whole CSV text into rows of strings (for small inputs and tests). */
export function parseCsvText(text: string): string[][] {
  const rows: string[][] = [];
  const parser = new CsvParser((r) => {
    const row: string[] = [];
    for (let i = 0; i < r.count; i++) row.push(r.text(i));
    rows.push(row);
  });
  parser.push(new TextEncoder().encode(text));
  parser.end();
  return rows;
}

/** Where a {@link CsvWriter} sends each full buffer. */
export type ByteSink = (chunk: Uint8Array) => void | Promise<void>;

const encoder = new TextEncoder();

/**
 * Formats CSV into a reusable byte buffer and hands full buffers to a sink.
 * Call the `write*` methods for one field at a time, `sep()` between fields,
 * `endRow()` after each row, `await maybeFlush()` now and then, and
 * `await close()` at the end. A chunk passed to the sink is reused after the
 * sink's promise settles, so sinks must finish with it before resolving.
 */
export class CsvWriter {
  #buf: Uint8Array;
  #len = 0;
  readonly #sink: ByteSink;
  readonly #flushAt: number;

  /** Creates a writer with a buffer of `bufferBytes` (default 1 MiB). */
  constructor(sink: ByteSink, bufferBytes = 1 << 20) {
    this.#sink = sink;
    this.#buf = new Uint8Array(bufferBytes + 4096);
    this.#flushAt = bufferBytes;
  }

  #ensure(n: number): void {
    if (this.#len + n > this.#buf.length) {
      const next = new Uint8Array((this.#len + n) * 2);
      next.set(this.#buf.subarray(0, this.#len));
      this.#buf = next;
    }
  }

  /** Writes a string field, quoting it when it holds a delimiter, quote or newline. */
  string(value: string): void {
    const needsQuote = /[",\r\n]/.test(value);
    const s = needsQuote ? `"${value.replaceAll('"', '""')}"` : value;
    this.#ensure(s.length * 3);
    this.#len += encoder.encodeInto(s, this.#buf.subarray(this.#len)).written;
  }

  /** Writes a string known to be plain ASCII without special characters. */
  ascii(value: string): void {
    const n = value.length;
    this.#ensure(n);
    const b = this.#buf;
    let l = this.#len;
    for (let i = 0; i < n; i++) b[l++] = value.charCodeAt(i);
    this.#len = l;
  }

  /** Writes raw bytes. */
  bytes(value: Uint8Array): void {
    this.#ensure(value.length);
    this.#buf.set(value, this.#len);
    this.#len += value.length;
  }

  /** Writes an integer (|v| < 2^53). */
  int(value: number): void {
    this.#ensure(24);
    const b = this.#buf;
    let v = value;
    if (v < 0) {
      b[this.#len++] = 45;
      v = -v;
    }
    if (v < 10) {
      b[this.#len++] = 48 + v;
      return;
    }
    let n = 0, t = v;
    while (t >= 1) {
      n++;
      t = Math.floor(t / 10);
    }
    let end = this.#len + n;
    this.#len = end;
    while (v >= 1) {
      const d = v % 10;
      b[--end] = 48 + d;
      v = (v - d) / 10;
    }
  }

  /**
   * Writes `value` as `Math.round(|value| × 10^decimals) / 10^decimals` with its
   * sign, trailing zeros removed; `NaN` writes an empty field.
   */
  fixed(value: number, decimals: number): void {
    if (!Number.isFinite(value)) {
      if (!Number.isNaN(value)) this.ascii(String(value));
      return;
    }
    const scale = POW10[decimals];
    let scaled = Math.round(Math.abs(value) * scale);
    if (scaled > 9e15) {
      this.ascii(String(Number(value.toFixed(decimals))));
      return;
    }
    if (value < 0 && scaled !== 0) this.#buf[this.#len++] = 45;
    let dec = decimals;
    while (dec > 0 && scaled % 10 === 0) {
      scaled /= 10;
      dec--;
    }
    const ip = Math.floor(scaled / POW10[dec]);
    this.int(ip);
    if (dec > 0) {
      this.#ensure(dec + 1);
      const b = this.#buf;
      b[this.#len++] = 46;
      let f = scaled - ip * POW10[dec];
      let end = this.#len + dec;
      this.#len = end;
      for (let i = 0; i < dec; i++) {
        const d = f % 10;
        b[--end] = 48 + d;
        f = (f - d) / 10;
      }
    }
  }

  /** Writes a number in JavaScript's shortest round-trip form; `NaN` writes an empty field. */
  number(value: number): void {
    if (Number.isNaN(value)) return;
    if (Number.isInteger(value) && Math.abs(value) < 9e15) this.int(value);
    else this.ascii(String(value));
  }

  /** Writes the field delimiter. */
  sep(): void {
    this.#ensure(1);
    this.#buf[this.#len++] = COMMA;
  }

  /** Ends the row with `\n`. */
  endRow(): void {
    this.#ensure(1);
    this.#buf[this.#len++] = LF;
  }

  /** Bytes waiting in the buffer. */
  get buffered(): number {
    return this.#len;
  }

  /** Flushes when the buffer is past its threshold. */
  async maybeFlush(): Promise<void> {
    if (this.#len >= this.#flushAt) await this.flush();
  }

  /** Sends everything buffered to the sink. */
  async flush(): Promise<void> {
    if (this.#len === 0) return;
    const chunk = this.#buf.subarray(0, this.#len);
    await this.#sink(chunk);
    this.#len = 0;
  }

  /** Flushes the rest. */
  async close(): Promise<void> {
    await this.flush();
  }
}
