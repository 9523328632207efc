/**
 * The validation gates (SPEC §3): a streaming checker of the raw `users.csv`
 * and `events.csv` against the input contract.
 *
 * The caller streams the files through a {@link CsvParser} and hands each
 * record to {@link DataValidator.users} (the whole users file first), then to
 * {@link DataValidator.events}; {@link DataValidator.finish} returns the
 * {@link ValidationReport}. Numbers and dates are read straight from the record's
 * bytes, the allowed words are matched on bytes, and the id sets are bitsets, so
 * a 1.5 GB events file is checked in one pass with flat memory and no per-row
 * string allocation. Strings are only built for the few example values kept per
 * problem.
 *
 * @module
 */

import {
  EVENT_TYPES,
  EVENTS_COLUMNS as EVENTS_REQUIRED_COLUMNS,
  PAYMENT_EVENT_TYPES,
  USERS_REQUIRED_COLUMNS,
} from "./contract.ts";
import { type CsvRecord, parseNumberBytes } from "./csv.ts";
import { formatDate, MS_PER_DAY, parseDateBytes, parseDateTimeBytes } from "./dates.ts";

/** How bad a problem is: errors fail the gate, warnings are only reported. */
export type Severity = "error" | "warning";

/** The two raw files. */
export type DataFile = "users" | "events";

export {
  EVENT_TYPES,
  EVENTS_COLUMNS as EVENTS_REQUIRED_COLUMNS,
  PAYMENT_EVENT_TYPES,
  USERS_REQUIRED_COLUMNS,
} from "./contract.ts";

/** One offending row of a problem. */
export interface ProblemExample {
  /** 1-based data row number (the first row after the header is 1; 0 is the header itself). */
  row: number;
  /** 1-based physical line of the file where the record starts. */
  line: number;
  /** The raw text of the offending field (or of the whole row, or a description for file-level problems). */
  value: string;
}

/** One broken rule, with how many rows break it and a few examples. */
export interface Problem {
  /** `error` fails the gate; `warning` does not. */
  severity: Severity;
  /** The rule's identifier, e.g. `unique`, `allowed_values`, `amount_contamination`. */
  rule: string;
  /** The file the problem is in. */
  file: DataFile;
  /** The column concerned (several names joined by `, ` for missing columns); `null` for whole-row or file problems. */
  column: string | null;
  /** Number of data rows breaking the rule (0 for file-level problems). */
  rows: number;
  /** At most `max_examples` examples, in file order. */
  examples: ProblemExample[];
  /** One sentence saying what is wrong. */
  message: string;
}

/** What was read of one file. */
export interface FileSummary {
  /** The path read, or `null` when none was given. */
  path: string | null;
  /** Number of data rows (records after the header). */
  rows: number;
  /** Number of bytes read. */
  bytes: number;
}

/** The machine-readable result of a validation run. */
export interface ValidationReport {
  /** `true` when there is no error (warnings allowed). */
  ok: boolean;
  /** When the check ran (the `now` option), ISO-8601 UTC. */
  checked_at: string;
  /** What was read of each file. */
  files: { users: FileSummary; events: FileSummary };
  /** Number of problems of severity `error`. */
  errors: number;
  /** Number of problems of severity `warning`. */
  warnings: number;
  /** Every problem found, errors first, then in file and rule order. */
  problems: Problem[];
}

/** Options of {@link DataValidator}. */
export interface ValidatorOptions {
  /** The current time in epoch milliseconds: later events are reported as future events (default `Date.now()`). */
  now?: number;
  /** Examples kept per problem (default 5). */
  maxExamples?: number;
  /** Largest allowed share of non-payment events carrying an amount (default 0.02); more is an error. */
  maxAmountContamination?: number;
}

/** Where a file came from and how big it was. */
export interface FileInfo {
  /** The path read. */
  path?: string | null;
  /** Number of bytes read. */
  bytes: number;
}

const MAX_VALUE_CHARS = 200;
/** `signup` store marker: the user id is not known. */
const UNKNOWN = -2147483648;
/** `signup` store marker: the user id is known but its signup date is unusable. */
const NO_DATE = -2147483647;
/** User ids below this are kept in a dense array (at most 64 MiB). */
const DENSE_USER_CAP = 1 << 24;
/** Event ids below this are kept in a bitset (at most 32 MiB). */
const BITSET_CAP = 2 ** 28;

function clip(text: string): string {
  return text.length > MAX_VALUE_CHARS ? text.slice(0, MAX_VALUE_CHARS - 1) + "…" : text;
}

function rowText(r: CsvRecord): string {
  const parts: string[] = [];
  let len = 0;
  for (let i = 0; i < r.count && len <= MAX_VALUE_CHARS; i++) {
    const t = r.text(i);
    parts.push(t);
    len += t.length + 1;
  }
  return clip(parts.join(","));
}

function raggedText(r: CsvRecord, width: number): string {
  return `${r.count} fields, expected ${width}: ${rowText(r)}`;
}

/** Counts one rule's failures and keeps the first examples. */
class Tally {
  rows = 0;
  hit = false;
  readonly examples: ProblemExample[] = [];
  severity: Severity;
  message: string;
  readonly rule: string;
  readonly file: DataFile;
  readonly column: string | null;
  readonly max: number;

  constructor(
    file: DataFile,
    rule: string,
    spec: { severity: Severity; column: string | null; message: string; max: number },
  ) {
    this.file = file;
    this.rule = rule;
    this.severity = spec.severity;
    this.column = spec.column;
    this.message = spec.message;
    this.max = spec.max;
  }

  /** Counts a failing row; `field` is the offending field, -1 for the whole row. */
  add(r: CsvRecord, field: number): void {
    this.rows++;
    this.hit = true;
    if (this.examples.length < this.max) {
      this.examples.push({ row: r.index, line: r.line, value: field < 0 ? rowText(r) : clip(r.text(field)) });
    }
  }

  /** Whether another example would be kept (build a custom example value only then). */
  get room(): boolean {
    return this.examples.length < this.max;
  }

  /** Counts a failing row; keeps `value` as its example while there is {@link Tally.room}. */
  addValue(r: CsvRecord, value: string | null): void {
    this.rows++;
    this.hit = true;
    if (value !== null && this.examples.length < this.max) {
      this.examples.push({ row: r.index, line: r.line, value: clip(value) });
    }
  }

  /** Marks a file-level problem (no row count). */
  flag(example: ProblemExample | null): void {
    this.hit = true;
    if (example !== null && this.examples.length < this.max) this.examples.push(example);
  }

  toProblem(): Problem {
    return {
      severity: this.severity,
      rule: this.rule,
      file: this.file,
      column: this.column,
      rows: this.rows,
      examples: this.examples.slice(),
      message: this.message,
    };
  }
}

/** The state of one file being read. */
class FileState {
  readonly file: DataFile;
  readonly tallies: Tally[] = [];
  readonly max: number;
  path: string | null = null;
  bytes = 0;
  rows = 0;
  width = 0;
  header = false;
  ended = false;
  failed = false;
  columns = new Map<string, number>();
  ragged: Tally;

  constructor(file: DataFile, max: number) {
    this.file = file;
    this.max = max;
    this.ragged = this.tally("ragged_rows", "error", null, "Rows whose field count differs from the header's");
  }

  tally(rule: string, severity: Severity, column: string | null, message: string): Tally {
    const t = new Tally(this.file, rule, { severity, column, message, max: this.max });
    this.tallies.push(t);
    return t;
  }

  /** Reads the header: maps column names to indices and reports missing or duplicate columns. */
  readHeader(r: CsvRecord, required: readonly string[], optional: readonly string[]): void {
    this.header = true;
    this.width = r.count;
    const duplicates: string[] = [];
    for (let i = 0; i < r.count; i++) {
      const name = r.text(i).trim();
      if (this.columns.has(name)) duplicates.push(name);
      else this.columns.set(name, i);
    }
    const missing = required.filter((c) => !this.columns.has(c));
    const header: ProblemExample = { row: 0, line: r.line, value: rowText(r) };
    if (missing.length === required.length && !optional.some((c) => this.columns.has(c))) {
      this.tally(
        "missing_header",
        "error",
        missing.join(", "),
        `The first row is not a header: none of the columns ${missing.join(", ")} were found`,
      ).flag(header);
    } else if (missing.length > 0) {
      this.tally(
        "required_columns",
        "error",
        missing.join(", "),
        `Missing required column${missing.length > 1 ? "s" : ""}: ${missing.join(", ")}`,
      ).flag(header);
    }
    for (const name of new Set(duplicates)) {
      this.tally("duplicate_column", "warning", name, `Column ${name} appears more than once; the first one is used`)
        .flag(header);
    }
  }

  column(name: string): number {
    return this.columns.get(name) ?? -1;
  }
}

/** A set of integer ids: a growable bitset for ids in [0, 2^28), a `Set` for the others. */
class IdSet {
  #bits = new Uint32Array(1 << 12);
  #other: Set<number> | null = null;

  /** Adds `id`; returns `false` when it was already there. */
  add(id: number): boolean {
    if (id >= 0 && id < BITSET_CAP) {
      const w = id >>> 5, bit = 1 << (id & 31);
      let bits = this.#bits;
      if (w >= bits.length) bits = this.#grow(w);
      if ((bits[w] & bit) !== 0) return false;
      bits[w] |= bit;
      return true;
    }
    const other = this.#other ??= new Set();
    if (other.has(id)) return false;
    other.add(id);
    return true;
  }

  #grow(word: number): Uint32Array<ArrayBuffer> {
    let n = this.#bits.length;
    while (n <= word) n *= 2;
    const next = new Uint32Array(n);
    next.set(this.#bits);
    this.#bits = next;
    return next;
  }
}

/** User id → signup day (days since epoch, {@link NO_DATE} or {@link UNKNOWN}). */
class UserStore {
  #dense = new Int32Array(1 << 12).fill(UNKNOWN);
  readonly #sparse = new Map<number, number>();

  get(id: number): number {
    if (id >= 0 && id < this.#dense.length) return this.#dense[id];
    return this.#sparse.get(id) ?? UNKNOWN;
  }

  /** Records the user; returns `false` when the id was already known. */
  set(id: number, signup: number): boolean {
    if (id >= 0 && id < DENSE_USER_CAP) {
      let dense = this.#dense;
      if (id >= dense.length) {
        let n = dense.length;
        while (n <= id) n *= 2;
        const next = new Int32Array(n);
        next.set(dense);
        next.fill(UNKNOWN, dense.length);
        this.#dense = dense = next;
      }
      if (dense[id] !== UNKNOWN) return false;
      dense[id] = signup;
      return true;
    }
    if (this.#sparse.has(id)) return false;
    this.#sparse.set(id, signup);
    return true;
  }
}

const encoder = new TextEncoder();
const EVENT_TYPE_BYTES = EVENT_TYPES.map((t) => encoder.encode(t));
const PAYMENT_CODES = new Uint8Array(EVENT_TYPES.length);
for (const t of PAYMENT_EVENT_TYPES) PAYMENT_CODES[EVENT_TYPES.indexOf(t)] = 1;
/** Event type codes by word length, to compare with at most two candidates. */
const TYPES_BY_LENGTH: number[][] = Array.from({ length: 32 }, () => []);
EVENT_TYPE_BYTES.forEach((b, i) => TYPES_BY_LENGTH[b.length].push(i));
const FREE = encoder.encode("free"), PAID = encoder.encode("paid");

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** Compares `bytes[s, s + word.length)` with a lower-case ASCII word, ignoring case. */
function equalsLower(bytes: Uint8Array, s: number, word: Uint8Array): boolean {
  for (let k = 0; k < word.length; k++) {
    let c = bytes[s + k];
    if (c >= 65 && c <= 90) c += 32;
    if (c !== word[k]) return false;
  }
  return true;
}

/** Returns the index in {@link EVENT_TYPES} of the word in `b[s, e)` (trimmed, any case), or -1. */
function eventTypeCode(b: Uint8Array, s: number, e: number): number {
  while (s < e && isSpace(b[s])) s++;
  while (e > s && isSpace(b[e - 1])) e--;
  const n = e - s;
  if (n >= TYPES_BY_LENGTH.length) return -1;
  const candidates = TYPES_BY_LENGTH[n];
  for (let k = 0; k < candidates.length; k++) {
    if (equalsLower(b, s, EVENT_TYPE_BYTES[candidates[k]])) return candidates[k];
  }
  return -1;
}

/** Returns 1 for `paid`, 0 for `free` (trimmed, any case), -1 otherwise. */
function planCode(r: CsvRecord, i: number): number {
  const b = r.bytes;
  let s = r.starts[i], e = r.ends[i];
  while (s < e && isSpace(b[s])) s++;
  while (e > s && isSpace(b[e - 1])) e--;
  if (e - s !== 4) return -1;
  if (equalsLower(b, s, PAID)) return 1;
  if (equalsLower(b, s, FREE)) return 0;
  return -1;
}

/**
 * Reads `b[start, end)` as a plain unsigned integer of at most 15 digits (the
 * common case, without trimming); returns -1 for anything else, which the
 * caller then reads with `parseNumberBytes`.
 */
function plainUint(b: Uint8Array, start: number, end: number): number {
  if (end - start === 0 || end - start > 15) return -1;
  let p = start;
  const e = end;
  let v = 0;
  for (; p < e; p++) {
    const d = b[p] - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

function twoDigits(b: Uint8Array, p: number): number {
  const hi = b[p] - 48, lo = b[p + 1] - 48;
  return hi >= 0 && hi <= 9 && lo >= 0 && lo <= 9 ? hi * 10 + lo : -1;
}

/**
 * Reads the common `YYYY-MM-DDTHH:MM:SS` form (a space for the `T`, an optional
 * `Z`) as epoch milliseconds, with the day numbers of dates seen before kept in
 * a small direct-mapped cache; returns `NaN` for any other form, which the
 * caller then reads with `parseDateTimeBytes`. Accepts exactly what
 * `parseDateTimeBytes` accepts for this form.
 */
class PlainDateTime {
  readonly #keys = new Int32Array(4096).fill(-1);
  readonly #days = new Int32Array(4096);

  read(b: Uint8Array, s: number, e: number): number {
    const n = e - s;
    if (n !== 19 && !(n === 20 && (b[s + 19] === 90 || b[s + 19] === 122))) return NaN;
    const sep = b[s + 10];
    if ((sep !== 84 && sep !== 32 && sep !== 116) || b[s + 13] !== 58 || b[s + 16] !== 58) return NaN;
    const y1 = twoDigits(b, s), y2 = twoDigits(b, s + 2), mo = twoDigits(b, s + 5), d = twoDigits(b, s + 8);
    if (y1 < 0 || y2 < 0 || mo < 0 || d < 0 || b[s + 4] !== 45 || b[s + 7] !== 45) return NaN;
    const key = ((y1 * 100 + y2) * 100 + mo) * 100 + d;
    const slot = key & 4095;
    let days: number;
    if (this.#keys[slot] === key) days = this.#days[slot];
    else {
      days = parseDateBytes(b, s, s + 10);
      if (days !== days) return NaN;
      this.#keys[slot] = key;
      this.#days[slot] = days;
    }
    const hh = twoDigits(b, s + 11), mi = twoDigits(b, s + 14), ss = twoDigits(b, s + 17);
    if (hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0 || ss > 60) return NaN;
    return days * MS_PER_DAY + hh * 3_600_000 + mi * 60_000 + ss * 1000;
  }
}

/**
 * Checks the raw files record by record. Feed every record of `users.csv` to
 * {@link DataValidator.users} and end it with {@link DataValidator.endFile} (or
 * {@link DataValidator.fileError}), then do the same for `events.csv` with
 * {@link DataValidator.events}, then call {@link DataValidator.finish}.
 *
 * The event checks that need the users (known user id, event before signup)
 * are skipped when `users.csv` could not be read or has no `user_id` column,
 * since that is already an error and would otherwise flag every event.
 */
export class DataValidator {
  readonly #now: number;
  readonly #maxContamination: number;
  readonly #u: FileState;
  readonly #e: FileState;
  readonly #users = new UserStore();
  readonly #eventIds = new IdSet();
  readonly #time = new PlainDateTime();
  #usersUsable = false;
  #nonPayment = 0;

  // users.csv column indices and tallies (set when its header is read).
  #uId = -1;
  #uSignup = -1;
  #uPlan = -1;
  #uPaid = -1;
  #uCountry = -1;
  #uSource = -1;
  #uScore = -1;
  #uIdNull!: Tally;
  #uIdInt!: Tally;
  #uIdDup!: Tally;
  #uSignupNull!: Tally;
  #uSignupBad!: Tally;
  #uPlanNull!: Tally;
  #uPlanBad!: Tally;
  #uPaidNull!: Tally;
  #uPaidBad!: Tally;
  #uAgree!: Tally;
  #uCountryNull!: Tally;
  #uSourceNull!: Tally;
  #uScoreNull!: Tally;
  #uScoreNum!: Tally;
  #uScoreRange!: Tally;

  // events.csv column indices and tallies.
  #eId = -1;
  #eUser = -1;
  #eTime = -1;
  #eType = -1;
  #eWatch = -1;
  #eQuiz = -1;
  #eAmount = -1;
  #eIdNull!: Tally;
  #eIdInt!: Tally;
  #eIdDup!: Tally;
  #eUserNull!: Tally;
  #eUserInt!: Tally;
  #eUserUnknown!: Tally;
  #eTimeNull!: Tally;
  #eTimeBad!: Tally;
  #eTypeNull!: Tally;
  #eTypeBad!: Tally;
  #eWatchNum!: Tally;
  #eWatchRange!: Tally;
  #eQuizNum!: Tally;
  #eQuizRange!: Tally;
  #ePayment!: Tally;
  #eContam!: Tally;
  #eFuture!: Tally;
  #eBeforeSignup!: Tally;

  /**
   * Creates a validator.
   *
   * @throws {RangeError} when `maxExamples` is not a non-negative integer, `maxAmountContamination`
   * is not in [0, 1] or `now` is not a finite number.
   */
  constructor(options: ValidatorOptions = {}) {
    const now = options.now ?? Date.now();
    const maxExamples = options.maxExamples ?? 5;
    const maxContamination = options.maxAmountContamination ?? 0.02;
    if (!Number.isFinite(now)) throw new RangeError(`Invalid now: ${now} (expected epoch milliseconds)`);
    if (!Number.isInteger(maxExamples) || maxExamples < 0) {
      throw new RangeError(`Invalid maxExamples: ${maxExamples} (expected a non-negative integer)`);
    }
    if (!(maxContamination >= 0 && maxContamination <= 1)) {
      throw new RangeError(`Invalid maxAmountContamination: ${maxContamination} (expected a share in [0, 1])`);
    }
    this.#now = now;
    this.#maxContamination = maxContamination;
    this.#u = new FileState("users", maxExamples);
    this.#e = new FileState("events", maxExamples);
  }

  /** Checks one record of `users.csv` (the header first). Bound: can be passed as a callback. */
  readonly users = (r: CsvRecord): void => {
    if (!this.#u.header) this.#usersHeader(r);
    else this.#userRow(r);
  };

  /** Checks one record of `events.csv` (the header first). Bound: can be passed as a callback. */
  readonly events = (r: CsvRecord): void => {
    if (!this.#e.header) this.#eventsHeader(r);
    else this.#eventRow(r);
  };

  /** Marks the end of a file read without error (an empty or header-only file is reported by `finish`). */
  endFile(file: DataFile, info: FileInfo): void {
    const s = this.#state(file);
    s.path = info.path ?? null;
    s.bytes = info.bytes;
    s.ended = true;
  }

  /**
   * Records a file that could not be read to the end: a `CsvParseError` (binary
   * data, an unterminated quote…) becomes a `not_csv` problem, an error named
   * `NotFound` a `file_missing` problem, anything else an `unreadable` problem.
   */
  fileError(file: DataFile, error: Error, info: FileInfo): void {
    const s = this.#state(file);
    s.path = info.path ?? null;
    s.bytes = info.bytes;
    s.ended = true;
    s.failed = true;
    const where = s.path ?? `${file}.csv`;
    if (error.name === "CsvParseError") {
      const line = (error as Error & { line: number }).line;
      s.tally("not_csv", "error", null, `${where} is not a valid CSV file: ${error.message}`)
        .flag({ row: s.header ? s.rows + 1 : 0, line, value: error.message });
    } else if (error.name === "NotFound") {
      s.tally("file_missing", "error", null, `${where} does not exist`).flag(null);
    } else {
      s.tally("unreadable", "error", null, `Cannot read ${where}: ${error.message}`).flag(null);
    }
  }

  /** Returns the report of everything checked so far. */
  finish(): ValidationReport {
    this.#closeFile(this.#u);
    this.#closeFile(this.#e);
    if (this.#e.header && this.#eContam.hit) {
      const n = this.#eContam.rows, total = this.#nonPayment;
      const share = n / total;
      const over = share > this.#maxContamination;
      this.#eContam.severity = over ? "error" : "warning";
      this.#eContam.message = `${n} of ${total} non-payment events (${(share * 100).toFixed(2)}%) carry an amount; ` +
        `${over ? "more than" : "within"} the allowed ${percent(this.#maxContamination)}`;
    }
    const problems: Problem[] = [];
    for (const s of [this.#u, this.#e]) {
      for (const t of s.tallies) if (t.hit) problems.push(t.toProblem());
    }
    const errors = problems.filter((p) => p.severity === "error");
    const warnings = problems.filter((p) => p.severity === "warning");
    return {
      ok: errors.length === 0,
      checked_at: new Date(this.#now).toISOString(),
      files: { users: this.#summary(this.#u), events: this.#summary(this.#e) },
      errors: errors.length,
      warnings: warnings.length,
      problems: [...errors, ...warnings],
    };
  }

  #state(file: DataFile): FileState {
    if (file === "users") return this.#u;
    if (file === "events") return this.#e;
    throw new TypeError(`Unknown data file: "${file}" (expected users or events)`);
  }

  #summary(s: FileState): FileSummary {
    return { path: s.path, rows: s.rows, bytes: s.bytes };
  }

  #closeFile(s: FileState): void {
    if (s.failed || s.tallies.some((t) => t.rule === "empty_file" || t.rule === "header_only")) return;
    const where = s.path ?? `${s.file}.csv`;
    if (!s.header) {
      const message = s.ended && s.bytes === 0
        ? `${where} is empty (0 bytes)`
        : `${where} has no header row and no records`;
      s.tally("empty_file", "error", null, message).flag(null);
    } else if (s.rows === 0) {
      s.tally("header_only", "error", null, `${where} has a header but no data rows`).flag(null);
    }
  }

  #usersHeader(r: CsvRecord): void {
    const s = this.#u;
    s.readHeader(r, USERS_REQUIRED_COLUMNS, ["engagement_score"]);
    this.#uId = s.column("user_id");
    this.#uSignup = s.column("signup_date");
    this.#uPlan = s.column("plan");
    this.#uPaid = s.column("is_paid");
    this.#uCountry = s.column("country");
    this.#uSource = s.column("marketing_source");
    this.#uScore = s.column("engagement_score");
    this.#uIdNull = s.tally("not_null", "error", "user_id", "user_id is missing");
    this.#uIdInt = s.tally("integer", "error", "user_id", "user_id is not an integer");
    this.#uIdDup = s.tally("unique", "error", "user_id", "user_id is not unique (a later row repeats an earlier id)");
    this.#uSignupNull = s.tally("not_null", "error", "signup_date", "signup_date is missing");
    this.#uSignupBad = s.tally("date_format", "error", "signup_date", "signup_date is not a valid YYYY-MM-DD date");
    this.#uPlanNull = s.tally("not_null", "error", "plan", "plan is missing");
    this.#uPlanBad = s.tally("allowed_values", "error", "plan", "plan is not free or paid (case and spaces ignored)");
    this.#uPaidNull = s.tally("not_null", "error", "is_paid", "is_paid is missing");
    this.#uPaidBad = s.tally("allowed_values", "error", "is_paid", "is_paid is not 0 or 1");
    this.#uAgree = s.tally("plan_agreement", "error", "is_paid", "is_paid disagrees with plan (paid ⇔ 1, free ⇔ 0)");
    this.#uCountryNull = s.tally("not_null", "warning", "country", "country is missing");
    this.#uSourceNull = s.tally("not_null", "warning", "marketing_source", "marketing_source is missing");
    this.#uScoreNull = s.tally("not_null", "error", "engagement_score", "engagement_score is missing");
    this.#uScoreNum = s.tally("numeric", "error", "engagement_score", "engagement_score is not a number");
    this.#uScoreRange = s.tally("range", "error", "engagement_score", "engagement_score is outside [0, 1]");
  }

  #userRow(r: CsvRecord): void {
    const s = this.#u;
    s.rows++;
    const idCol = this.#uId;
    if (r.count !== s.width) {
      s.ragged.addValue(r, s.ragged.room ? raggedText(r, s.width) : null);
      // Still register a well-formed id, so that its events are not all reported as unknown.
      if (idCol >= 0 && idCol < r.count) {
        const id = r.number(idCol);
        if (Number.isInteger(id)) this.#users.set(id, NO_DATE);
      }
      return;
    }
    let signup = NO_DATE;
    let c = this.#uSignup;
    if (c >= 0) {
      const d = r.date(c);
      if (d === d) signup = d;
      else if (r.isMissing(c)) this.#uSignupNull.add(r, c);
      else this.#uSignupBad.add(r, c);
    }
    if (idCol >= 0) {
      const id = r.number(idCol);
      if (id !== id) (r.isMissing(idCol) ? this.#uIdNull : this.#uIdInt).add(r, idCol);
      else if (!Number.isInteger(id)) this.#uIdInt.add(r, idCol);
      else if (!this.#users.set(id, signup)) this.#uIdDup.add(r, idCol);
    }
    let plan = -1;
    c = this.#uPlan;
    if (c >= 0) {
      plan = planCode(r, c);
      if (plan < 0) (r.isMissing(c) ? this.#uPlanNull : this.#uPlanBad).add(r, c);
    }
    c = this.#uPaid;
    if (c >= 0) {
      const v = r.number(c);
      if (v === 0 || v === 1) {
        if (plan >= 0 && plan !== v) {
          const t = this.#uAgree;
          t.addValue(r, t.room ? `plan=${r.text(this.#uPlan)} is_paid=${r.text(c)}` : null);
        }
      } else (v !== v && r.isMissing(c) ? this.#uPaidNull : this.#uPaidBad).add(r, c);
    }
    c = this.#uCountry;
    if (c >= 0 && r.isMissing(c)) this.#uCountryNull.add(r, c);
    c = this.#uSource;
    if (c >= 0 && r.isMissing(c)) this.#uSourceNull.add(r, c);
    c = this.#uScore;
    if (c >= 0) {
      const v = r.number(c);
      if (!(v >= 0 && v <= 1)) {
        if (v === v) this.#uScoreRange.add(r, c);
        else (r.isMissing(c) ? this.#uScoreNull : this.#uScoreNum).add(r, c);
      }
    }
  }

  #eventsHeader(r: CsvRecord): void {
    const s = this.#e;
    s.readHeader(r, EVENTS_REQUIRED_COLUMNS, []);
    this.#usersUsable = this.#u.header && !this.#u.failed && this.#uId >= 0 && this.#u.rows > 0;
    this.#eId = s.column("event_id");
    this.#eUser = s.column("user_id");
    this.#eTime = s.column("event_time");
    this.#eType = s.column("event_type");
    this.#eWatch = s.column("watch_minutes");
    this.#eQuiz = s.column("quiz_score");
    this.#eAmount = s.column("amount");
    const max = percent(this.#maxContamination);
    this.#eIdNull = s.tally("not_null", "error", "event_id", "event_id is missing");
    this.#eIdInt = s.tally("integer", "error", "event_id", "event_id is not an integer");
    this.#eIdDup = s.tally("unique", "error", "event_id", "event_id is not unique (a later row repeats an earlier id)");
    this.#eUserNull = s.tally("not_null", "error", "user_id", "user_id is missing");
    this.#eUserInt = s.tally("integer", "error", "user_id", "user_id is not an integer");
    this.#eUserUnknown = s.tally("unknown_user", "error", "user_id", "user_id is not in users.csv");
    this.#eTimeNull = s.tally("not_null", "error", "event_time", "event_time is missing");
    this.#eTimeBad = s.tally("datetime_format", "error", "event_time", "event_time is not an ISO-8601 date-time");
    this.#eTypeNull = s.tally("not_null", "error", "event_type", "event_type is missing");
    this.#eTypeBad = s.tally(
      "allowed_values",
      "error",
      "event_type",
      `event_type is not one of ${EVENT_TYPES.join(", ")} (case and spaces ignored)`,
    );
    this.#eWatchNum = s.tally("numeric", "error", "watch_minutes", "watch_minutes is not a number");
    this.#eWatchRange = s.tally("range", "error", "watch_minutes", "watch_minutes is negative or infinite");
    this.#eQuizNum = s.tally("numeric", "error", "quiz_score", "quiz_score is not a number");
    this.#eQuizRange = s.tally("range", "error", "quiz_score", "quiz_score is outside [0, 100]");
    this.#ePayment = s.tally(
      "payment_amount",
      "error",
      "amount",
      "amount is missing or not positive on a payment event",
    );
    this.#eContam = s.tally("amount_contamination", "warning", "amount", `Non-payment events carry an amount (${max})`);
    this.#eFuture = s.tally(
      "future_event",
      "warning",
      "event_time",
      `Events dated in the future (after ${new Date(this.#now).toISOString()})`,
    );
    this.#eBeforeSignup = s.tally(
      "before_signup",
      "warning",
      "event_time",
      "Events dated before the user's signup_date",
    );
  }

  #eventRow(r: CsvRecord): void {
    const s = this.#e;
    s.rows++;
    if (r.count !== s.width) {
      s.ragged.addValue(r, s.ragged.room ? raggedText(r, s.width) : null);
      return;
    }
    // Field offsets read once; empty fields are recognised without a call.
    const b = r.bytes, st = r.starts, en = r.ends;
    let c = this.#eId;
    if (c >= 0) {
      let id = plainUint(b, st[c], en[c]);
      if (id < 0) id = parseNumberBytes(b, st[c], en[c]);
      if (id !== id) (r.isMissing(c) ? this.#eIdNull : this.#eIdInt).add(r, c);
      else if (!Number.isInteger(id)) this.#eIdInt.add(r, c);
      else if (!this.#eventIds.add(id)) this.#eIdDup.add(r, c);
    }
    let signup = NO_DATE;
    c = this.#eUser;
    if (c >= 0) {
      let user = plainUint(b, st[c], en[c]);
      if (user < 0) user = parseNumberBytes(b, st[c], en[c]);
      if (user !== user) (r.isMissing(c) ? this.#eUserNull : this.#eUserInt).add(r, c);
      else if (!Number.isInteger(user)) this.#eUserInt.add(r, c);
      else if (this.#usersUsable) {
        signup = this.#users.get(user);
        if (signup === UNKNOWN) this.#eUserUnknown.add(r, c);
      }
    }
    c = this.#eTime;
    if (c >= 0) {
      let t = this.#time.read(b, st[c], en[c]);
      if (t !== t) t = parseDateTimeBytes(b, st[c], en[c]);
      if (t !== t) (r.isMissing(c) ? this.#eTimeNull : this.#eTimeBad).add(r, c);
      else {
        if (t > this.#now) this.#eFuture.add(r, c);
        if (signup > NO_DATE && t < signup * MS_PER_DAY) {
          const x = this.#eBeforeSignup;
          x.addValue(r, x.room ? `${r.text(c)} (signup_date ${formatDate(signup)})` : null);
        }
      }
    }
    c = this.#eWatch;
    if (c >= 0 && st[c] !== en[c]) {
      const v = parseNumberBytes(b, st[c], en[c]);
      if (!(v >= 0 && v < Infinity)) {
        if (v === v) this.#eWatchRange.add(r, c);
        else if (!r.isMissing(c)) this.#eWatchNum.add(r, c);
      }
    }
    c = this.#eQuiz;
    if (c >= 0 && st[c] !== en[c]) {
      const v = parseNumberBytes(b, st[c], en[c]);
      if (!(v >= 0 && v <= 100)) {
        if (v === v) this.#eQuizRange.add(r, c);
        else if (!r.isMissing(c)) this.#eQuizNum.add(r, c);
      }
    }
    c = this.#eType;
    if (c >= 0) {
      const type = eventTypeCode(b, st[c], en[c]);
      if (type < 0) (r.isMissing(c) ? this.#eTypeNull : this.#eTypeBad).add(r, c);
      else {
        const a = this.#eAmount;
        if (a >= 0) {
          if (PAYMENT_CODES[type] === 1) {
            const v = parseNumberBytes(b, st[a], en[a]);
            if (!(v > 0 && v < Infinity)) this.#ePayment.add(r, a);
          } else {
            this.#nonPayment++;
            if (st[a] !== en[a] && !r.isMissing(a)) this.#eContam.add(r, a);
          }
        }
      }
    }
  }
}

function percent(share: number): string {
  return `${Number((share * 100).toFixed(4))}%`;
}

function formatBytes(bytes: number): string {
  return bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString("en-US")} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * Formats a report for people: a summary line, one line per file, then one
 * line per problem saying what is wrong, in which column, in how many rows,
 * with a few example rows and values.
 */
export function formatReport(report: ValidationReport): string[] {
  const lines = [
    report.ok
      ? `Data validation passed${report.warnings > 0 ? ` with ${plural(report.warnings, "warning")}` : ""}.`
      : `Data validation failed: ${plural(report.errors, "error")}, ${plural(report.warnings, "warning")}.`,
  ];
  for (const file of ["users", "events"] as const) {
    const f = report.files[file];
    lines.push(
      `  ${f.path ?? `${file}.csv`}: ${plural(f.rows, "row")}, ${formatBytes(f.bytes)}`,
    );
  }
  for (const p of report.problems) {
    const where = `${p.file}.csv${p.column === null ? "" : ` [${p.column}]`}`;
    const count = p.rows > 0 ? ` in ${plural(p.rows, "row")}` : "";
    const examples = p.examples.length === 0 ? "" : "; e.g. " +
      p.examples.map((x) => `${x.row === 0 ? "header" : `row ${x.row}`} (line ${x.line}): ${JSON.stringify(x.value)}`)
        .join(", ");
    lines.push(`${p.severity.toUpperCase()} ${p.rule} ${where}: ${p.message}${count}${examples}`);
  }
  return lines;
}
