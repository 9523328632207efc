/**
 * The synthetic data generator (SPEC §2): an e-learning platform's `users.csv`
 * and `events.csv`, drawn from a fixed generative model with a seeded
 * {@link Random}, so the same options give byte-identical files.
 *
 * It streams: one user is drawn, their events are formatted day by day and the
 * writers flush whenever their buffers fill, so memory stays flat however many
 * users are asked for. Nothing is allocated per event: a day's events live in
 * small reusable typed arrays, the date-time text comes from bytes precomputed
 * per day and per minute, and numbers are formatted straight into the
 * {@link CsvWriter} buffers.
 *
 * The model, per user:
 * - signup date = start − uniform integer in [0, max(30, ⌊days/3⌋)) (never after the start);
 * - paid with probability `paidRatio`; country and marketing source uniform;
 * - engagement e ~ Beta(2, 2.5);
 * - churns with p = min(0.95, base × (0.75 if paid) × (0.4 + 1.4 (1 − e)^1.6)), on
 *   start + uniform integer in [⌊days/4⌋, days) (capped at the last day); no events after it;
 * - each day from the start date to the churn day (or the last day): active with
 *   probability 0.15 + 0.8 e, an active day has 1–3 sessions, each a login, a video watch
 *   (p 0.5 + 0.4 e, minutes clip(N(20 + 40 e, 10), 2, 180)), a quiz attempt
 *   (p 0.25 + 0.35 e, score clip(N(50 + 40 e, 15), 0, 100)) and a course enrolment (p 0.05),
 *   courses uniform over {@link COURSE_IDS}; paid users pay on days 1–3 of each month
 *   (success p 0.93, amount clip(N(499, 80), 199, 999)); a support ticket with p 0.005;
 * - each event at the day plus a uniform minute in [0, 1440); a day's events sorted by
 *   time (ties keep their draw order), so the file is in (user_id, event_time) order and
 *   event ids 1..N follow it.
 *
 * Users who signed up before the start date have no events before it: the
 * dataset's window is [start, start + days).
 *
 * @module
 */

import { type ByteSink, CsvWriter } from "./csv.ts";
import { civilFromDays, formatDate, parseDate } from "./dates.ts";
import { EVENTS_COLUMNS, USERS_COLUMNS } from "./contract.ts";
import { Random } from "./random.ts";

/** Countries, drawn uniformly. */
export const COUNTRIES: readonly string[] = ["IN", "US", "UK", "CA", "AU", "SG"];
/** Marketing sources, drawn uniformly. */
export const MARKETING_SOURCES: readonly string[] = ["organic", "referral", "ads", "youtube", "community"];
/** The pool of course ids, drawn uniformly. */
export const COURSE_IDS: readonly string[] = ["C001", "C002", "C003", "C004", "C005", "C006", "C007"];
export { EVENTS_COLUMNS, USERS_COLUMNS } from "./contract.ts";

/** What to generate. */
export interface GenerateOptions {
  /** Number of users (ids 1..nUsers). */
  nUsers: number;
  /** Number of days in the dataset window. */
  days: number;
  /** First day of the window, `YYYY-MM-DD`. */
  startDate: string;
  /** Seed of the random stream (any safe integer). */
  seed: number;
  /** Probability that a user is on the paid plan, in [0, 1]. */
  paidRatio: number;
  /** Base churn rate of the churn probability formula, in [0, 1]. */
  churnBaseRate: number;
}

/** Where the two files go: each receives chunks of CSV bytes (see {@link ByteSink}). */
export interface GenerateSinks {
  /** Receives `users.csv`. */
  users: ByteSink;
  /** Receives `events.csv`. */
  events: ByteSink;
}

/** What was generated. */
export interface GenerateSummary {
  /** Users written. */
  users: number;
  /** Paid users. */
  paidUsers: number;
  /** Users who churned within the window. */
  churnedUsers: number;
  /** Events written. */
  events: number;
  /** Bytes of `users.csv`. */
  usersBytes: number;
  /** Bytes of `events.csv`. */
  eventsBytes: number;
}

/** Parameters of the generative model (SPEC §2). */
const ENGAGEMENT_A = 2.0, ENGAGEMENT_B = 2.5;
const PAID_CHURN_FACTOR = 0.75, MAX_CHURN_P = 0.95;
const ACTIVE_BASE = 0.15, ACTIVE_SLOPE = 0.8;
const VIDEO_BASE = 0.5, VIDEO_SLOPE = 0.4;
const QUIZ_BASE = 0.25, QUIZ_SLOPE = 0.35;
const ENROLL_P = 0.05;
const PAYMENT_SUCCESS_P = 0.93;
const TICKET_P = 0.005;
const MINUTES_PER_DAY = 1440;
const LAST_SUPPORTED_DAY = 2932896; // 9999-12-31

/**
 * Returns the churn probability of a user: min(0.95, base × (0.75 if paid) ×
 * (0.4 + 1.4 × (1 − engagement)^1.6)).
 */
export function churnProbability(engagement: number, paid: boolean, baseRate: number): number {
  const p = baseRate * (paid ? PAID_CHURN_FACTOR : 1) * (0.4 + 1.4 * Math.pow(1 - engagement, 1.6));
  return Math.min(MAX_CHURN_P, p);
}

// Event type codes; the names are written from the templates below.
const LOGIN = 0, ENROLL = 1, VIDEO = 2, QUIZ = 3, PAY_OK = 4, PAY_FAILED = 5, TICKET = 6;
const TYPE_NAMES = [
  "login",
  "course_enroll",
  "video_watch",
  "quiz_attempt",
  "payment_success",
  "payment_failed",
  "support_ticket",
];
const NO_COURSE = COURSE_IDS.length;
// Templates are indexed by type × TEMPLATE_STRIDE + course (NO_COURSE for none).
const TEMPLATE_STRIDE = NO_COURSE + 1;
// Most events per day: 3 sessions × 4 events, a payment and a ticket.
const MAX_DAY_EVENTS = 16;
const DAY_PREFIX_LENGTH = 11;
// The events writer flushes at this size, checked after every day, so its buffer
// (which has 4 KiB of slack above it) never has to grow.
const EVENTS_BUFFER_BYTES = 4 << 20;

const encoder = new TextEncoder();

function checkInteger(name: string, value: number, min: number): void {
  if (typeof value !== "number") throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  }
}

function checkShare(name: string, value: number): void {
  if (typeof value !== "number") throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${value}`);
}

/**
 * Builds the bytes that follow `event_time` for each (type, course) pair: the
 * type, the course and the empty fields up to the one number the type carries
 * (video_watch: watch_minutes, quiz_attempt: quiz_score, payments: amount), or
 * to the end of the row when it carries none.
 */
function eventTemplates(): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let t = 0; t < TYPE_NAMES.length; t++) {
    for (let c = 0; c < TEMPLATE_STRIDE; c++) {
      const head = `,${TYPE_NAMES[t]},${c < NO_COURSE ? COURSE_IDS[c] : ""},`;
      const rest = t === VIDEO ? "" : t === QUIZ ? "," : t === PAY_OK || t === PAY_FAILED ? ",," : ",,\n";
      out.push(encoder.encode(head + rest));
    }
  }
  return out;
}

/** Text precomputed once per run, so that formatting an event copies bytes instead of building strings. */
interface Texts {
  /** `YYYY-MM-DDT` per day index. */
  dayPrefix: Uint8Array[];
  /** 1 for the days 1–3 of a month, per day index. */
  payDay: Uint8Array;
  /** `HH:MM:00` per minute of the day. */
  minute: Uint8Array[];
  /** `YYYY-MM-DD` per signup offset. */
  signup: Uint8Array[];
  /** See {@link eventTemplates}. */
  templates: Uint8Array[];
  countries: Uint8Array[];
  sources: Uint8Array[];
}

function buildTexts(start: number, days: number, maxOffset: number): Texts {
  const dayPrefix: Uint8Array[] = [];
  const payDay = new Uint8Array(days);
  for (let d = 0; d < days; d++) {
    dayPrefix.push(encoder.encode(formatDate(start + d) + "T"));
    payDay[d] = civilFromDays(start + d)[2] <= 3 ? 1 : 0;
  }
  const minute: Uint8Array[] = [];
  for (let m = 0; m < MINUTES_PER_DAY; m++) {
    const hh = Math.floor(m / 60), mm = m % 60;
    minute.push(encoder.encode(`${hh < 10 ? "0" : ""}${hh}:${mm < 10 ? "0" : ""}${mm}:00`));
  }
  const signup: Uint8Array[] = [];
  for (let o = 0; o < maxOffset; o++) signup.push(encoder.encode(formatDate(start - o)));
  return {
    dayPrefix,
    payDay,
    minute,
    signup,
    templates: eventTemplates(),
    countries: COUNTRIES.map((c) => encoder.encode(c + ",")),
    sources: MARKETING_SOURCES.map((s) => encoder.encode(s + ",")),
  };
}

const VIDEO_TAIL = encoder.encode(",,\n"), QUIZ_TAIL = encoder.encode(",\n");
const FREE_ATTRS = encoder.encode(",free,0,"), PAID_ATTRS = encoder.encode(",paid,1,");

/**
 * The generator's state between users and days. The hot paths are synchronous
 * methods (one user's attributes, a run of days) so V8 optimises them as whole
 * functions early; the async driver in {@link generateData} only flushes.
 */
class Simulation {
  readonly rng: Random;
  readonly usersOut: CsvWriter;
  readonly eventsOut: CsvWriter;
  readonly texts: Texts;
  readonly days: number;
  readonly maxOffset: number;
  readonly churnFrom: number;
  readonly paidRatio: number;
  readonly churnBaseRate: number;
  // One day's events, reused.
  readonly evMinute = new Int32Array(MAX_DAY_EVENTS);
  readonly evTemplate = new Int32Array(MAX_DAY_EVENTS);
  readonly evType = new Uint8Array(MAX_DAY_EVENTS);
  readonly evValue = new Float64Array(MAX_DAY_EVENTS);
  // `,user_id,YYYY-MM-DDT` scratch bytes and a view of each length into them.
  readonly rowHead = new Uint8Array(64);
  readonly rowHeadViews: Uint8Array[] = [];
  // The current user.
  uidLength = 0;
  paid = false;
  lastDay = 0;
  pActive = 0;
  pVideo = 0;
  pQuiz = 0;
  watchMean = 0;
  quizMean = 0;
  // Totals.
  events = 0;
  churnedUsers = 0;
  paidUsers = 0;

  constructor(options: GenerateOptions, start: number, usersOut: CsvWriter, eventsOut: CsvWriter) {
    this.rng = new Random(options.seed);
    this.usersOut = usersOut;
    this.eventsOut = eventsOut;
    this.days = options.days;
    this.maxOffset = Math.max(30, Math.floor(options.days / 3));
    this.churnFrom = Math.floor(options.days / 4);
    this.paidRatio = options.paidRatio;
    this.churnBaseRate = options.churnBaseRate;
    this.texts = buildTexts(start, this.days, this.maxOffset);
    for (let len = 0; len <= this.rowHead.length; len++) this.rowHeadViews.push(this.rowHead.subarray(0, len));
  }

  /** Draws user `uid`'s attributes and churn day, and writes their users.csv row. */
  drawUser(uid: number): void {
    const rng = this.rng, out = this.usersOut, texts = this.texts;
    const offset = rng.int(0, this.maxOffset);
    const paid = rng.uniform() < this.paidRatio;
    const country = rng.int(0, COUNTRIES.length);
    const source = rng.int(0, MARKETING_SOURCES.length);
    const e = rng.beta(ENGAGEMENT_A, ENGAGEMENT_B);
    const churns = rng.uniform() < churnProbability(e, paid, this.churnBaseRate);
    // The churn day is the last day with events (capped at the window's last day).
    this.lastDay = churns ? Math.min(rng.int(this.churnFrom, this.days), this.days - 1) : this.days - 1;
    if (churns) this.churnedUsers++;
    if (paid) this.paidUsers++;
    this.paid = paid;
    this.pActive = ACTIVE_BASE + ACTIVE_SLOPE * e;
    this.pVideo = VIDEO_BASE + VIDEO_SLOPE * e;
    this.pQuiz = QUIZ_BASE + QUIZ_SLOPE * e;
    this.watchMean = 20 + 40 * e;
    this.quizMean = 50 + 40 * e;

    out.int(uid);
    out.sep();
    out.bytes(texts.signup[offset]);
    out.bytes(paid ? PAID_ATTRS : FREE_ATTRS);
    out.bytes(texts.countries[country]);
    out.bytes(texts.sources[source]);
    out.fixed(e, 4);
    out.endRow();

    const head = this.rowHead;
    let len = 0;
    head[len++] = 44;
    const digits = String(uid);
    for (let i = 0; i < digits.length; i++) head[len++] = digits.charCodeAt(i);
    head[len++] = 44;
    this.uidLength = len;
  }

  /**
   * Draws and writes the current user's events from day index `from` until the
   * last day or until the events buffer is due for a flush; returns the next day.
   */
  writeDays(from: number): number {
    const rng = this.rng, out = this.eventsOut, texts = this.texts;
    const evMinute = this.evMinute, evTemplate = this.evTemplate, evType = this.evType, evValue = this.evValue;
    const { lastDay, paid, pActive, pVideo, pQuiz, watchMean, quizMean, uidLength } = this;
    const payDay = texts.payDay, minuteText = texts.minute, templates = texts.templates;
    let eventId = this.events;
    let d = from;
    for (; d <= lastDay; d++) {
      let n = 0;
      if (rng.uniform() < pActive) {
        const sessions = rng.int(1, 4);
        for (let s = 0; s < sessions; s++) {
          evMinute[n] = rng.int(0, MINUTES_PER_DAY);
          evType[n] = LOGIN;
          evTemplate[n++] = LOGIN * TEMPLATE_STRIDE + NO_COURSE;
          if (rng.uniform() < pVideo) {
            evMinute[n] = rng.int(0, MINUTES_PER_DAY);
            evType[n] = VIDEO;
            evTemplate[n] = VIDEO * TEMPLATE_STRIDE + rng.int(0, NO_COURSE);
            evValue[n++] = clip(watchMean + 10 * rng.normal(), 2, 180);
          }
          if (rng.uniform() < pQuiz) {
            evMinute[n] = rng.int(0, MINUTES_PER_DAY);
            evType[n] = QUIZ;
            evTemplate[n] = QUIZ * TEMPLATE_STRIDE + rng.int(0, NO_COURSE);
            evValue[n++] = clip(quizMean + 15 * rng.normal(), 0, 100);
          }
          if (rng.uniform() < ENROLL_P) {
            evMinute[n] = rng.int(0, MINUTES_PER_DAY);
            evType[n] = ENROLL;
            evTemplate[n++] = ENROLL * TEMPLATE_STRIDE + rng.int(0, NO_COURSE);
          }
        }
      }
      if (paid && payDay[d] === 1) {
        evMinute[n] = rng.int(0, MINUTES_PER_DAY);
        const type = rng.uniform() < PAYMENT_SUCCESS_P ? PAY_OK : PAY_FAILED;
        evType[n] = type;
        evTemplate[n] = type * TEMPLATE_STRIDE + NO_COURSE;
        evValue[n++] = clip(499 + 80 * rng.normal(), 199, 999);
      }
      if (rng.uniform() < TICKET_P) {
        evMinute[n] = rng.int(0, MINUTES_PER_DAY);
        evType[n] = TICKET;
        evTemplate[n++] = TICKET * TEMPLATE_STRIDE + NO_COURSE;
      }
      if (n === 0) continue;
      // Stable insertion sort of the day's events by minute.
      for (let i = 1; i < n; i++) {
        const m = evMinute[i];
        if (evMinute[i - 1] <= m) continue;
        const t = evType[i], tp = evTemplate[i], v = evValue[i];
        let j = i - 1;
        while (j >= 0 && evMinute[j] > m) {
          evMinute[j + 1] = evMinute[j];
          evType[j + 1] = evType[j];
          evTemplate[j + 1] = evTemplate[j];
          evValue[j + 1] = evValue[j];
          j--;
        }
        evMinute[j + 1] = m;
        evType[j + 1] = t;
        evTemplate[j + 1] = tp;
        evValue[j + 1] = v;
      }
      // `,user_id,YYYY-MM-DDT`, shared by the day's events.
      this.rowHead.set(texts.dayPrefix[d], uidLength);
      const head = this.rowHeadViews[uidLength + DAY_PREFIX_LENGTH];
      for (let i = 0; i < n; i++) {
        out.int(++eventId);
        out.bytes(head);
        out.bytes(minuteText[evMinute[i]]);
        out.bytes(templates[evTemplate[i]]);
        const type = evType[i];
        if (type === VIDEO) {
          out.fixed(evValue[i], 2);
          out.bytes(VIDEO_TAIL);
        } else if (type === QUIZ) {
          out.fixed(evValue[i], 2);
          out.bytes(QUIZ_TAIL);
        } else if (type === PAY_OK || type === PAY_FAILED) {
          out.fixed(evValue[i], 2);
          out.endRow();
        }
      }
      if (out.buffered >= EVENTS_BUFFER_BYTES) {
        d++;
        break;
      }
    }
    this.events = eventId;
    return d;
  }
}

/**
 * Generates the users and events of the synthetic dataset (SPEC §2) into two
 * sinks, one user at a time, and returns what was written. The same options
 * give byte-identical output.
 *
 * @throws {TypeError} when an option has the wrong type.
 * @throws {RangeError} when an option is out of range (no users or days, a share
 * outside [0, 1], a malformed start date, a window past year 9999).
 */
export async function generateData(options: GenerateOptions, sinks: GenerateSinks): Promise<GenerateSummary> {
  const { nUsers, days, startDate, seed, paidRatio, churnBaseRate } = options;
  checkInteger("nUsers", nUsers, 1);
  checkInteger("days", days, 1);
  checkShare("paidRatio", paidRatio);
  checkShare("churnBaseRate", churnBaseRate);
  if (typeof seed !== "number") throw new TypeError(`seed must be a number, got ${typeof seed}`);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  if (typeof startDate !== "string") throw new TypeError(`startDate must be a string, got ${typeof startDate}`);
  const start = parseDate(startDate);
  const maxOffset = Math.max(30, Math.floor(days / 3));
  if (start + days - 1 > LAST_SUPPORTED_DAY || start - maxOffset < -719162) {
    throw new RangeError(`The window of ${days} days from ${startDate} must stay within years 1-9999`);
  }

  let usersBytes = 0, eventsBytes = 0;
  const usersOut = new CsvWriter((chunk) => {
    usersBytes += chunk.length;
    return sinks.users(chunk);
  });
  const eventsOut = new CsvWriter((chunk) => {
    eventsBytes += chunk.length;
    return sinks.events(chunk);
  }, EVENTS_BUFFER_BYTES);
  const sim = new Simulation(options, start, usersOut, eventsOut);

  usersOut.ascii(USERS_COLUMNS.join(","));
  usersOut.endRow();
  eventsOut.ascii(EVENTS_COLUMNS.join(","));
  eventsOut.endRow();
  for (let uid = 1; uid <= nUsers; uid++) {
    sim.drawUser(uid);
    let day = 0;
    while (day <= sim.lastDay) {
      day = sim.writeDays(day);
      if (eventsOut.buffered >= EVENTS_BUFFER_BYTES) await eventsOut.flush();
    }
    await usersOut.maybeFlush();
  }
  await usersOut.close();
  await eventsOut.close();
  return {
    users: nUsers,
    paidUsers: sim.paidUsers,
    churnedUsers: sim.churnedUsers,
    events: sim.events,
    usersBytes,
    eventsBytes,
  };
}

function clip(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
