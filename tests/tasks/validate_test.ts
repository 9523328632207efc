import assert from "node:assert/strict";
import { loadConfig } from "../../config/mod.ts";
import type { ValidationReport } from "../../pipeline/validate.ts";
import { validateRawFiles, validateTask } from "../../tasks/validate.ts";

const FIXTURES = new URL("../fixtures/validate/", import.meta.url);
const USERS = Deno.readTextFileSync(new URL("users.csv", FIXTURES));
const EVENTS = Deno.readTextFileSync(new URL("events.csv", FIXTURES));
const config = loadConfig({ env: "dev", file: null });

interface Run {
  code: number;
  report: ValidationReport;
  logs: string[];
  outputs: string[];
}

/** Writes the given raw files into a fresh folder, runs the task on it and reads back the report. */
async function runOn(files: Record<string, string>): Promise<Run> {
  const root = await Deno.makeTempDir({ prefix: "validate_test_" });
  try {
    const raw = `${root}/raw`;
    await Deno.mkdir(raw);
    for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${raw}/${name}`, text);
    const reportPath = `${root}/reports/data_validation_report.json`;
    const logs: string[] = [];
    const code = await validateTask.run({
      config,
      flags: { "input-dir": raw, report: reportPath },
      positionals: [],
      log: (m) => logs.push(m),
    });
    const report = JSON.parse(await Deno.readTextFile(reportPath)) as ValidationReport;
    const outputs: string[] = [];
    for await (const e of Deno.readDir(`${root}/reports`)) outputs.push(e.name);
    for await (const e of Deno.readDir(raw)) outputs.push(`raw/${e.name}`);
    return { code, report, logs, outputs: outputs.sort() };
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("the validate task exits 0 on valid files and writes an ok report and nothing else", async () => {
  const run = await runOn({ "users.csv": USERS, "events.csv": EVENTS });
  assert.equal(run.code, 0);
  assert.equal(run.report.ok, true);
  assert.equal(run.report.errors, 0);
  assert.equal(run.report.files.users.rows, 5);
  assert.equal(run.report.files.events.rows, 8);
  assert.match(run.report.files.events.path ?? "", /raw\/events\.csv$/);
  assert.deepEqual(run.outputs, ["data_validation_report.json", "raw/events.csv", "raw/users.csv"]);
  assert.ok(run.logs.some((l) => l.startsWith("Data validation passed")), run.logs.join("\n"));
});

Deno.test("the validate task exits 1 on bad files, listing every problem in the report and the log", async () => {
  const users = USERS.replace("3,2026-01-03, Paid ,1", "3,2026-01-03,gold,1");
  const events = EVENTS.replace("6,3,", "6,99,").replace("7,4,", "6,4,");
  const run = await runOn({ "users.csv": users, "events.csv": events });
  assert.equal(run.code, 1);
  assert.equal(run.report.ok, false);
  assert.deepEqual(run.report.problems.map((p) => [p.rule, p.file, p.column, p.rows, p.examples[0].row]), [
    ["allowed_values", "users", "plan", 1, 3],
    ["unique", "events", "event_id", 1, 7],
    ["unknown_user", "events", "user_id", 1, 6],
  ]);
  assert.ok(run.logs.some((l) => l.startsWith("Data validation failed: 3 errors")), run.logs.join("\n"));
  assert.ok(run.logs.some((l) => l.startsWith("ERROR unknown_user events.csv [user_id]")), run.logs.join("\n"));
});

Deno.test("a missing events.csv is reported in the report, not thrown", async () => {
  const run = await runOn({ "users.csv": USERS });
  assert.equal(run.code, 1);
  assert.deepEqual(run.report.problems.map((p) => [p.severity, p.rule, p.file]), [["error", "file_missing", "events"]]);
  assert.equal(run.report.files.users.rows, 5);
  assert.deepEqual(run.outputs, ["data_validation_report.json", "raw/users.csv"]);
});

Deno.test("a binary users.csv and an empty events.csv are reported, not thrown", async () => {
  const root = await Deno.makeTempDir({ prefix: "validate_test_" });
  try {
    await Deno.writeFile(`${root}/users.csv`, new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 8]));
    await Deno.writeFile(`${root}/events.csv`, new Uint8Array(0));
    const report = await validateRawFiles(root, { now: Date.UTC(2026, 5, 1) });
    assert.deepEqual(report.problems.map((p) => [p.rule, p.file]), [["not_csv", "users"], ["empty_file", "events"]]);
    assert.equal(report.files.users.bytes, 8);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
