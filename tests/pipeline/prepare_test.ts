import assert from "node:assert/strict";
import { CsvParser } from "../../pipeline/csv.ts";
import { formatDate } from "../../pipeline/dates.ts";
import { buildUserDaily, type CleanUsers, EventsCleaner, UsersCleaner } from "../../pipeline/prepare.ts";
import { type Column, dictValue, type Table } from "../../pipeline/table.ts";

const USERS = `user_id,signup_date,plan,is_paid,country,marketing_source
1,2026-01-01, Paid ,1,IN,ads
2,2026-01-03,free,0,US,organic
2,2026-01-01,free,0,UK,ads
3,2026-01-02,FREE,0,CA,referral
,2026-01-01,free,0,US,ads
4,not-a-date,free,0,US,ads
`;

const EVENTS = `event_id,user_id,event_time,event_type,course_id,watch_minutes,quiz_score,amount
1,1,2026-01-01T08:00:00,login,,,,
2,1,2026-01-01T09:00:00,video_watch,c1,30.5,,
3,1,2026-01-01T10:00:00,quiz_attempt,c1,,80,
4,1,2026-01-01T11:00:00,quiz_attempt,c1,,,
5,1,2026-01-03T23:30:00-02:00,Login ,,,,
6,1,2026-01-02T00:30:00+01:00,payment_success,,,,499
2,1,2026-01-02T10:00:00,login,,,,
7,99,2026-01-02T10:00:00,login,,,,
8,2,2026-01-02T12:00:00,login,,,,
9,2,2026-01-03T12:00:00,payment_failed,,,,499
10,2,2026-01-03T13:00:00,support_ticket,,,,
11,,2026-01-03T13:00:00,login,,,,
12,2,,login,,,,
13,2,2026-01-03T14:00:00,,,,,
14,2,2026-01-04T14:00:00Z,course_enroll,c2,,,
15,1,2026-01-03T10:00:00,video_watch,c1,,,
`;

function feed(text: string, push: (r: Parameters<ConstructorParameters<typeof CsvParser>[0]>[0]) => void): void {
  const p = new CsvParser(push);
  p.push(new TextEncoder().encode(text));
  p.end();
}

function cleanUsers(text = USERS): CleanUsers {
  const c = new UsersCleaner();
  feed(text, (r) => c.push(r));
  return c.finish();
}

function values(table: Table, name: string): unknown[] {
  const c = table.columns.get(name) as Column;
  if (c.type === "dict") return [...c.codes].map((_, i) => dictValue(c, i));
  if (c.type === "date") return [...c.data].map(formatDate);
  return [...c.data];
}

async function prepared(): Promise<{ users: CleanUsers; events: Table[]; cleaner: EventsCleaner; daily: Table }> {
  const users = cleanUsers();
  const batches: Table[] = [];
  const cleaner = new EventsCleaner(users, {
    batchRows: 4,
    onBatch: (b) => {
      batches.push(structuredClone(b));
    },
  });
  const parser = new CsvParser((r) => cleaner.push(r));
  for (const line of EVENTS.split(/(?<=\n)/)) {
    parser.push(new TextEncoder().encode(line));
    if (cleaner.batchFull) await cleaner.flush();
  }
  parser.end();
  const compact = await cleaner.finish();
  const daily = buildUserDaily(users, compact);
  return { users, events: batches, cleaner, daily: daily.table };
}

Deno.test("UsersCleaner normalises plans, drops rows missing keys and keeps the first duplicate", () => {
  const u = cleanUsers();
  assert.deepEqual(values(u.table, "user_id"), [1, 2, 3]);
  assert.deepEqual(values(u.table, "plan"), ["paid", "free", "free"]);
  assert.deepEqual(values(u.table, "country"), ["IN", "US", "CA"]);
  assert.deepEqual(values(u.table, "signup_date"), ["2026-01-01", "2026-01-03", "2026-01-02"]);
  assert.deepEqual(u.stats, { rows: 6, droppedMissing: 2, droppedDuplicate: 1 });
  assert.equal(u.rowOf(3), 2);
  assert.equal(u.rowOf(4), -1);
});

Deno.test("UsersCleaner names the missing columns of a bad header", () => {
  const c = new UsersCleaner();
  assert.throws(
    () => feed("user_id,plan\n1,free\n", (r) => c.push(r)),
    /users\.csv is missing required column\(s\): signup_date, is_paid, country, marketing_source/,
  );
});

Deno.test("EventsCleaner dedups event ids, drops unknown users and rows missing keys, converts zones to UTC dates", async () => {
  const { events, cleaner } = await prepared();
  assert.deepEqual(cleaner.stats, {
    rows: 16,
    kept: 11,
    droppedMissing: 3,
    droppedDuplicate: 1,
    droppedUnknownUser: 1,
    unknownType: 0,
  });
  assert.deepEqual(events.map((b) => b.length), [4, 4, 3], "events arrive in batches of batchRows");
  const ids = events.flatMap((b) => values(b, "event_id"));
  assert.deepEqual(ids, [1, 2, 3, 4, 5, 6, 8, 9, 10, 14, 15]);
  const dates = events.flatMap((b) => values(b, "event_date"));
  assert.equal(dates[4], "2026-01-04"); // 23:30 at -02:00 is 01:30 UTC the next day
  assert.equal(dates[5], "2026-01-01"); // 00:30 at +01:00 is 23:30 UTC the day before
  const types = events.flatMap((b) => values(b, "event_type"));
  assert.equal(types[4], "login");
  const watch = events.flatMap((b) => values(b, "watch_minutes"));
  assert.deepEqual(watch, [0, 30.5, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  const quiz = events.flatMap((b) => values(b, "quiz_score"));
  assert.equal(quiz[2], 80);
  assert.ok(Number.isNaN(quiz[3] as number));
  assert.deepEqual(events.flatMap((b) => values(b, "course_id")).slice(0, 4), [null, "c1", "c1", "c1"]);
});

Deno.test("buildUserDaily() builds a per-user grid from signup to the last event date with hand-computed aggregates", async () => {
  const { daily } = await prepared();
  assert.deepEqual(values(daily, "user_id"), [1, 1, 1, 1, 2, 2, 3, 3, 3]);
  assert.deepEqual(values(daily, "as_of_date"), [
    "2026-01-01",
    "2026-01-02",
    "2026-01-03",
    "2026-01-04",
    "2026-01-03",
    "2026-01-04",
    "2026-01-02",
    "2026-01-03",
    "2026-01-04",
  ]);
  assert.deepEqual(values(daily, "logins_count"), [1, 0, 0, 1, 0, 0, 0, 0, 0]);
  assert.deepEqual(values(daily, "enroll_count"), [0, 0, 0, 0, 0, 1, 0, 0, 0]);
  assert.deepEqual(values(daily, "watch_minutes_sum"), [30.5, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(values(daily, "quiz_attempts_count"), [2, 0, 0, 0, 0, 0, 0, 0, 0]);
  const quizAvg = values(daily, "quiz_avg_score") as number[];
  assert.equal(quizAvg[0], 80);
  assert.ok(quizAvg.slice(1).every(Number.isNaN), "quiz-less days have a missing average");
  assert.deepEqual(values(daily, "payment_success_count"), [1, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(values(daily, "payment_failed_count"), [0, 0, 0, 0, 1, 0, 0, 0, 0]);
  assert.deepEqual(values(daily, "support_ticket_count"), [0, 0, 0, 0, 1, 0, 0, 0, 0]);
  assert.deepEqual(values(daily, "total_events"), [5, 0, 1, 1, 2, 1, 0, 0, 0]);
  assert.deepEqual(values(daily, "is_active_day"), [1, 0, 1, 1, 1, 1, 0, 0, 0]);
  assert.deepEqual(values(daily, "days_since_signup"), [0, 1, 2, 3, 0, 1, 0, 1, 2]);
  assert.deepEqual(values(daily, "plan"), ["paid", "paid", "paid", "paid", "free", "free", "free", "free", "free"]);
  assert.deepEqual(values(daily, "is_paid"), [1, 1, 1, 1, 0, 0, 0, 0, 0]);
  assert.deepEqual(values(daily, "marketing_source").slice(4, 7), ["organic", "organic", "referral"]);
});

Deno.test("buildUserDaily() counts events before signup and keeps them out of the grid", async () => {
  const users = cleanUsers();
  const cleaner = new EventsCleaner(users);
  feed(EVENTS, (r) => cleaner.push(r));
  const daily = buildUserDaily(users, await cleaner.finish());
  assert.equal(daily.stats.eventsBeforeSignup, 1);
  assert.equal(daily.stats.rows, 9);
  assert.equal(formatDate(daily.stats.firstDate!), "2026-01-01");
  assert.equal(formatDate(daily.stats.lastDate!), "2026-01-04");
});

Deno.test("buildUserDaily() gives an empty grid when there are no events", async () => {
  const users = cleanUsers();
  const cleaner = new EventsCleaner(users);
  feed(EVENTS.split("\n")[0] + "\n", (r) => cleaner.push(r));
  const daily = buildUserDaily(users, await cleaner.finish());
  assert.equal(daily.table.length, 0);
  assert.equal(daily.stats.firstDate, null);
});
