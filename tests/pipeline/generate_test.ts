import assert from "node:assert/strict";
import { CsvParser, type CsvRecord } from "../../pipeline/csv.ts";
import { daysFromCivil, MS_PER_DAY } from "../../pipeline/dates.ts";
import {
  churnProbability,
  COUNTRIES,
  COURSE_IDS,
  EVENTS_COLUMNS,
  generateData,
  type GenerateOptions,
  type GenerateSummary,
  MARKETING_SOURCES,
  USERS_COLUMNS,
} from "../../pipeline/generate.ts";

const N_USERS = 3000, DAYS = 120;
const START = daysFromCivil(2026, 1, 1);
const OPTIONS: GenerateOptions = {
  nUsers: N_USERS,
  days: DAYS,
  startDate: "2026-01-01",
  seed: 42,
  paidRatio: 0.35,
  churnBaseRate: 0.35,
};

/** Writes the model's churn probability out again from SPEC §2, independently of the module. */
function specChurnP(e: number, paid: boolean, base: number): number {
  return Math.min(0.95, base * (paid ? 0.75 : 1) * (0.4 + 1.4 * (1 - e) ** 1.6));
}

function near(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not within ${tolerance} of ${expected}`);
}

/** Everything the tests look at, gathered while the generator streams into a parser. */
interface Sample {
  summary: GenerateSummary;
  usersHeader: string[];
  eventsHeader: string[];
  signup: Int32Array;
  paid: Uint8Array;
  engagement: Float64Array;
  countryCounts: Map<string, number>;
  sourceCounts: Map<string, number>;
  /** Per user and day index: logins, payments. */
  logins: Uint8Array;
  payments: Uint8Array;
  /** Per user: the day index of the last event (-1 when none). */
  lastDay: Int32Array;
  /** Per user: counts by type. */
  userLogins: Float64Array;
  userVideos: Float64Array;
  userQuizzes: Float64Array;
  userEnrolls: Float64Array;
  userWatchSum: Float64Array;
  ticketsFirst30: number;
  paymentsOk: number;
  paymentsFailed: number;
  amounts: number[];
  courseCounts: Map<string, number>;
  problems: string[];
  events: number;
  eventsChunks: number;
  maxChunk: number;
}

function header(r: CsvRecord): string[] {
  return Array.from({ length: r.count }, (_, i) => r.text(i));
}

async function collectSample(): Promise<Sample> {
  const s: Sample = {
    summary: undefined as unknown as GenerateSummary,
    usersHeader: [],
    eventsHeader: [],
    signup: new Int32Array(N_USERS + 1),
    paid: new Uint8Array(N_USERS + 1),
    engagement: new Float64Array(N_USERS + 1),
    countryCounts: new Map(),
    sourceCounts: new Map(),
    logins: new Uint8Array((N_USERS + 1) * DAYS),
    payments: new Uint8Array((N_USERS + 1) * DAYS),
    lastDay: new Int32Array(N_USERS + 1).fill(-1),
    userLogins: new Float64Array(N_USERS + 1),
    userVideos: new Float64Array(N_USERS + 1),
    userQuizzes: new Float64Array(N_USERS + 1),
    userEnrolls: new Float64Array(N_USERS + 1),
    userWatchSum: new Float64Array(N_USERS + 1),
    ticketsFirst30: 0,
    paymentsOk: 0,
    paymentsFailed: 0,
    amounts: [],
    courseCounts: new Map(),
    problems: [],
    events: 0,
    eventsChunks: 0,
    maxChunk: 0,
  };
  const problem = (message: string) => {
    if (s.problems.length < 20) s.problems.push(message);
  };
  let users = 0;
  const usersParser = new CsvParser((r) => {
    if (r.index === 0) {
      s.usersHeader = header(r);
      return;
    }
    const id = r.number(0);
    if (id !== ++users) problem(`user id ${id} at row ${r.index}`);
    s.signup[id] = r.date(1);
    const plan = r.text(2), isPaid = r.number(3);
    if (!((plan === "paid" && isPaid === 1) || (plan === "free" && isPaid === 0))) problem(`plan ${plan}/${isPaid}`);
    s.paid[id] = isPaid;
    s.countryCounts.set(r.text(4), (s.countryCounts.get(r.text(4)) ?? 0) + 1);
    s.sourceCounts.set(r.text(5), (s.sourceCounts.get(r.text(5)) ?? 0) + 1);
    if (!/^(0|1|0\.\d{1,4})$/.test(r.text(6))) problem(`engagement_score ${r.text(6)}`);
    s.engagement[id] = r.number(6);
  });
  let lastId = 0, lastKey = -Infinity;
  const eventsParser = new CsvParser((r) => {
    if (r.index === 0) {
      s.eventsHeader = header(r);
      return;
    }
    s.events++;
    if (r.count !== 8) problem(`row ${r.index} has ${r.count} fields`);
    const id = r.number(0), uid = r.number(1);
    if (id !== ++lastId) problem(`event id ${id} after ${lastId - 1}`);
    const timeText = r.text(2);
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:00$/.test(timeText)) problem(`event_time ${timeText}`);
    const ms = r.dateTime(2);
    const day = Math.floor(ms / MS_PER_DAY) - START;
    if (!(day >= 0 && day < DAYS)) problem(`event ${id} on day ${day}`);
    const key = uid * 1e13 + ms;
    if (key < lastKey) problem(`event ${id} out of (user_id, event_time) order`);
    lastKey = key;
    s.lastDay[uid] = Math.max(s.lastDay[uid], day);
    const type = r.text(3), course = r.text(4);
    const hasCourse = type === "video_watch" || type === "quiz_attempt" || type === "course_enroll";
    if (hasCourse) {
      if (!COURSE_IDS.includes(course)) problem(`${type} with course "${course}"`);
      s.courseCounts.set(course, (s.courseCounts.get(course) ?? 0) + 1);
    } else if (course !== "") problem(`${type} with course "${course}"`);
    const watch = r.number(5), quiz = r.number(6), amount = r.number(7);
    if ((type === "video_watch") !== !r.isMissing(5)) problem(`${type} with watch_minutes "${r.text(5)}"`);
    if ((type === "quiz_attempt") !== !r.isMissing(6)) problem(`${type} with quiz_score "${r.text(6)}"`);
    const isPayment = type === "payment_success" || type === "payment_failed";
    if (isPayment !== !r.isMissing(7)) problem(`${type} with amount "${r.text(7)}"`);
    const cell = uid * DAYS + day;
    switch (type) {
      case "login":
        s.logins[cell]++;
        s.userLogins[uid]++;
        break;
      case "video_watch":
        if (!(watch >= 2 && watch <= 180)) problem(`watch_minutes ${watch}`);
        s.userVideos[uid]++;
        s.userWatchSum[uid] += watch;
        break;
      case "quiz_attempt":
        if (!(quiz >= 0 && quiz <= 100)) problem(`quiz_score ${quiz}`);
        s.userQuizzes[uid]++;
        break;
      case "course_enroll":
        s.userEnrolls[uid]++;
        break;
      case "payment_success":
      case "payment_failed":
        if (!(amount >= 199 && amount <= 999)) problem(`amount ${amount}`);
        s.amounts.push(amount);
        if (type === "payment_success") s.paymentsOk++;
        else s.paymentsFailed++;
        s.payments[cell]++;
        break;
      case "support_ticket":
        if (day < 30) s.ticketsFirst30++;
        break;
      default:
        problem(`event_type ${type}`);
    }
  });
  s.summary = await generateData(OPTIONS, {
    users: (chunk) => usersParser.push(chunk),
    events: (chunk) => {
      s.eventsChunks++;
      s.maxChunk = Math.max(s.maxChunk, chunk.length);
      eventsParser.push(chunk);
    },
  });
  usersParser.end();
  eventsParser.end();
  return s;
}

let samplePromise: Promise<Sample> | undefined;
function getSample(): Promise<Sample> {
  return samplePromise ??= collectSample();
}

async function generateBytes(options: GenerateOptions): Promise<[Uint8Array, Uint8Array]> {
  const parts: [Uint8Array[], Uint8Array[]] = [[], []];
  await generateData(options, {
    users: (chunk) => void parts[0].push(chunk.slice()),
    events: (chunk) => void parts[1].push(chunk.slice()),
  });
  return parts.map((list) => {
    const out = new Uint8Array(list.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of list) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }) as [Uint8Array, Uint8Array];
}

Deno.test("generateData() writes the SPEC columns and well-formed rows", async () => {
  const s = await getSample();
  assert.deepEqual(s.usersHeader, [...USERS_COLUMNS]);
  assert.deepEqual(s.eventsHeader, [...EVENTS_COLUMNS]);
  assert.deepEqual(s.usersHeader, [
    "user_id",
    "signup_date",
    "plan",
    "is_paid",
    "country",
    "marketing_source",
    "engagement_score",
  ]);
  assert.deepEqual(s.eventsHeader, [
    "event_id",
    "user_id",
    "event_time",
    "event_type",
    "course_id",
    "watch_minutes",
    "quiz_score",
    "amount",
  ]);
  assert.deepEqual(s.problems, []);
  assert.equal(s.summary.users, N_USERS);
  assert.equal(s.summary.events, s.events);
  // Around 240 events per user with the default rates.
  assert.ok(s.events > 150 * N_USERS && s.events < 350 * N_USERS, `${s.events} events`);
});

Deno.test("generateData() streams through bounded chunks", async () => {
  const s = await getSample();
  assert.ok(s.eventsChunks >= 5, `${s.eventsChunks} chunks`);
  // The writer flushes at 4 MiB, checked after each day (a day is at most ~1 KiB of events).
  assert.ok(s.maxChunk <= (4 << 20) + 2048, `largest chunk ${s.maxChunk} bytes`);
  assert.equal(s.summary.eventsBytes > 100 * s.events, false);
});

Deno.test("generateData() draws users as the model says: signup, plan, country, source", async () => {
  const s = await getSample();
  const offsets = new Set<number>();
  for (let u = 1; u <= N_USERS; u++) offsets.add(START - s.signup[u]);
  // Offsets uniform in [0, max(30, 120 / 3)) = [0, 40): every value shows up and no other.
  assert.deepEqual([...offsets].sort((a, b) => a - b), Array.from({ length: 40 }, (_, i) => i));
  const paid = s.paid.reduce((n, p) => n + p, 0);
  assert.equal(paid, s.summary.paidUsers);
  near(paid / N_USERS, 0.35, 4 * Math.sqrt(0.35 * 0.65 / N_USERS), "paid share");
  for (const [list, counts] of [[COUNTRIES, s.countryCounts], [MARKETING_SOURCES, s.sourceCounts]] as const) {
    assert.deepEqual([...counts.keys()].sort(), [...list].sort());
    const p = 1 / list.length;
    for (const [k, c] of counts) near(c / N_USERS, p, 4 * Math.sqrt(p * (1 - p) / N_USERS), `share of ${k}`);
  }
  // Engagement ~ Beta(2, 2.5): mean 4/9, variance 0.0449.
  const e = s.engagement.subarray(1);
  const mean = e.reduce((a, b) => a + b, 0) / N_USERS;
  near(mean, 2 / 4.5, 4 * Math.sqrt(0.0449 / N_USERS), "engagement mean");
  const variance = e.reduce((a, b) => a + (b - mean) ** 2, 0) / N_USERS;
  near(variance, 5 / (4.5 * 4.5 * 5.5), 0.004, "engagement variance");
});

Deno.test("generateData() churns the expected share of users", async () => {
  const s = await getSample();
  // E[p] = paid_ratio E[p(e, paid)] + (1 − paid_ratio) E[p(e, free)], e ~ Beta(2, 2.5), by the midpoint rule.
  const steps = 20_000, beta = 1 / (2.5 * 3.5); // B(2, b) = 1 / (b (b + 1))
  let expected = 0;
  for (let i = 0; i < steps; i++) {
    const e = (i + 0.5) / steps;
    const density = e * (1 - e) ** 1.5 / beta;
    expected += density / steps * (0.35 * specChurnP(e, true, 0.35) + 0.65 * specChurnP(e, false, 0.35));
  }
  // Cross-checked by Monte Carlo (2 million draws with Python's random.betavariate): 0.3148.
  near(expected, 0.3148, 0.001, "expected churn share");
  const share = s.summary.churnedUsers / N_USERS;
  near(share, expected, 4 * Math.sqrt(expected * (1 - expected) / N_USERS), "churn share");
});

Deno.test("churnProbability() follows the SPEC formula and caps at 0.95", () => {
  for (const e of [0, 0.1, 0.44, 0.9, 1]) {
    for (const paid of [false, true]) {
      near(churnProbability(e, paid, 0.35), specChurnP(e, paid, 0.35), 1e-12, `p(${e}, ${paid})`);
    }
  }
  assert.equal(churnProbability(0, false, 1), 0.95);
  assert.equal(churnProbability(1, true, 0.5), 0.5 * 0.75 * 0.4);
});

Deno.test("churned users have no events after their churn day", async () => {
  const s = await getSample();
  // A user is silent on the last 20 days (indices 100..119, no pay days in them) when they churned on a day
  // c <= 99 (70 of the 90 churn days in [30, 120)), or churned at c >= 100 and were inactive on days 100..c,
  // or did not churn and were inactive on all 20. Events after a churn day would break this.
  let expected = 0, variance = 0, observed = 0;
  for (let u = 1; u <= N_USERS; u++) {
    const e = s.engagement[u];
    const p = specChurnP(e, s.paid[u] === 1, 0.35);
    const quiet = (1 - (0.15 + 0.8 * e)) * (1 - 0.005);
    let afterChurn = 70 / 90;
    for (let c = 100; c < 120; c++) afterChurn += quiet ** (c - 99) / 90;
    const q = p * afterChurn + (1 - p) * quiet ** 20;
    expected += q;
    variance += q * (1 - q);
    if (s.lastDay[u] < 100) observed++;
  }
  near(observed, expected, 4 * Math.sqrt(variance), "users silent on the last 20 days");
  // And no one churns before day 30: everyone with no events from day 30 on was simply inactive.
  const silentFrom30 = Array.from(s.lastDay).slice(1).filter((d) => d < 30).length;
  assert.ok(silentFrom30 < 0.01 * N_USERS, `${silentFrom30} users with no events from day 30 on`);
});

Deno.test("the active-day share grows with engagement as 0.15 + 0.8 e", async () => {
  const s = await getSample();
  // Days 0..29 come before any churn day, so every user is still drawing activity.
  const ids = Array.from({ length: N_USERS }, (_, i) => i + 1).sort((a, b) => s.engagement[a] - s.engagement[b]);
  const shares: number[] = [];
  for (let t = 0; t < 3; t++) {
    const group = ids.slice(t * 1000, (t + 1) * 1000);
    let active = 0, expected = 0;
    for (const u of group) {
      expected += (0.15 + 0.8 * s.engagement[u]) / group.length;
      for (let d = 0; d < 30; d++) if (s.logins[u * DAYS + d] > 0) active++;
    }
    const share = active / (group.length * 30);
    near(share, expected, 0.015, `active-day share of engagement tercile ${t + 1}`);
    shares.push(share);
  }
  assert.ok(shares[0] < shares[1] && shares[1] < shares[2], `shares ${shares}`);
});

Deno.test("sessions and their events follow the model's rates", async () => {
  const s = await getSample();
  let activeDays = 0, logins = 0;
  for (let cell = 0; cell < s.logins.length; cell++) {
    const n = s.logins[cell];
    assert.ok(n <= 3, `${n} sessions in a day`);
    if (n > 0) {
      activeDays++;
      logins += n;
    }
  }
  near(logins / activeDays, 2, 0.02, "sessions per active day");
  let videos = 0, quizzes = 0, enrolls = 0, expectVideos = 0, expectQuizzes = 0, watch = 0, expectWatch = 0;
  for (let u = 1; u <= N_USERS; u++) {
    const e = s.engagement[u], n = s.userLogins[u];
    videos += s.userVideos[u];
    quizzes += s.userQuizzes[u];
    enrolls += s.userEnrolls[u];
    expectVideos += n * (0.5 + 0.4 * e);
    expectQuizzes += n * (0.25 + 0.35 * e);
    watch += s.userWatchSum[u];
    expectWatch += s.userVideos[u] * (20 + 40 * e);
  }
  near(videos / logins, expectVideos / logins, 0.005, "videos per session");
  near(quizzes / logins, expectQuizzes / logins, 0.005, "quizzes per session");
  near(enrolls / logins, 0.05, 0.003, "enrolments per session");
  near(watch / videos, expectWatch / videos, 0.2, "mean watch minutes");
  near(s.ticketsFirst30 / (N_USERS * 30), 0.005, 0.0012, "support tickets per day");
  const courses = [...s.courseCounts.values()], total = courses.reduce((a, b) => a + b, 0);
  assert.equal(courses.length, 7);
  for (const c of courses) near(c / total, 1 / 7, 0.005, "course share");
});

Deno.test("paid users pay once on days 1-3 of each month until their last event, free users never", async () => {
  const s = await getSample();
  for (let u = 1; u <= N_USERS; u++) {
    for (let d = 0; d < DAYS; d++) {
      const dom = new Date((START + d) * MS_PER_DAY).getUTCDate();
      const n = s.payments[u * DAYS + d];
      const due = s.paid[u] === 1 && dom <= 3 && d <= s.lastDay[u];
      if (dom > 3 || s.paid[u] === 0 || d > s.lastDay[u]) assert.equal(n, 0, `user ${u} day ${d}: ${n} payments`);
      else assert.equal(n, due ? 1 : 0, `user ${u} day ${d}: ${n} payments`);
    }
  }
  const payments = s.paymentsOk + s.paymentsFailed;
  near(s.paymentsOk / payments, 0.93, 4 * Math.sqrt(0.93 * 0.07 / payments), "payment success share");
  const mean = s.amounts.reduce((a, b) => a + b, 0) / payments;
  const sd = Math.sqrt(s.amounts.reduce((a, b) => a + (b - mean) ** 2, 0) / payments);
  near(mean, 499, 4 * 80 / Math.sqrt(payments), "mean amount");
  near(sd, 80, 4, "amount standard deviation");
});

Deno.test("generateData() is byte-identical for the same seed and differs for another", async () => {
  const small = { ...OPTIONS, nUsers: 300, days: 60 };
  const [u1, e1] = await generateBytes(small);
  const [u2, e2] = await generateBytes(small);
  assert.deepEqual(u1, u2);
  assert.deepEqual(e1, e2);
  const [u3, e3] = await generateBytes({ ...small, seed: 43 });
  assert.notDeepEqual(u1, u3);
  assert.notDeepEqual(e1, e3);
  // A prefix of the users draws the same way whatever the total.
  const [u4] = await generateBytes({ ...small, nUsers: 100 });
  assert.deepEqual(u4, u1.subarray(0, u4.length));
});

Deno.test("generateData() keeps events inside the window for another start date and length", async () => {
  const options = { ...OPTIONS, nUsers: 200, days: 10, startDate: "2024-02-27", paidRatio: 1, churnBaseRate: 1 };
  const start = daysFromCivil(2024, 2, 27);
  let min = Infinity, max = -Infinity, payments = 0;
  const parser = new CsvParser((r) => {
    if (r.index === 0) return;
    const day = Math.floor(r.dateTime(2) / MS_PER_DAY);
    min = Math.min(min, day);
    max = Math.max(max, day);
    if (r.text(3).startsWith("payment")) {
      payments++;
      assert.ok(new Date(day * MS_PER_DAY).getUTCDate() <= 3);
    }
  });
  let signupMin = Infinity;
  const users = new CsvParser((r) => {
    if (r.index > 0) signupMin = Math.min(signupMin, r.date(1));
  });
  const summary = await generateData(options, { users: (c) => users.push(c), events: (c) => parser.push(c) });
  parser.end();
  users.end();
  assert.ok(min >= start && max <= start + 9, `events from day ${min - start} to ${max - start}`);
  // Offsets in [0, max(30, 3)): signups go back at most 29 days.
  assert.ok(signupMin >= start - 29);
  assert.ok(payments > 0);
  assert.equal(summary.paidUsers, 200);
  // With base 1 the churn probability is at least 0.3, and churn days fall in [2, 10).
  assert.ok(summary.churnedUsers > 60);
});

Deno.test("generateData() rejects options of the wrong type or range", async () => {
  const sinks = { users: () => {}, events: () => {} };
  await assert.rejects(generateData({ ...OPTIONS, nUsers: 0 }, sinks), RangeError);
  await assert.rejects(generateData({ ...OPTIONS, days: 1.5 }, sinks), RangeError);
  await assert.rejects(generateData({ ...OPTIONS, paidRatio: 1.2 }, sinks), RangeError);
  await assert.rejects(generateData({ ...OPTIONS, churnBaseRate: NaN }, sinks), RangeError);
  await assert.rejects(generateData({ ...OPTIONS, startDate: "2026-02-30" }, sinks), RangeError);
  await assert.rejects(generateData({ ...OPTIONS, startDate: "9999-12-01" }, sinks), RangeError);
  await assert.rejects(generateData({ ...OPTIONS, seed: 0.5 }, sinks), RangeError);
  await assert.rejects(generateData({ ...OPTIONS, nUsers: "10" as unknown as number }, sinks), TypeError);
  await assert.rejects(generateData({ ...OPTIONS, startDate: 20260101 as unknown as string }, sinks), TypeError);
});
