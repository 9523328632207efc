import assert from "node:assert/strict";
import { parseCsvText } from "../../pipeline/csv.ts";
import { formatDate } from "../../pipeline/dates.ts";
import { getColumn, integerRanges } from "../../pipeline/table.ts";
import { readArrowSchema, readArrowTable } from "../../tasks/io.ts";
import { schemaRanges } from "../../pipeline/arrow.ts";
import { GRID_BATCHES_KEY, WHOLE_USERS } from "../../pipeline/features.ts";
import { prepareTask, runPrepare } from "../../tasks/prepare.ts";
import { validateRawFiles } from "../../tasks/validate.ts";
import { loadConfig } from "../../config/mod.ts";

const FIXTURE = new URL("../fixtures/python_export/", import.meta.url).pathname;

Deno.test("runPrepare() takes raw files exported by the Python original unchanged", async () => {
  const out = await Deno.makeTempDir();
  const report = await validateRawFiles(FIXTURE, { now: Date.parse("2026-11-26T00:00:00Z") });
  assert.equal(report.ok, true, JSON.stringify(report.problems));
  const summary = await runPrepare(FIXTURE, out);
  assert.equal(summary.events.kept, 8);
  const daily = await readArrowTable(`${out}/user_daily.arrow`);
  // Grid 2026-01-01..2026-01-03 for all three users (all signed up before).
  assert.equal(daily.length, 9);
  const dates = [...getColumn(daily, "as_of_date", "date").data].map(formatDate);
  assert.deepEqual(dates.slice(0, 3), ["2026-01-01", "2026-01-02", "2026-01-03"]);
  const watch = getColumn(daily, "watch_minutes_sum", "f64").data;
  assert.equal(watch[0], 39.480000000000004);
  const quiz = getColumn(daily, "quiz_avg_score", "f64").data;
  assert.equal(quiz[8], 88);
  assert.equal(getColumn(daily, "quiz_attempts_count", "i32").data[8], 2);
  const plan = getColumn(daily, "plan", "dict");
  assert.equal(plan.dictionary[plan.codes[8]], "paid");
  await Deno.remove(out, { recursive: true });
});

Deno.test("prepareTask writes Arrow tables and, with --csv, readable CSV copies", async () => {
  const out = await Deno.makeTempDir();
  const config = loadConfig({ env: "dev", file: null });
  const code = await prepareTask.run({
    config,
    flags: { "input-dir": FIXTURE, "output-dir": out, csv: true },
    positionals: [],
    log: () => {},
  });
  assert.equal(code, 0);
  for (const name of ["users_clean", "events_clean", "user_daily"]) {
    const table = await readArrowTable(`${out}/${name}.arrow`);
    const rows = parseCsvText(await Deno.readTextFile(`${out}/${name}.csv`));
    assert.equal(rows.length - 1, table.length, name);
    assert.deepEqual(rows[0], [...table.columns.keys()], name);
  }
  const events = parseCsvText(await Deno.readTextFile(`${out}/events_clean.csv`));
  assert.deepEqual(events[1].slice(0, 5), ["1", "1", "2026-01-01T01:03:00Z", "2026-01-01", "login"]);
  const leftovers = [...Deno.readDirSync(out)].filter((e) => e.name.includes(".tmp-"));
  assert.deepEqual(leftovers, []);
  const summary = JSON.parse(await Deno.readTextFile(`${out}/prepare_summary.json`));
  assert.equal(summary.user_daily.rows, 9);
  // The grid's schema records its value ranges, for the feature steps to size their columns.
  const daily = await readArrowTable(`${out}/user_daily.arrow`);
  const schema = readArrowSchema(`${out}/user_daily.arrow`);
  const ranges = schemaRanges(schema);
  assert.deepEqual(ranges, integerRanges(daily));
  assert.ok(ranges.has("logins_count") && ranges.has("as_of_date"));
  // ... and that its record batches hold whole users.
  assert.equal(schema.metadata.get(GRID_BATCHES_KEY), WHOLE_USERS);
  await Deno.remove(out, { recursive: true });
});

Deno.test("runPrepare() names the missing raw file", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(() => runPrepare(dir, `${dir}/out`), /Cannot read .*users\.csv: file not found/);
  await Deno.remove(dir, { recursive: true });
});
