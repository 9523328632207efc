/**
 * Prepare (SPEC §4): clean users and events, and build the per-user daily grid
 * `user_daily`. Pure: the cleaners are fed CSV records by the caller and hand
 * out tables; nothing here touches files.
 *
 * @module
 */

import { EVENT_TYPES, EVENTS_COLUMNS, USERS_REQUIRED_COLUMNS } from "./contract.ts";
import type { CsvRecord } from "./csv.ts";
import { MS_PER_DAY } from "./dates.ts";
import { type Column, DictEncoder, getColumn, makeTable, type Table } from "./table.ts";

export { EVENT_TYPES, type EventType } from "./contract.ts";

const T_LOGIN = 0, T_ENROLL = 1, T_VIDEO = 2, T_QUIZ = 3, T_PAY_OK = 4, T_PAY_FAIL = 5, T_TICKET = 6;

/**
 * Maps header names to field indices.
 *
 * @throws {TypeError} naming the file and the missing columns.
 */
export function headerIndex<const K extends string>(
  record: CsvRecord,
  required: readonly K[],
  options: { file: string; optional?: readonly string[] },
): Record<K, number> & Record<string, number> {
  const index: Record<string, number> = {};
  for (let i = 0; i < record.count; i++) {
    const name = record.text(i).trim();
    if (!(name in index)) index[name] = i;
  }
  const missing = required.filter((c) => !(c in index));
  if (missing.length > 0) {
    throw new TypeError(`${options.file} is missing required column(s): ${missing.join(", ")}`);
  }
  for (const c of options.optional ?? []) if (!(c in index)) index[c] = -1;
  return index as Record<K, number> & Record<string, number>;
}

/** Counts of what cleaning users dropped. */
export interface UsersCleanStats {
  /** Data rows read. */
  rows: number;
  /** Rows dropped for a missing or unparsable user_id, signup_date or plan. */
  droppedMissing: number;
  /** Rows dropped as repeats of an earlier user_id. */
  droppedDuplicate: number;
}

/** Clean users: the table plus a fast user_id → row lookup. */
export interface CleanUsers {
  /** users_clean, in input order. */
  table: Table;
  /** Cleaning counts. */
  stats: UsersCleanStats;
  /** Returns the row of a user id in `table`, or -1. */
  rowOf: (userId: number) => number;
}

/**
 * Cleans users.csv records: plan lower-cased and trimmed, types coerced, rows
 * missing user_id, signup_date or plan dropped, duplicates of user_id dropped
 * (first kept). `is_paid` that is missing or not 0/1 is derived from the plan.
 */
export class UsersCleaner {
  #idx: Record<string, number> | null = null;
  readonly #ids: number[] = [];
  readonly #signup: number[] = [];
  readonly #plan: number[] = [];
  readonly #paid: number[] = [];
  readonly #country: number[] = [];
  readonly #source: number[] = [];
  readonly #engagement: number[] = [];
  readonly #plans = new DictEncoder();
  readonly #countries = new DictEncoder();
  readonly #sources = new DictEncoder();
  readonly #seen = new Set<number>();
  #hasEngagement = false;
  /** Cleaning counts so far. */
  readonly stats: UsersCleanStats = { rows: 0, droppedMissing: 0, droppedDuplicate: 0 };

  /** Feeds one record (the header first). */
  push(record: CsvRecord): void {
    if (this.#idx === null) {
      this.#idx = headerIndex(record, USERS_REQUIRED_COLUMNS, { file: "users.csv", optional: ["engagement_score"] });
      this.#hasEngagement = this.#idx.engagement_score >= 0;
      return;
    }
    const x = this.#idx;
    this.stats.rows++;
    const id = record.number(x.user_id);
    const signup = record.date(x.signup_date);
    const plan = record.text(x.plan).trim().toLowerCase();
    if (!Number.isInteger(id) || id < -2147483648 || id > 2147483647 || Number.isNaN(signup) || plan === "") {
      this.stats.droppedMissing++;
      return;
    }
    if (this.#seen.has(id)) {
      this.stats.droppedDuplicate++;
      return;
    }
    this.#seen.add(id);
    this.#ids.push(id);
    this.#signup.push(signup);
    this.#plan.push(this.#plans.encode(plan));
    const paid = record.number(x.is_paid);
    this.#paid.push(paid === 0 || paid === 1 ? paid : plan === "paid" ? 1 : 0);
    const country = record.text(x.country).trim();
    this.#country.push(country === "" ? -1 : this.#countries.encode(country));
    const source = record.text(x.marketing_source).trim();
    this.#source.push(source === "" ? -1 : this.#sources.encode(source));
    if (this.#hasEngagement) this.#engagement.push(record.number(x.engagement_score));
  }

  /**
   * Returns the clean users.
   *
   * @throws {TypeError} when no header was seen.
   */
  finish(): CleanUsers {
    if (this.#idx === null) throw new TypeError("users.csv has no header row");
    const columns: [string, Column][] = [
      ["user_id", { type: "i32", data: Int32Array.from(this.#ids) }],
      ["signup_date", { type: "date", data: Int32Array.from(this.#signup) }],
      ["plan", { type: "dict", codes: Int32Array.from(this.#plan), dictionary: this.#plans.dictionary }],
      ["is_paid", { type: "i32", data: Int32Array.from(this.#paid) }],
      ["country", { type: "dict", codes: Int32Array.from(this.#country), dictionary: this.#countries.dictionary }],
      [
        "marketing_source",
        { type: "dict", codes: Int32Array.from(this.#source), dictionary: this.#sources.dictionary },
      ],
    ];
    if (this.#hasEngagement) {
      columns.push(["engagement_score", { type: "f64", data: Float64Array.from(this.#engagement) }]);
    }
    return { table: makeTable(columns), stats: this.stats, rowOf: makeIdLookup(this.#ids) };
  }
}

/** Returns a fast id → position lookup: a dense array when ids are compact, else a Map. */
function makeIdLookup(ids: readonly number[]): (id: number) => number {
  let min = Infinity, max = -Infinity;
  for (const id of ids) {
    if (id < min) min = id;
    if (id > max) max = id;
  }
  if (ids.length > 0 && max - min < Math.max(1 << 20, ids.length * 8)) {
    const dense = new Int32Array(max - min + 1).fill(-1);
    ids.forEach((id, i) => dense[id - min] = i);
    return (id) => (id >= min && id <= max && Number.isInteger(id)) ? dense[id - min] : -1;
  }
  const map = new Map<number, number>();
  ids.forEach((id, i) => map.set(id, i));
  return (id) => map.get(id) ?? -1;
}

/** A set of non-negative integers as a growable bitset, with a Set for the rest. */
class IdSet {
  #bits = new Uint32Array(1 << 15);
  readonly #other = new Set<number>();

  /** Adds `id`; returns false when it was already present. */
  add(id: number): boolean {
    if (id >= 0 && id < 2 ** 32 && Number.isInteger(id)) {
      const word = id >>> 5;
      if (word >= this.#bits.length) {
        const next = new Uint32Array(Math.max(word + 1, this.#bits.length * 2));
        next.set(this.#bits);
        this.#bits = next;
      }
      const bit = 1 << (id & 31);
      if (this.#bits[word] & bit) return false;
      this.#bits[word] |= bit;
      return true;
    }
    if (this.#other.has(id)) return false;
    this.#other.add(id);
    return true;
  }
}

const COMPACT_CHUNK = 1 << 20;
/** Rows a batch can take past `batchRows` before it must grow (a 1 MiB CSV chunk holds fewer). */
const BATCH_SLACK = 1 << 16;

/** The compact per-event columns kept for the grid, in fixed-size chunks (growth never copies). */
class CompactStore {
  readonly users: Int32Array[] = [];
  readonly days: Int32Array[] = [];
  readonly types: Uint8Array[] = [];
  readonly values: Float64Array[] = [];
  #user = new Int32Array(0);
  #day = new Int32Array(0);
  #type = new Uint8Array(0);
  #value = new Float64Array(0);
  #pos = COMPACT_CHUNK;
  length = 0;

  push(user: number, day: number, type: number, value: number): void {
    if (this.#pos === COMPACT_CHUNK) {
      this.users.push(this.#user = new Int32Array(COMPACT_CHUNK));
      this.days.push(this.#day = new Int32Array(COMPACT_CHUNK));
      this.types.push(this.#type = new Uint8Array(COMPACT_CHUNK));
      this.values.push(this.#value = new Float64Array(COMPACT_CHUNK));
      this.#pos = 0;
    }
    const p = this.#pos++;
    this.#user[p] = user;
    this.#day[p] = day;
    this.#type[p] = type;
    this.#value[p] = value;
    this.length++;
  }

  /** Rows filled in chunk `k`. */
  count(k: number): number {
    return k < this.users.length - 1 ? COMPACT_CHUNK : this.#pos;
  }
}

/** Counts of what cleaning events dropped. */
export interface EventsCleanStats {
  /** Data rows read. */
  rows: number;
  /** Rows kept in events_clean. */
  kept: number;
  /** Rows dropped for a missing or unparsable event_id, user_id, event_time or event_type. */
  droppedMissing: number;
  /** Rows dropped as repeats of an earlier event_id. */
  droppedDuplicate: number;
  /** Rows dropped because user_id is not in users_clean. */
  droppedUnknownUser: number;
  /** Kept rows whose event_type is outside the contract (counted in total_events only). */
  unknownType: number;
}

/** Options of {@link EventsCleaner}. */
export interface EventsCleanerOptions {
  /** Rows per batch handed to `onBatch` (default 1,048,576). */
  batchRows?: number;
  /** Receives each batch of events_clean rows; the batch's arrays are reused afterwards. */
  onBatch?: (batch: Table) => void | Promise<void>;
}

/** The compact per-event data the daily grid is built from. */
export interface CompactEvents {
  /** Number of kept events. */
  length: number;
  /** Calls `fn` for each chunk of (user row, day, type code, value). */
  forEachChunk: (
    fn: (userRow: Int32Array, day: Int32Array, type: Uint8Array, value: Float64Array, count: number) => void,
  ) => void;
}

const TYPE_BYTES = EVENT_TYPES.map((t) => new TextEncoder().encode(t));

function matchType(bytes: Uint8Array, start: number, end: number): number {
  while (start < end && bytes[start] === 32) start++;
  while (end > start && bytes[end - 1] === 32) end--;
  const n = end - start;
  outer: for (let t = 0; t < TYPE_BYTES.length; t++) {
    const tb = TYPE_BYTES[t];
    if (tb.length !== n) continue;
    for (let i = 0; i < n; i++) {
      let c = bytes[start + i];
      if (c >= 65 && c <= 90) c |= 0x20;
      if (c !== tb[i]) continue outer;
    }
    return t;
  }
  return -1;
}

/**
 * Cleans events.csv records: types coerced (watch_minutes missing → 0),
 * event_type lower-cased and trimmed, rows missing an id, the time or the type
 * dropped, duplicates of event_id dropped (first kept), unknown users dropped.
 * Emits events_clean in batches through `onBatch` (so the whole table never
 * sits in memory) and keeps the compact per-event data for the daily grid.
 */
export class EventsCleaner {
  #idx: Record<string, number> | null = null;
  readonly #users: CleanUsers;
  readonly #batchRows: number;
  readonly #onBatch?: (batch: Table) => void | Promise<void>;
  readonly #types = new DictEncoder(EVENT_TYPES);
  readonly #courses = new DictEncoder();
  readonly #courseCache = new Map<number, number>();
  readonly #ids = new IdSet();
  // Current batch.
  #n = 0;
  #cap: number;
  #bEventId: Float64Array;
  #bUser: Int32Array;
  #bTime: Float64Array;
  #bDate: Int32Array;
  #bType: Int32Array;
  #bCourse: Int32Array;
  #bWatch: Float64Array;
  #bQuiz: Float64Array;
  #bAmount: Float64Array;
  // Compact data for the grid.
  readonly #compact = new CompactStore();
  /** Cleaning counts so far. */
  readonly stats: EventsCleanStats = {
    rows: 0,
    kept: 0,
    droppedMissing: 0,
    droppedDuplicate: 0,
    droppedUnknownUser: 0,
    unknownType: 0,
  };

  /** Creates a cleaner that keeps events of `users` only. */
  constructor(users: CleanUsers, options: EventsCleanerOptions = {}) {
    this.#users = users;
    const b = this.#cap = (this.#batchRows = options.batchRows ?? (1 << 20)) + BATCH_SLACK;
    this.#onBatch = options.onBatch;
    this.#bEventId = new Float64Array(b);
    this.#bUser = new Int32Array(b);
    this.#bTime = new Float64Array(b);
    this.#bDate = new Int32Array(b);
    this.#bType = new Int32Array(b);
    this.#bCourse = new Int32Array(b);
    this.#bWatch = new Float64Array(b);
    this.#bQuiz = new Float64Array(b);
    this.#bAmount = new Float64Array(b);
  }

  #grow(): void {
    const cap = this.#cap = Math.ceil(this.#cap * 1.5) + 16;
    const f64 = (a: Float64Array) => {
      const x = new Float64Array(cap);
      x.set(a);
      return x;
    };
    const i32 = (a: Int32Array) => {
      const x = new Int32Array(cap);
      x.set(a);
      return x;
    };
    this.#bEventId = f64(this.#bEventId);
    this.#bUser = i32(this.#bUser);
    this.#bTime = f64(this.#bTime);
    this.#bDate = i32(this.#bDate);
    this.#bType = i32(this.#bType);
    this.#bCourse = i32(this.#bCourse);
    this.#bWatch = f64(this.#bWatch);
    this.#bQuiz = f64(this.#bQuiz);
    this.#bAmount = f64(this.#bAmount);
  }

  /** Whether the current batch has reached `batchRows` and should be flushed with `flush()`. */
  get batchFull(): boolean {
    return this.#n >= this.#batchRows;
  }

  #course(record: CsvRecord, i: number): number {
    if (i < 0 || record.isMissing(i)) return -1;
    const b = record.bytes;
    let s = record.starts[i], e = record.ends[i];
    while (s < e && b[s] === 32) s++;
    while (e > s && b[e - 1] === 32) e--;
    if (s === e) return -1;
    // Hash the bytes; confirm on a hit by comparing with the dictionary string.
    let h = 0x811c9dc5;
    for (let k = s; k < e; k++) h = Math.imul(h ^ b[k], 0x01000193);
    h = (h ^ (e - s)) >>> 0;
    const hit = this.#courseCache.get(h);
    const text = hit === undefined || record.escaped[i] ? null : this.#courses.dictionary[hit];
    if (text !== null && text.length === e - s) {
      let same = true;
      for (let k = 0; k < text.length; k++) {
        if (text.charCodeAt(k) !== b[s + k]) {
          same = false;
          break;
        }
      }
      if (same) return hit!;
    }
    const code = this.#courses.encode(record.text(i).trim());
    if (hit === undefined) this.#courseCache.set(h, code);
    return code;
  }

  /**
   * Feeds one record (the header first). When {@link EventsCleaner.batchFull}
   * turns true, call `flush()` soon (the batch grows until then).
   *
   * @throws {TypeError} when the header lacks a required column.
   */
  push(record: CsvRecord): void {
    if (this.#idx === null) {
      this.#idx = headerIndex(record, EVENTS_COLUMNS.slice(0, 4), {
        file: "events.csv",
        optional: ["course_id", "watch_minutes", "quiz_score", "amount"],
      });
      return;
    }
    const x = this.#idx;
    const st = this.stats;
    st.rows++;
    const eventId = record.number(x.event_id);
    const userId = record.number(x.user_id);
    const time = record.dateTime(x.event_time);
    if (!Number.isInteger(eventId) || !Number.isInteger(userId) || Number.isNaN(time)) {
      st.droppedMissing++;
      return;
    }
    const ti = x.event_type;
    let type = ti < record.count ? matchType(record.bytes, record.starts[ti], record.ends[ti]) : -1;
    if (type < 0) {
      const text = record.text(ti).trim().toLowerCase();
      if (text === "") {
        st.droppedMissing++;
        return;
      }
      type = this.#types.encode(text);
    }
    const userRow = this.#users.rowOf(userId);
    if (userRow < 0) {
      st.droppedUnknownUser++;
      return;
    }
    if (!this.#ids.add(eventId)) {
      st.droppedDuplicate++;
      return;
    }
    if (type >= EVENT_TYPES.length) st.unknownType++;
    const day = Math.floor(time / MS_PER_DAY);
    let watch = x.watch_minutes >= 0 ? record.number(x.watch_minutes) : 0;
    if (Number.isNaN(watch)) watch = 0;
    const quiz = x.quiz_score >= 0 ? record.number(x.quiz_score) : NaN;
    const amount = x.amount >= 0 ? record.number(x.amount) : NaN;
    if (this.#n === this.#cap) this.#grow();
    const n = this.#n++;
    this.#bEventId[n] = eventId;
    this.#bUser[n] = userId;
    this.#bTime[n] = time;
    this.#bDate[n] = day;
    this.#bType[n] = type;
    this.#bCourse[n] = this.#course(record, x.course_id);
    this.#bWatch[n] = watch;
    this.#bQuiz[n] = quiz;
    this.#bAmount[n] = amount;
    this.#compact.push(userRow, day, type > 255 ? 255 : type, type === T_VIDEO ? watch : type === T_QUIZ ? quiz : NaN);
    st.kept++;
  }

  /** Hands the current batch to `onBatch` and starts a new one. */
  async flush(): Promise<void> {
    if (this.#n === 0 || this.#onBatch === undefined) {
      this.#n = 0;
      return;
    }
    await this.#onBatch(this.#batchTable());
    this.#n = 0;
  }

  #batchTable(): Table {
    const n = this.#n;
    return makeTable([
      ["event_id", { type: "f64", data: this.#bEventId.subarray(0, n) }],
      ["user_id", { type: "i32", data: this.#bUser.subarray(0, n) }],
      ["event_time", { type: "timestamp", data: this.#bTime.subarray(0, n) }],
      ["event_date", { type: "date", data: this.#bDate.subarray(0, n) }],
      ["event_type", { type: "dict", codes: this.#bType.subarray(0, n), dictionary: this.#types.dictionary }],
      ["course_id", { type: "dict", codes: this.#bCourse.subarray(0, n), dictionary: this.#courses.dictionary }],
      ["watch_minutes", { type: "f64", data: this.#bWatch.subarray(0, n) }],
      ["quiz_score", { type: "f64", data: this.#bQuiz.subarray(0, n) }],
      ["amount", { type: "f64", data: this.#bAmount.subarray(0, n) }],
    ]);
  }

  /**
   * Flushes the last batch and returns the compact events for {@link buildUserDaily}.
   *
   * @throws {TypeError} when no header was seen.
   */
  async finish(): Promise<CompactEvents> {
    if (this.#idx === null) throw new TypeError("events.csv has no header row");
    await this.flush();
    const c = this.#compact;
    return {
      length: c.length,
      forEachChunk: (fn) => {
        for (let k = 0; k < c.users.length; k++) fn(c.users[k], c.days[k], c.types[k], c.values[k], c.count(k));
      },
    };
  }
}

/** Counts describing the grid. */
export interface UserDailyStats {
  /** First and last event date in the data (days since epoch), or null with no events. */
  firstDate: number | null;
  /** Last event date. */
  lastDate: number | null;
  /** Rows of user_daily. */
  rows: number;
  /** Events dated before their user's signup date (outside the grid). */
  eventsBeforeSignup: number;
}

/** The daily grid and its counts. */
export interface UserDaily {
  /** user_daily, sorted by (user_id, as_of_date). */
  table: Table;
  /** Counts. */
  stats: UserDailyStats;
}

/**
 * Builds user_daily: one row per user and date from max(signup_date, first
 * event date in the data) to the last event date in the data, with the daily
 * aggregates of SPEC §4 and the user attributes. Rows are sorted by
 * (user_id, as_of_date); a user who signed up after the last event date has none.
 */
export function buildUserDaily(users: CleanUsers, events: CompactEvents): UserDaily {
  const ut = users.table;
  const uid = getColumn(ut, "user_id", "i32").data;
  const signup = getColumn(ut, "signup_date", "date").data;
  let first = Infinity, last = -Infinity;
  events.forEachChunk((_u, day, _t, _v, n) => {
    for (let i = 0; i < n; i++) {
      const d = day[i];
      if (d < first) first = d;
      if (d > last) last = d;
    }
  });
  const nu = ut.length;
  // Users in user_id order.
  const order = Int32Array.from({ length: nu }, (_, i) => i).sort((a, b) => uid[a] - uid[b]);
  const start = new Int32Array(nu), offset = new Float64Array(nu);
  let rows = 0;
  for (const u of order) {
    offset[u] = rows;
    if (events.length === 0) continue;
    const s = Math.max(signup[u], first);
    start[u] = s;
    if (s <= last) rows += last - s + 1;
  }
  if (rows > 2 ** 31 - 1) throw new RangeError(`The user-day grid would have ${rows} rows, more than supported`);
  const logins = new Int32Array(rows), enroll = new Int32Array(rows), quizN = new Int32Array(rows);
  const payOk = new Int32Array(rows), payFail = new Int32Array(rows), tickets = new Int32Array(rows);
  const total = new Int32Array(rows), watch = new Float64Array(rows), quizSum = new Float64Array(rows);
  const quizCount = new Int32Array(rows);
  let beforeSignup = 0;
  events.forEachChunk((user, day, type, value, n) => {
    for (let i = 0; i < n; i++) {
      const u = user[i];
      const d = day[i] - start[u];
      if (d < 0) {
        beforeSignup++;
        continue;
      }
      const r = offset[u] + d;
      total[r]++;
      switch (type[i]) {
        case T_LOGIN:
          logins[r]++;
          break;
        case T_ENROLL:
          enroll[r]++;
          break;
        case T_VIDEO:
          watch[r] += value[i];
          break;
        case T_QUIZ: {
          quizN[r]++;
          const q = value[i];
          if (q === q) {
            quizSum[r] += q;
            quizCount[r]++;
          }
          break;
        }
        case T_PAY_OK:
          payOk[r]++;
          break;
        case T_PAY_FAIL:
          payFail[r]++;
          break;
        case T_TICKET:
          tickets[r]++;
          break;
      }
    }
  });
  const quizAvg = new Float64Array(rows);
  for (let r = 0; r < rows; r++) quizAvg[r] = quizCount[r] > 0 ? quizSum[r] / quizCount[r] : NaN;
  const outUser = new Int32Array(rows), outDate = new Int32Array(rows), outSignup = new Int32Array(rows);
  const outDss = new Int32Array(rows), outActive = new Int32Array(rows);
  const plan = getColumn(ut, "plan", "dict");
  const paid = getColumn(ut, "is_paid", "i32").data;
  const country = getColumn(ut, "country", "dict");
  const source = getColumn(ut, "marketing_source", "dict");
  const outPlan = new Int32Array(rows), outPaid = new Int32Array(rows), outCountry = new Int32Array(rows);
  const outSource = new Int32Array(rows);
  for (const u of order) {
    if (events.length === 0 || start[u] > last) continue;
    const r0 = offset[u], s = start[u], n = last - s + 1;
    outUser.fill(uid[u], r0, r0 + n);
    outSignup.fill(signup[u], r0, r0 + n);
    outPlan.fill(plan.codes[u], r0, r0 + n);
    outPaid.fill(paid[u], r0, r0 + n);
    outCountry.fill(country.codes[u], r0, r0 + n);
    outSource.fill(source.codes[u], r0, r0 + n);
    const base = s - signup[u];
    for (let k = 0; k < n; k++) {
      outDate[r0 + k] = s + k;
      outDss[r0 + k] = base + k;
      outActive[r0 + k] = total[r0 + k] > 0 ? 1 : 0;
    }
  }
  const table = makeTable([
    ["user_id", { type: "i32", data: outUser }],
    ["as_of_date", { type: "date", data: outDate }],
    ["signup_date", { type: "date", data: outSignup }],
    ["plan", { type: "dict", codes: outPlan, dictionary: plan.dictionary }],
    ["is_paid", { type: "i32", data: outPaid }],
    ["country", { type: "dict", codes: outCountry, dictionary: country.dictionary }],
    ["marketing_source", { type: "dict", codes: outSource, dictionary: source.dictionary }],
    ["logins_count", { type: "i32", data: logins }],
    ["enroll_count", { type: "i32", data: enroll }],
    ["watch_minutes_sum", { type: "f64", data: watch }],
    ["quiz_attempts_count", { type: "i32", data: quizN }],
    ["quiz_avg_score", { type: "f64", data: quizAvg }],
    ["payment_success_count", { type: "i32", data: payOk }],
    ["payment_failed_count", { type: "i32", data: payFail }],
    ["support_ticket_count", { type: "i32", data: tickets }],
    ["total_events", { type: "i32", data: total }],
    ["days_since_signup", { type: "i32", data: outDss }],
    ["is_active_day", { type: "i32", data: outActive }],
  ]);
  return {
    table,
    stats: {
      firstDate: events.length ? first : null,
      lastDate: events.length ? last : null,
      rows,
      eventsBeforeSignup: beforeSignup,
    },
  };
}
