import assert from "node:assert/strict";
import { tableFromCsvText } from "../../pipeline/csv_table.ts";
import {
  checkUserDaily,
  computeFeatures,
  computeFeatureTables,
  computeLabels,
  computeTrainingRows,
  featureStorage,
  trainingRowsInPlace,
  USER_DAILY_SCHEMA,
  UserChunker,
  wholeUserBatchEnds,
} from "../../pipeline/features.ts";
import {
  type Column,
  concatTables,
  getColumn,
  integerRanges,
  makeTable,
  sliceTable,
  type Table,
  takeRows,
} from "../../pipeline/table.ts";
import { prng } from "../helpers/prng.ts";

const FIXTURES = new URL("../fixtures/features/", import.meta.url);

function fixture(name: string, schema: Record<string, Column["type"]>): Table {
  return tableFromCsvText(Deno.readTextFileSync(new URL(name, FIXTURES)), schema);
}

function numbers(t: Table, name: string): number[] {
  const c = t.columns.get(name);
  assert.ok(c !== undefined, `column ${name}`);
  if (c.type === "dict") return [...c.codes];
  return [...c.data];
}

function close(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e)) {
      assert.ok(Number.isNaN(a), `${what}[${i}]: expected NaN, got ${a}`);
      continue;
    }
    const tol = 1e-9 * Math.max(1, Math.abs(e));
    assert.ok(Math.abs(a - e) <= tol, `${what}[${i}]: ${a} vs pandas ${e}`);
  }
}

const daily = fixture("user_daily.csv", USER_DAILY_SCHEMA as Record<string, Column["type"]>);

Deno.test("computeFeatures() matches the pandas formulas on the conformance fixture to 1e-9", () => {
  const expectedText = Deno.readTextFileSync(new URL("expected_features.csv", FIXTURES));
  const header = expectedText.slice(0, expectedText.indexOf("\n")).split(",");
  const schema: Record<string, Column["type"]> = {};
  for (const h of header) schema[h] = h === "as_of_date" ? "date" : "f64";
  const expected = tableFromCsvText(expectedText, schema);
  for (const impl of ["wasm", "typescript"] as const) {
    const { table } = computeFeatures(daily, { windows: [7, 14, 30], impl });
    for (const h of header) close(numbers(table, h), numbers(expected, h), `${impl} ${h}`);
  }
});

Deno.test("computeLabels() matches the pandas formulas on the conformance fixture exactly", () => {
  const expected = fixture("expected_labels.csv", {
    user_id: "i32",
    as_of_date: "date",
    future_active_days: "i32",
    churn_label: "i32",
    trailing_active_days: "i32",
  });
  for (const impl of ["wasm", "typescript"] as const) {
    const { table } = computeLabels(daily, { windowDays: 30, impl });
    for (const [name] of expected.columns) {
      assert.deepEqual(numbers(table, name), numbers(expected, name), `${impl} ${name}`);
    }
  }
});

Deno.test("computeLabels() refills the arrays of the table passed back as reuseTable, chunk by chunk", () => {
  const chunker = new UserChunker({ maxRows: 70 });
  const chunks = [...chunker.push(daily), ...chunker.finish()];
  assert.ok(chunks.length > 2);
  let reuse, reuseTable: Table | undefined;
  for (const [k, chunk] of chunks.entries()) {
    const expected = computeLabels(chunk, { windowDays: 30 }).table;
    const r = computeLabels(chunk, { windowDays: 30, reuse, reuseTable });
    if (reuseTable !== undefined) {
      assert.equal(
        getColumn(r.table, "user_id", "i32").data.buffer,
        getColumn(reuseTable, "user_id", "i32").data.buffer,
      );
    }
    for (const [name] of expected.columns) {
      assert.deepEqual(numbers(r.table, name), numbers(expected, name), `chunk ${k} ${name}`);
    }
    reuse = r.kernel;
    reuseTable = r.table;
  }
});

Deno.test("computeFeatures() accepts any list of windows and names the columns after them", () => {
  const { table } = computeFeatures(daily, { windows: [3, 10] });
  for (const name of ["logins_3d", "watch_minutes_10d", "quiz_avg_score_3d", "payment_fail_rate_10d"]) {
    assert.ok(table.columns.has(name), name);
  }
  assert.ok(!table.columns.has("logins_7d"));
  // payment_fail_rate uses the 30-day window when configured, else the largest.
  assert.ok(computeFeatures(daily, { windows: [30, 60] }).table.columns.has("payment_fail_rate_30d"));
});

Deno.test("checkUserDaily() rejects a missing column, unsorted rows, duplicates and gaps by name", () => {
  const without = {
    length: daily.length,
    columns: new Map([...daily.columns].filter(([n]) => n !== "quiz_avg_score")),
  };
  assert.throws(() => checkUserDaily(without), /user_daily is missing column\(s\): quiz_avg_score/);
  const n = daily.length;
  const swap = Int32Array.from({ length: n }, (_, i) => i === 3 ? 4 : i === 4 ? 3 : i);
  assert.throws(
    () => checkUserDaily(takeRows(daily, swap)),
    /user_daily is not sorted by \(user_id, as_of_date\) at rows 3 and 4/,
  );
  const dup = Int32Array.from({ length: n }, (_, i) => i === 4 ? 3 : i);
  assert.throws(() => checkUserDaily(takeRows(daily, dup)), /duplicate \(user_id, as_of_date\) rows at rows 3 and 4/);
  const gap = Int32Array.from({ length: n - 1 }, (_, i) => i < 5 ? i : i + 1);
  assert.throws(() => checkUserDaily(takeRows(daily, gap)), /skips days within a user at rows 4 and 5/);
  const userOrder = Int32Array.from({ length: n }, (_, i) => n - 1 - i);
  assert.throws(() => checkUserDaily(takeRows(daily, userOrder)), /not sorted/);
  assert.throws(() => computeFeatures(takeRows(daily, dup), { windows: [7] }), /duplicate/);
});

Deno.test("UserChunker cuts batches into chunks of whole users whatever the batch boundaries", () => {
  const uid = getColumn(daily, "user_id", "i32").data;
  for (const [batch, maxRows] of [[7, 50], [60, 13], [1, 1000], [250, 64], [daily.length, 30]]) {
    const chunker = new UserChunker({ maxRows });
    const chunks: Table[] = [];
    for (let s = 0; s < daily.length; s += batch) {
      chunks.push(...chunker.push(sliceTable(daily, s, Math.min(daily.length, s + batch))));
    }
    chunks.push(...chunker.finish());
    const joined = concatTables(chunks);
    assert.deepEqual(numbers(joined, "user_id"), [...uid], `batch ${batch}`);
    assert.deepEqual(numbers(joined, "watch_minutes_sum"), numbers(daily, "watch_minutes_sum"));
    for (const c of chunks) {
      const u = getColumn(c, "user_id", "i32").data;
      const first = uid.indexOf(u[0]), last = uid.lastIndexOf(u[u.length - 1]);
      assert.equal(last - first + 1, c.length, "a chunk holds whole users");
    }
  }
});

Deno.test("computeTrainingRows() is the join of features and labels, restricted to the active population", () => {
  const features = computeFeatures(daily, { windows: [7, 14, 30] }).table;
  const labels = computeLabels(daily, { windowDays: 30 }).table;
  const all = computeTrainingRows(daily, { windows: [7, 14, 30], windowDays: 30, population: "all" });
  assert.equal(all.table.length, labels.length);
  assert.equal(all.excluded, 0);
  assert.deepEqual(numbers(all.table, "churn_label"), numbers(labels, "churn_label"));
  assert.deepEqual(numbers(all.table, "future_active_days"), numbers(labels, "future_active_days"));
  // Feature values of a joined row are those of the same (user, date) in the features table.
  const key = (t: Table, i: number) => `${numbers(t, "user_id")[i]}|${numbers(t, "as_of_date")[i]}`;
  const at = new Map(Array.from({ length: features.length }, (_, i) => [key(features, i), i]));
  const watch = numbers(features, "watch_minutes_30d"), joined = numbers(all.table, "watch_minutes_30d");
  for (let i = 0; i < all.table.length; i++) assert.equal(joined[i], watch[at.get(key(all.table, i))!]);
  const active = computeTrainingRows(daily, { windows: [7, 14, 30], windowDays: 30, population: "active" });
  const trailing = numbers(labels, "trailing_active_days");
  assert.equal(active.table.length, trailing.filter((t) => t > 0).length);
  assert.equal(active.excluded, trailing.filter((t) => t === 0).length);
  assert.ok(active.excluded > 0, "the fixture has a never-active user");
  assert.ok(!active.table.columns.has("trailing_active_days"), "the population helper column is not a model input");
});

Deno.test("computeTrainingRows() gives the same rows chunk by chunk as on the whole grid", () => {
  const options = { windows: [7, 14, 30], windowDays: 30, population: "active" as const };
  const whole = computeTrainingRows(daily, options).table;
  const chunker = new UserChunker({ maxRows: 70 });
  const chunks = [...chunker.push(daily), ...chunker.finish()];
  assert.ok(chunks.length > 1);
  let reuse;
  const parts: Table[] = [];
  for (const c of chunks) {
    const r = computeTrainingRows(c, { ...options, reuse });
    reuse = r.kernels;
    parts.push(structuredClone(r.table));
  }
  const joined = concatTables(parts);
  for (const [name] of whole.columns) assert.deepEqual(numbers(joined, name), numbers(whole, name), name);
});

Deno.test("computeFeatureTables() and trainingRowsInPlace() give the tables of the separate steps, chunk by chunk", () => {
  for (const population of ["active", "all"] as const) {
    const options = { windows: [7, 14, 30], windowDays: 30, population };
    const chunker = new UserChunker({ maxRows: 70 });
    const chunks = [...chunker.push(daily), ...chunker.finish()];
    assert.ok(chunks.length > 1);
    let reuse;
    let excluded = 0, trainingRows = 0;
    for (const [k, chunk] of chunks.entries()) {
      // trainingRowsInPlace() compacts the chunk's own arrays: work on a copy.
      const r = computeFeatureTables(structuredClone(chunk), { ...options, reuse });
      reuse = r.reuse;
      excluded += r.excluded;
      const got = [structuredClone(r.features), structuredClone(r.labels), trainingRowsInPlace(r)];
      const separate = computeTrainingRows(chunk, options);
      const expected = [computeFeatures(chunk, options).table, computeLabels(chunk, options).table, separate.table];
      assert.equal(r.excluded, separate.excluded);
      trainingRows += got[2].length;
      got.forEach((t, i) => {
        assert.deepEqual([...t.columns.keys()], [...expected[i].columns.keys()]);
        for (const [name] of expected[i].columns) {
          assert.deepEqual(
            numbers(t, name),
            numbers(expected[i], name),
            `${population}, chunk ${k}, table ${i}, ${name}`,
          );
        }
      });
    }
    const whole = computeTrainingRows(daily, options);
    assert.equal(excluded, whole.excluded);
    assert.equal(trainingRows, whole.table.length);
  }
});

/** A well-formed random grid: `users` users of 1–90 days, counts up to `max` (some days at the maximum). */
function randomGrid(seed: number, options: { users: number; max: number }): Table {
  const rand = prng(seed);
  const cols: Record<string, number[]> = {};
  for (const name of Object.keys(USER_DAILY_SCHEMA)) cols[name] = [];
  const count = () => rand() < 0.2 ? options.max : Math.floor(rand() * (options.max + 1));
  for (let u = 0; u < options.users; u++) {
    const days = 1 + Math.floor(rand() * 90), start = 20000 + Math.floor(rand() * 30), signup = start - 5;
    for (let d = 0; d < days; d++) {
      const row: Record<string, number> = {
        user_id: 1000 + u * 37,
        as_of_date: start + d,
        signup_date: signup,
        plan: 0,
        is_paid: u % 2,
        country: 0,
        marketing_source: 0,
        logins_count: count(),
        enroll_count: count(),
        watch_minutes_sum: rand() * 100,
        quiz_attempts_count: count(),
        quiz_avg_score: rand() < 0.5 ? NaN : rand() * 100,
        payment_success_count: count(),
        payment_failed_count: count(),
        support_ticket_count: count(),
        days_since_signup: start + d - signup,
      };
      row.total_events = row.logins_count + row.enroll_count + row.quiz_attempts_count;
      row.is_active_day = row.total_events > 0 ? 1 : 0;
      for (const name of Object.keys(USER_DAILY_SCHEMA)) cols[name].push(row[name] ?? 0);
    }
  }
  const columns: [string, Column][] = Object.entries(USER_DAILY_SCHEMA).map(([name, type]) => {
    if (type === "f64") return [name, { type, data: Float64Array.from(cols[name]) }];
    if (type === "dict") return [name, { type, codes: Int32Array.from(cols[name]), dictionary: ["x"] }];
    return [name, { type: type as "i32" | "date", data: Int32Array.from(cols[name]) }];
  });
  return makeTable(columns);
}

Deno.test("featureStorage() widths hold every value the kernels compute, on random grids at their extremes", () => {
  let narrowed = 0;
  for (const [seed, max] of [[1, 1], [2, 4], [3, 9], [4, 60], [5, 1000], [6, 40000]]) {
    const grid = randomGrid(seed, { users: 40, max });
    const options = { windows: [1, 3, 7, 30, 200], windowDays: 30, population: "all" as const };
    const storage = featureStorage(integerRanges(grid), options);
    const tables = computeFeatureTables(structuredClone(grid), options);
    const check = (t: Table, widths: ReadonlyMap<string, number>, what: string) => {
      for (const [name, width] of widths) {
        const data = getColumn(t, name, "i32").data, hi = width === 8 ? 127 : 32767;
        for (let i = 0; i < data.length; i++) {
          assert.ok(
            data[i] >= -hi - 1 && data[i] <= hi,
            `max ${max}: ${what}.${name}[${i}] = ${data[i]} in Int${width}`,
          );
        }
        narrowed++;
      }
    };
    check(tables.features, storage.features, "features");
    check(tables.labels, storage.labels, "labels");
    check(trainingRowsInPlace(tables), storage.training, "training");
    if (max === 4) {
      // 4 a day: a 30-day sum fits Int8, a 200-day one needs Int16, user_id (1000+) needs Int16.
      assert.equal(storage.features.get("logins_30d"), 8);
      assert.equal(storage.features.get("logins_200d"), 16);
      assert.equal(storage.features.get("active_days_30d"), 8);
      assert.equal(storage.features.get("user_id"), 16);
      assert.equal(storage.labels.get("future_active_days"), 8);
      assert.equal(storage.training.get("churn_label"), 8);
    }
    if (max === 40000) assert.equal(storage.features.get("logins_7d"), undefined);
  }
  assert.ok(narrowed > 100);
});

Deno.test("computeFeatureTables() computes features straight into their featureStorage widths, same values", () => {
  const types = { 8: Int8Array, 16: Int16Array } as const;
  let narrow = 0;
  for (const [seed, max] of [[11, 1], [12, 9], [13, 1000]]) {
    const grid = randomGrid(seed, { users: 40, max });
    for (const population of ["active", "all"] as const) {
      const options = { windows: [1, 7, 30, 200], windowDays: 30, population };
      const widths = featureStorage(integerRanges(grid), options).features;
      const plain = computeFeatureTables(structuredClone(grid), options);
      const narrowed = computeFeatureTables(structuredClone(grid), { ...options, widths });
      const tables = [
        [plain.features, narrowed.features],
        [trainingRowsInPlace(plain), trainingRowsInPlace(narrowed)],
      ];
      for (const [i, [expected, got]] of tables.entries()) {
        for (const [name] of expected.columns) {
          assert.deepEqual(
            numbers(got, name),
            numbers(expected, name),
            `max ${max}, ${population}, table ${i}, ${name}`,
          );
        }
      }
      for (const [name, width] of widths) {
        if (name in USER_DAILY_SCHEMA) continue; // the grid's own columns are passed through as they are
        assert.ok(
          getColumn(narrowed.features, name, "i32").data instanceof types[width as 8 | 16],
          `${name} Int${width}`,
        );
        narrow++;
      }
    }
  }
  assert.ok(narrow > 20, `${narrow} narrow feature columns`);
});

Deno.test("featureStorage() without recorded ranges narrows only what the windows alone bound", () => {
  const s = featureStorage(new Map(), { windows: [7], windowDays: 30 });
  assert.deepEqual([...s.features], []);
  assert.deepEqual([...s.labels], [["future_active_days", 8], ["churn_label", 8], ["trailing_active_days", 8]]);
  assert.deepEqual([...s.training], [["future_active_days", 8], ["churn_label", 8]]);
  assert.equal(featureStorage(new Map(), { windows: [7], windowDays: 400 }).labels.get("future_active_days"), 16);
});

Deno.test("wholeUserBatchEnds() ends batches at user boundaries within the row limit", () => {
  const uid = Int32Array.from([1, 1, 1, 2, 2, 3, 3, 3, 3, 4]);
  assert.deepEqual(wholeUserBatchEnds(uid, 5), [5, 10]);
  assert.deepEqual(wholeUserBatchEnds(uid, 10), [10]);
  assert.deepEqual(wholeUserBatchEnds(uid, 4), [3, 5, 9, 10]);
  assert.equal(wholeUserBatchEnds(uid, 3), null); // user 3 has 4 rows
  assert.deepEqual(wholeUserBatchEnds(new Int32Array(0), 5), []);
  const rand = prng(5);
  for (let k = 0; k < 50; k++) {
    const ids = Int32Array.from({ length: 1 + Math.floor(rand() * 300) }, () => 0);
    for (let i = 1, u = 0; i < ids.length; i++) ids[i] = rand() < 0.1 ? ++u : u;
    const max = 1 + Math.floor(rand() * 60);
    const ends = wholeUserBatchEnds(ids, max);
    let longest = 1;
    for (let i = 1, run = 1; i < ids.length; i++) {
      longest = Math.max(longest, run = ids[i] === ids[i - 1] ? run + 1 : 1);
    }
    if (longest > max) {
      assert.equal(ends, null);
      continue;
    }
    assert.ok(ends !== null);
    let start = 0;
    for (const end of ends) {
      assert.ok(end - start <= max && end > start);
      assert.ok(end === ids.length || ids[end] !== ids[end - 1], `batch ends inside a user at ${end}`);
      start = end;
    }
    assert.equal(start, ids.length);
  }
});

Deno.test("UserChunker cuts batches of whole users at once, and rejects a user that spans two", () => {
  const chunker = new UserChunker({ maxRows: 50, wholeUsers: { name: "grid.arrow" } });
  const uid = getColumn(daily, "user_id", "i32").data;
  let start = 0, rows = 0, chunks = 0;
  for (const end of wholeUserBatchEnds(uid, 70)!) {
    for (const chunk of chunker.push(sliceTable(daily, start, end))) {
      // Each chunk is the next rows of the grid, whole users, at most 50 rows unless one user has more.
      const ids = getColumn(chunk, "user_id", "i32").data;
      assert.deepEqual([...ids], [...uid.subarray(rows, rows + chunk.length)]);
      assert.ok(chunk.length <= 50 || ids[0] === ids[ids.length - 1]);
      assert.ok(rows + chunk.length === uid.length || uid[rows + chunk.length] !== ids[ids.length - 1]);
      rows += chunk.length;
      chunks++;
    }
    start = end;
  }
  assert.equal(rows, daily.length);
  assert.ok(chunks > 1);
  assert.deepEqual(chunker.finish(), []);
  const split = new UserChunker({ wholeUsers: { name: "grid.arrow" } });
  split.push(sliceTable(daily, 0, 5));
  assert.throws(
    () => split.push(sliceTable(daily, 5, 10)),
    /grid\.arrow says its batches hold whole users, but user_id \d+ spans two batches/,
  );
});
