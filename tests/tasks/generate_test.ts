import assert from "node:assert/strict";
import { loadConfig } from "../../config/mod.ts";
import { type FlagValues, type TaskContext, taskHelp, UsageError } from "../../tasks/cli.ts";
import { generateTask, overlappedSink } from "../../tasks/generate.ts";
import { readCsvFile } from "../../tasks/io.ts";

const config = loadConfig({ env: "dev", file: null });

function context(flags: FlagValues, logs: string[], raw = config.paths.raw): TaskContext {
  return { config: { ...config, paths: { ...config.paths, raw } }, flags, positionals: [], log: (m) => logs.push(m) };
}

interface CsvSummary {
  header: string[];
  rows: number;
  firstColumn: number[];
}

async function readSummary(path: string): Promise<CsvSummary> {
  const out: CsvSummary = { header: [], rows: 0, firstColumn: [] };
  await readCsvFile(path, (r) => {
    if (r.index === 0) out.header = Array.from({ length: r.count }, (_, i) => r.text(i));
    else {
      out.rows++;
      out.firstColumn.push(r.number(0));
    }
  });
  return out;
}

Deno.test("generateTask writes users.csv and events.csv that parse, and logs a summary", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const logs: string[] = [];
    const flags = { "n-users": "40", days: "45", "start-date": "2026-03-01", seed: "7", "output-dir": `${dir}/raw` };
    assert.equal(await generateTask.run(context(flags, logs)), 0);
    const users = await readSummary(`${dir}/raw/users.csv`);
    const events = await readSummary(`${dir}/raw/events.csv`);
    assert.equal(users.header.join(","), "user_id,signup_date,plan,is_paid,country,marketing_source,engagement_score");
    assert.equal(
      events.header.join(","),
      "event_id,user_id,event_time,event_type,course_id,watch_minutes,quiz_score,amount",
    );
    assert.deepEqual(users.firstColumn, Array.from({ length: 40 }, (_, i) => i + 1));
    assert.ok(events.rows > 100, `${events.rows} events`);
    assert.deepEqual(events.firstColumn, Array.from({ length: events.rows }, (_, i) => i + 1));
    // Only the two files: no temporary files left behind.
    const names = [];
    for await (const entry of Deno.readDir(`${dir}/raw`)) names.push(entry.name);
    assert.deepEqual(names.sort(), ["events.csv", "users.csv"]);
    const summary = logs.at(-1) ?? "";
    assert.match(summary, new RegExp(`40 users .* ${events.rows} events`));
    assert.match(summary, /MB in [\d.]+ s \(\d+ MB\/s\)/);

    // The same flags give the same bytes.
    const first = await Deno.readFile(`${dir}/raw/events.csv`);
    assert.equal(await generateTask.run(context(flags, [])), 0);
    assert.deepEqual(await Deno.readFile(`${dir}/raw/events.csv`), first);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generateTask takes its defaults from the config, the output folder from paths.raw", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const logs: string[] = [];
    // Only the size is overridden, to keep the test fast.
    assert.equal(await generateTask.run(context({ "n-users": "5", days: "10" }, logs, dir)), 0);
    const users = await readSummary(`${dir}/users.csv`);
    assert.equal(users.rows, 5);
    assert.match(logs[0], new RegExp(`from ${config.generate.start_date} \\(seed ${config.generate.seed}\\)`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("generateTask rejects bad flag values with a usage error naming the flag", async () => {
  const cases: [FlagValues, RegExp][] = [
    [{ "n-users": "0" }, /--n-users/],
    [{ "n-users": "2.5" }, /--n-users/],
    [{ days: "-3" }, /--days/],
    [{ days: "100000" }, /--days/],
    [{ "start-date": "2026-13-01" }, /--start-date/],
    [{ "start-date": "9999-12-01" }, /--start-date/],
    [{ seed: "abc" }, /--seed/],
    [{ "paid-ratio": "1.5" }, /--paid-ratio/],
    [{ "churn-base-rate": "-0.1" }, /--churn-base-rate/],
    [{ "output-dir": " " }, /--output-dir/],
  ];
  for (const [flags, message] of cases) {
    await assert.rejects(generateTask.run(context(flags, [])), (e: Error) => {
      assert.ok(e instanceof UsageError, `${JSON.stringify(flags)} gave ${e}`);
      assert.match(e.message, message);
      return true;
    });
  }
});

Deno.test("generateTask --help lists every flag", () => {
  const help = taskHelp(generateTask);
  for (const flag of ["n-users", "days", "start-date", "seed", "paid-ratio", "churn-base-rate", "output-dir"]) {
    assert.match(help, new RegExp(`--${flag} `), `--${flag} missing from help`);
    assert.ok(flag in generateTask.flags);
  }
  assert.match(help, /config generate\.n_users/);
  assert.match(help, /config paths\.raw/);
});

Deno.test("overlappedSink() writes every chunk in order even when the producer reuses its buffer", async () => {
  const written: number[][] = [];
  let inFlight = 0, maxInFlight = 0;
  const { sink, drain } = overlappedSink(async (chunk) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 1));
    written.push([...chunk]);
    inFlight--;
  });
  const buffer = new Uint8Array(4);
  for (let i = 0; i < 6; i++) {
    buffer.fill(i);
    await sink(buffer.subarray(0, 1 + (i % 4)));
  }
  await drain();
  assert.deepEqual(written, [[0], [1, 1], [2, 2, 2], [3, 3, 3, 3], [4], [5, 5]]);
  assert.equal(maxInFlight, 1);
});

Deno.test("overlappedSink() passes a failed write on to the next call", async () => {
  const { sink, drain } = overlappedSink(() => Promise.reject(new Error("Disk full")));
  await sink(new Uint8Array([1]));
  await assert.rejects(sink(new Uint8Array([2])), /Disk full/);
  const second = overlappedSink(() => Promise.reject(new Error("Disk full")));
  await second.sink(new Uint8Array([1]));
  await assert.rejects(second.drain(), /Disk full/);
  await assert.rejects(drain(), /Disk full/);
});
