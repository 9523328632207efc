import assert from "node:assert/strict";
import { CsvParseError, CsvParser } from "../../pipeline/csv.ts";
import { parseDateTimeBytes } from "../../pipeline/dates.ts";
import {
  type DataFile,
  DataValidator,
  formatReport,
  type Problem,
  type ValidationReport,
  type ValidatorOptions,
} from "../../pipeline/validate.ts";

const USERS = Deno.readTextFileSync(new URL("../fixtures/validate/users.csv", import.meta.url));
const EVENTS = Deno.readTextFileSync(new URL("../fixtures/validate/events.csv", import.meta.url));
const NOW = Date.UTC(2026, 5, 1);
const enc = new TextEncoder();

/** Feeds one file to the validator the way the task does, in small chunks to cross chunk boundaries. */
function feed(v: DataValidator, file: DataFile, input: string | Uint8Array | null): void {
  const path = `${file}.csv`;
  if (input === null) {
    v.fileError(file, new Deno.errors.NotFound(`No such file: ${path}`), { path, bytes: 0 });
    return;
  }
  const bytes = typeof input === "string" ? enc.encode(input) : input;
  const parser = new CsvParser(file === "users" ? v.users : v.events);
  try {
    for (let i = 0; i < bytes.length; i += 37) parser.push(bytes.subarray(i, i + 37));
    parser.end();
    v.endFile(file, { path, bytes: bytes.length });
  } catch (e) {
    if (!(e instanceof CsvParseError)) throw e;
    v.fileError(file, e, { path, bytes: bytes.length });
  }
}

function validate(
  users: string | Uint8Array | null,
  events: string | Uint8Array | null,
  options: ValidatorOptions = {},
): ValidationReport {
  const v = new DataValidator({ now: NOW, ...options });
  feed(v, "users", users);
  feed(v, "events", events);
  return v.finish();
}

/** Returns the CSV text with field `column` of data row `row` (1-based) set to `value`. */
function setField(csv: string, row: number, column: string, value: string): string {
  const lines = csv.split("\n");
  const col = lines[0].split(",").indexOf(column);
  assert.ok(col >= 0, `no column ${column}`);
  const fields = lines[row].split(",");
  fields[col] = value;
  lines[row] = fields.join(",");
  return lines.join("\n");
}

/** Returns the CSV text without the named column. */
function dropColumn(csv: string, column: string): string {
  const lines = csv.trimEnd().split("\n");
  const col = lines[0].split(",").indexOf(column);
  return lines.map((l) => l.split(",").filter((_, i) => i !== col).join(",")).join("\n") + "\n";
}

type Summary = [Problem["severity"], string, DataFile, string | null, number];

function summaries(report: ValidationReport): Summary[] {
  return report.problems.map((p) => [p.severity, p.rule, p.file, p.column, p.rows]);
}

/** Asserts that the report holds exactly one problem, as described, and returns it. */
function only(report: ValidationReport, expected: Summary): Problem {
  assert.deepEqual(summaries(report), [expected]);
  return report.problems[0];
}

function firstExample(p: Problem): [number, number, string] {
  const x = p.examples[0];
  return [x.row, x.line, x.value];
}

Deno.test("a valid pair of files passes with no problems and counts rows and bytes", () => {
  const report = validate(USERS, EVENTS);
  assert.deepEqual(report.problems, []);
  assert.equal(report.ok, true);
  assert.equal(report.errors, 0);
  assert.equal(report.warnings, 0);
  assert.equal(report.checked_at, "2026-06-01T00:00:00.000Z");
  assert.deepEqual(report.files.users, { path: "users.csv", rows: 5, bytes: enc.encode(USERS).length });
  assert.deepEqual(report.files.events, { path: "events.csv", rows: 8, bytes: enc.encode(EVENTS).length });
});

Deno.test("columns are found by name in any order, extra columns are ignored and engagement_score is optional", () => {
  const reorder = (csv: string) =>
    csv.trimEnd().split("\n").map((l, i) => [...l.split(",").reverse(), i === 0 ? "extra" : "x"].join(",")).join("\n");
  assert.deepEqual(validate(reorder(USERS), reorder(EVENTS)).problems, []);
  assert.deepEqual(validate(dropColumn(USERS, "engagement_score"), EVENTS).problems, []);
});

Deno.test("missing required columns are one error listing them", () => {
  const users = dropColumn(dropColumn(USERS, "plan"), "country");
  const p = only(validate(users, EVENTS), ["error", "required_columns", "users", "plan, country", 0]);
  assert.deepEqual(firstExample(p), [0, 1, "user_id,signup_date,is_paid,marketing_source,engagement_score"]);
  only(validate(USERS, dropColumn(EVENTS, "amount")), ["error", "required_columns", "events", "amount", 0]);
});

Deno.test("a users file without a header row is rejected as such", () => {
  const noHeader = USERS.slice(USERS.indexOf("\n") + 1);
  const p = only(validate(noHeader, EVENTS), [
    "error",
    "missing_header",
    "users",
    "user_id, signup_date, plan, is_paid, country, marketing_source",
    0,
  ]);
  assert.match(p.message, /not a header/);
});

Deno.test("a missing user_id is an error naming the row", () => {
  const p = only(validate(setField(USERS, 2, "user_id", ""), EVENTS.replace(/\n4,2,.*\n5,2,.*\n/, "\n")), [
    "error",
    "not_null",
    "users",
    "user_id",
    1,
  ]);
  assert.deepEqual(firstExample(p), [2, 3, ""]);
});

Deno.test("a non-integer user_id is an error", () => {
  const users = setField(setField(USERS, 4, "user_id", "4.5"), 5, "user_id", "five");
  const events = EVENTS.replace(/\n7,4,.*\n8,5,.*\n/, "\n");
  const p = only(validate(users, events), ["error", "integer", "users", "user_id", 2]);
  assert.deepEqual(p.examples.map((x) => x.value), ["4.5", "five"]);
});

Deno.test("a duplicated user_id is an error on the repeating row", () => {
  const p = only(validate(setField(USERS, 4, "user_id", "1"), EVENTS.replace(/\n7,4,.*\n/, "\n")), [
    "error",
    "unique",
    "users",
    "user_id",
    1,
  ]);
  assert.deepEqual(firstExample(p), [4, 5, "1"]);
});

Deno.test("a signup_date that does not parse is an error", () => {
  const p = only(validate(setField(USERS, 3, "signup_date", "2026-13-01"), EVENTS), [
    "error",
    "date_format",
    "users",
    "signup_date",
    1,
  ]);
  assert.deepEqual(firstExample(p), [3, 4, "2026-13-01"]);
});

Deno.test("a plan outside free and paid is an error, while case and spaces are tolerated", () => {
  const p = only(validate(setField(USERS, 3, "plan", "gold"), EVENTS), ["error", "allowed_values", "users", "plan", 1]);
  assert.deepEqual(firstExample(p), [3, 4, "gold"]);
  assert.deepEqual(validate(setField(USERS, 1, "plan", "FREE "), EVENTS).problems, []);
});

Deno.test("is_paid outside 0 and 1 is an error", () => {
  const p = only(validate(setField(USERS, 2, "is_paid", "2"), EVENTS), [
    "error",
    "allowed_values",
    "users",
    "is_paid",
    1,
  ]);
  assert.deepEqual(firstExample(p), [2, 3, "2"]);
});

Deno.test("is_paid disagreeing with plan is an error", () => {
  const p = only(validate(setField(USERS, 4, "is_paid", "1"), EVENTS), [
    "error",
    "plan_agreement",
    "users",
    "is_paid",
    1,
  ]);
  assert.deepEqual(firstExample(p), [4, 5, "plan=free is_paid=1"]);
});

Deno.test("engagement_score must be present, numeric and in [0, 1]", () => {
  only(validate(setField(USERS, 1, "engagement_score", ""), EVENTS), [
    "error",
    "not_null",
    "users",
    "engagement_score",
    1,
  ]);
  only(validate(setField(USERS, 1, "engagement_score", "high"), EVENTS), [
    "error",
    "numeric",
    "users",
    "engagement_score",
    1,
  ]);
  const p = only(validate(setField(USERS, 5, "engagement_score", "1.5"), EVENTS), [
    "error",
    "range",
    "users",
    "engagement_score",
    1,
  ]);
  assert.deepEqual(firstExample(p), [5, 6, "1.5"]);
});

Deno.test("a missing country or marketing_source is only a warning", () => {
  const report = validate(setField(setField(USERS, 1, "country", ""), 2, "marketing_source", "NA"), EVENTS);
  assert.equal(report.ok, true);
  assert.deepEqual(summaries(report), [
    ["warning", "not_null", "users", "country", 1],
    ["warning", "not_null", "users", "marketing_source", 1],
  ]);
});

Deno.test("a missing or non-integer event_id is an error", () => {
  const p = only(validate(USERS, setField(EVENTS, 2, "event_id", "NaN")), [
    "error",
    "not_null",
    "events",
    "event_id",
    1,
  ]);
  assert.deepEqual(firstExample(p), [2, 3, "NaN"]);
  only(validate(USERS, setField(EVENTS, 2, "event_id", "2.5")), ["error", "integer", "events", "event_id", 1]);
});

Deno.test("a duplicated event_id is an error, for small, huge and negative ids alike", () => {
  const p = only(validate(USERS, setField(EVENTS, 6, "event_id", "2")), ["error", "unique", "events", "event_id", 1]);
  assert.deepEqual(firstExample(p), [6, 7, "2"]);
  let events = EVENTS;
  const ids = ["-3", "1000000000000", "-3", "1000000000000", "300000000", "300000000", "5000000", "5000000"];
  ids.forEach((id, i) => events = setField(events, i + 1, "event_id", id));
  const dup = only(validate(USERS, events), ["error", "unique", "events", "event_id", 4]);
  assert.deepEqual(dup.examples.map((x) => x.row), [3, 4, 6, 8]);
});

Deno.test("an event whose user_id is not in users is an error", () => {
  const p = only(validate(USERS, setField(EVENTS, 3, "user_id", "42")), [
    "error",
    "unknown_user",
    "events",
    "user_id",
    1,
  ]);
  assert.deepEqual(firstExample(p), [3, 4, "42"]);
  only(validate(USERS, setField(EVENTS, 3, "user_id", "1.5")), ["error", "integer", "events", "user_id", 1]);
  only(validate(USERS, setField(EVENTS, 3, "user_id", "")), ["error", "not_null", "events", "user_id", 1]);
});

Deno.test("user ids far apart or negative are known all the same", () => {
  const users = setField(setField(USERS, 1, "user_id", "10000000000"), 2, "user_id", "-7");
  let events = EVENTS;
  for (const row of [1, 2, 3]) events = setField(events, row, "user_id", "10000000000");
  for (const row of [4, 5]) events = setField(events, row, "user_id", "-7");
  assert.deepEqual(validate(users, events).problems, []);
});

Deno.test("an event_time that does not parse is an error, while zone suffixes are accepted", () => {
  const p = only(validate(USERS, setField(EVENTS, 7, "event_time", "2026-01-07T25:00:00")), [
    "error",
    "datetime_format",
    "events",
    "event_time",
    1,
  ]);
  assert.deepEqual(firstExample(p), [7, 8, "2026-01-07T25:00:00"]);
  let zoned = EVENTS;
  ["2026-01-05T08:30:00Z", "2026-01-05T08:30:00+00:00", "2026-01-05T08:30:00-0300", "2026-01-05T08:30:00.5+01"]
    .forEach((t, i) => zoned = setField(zoned, i + 1, "event_time", t));
  assert.deepEqual(validate(USERS, zoned).problems, []);
});

Deno.test("event_time is accepted or rejected exactly as parseDateTimeBytes does, and read to the millisecond", () => {
  const times = [
    "2026-01-05T08:30:00",
    "2026-01-05 08:30:00",
    "2026-01-05t08:30:00z",
    "2026-01-05T08:30:60",
    "2026-02-29T08:30:00",
    "2026-02-30T08:30:00",
    "2026-01-05T24:00:00",
    "2026-01-05T08:60:00",
    "2026-01-05X08:30:00",
    "2026-1-05T08:30:00Z",
    "2026-01-05T08:30:00+",
    " 2026-01-05T08:30:00",
    "2026-01-05T08:30",
  ];
  for (const t of times) {
    const bytes = enc.encode(t);
    const valid = !Number.isNaN(parseDateTimeBytes(bytes, 0, bytes.length));
    const report = validate(USERS, setField(EVENTS, 1, "event_time", t));
    assert.equal(report.ok, valid, `${t}: ${JSON.stringify(report.problems)}`);
  }
  // On the boundaries: the same instant as now is not in the future, one second before signup is before it.
  const now = Date.UTC(2026, 1, 2, 9, 0, 0);
  assert.equal(validate(USERS, setField(EVENTS, 5, "event_time", "2026-02-02T09:00:00"), { now }).warnings, 0);
  only(validate(USERS, setField(EVENTS, 5, "event_time", "2026-02-02 09:00:01"), { now }), [
    "warning",
    "future_event",
    "events",
    "event_time",
    1,
  ]);
  only(validate(USERS, setField(EVENTS, 1, "event_time", "2025-12-31T23:59:59")), [
    "warning",
    "before_signup",
    "events",
    "event_time",
    1,
  ]);
  assert.equal(validate(USERS, setField(EVENTS, 1, "event_time", "2026-01-01T00:00:00")).warnings, 0);
});

Deno.test("an event_type outside the allowed set is an error", () => {
  const p = only(validate(USERS, setField(EVENTS, 1, "event_type", "purchase")), [
    "error",
    "allowed_values",
    "events",
    "event_type",
    1,
  ]);
  assert.deepEqual(firstExample(p), [1, 2, "purchase"]);
  only(validate(USERS, setField(EVENTS, 1, "event_type", "")), ["error", "not_null", "events", "event_type", 1]);
  assert.deepEqual(validate(USERS, setField(EVENTS, 1, "event_type", "Video_Watch")).problems, []);
});

Deno.test("a negative or non-numeric watch_minutes is an error; empty is fine", () => {
  const p = only(validate(USERS, setField(EVENTS, 2, "watch_minutes", "-1")), [
    "error",
    "range",
    "events",
    "watch_minutes",
    1,
  ]);
  assert.deepEqual(firstExample(p), [2, 3, "-1"]);
  only(validate(USERS, setField(EVENTS, 2, "watch_minutes", "ten")), [
    "error",
    "numeric",
    "events",
    "watch_minutes",
    1,
  ]);
  assert.deepEqual(validate(USERS, setField(EVENTS, 2, "watch_minutes", "0")).problems, []);
});

Deno.test("a quiz_score outside [0, 100] is an error; empty is fine", () => {
  const p = only(validate(USERS, setField(EVENTS, 3, "quiz_score", "100.5")), [
    "error",
    "range",
    "events",
    "quiz_score",
    1,
  ]);
  assert.deepEqual(firstExample(p), [3, 4, "100.5"]);
  only(validate(USERS, setField(EVENTS, 3, "quiz_score", "-0.1")), ["error", "range", "events", "quiz_score", 1]);
  assert.deepEqual(validate(USERS, setField(EVENTS, 3, "quiz_score", "100")).problems, []);
});

Deno.test("a payment event without a positive amount is an error", () => {
  const events = setField(setField(EVENTS, 4, "amount", ""), 5, "amount", "0");
  const p = only(validate(USERS, events), ["error", "payment_amount", "events", "amount", 2]);
  assert.deepEqual(p.examples.map((x) => [x.row, x.value]), [[4, ""], [5, "0"]]);
});

/** Builds events for user 1: `n` logins, the first `withAmount` of them carrying an amount, plus one payment. */
function contaminated(n: number, withAmount: number): string {
  const lines = ["event_id,user_id,event_time,event_type,course_id,watch_minutes,quiz_score,amount"];
  for (let i = 1; i <= n; i++) lines.push(`${i},1,2026-01-05T08:30:00,login,,,,${i <= withAmount ? "9.99" : ""}`);
  lines.push(`${n + 1},2,2026-01-05T08:30:00,payment_success,,,,499`);
  return lines.join("\n") + "\n";
}

Deno.test("exactly 2% of non-payment events with an amount is a warning, more is an error", () => {
  const at = validate(USERS, contaminated(100, 2));
  const p = only(at, ["warning", "amount_contamination", "events", "amount", 2]);
  assert.equal(at.ok, true);
  assert.match(p.message, /2 of 100 non-payment events \(2\.00%\) carry an amount; within the allowed 2%/);
  assert.deepEqual(firstExample(p), [1, 2, "9.99"]);
  const over = validate(USERS, contaminated(100, 3));
  assert.equal(over.ok, false);
  assert.match(
    only(over, ["error", "amount_contamination", "events", "amount", 3]).message,
    /more than the allowed 2%/,
  );
  only(validate(USERS, contaminated(300, 6)), ["warning", "amount_contamination", "events", "amount", 6]);
  only(validate(USERS, contaminated(300, 7)), ["error", "amount_contamination", "events", "amount", 7]);
});

Deno.test("events in the future or before the user's signup are warnings with counts", () => {
  const future = validate(USERS, setField(EVENTS, 5, "event_time", "2026-06-01T00:00:01Z"), { now: NOW });
  assert.equal(future.ok, true);
  assert.deepEqual(firstExample(only(future, ["warning", "future_event", "events", "event_time", 1])), [
    5,
    6,
    "2026-06-01T00:00:01Z",
  ]);
  // User 1 signed up on 2026-01-01: 20:00 UTC on the 31st is before it, midnight UTC on the 1st is not.
  const events = setField(
    setField(EVENTS, 1, "event_time", "2026-01-01T01:00:00+05:00"),
    2,
    "event_time",
    "2026-01-01",
  );
  const early = validate(USERS, events);
  assert.equal(early.ok, true);
  assert.deepEqual(firstExample(only(early, ["warning", "before_signup", "events", "event_time", 1])), [
    1,
    2,
    "2026-01-01T01:00:00+05:00 (signup_date 2026-01-01)",
  ]);
});

Deno.test("an empty file is an error and stops the user checks of events", () => {
  const p = only(validate("", EVENTS), ["error", "empty_file", "users", null, 0]);
  assert.match(p.message, /users\.csv is empty \(0 bytes\)/);
  assert.match(only(validate(USERS, "\n\n"), ["error", "empty_file", "events", null, 0]).message, /no header row/);
});

Deno.test("a header-only users file is an error", () => {
  const header = USERS.slice(0, USERS.indexOf("\n") + 1);
  const p = only(validate(header, EVENTS), ["error", "header_only", "users", null, 0]);
  assert.match(p.message, /header but no data rows/);
});

Deno.test("a binary file is reported as not CSV instead of throwing", () => {
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
  const p = only(validate(png, EVENTS), ["error", "not_csv", "users", null, 0]);
  assert.match(p.message, /users\.csv is not a valid CSV file: .*NUL byte/);
});

Deno.test("an unterminated quote is reported as not CSV with its line", () => {
  const events = EVENTS.replace("7,4,2026-01-07 11:00:00,support_ticket", '7,4,"2026-01-07 11:00:00,support_ticket');
  const p = only(validate(USERS, events), ["error", "not_csv", "events", null, 0]);
  assert.deepEqual(firstExample(p), [7, 8, "Unterminated quoted field starting at line 8"]);
});

Deno.test("ragged rows are one error with their count and example lines", () => {
  const events = EVENTS.replace(
    "\n3,1,2026-01-05T08:50:00,quiz_attempt,c1,,80,\n",
    "\n3,1,2026-01-05T08:50:00,quiz_attempt,c1,,80,,x\n",
  )
    .replace("\n7,4,2026-01-07 11:00:00,support_ticket,,,,\n", "\n7,4,2026-01-07 11:00:00\n");
  const p = only(validate(USERS, events), ["error", "ragged_rows", "events", null, 2]);
  assert.deepEqual(p.examples.map((x) => [x.row, x.line]), [[3, 4], [7, 8]]);
  assert.equal(p.examples[1].value, "3 fields, expected 8: 7,4,2026-01-07 11:00:00");
  // A short users row is ragged, but its user is still known to the events.
  const users = USERS.replace("5,2026-01-05,paid,1,SG,community,1", "5,2026-01-05,paid");
  only(validate(users, EVENTS), ["error", "ragged_rows", "users", null, 1]);
});

Deno.test("a quoted field with an embedded newline is valid and later line numbers account for it", () => {
  const events = setField(EVENTS, 2, "course_id", '"Intro, part 1\nwith ""notes"""');
  assert.deepEqual(validate(USERS, events).problems, []);
  const broken = setField(setField(EVENTS, 4, "amount", ""), 2, "course_id", '"Intro, part 1\nwith ""notes"""');
  const p = only(validate(USERS, broken), [
    "error",
    "payment_amount",
    "events",
    "amount",
    1,
  ]);
  assert.deepEqual(firstExample(p), [4, 6, ""]);
});

Deno.test("a missing file is an error, and events are not all reported as unknown users", () => {
  const p = only(validate(null, EVENTS), ["error", "file_missing", "users", null, 0]);
  assert.equal(p.message, "users.csv does not exist");
  only(validate(USERS, null), ["error", "file_missing", "events", null, 0]);
});

Deno.test("a repeated header column is a warning and the first one is used", () => {
  const users = USERS.split("\n").map((l, i) => l && (i === 0 ? l + ",plan" : l + ",gold")).join("\n");
  only(validate(users, EVENTS), ["warning", "duplicate_column", "users", "plan", 0]);
});

Deno.test("examples are capped at maxExamples while every row is counted", () => {
  let users = USERS;
  for (const row of [1, 2, 3, 4, 5]) users = setField(users, row, "plan", "gold");
  const p = only(validate(users, EVENTS, { maxExamples: 2 }), ["error", "allowed_values", "users", "plan", 5]);
  assert.deepEqual(p.examples.map((x) => x.row), [1, 2]);
});

Deno.test("errors are listed before warnings and counted separately", () => {
  const events = setField(setField(EVENTS, 5, "event_time", "2027-01-01T00:00:00"), 1, "event_type", "nope");
  const report = validate(USERS, events);
  assert.deepEqual(summaries(report), [
    ["error", "allowed_values", "events", "event_type", 1],
    ["warning", "future_event", "events", "event_time", 1],
  ]);
  assert.deepEqual([report.ok, report.errors, report.warnings], [false, 1, 1]);
});

Deno.test("formatReport gives one line per problem with the column, row count and examples", () => {
  const report = validate(setField(USERS, 3, "plan", "gold"), contaminated(100, 1));
  const lines = formatReport(report);
  assert.equal(lines[0], "Data validation failed: 1 error, 1 warning.");
  assert.equal(lines[1], "  users.csv: 5 rows, 0.2 kB");
  assert.equal(
    lines[3],
    'ERROR allowed_values users.csv [plan]: plan is not free or paid (case and spaces ignored) in 1 row; e.g. row 3 (line 4): "gold"',
  );
  assert.match(lines[4], /^WARNING amount_contamination events\.csv \[amount\]: 1 of 100 .* in 1 row; e\.g\. row 1/);
  assert.equal(lines.length, 5);
  assert.equal(formatReport(validate(USERS, EVENTS))[0], "Data validation passed.");
});

Deno.test("invalid options are rejected with a RangeError naming the value", () => {
  assert.throws(() => new DataValidator({ maxExamples: -1 }), RangeError);
  assert.throws(() => new DataValidator({ maxAmountContamination: 1.5 }), /maxAmountContamination: 1\.5/);
  assert.throws(() => new DataValidator({ now: NaN }), RangeError);
});
