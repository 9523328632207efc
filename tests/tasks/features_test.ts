import assert from "node:assert/strict";
import { loadConfig } from "../../config/mod.ts";
import { parseCsvText } from "../../pipeline/csv.ts";
import { tableFromCsvText } from "../../pipeline/csv_table.ts";
import { GRID_BATCHES_KEY, USER_DAILY_SCHEMA, WHOLE_USERS, wholeUserBatchEnds } from "../../pipeline/features.ts";
import { type Column, concatTables, dictValue, integerRanges, sliceTable, type Table } from "../../pipeline/table.ts";
import { tableFromIPC } from "apache-arrow";
import {
  featuresTask,
  featureTablesTask,
  labelsTask,
  runFeatures,
  runFeatureTables,
  trainingSetTask,
} from "../../tasks/features.ts";
import { exists, readArrowTable, writeArrowTable } from "../../tasks/io.ts";

const FIXTURE = new URL("../fixtures/features/user_daily.csv", import.meta.url);

/** The conformance fixture's grid, read from its CSV. */
async function fixtureGrid(): Promise<Table> {
  return tableFromCsvText(await Deno.readTextFile(FIXTURE), USER_DAILY_SCHEMA as Record<string, Column["type"]>);
}

/** A folder with the fixture grid as user_daily.arrow: with its value ranges recorded, as `prepare` writes it, or without. */
async function gridDir(options: { ranges?: boolean; wholeUsers?: number } = {}): Promise<string> {
  const dir = await Deno.makeTempDir();
  const daily = await fixtureGrid();
  const uid = daily.columns.get("user_id") as { data: Int32Array };
  await writeArrowTable(`${dir}/user_daily.arrow`, daily, {
    ranges: options.ranges ? integerRanges(daily) : undefined,
    // Small record batches of whole users, said so in the schema (as prepare writes the grid).
    batchEnds: options.wholeUsers ? wholeUserBatchEnds(uid.data, options.wholeUsers)! : undefined,
    metadata: options.wholeUsers ? new Map([[GRID_BATCHES_KEY, WHOLE_USERS]]) : undefined,
  });
  return dir;
}

function values(c: Column): unknown[] {
  return c.type === "dict" ? [...c.codes].map((_, i) => dictValue(c, i)) : [...c.data];
}

Deno.test("the features, labels and training-set tasks write Arrow tables and CSV copies", async () => {
  const dir = await gridDir();
  const config = loadConfig({ env: "dev", file: null });
  const flags = { "input-dir": dir, "output-dir": `${dir}/out`, csv: true };
  for (const task of [featuresTask, labelsTask, trainingSetTask]) {
    assert.equal(await task.run({ config, flags, positionals: [], log: () => {} }), 0, task.name);
  }
  for (const name of ["user_features_daily", "labels_daily", "training_dataset"]) {
    const t = await readArrowTable(`${dir}/out/${name}.arrow`);
    const csv = parseCsvText(await Deno.readTextFile(`${dir}/out/${name}.csv`));
    assert.equal(csv.length - 1, t.length, name);
  }
  const training = await readArrowTable(`${dir}/out/training_dataset.arrow`);
  const summary = JSON.parse(await Deno.readTextFile(`${dir}/out/training_dataset_summary.json`));
  assert.equal(summary.rows, training.length);
  assert.equal(summary.population, "active");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runFeatures() gives the same table with the Wasm kernels and the TypeScript reference", async () => {
  const dir = await gridDir();
  await runFeatures(`${dir}/user_daily.arrow`, `${dir}/wasm`, { windows: [7, 14, 30], impl: "wasm" });
  await runFeatures(`${dir}/user_daily.arrow`, `${dir}/ts`, { windows: [7, 14, 30], impl: "typescript" });
  const a = await readArrowTable(`${dir}/wasm/user_features_daily.arrow`);
  const b = await readArrowTable(`${dir}/ts/user_features_daily.arrow`);
  assert.deepEqual([...a.columns.keys()], [...b.columns.keys()]);
  for (const [name, c] of a.columns) {
    const x = values(c), y = values(b.columns.get(name)!);
    x.forEach((v, i) => {
      const w = y[i];
      if (typeof v === "number" && typeof w === "number" && !Number.isNaN(v)) {
        assert.ok(Math.abs(v - w) <= 1e-9 * Math.max(1, Math.abs(w)), `${name}[${i}]`);
      } else assert.deepEqual(v, w, `${name}[${i}]`);
    });
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("featuresTask rejects a grid with a missing column or duplicate rows, naming the problem", async () => {
  const dir = await gridDir();
  const daily = await readArrowTable(`${dir}/user_daily.arrow`);
  const config = loadConfig({ env: "dev", file: null });
  const broken = { length: daily.length, columns: new Map([...daily.columns].filter(([n]) => n !== "total_events")) };
  await writeArrowTable(`${dir}/user_daily.arrow`, broken);
  await assert.rejects(
    () => runFeatures(`${dir}/user_daily.arrow`, `${dir}/out`, { windows: [7] }),
    /user_daily is missing column\(s\): total_events/,
  );
  await writeArrowTable(`${dir}/user_daily.arrow`, concatTables([sliceTable(daily, 0, 3), sliceTable(daily, 2, 10)]));
  await assert.rejects(
    () => runFeatures(`${dir}/user_daily.arrow`, `${dir}/out`, { windows: [7] }),
    /duplicate \(user_id, as_of_date\) rows/,
  );
  const code = await featuresTask.run({
    config,
    flags: { "input-dir": dir, "output-dir": `${dir}/out`, windows: "7,0" },
    positionals: [],
    log: () => {},
  })
    .catch((e) => e);
  assert.match(String(code), /Invalid value for --windows/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("features:all writes the same files as the features, labels and training-set tasks", async () => {
  for (const ranges of [false, true]) await sameFiles(await gridDir({ ranges }));
});

async function sameFiles(dir: string): Promise<void> {
  const config = loadConfig({ env: "dev", file: null });
  for (const population of ["active", "all"]) {
    const separate = { "input-dir": dir, "output-dir": `${dir}/separate`, csv: true, population };
    for (const task of [featuresTask, labelsTask, trainingSetTask]) {
      assert.equal(await task.run({ config, flags: separate, positionals: [], log: () => {} }), 0, task.name);
    }
    const lines: string[] = [];
    const fused = { "input-dir": dir, "output-dir": `${dir}/fused`, csv: true, population };
    assert.equal(await featureTablesTask.run({ config, flags: fused, positionals: [], log: (m) => lines.push(m) }), 0);
    assert.match(lines.join("\n"), /feature rows .* labelled rows .* training rows, churn rate/);
    for (const name of ["user_features_daily", "labels_daily", "training_dataset"]) {
      for (const ext of ["arrow", "csv"]) {
        const a = await Deno.readFile(`${dir}/separate/${name}.${ext}`);
        const b = await Deno.readFile(`${dir}/fused/${name}.${ext}`);
        assert.ok(
          a.length > 0 && a.length === b.length && a.every((v, i) => v === b[i]),
          `${population}: ${name}.${ext}`,
        );
      }
    }
    assert.deepEqual(
      JSON.parse(await Deno.readTextFile(`${dir}/fused/training_dataset_summary.json`)),
      JSON.parse(await Deno.readTextFile(`${dir}/separate/training_dataset_summary.json`)),
    );
  }
  await Deno.remove(dir, { recursive: true });
}

Deno.test("the feature tables are stored as narrowly as the grid's recorded ranges allow, with the same values", async () => {
  const plain = await gridDir(), ranged = await gridDir({ ranges: true });
  const config = loadConfig({ env: "dev", file: null });
  for (const dir of [plain, ranged]) {
    const flags = { "input-dir": dir, "output-dir": `${dir}/out` };
    assert.equal(await featureTablesTask.run({ config, flags, positionals: [], log: () => {} }), 0);
  }
  for (const name of ["user_features_daily", "labels_daily", "training_dataset"]) {
    const a = await Deno.readFile(`${plain}/out/${name}.arrow`), b = await Deno.readFile(`${ranged}/out/${name}.arrow`);
    assert.ok(b.length < a.length, `${name}: ${b.length} bytes with ranges, ${a.length} without`);
    const x = await readArrowTable(`${plain}/out/${name}.arrow`),
      y = await readArrowTable(`${ranged}/out/${name}.arrow`);
    assert.deepEqual([...y.columns.keys()], [...x.columns.keys()]);
    for (const [col, c] of x.columns) assert.deepEqual(values(y.columns.get(col)!), values(c), `${name}.${col}`);
  }
  const types = new Map(
    tableFromIPC(await Deno.readFile(`${ranged}/out/user_features_daily.arrow`)).schema.fields.map((f) => [
      f.name,
      String(f.type),
    ]),
  );
  assert.equal(types.get("active_days_7d"), "Int8");
  assert.equal(types.get("as_of_date"), "Date32<DAY>");
  assert.equal(types.get("watch_minutes_30d"), "Float64");
  for (const dir of [plain, ranged]) await Deno.remove(dir, { recursive: true });
});

Deno.test("a grid with a value outside the range its schema records is rejected, naming the value", async () => {
  const dir = await Deno.makeTempDir();
  const daily = await fixtureGrid();
  const ranges = integerRanges(daily);
  const [lo, hi] = ranges.get("logins_count")!;
  ranges.set("logins_count", [lo, hi - 1]);
  await writeArrowTable(`${dir}/user_daily.arrow`, daily, { ranges });
  const row = [...(daily.columns.get("logins_count") as { data: Int32Array }).data].indexOf(hi);
  const options = { windows: [7], windowDays: 30, population: "active" as const };
  const message = new RegExp(
    `column "logins_count" has value ${hi} at row ${row}, outside the range ${lo}\\.\\.${hi - 1}`,
  );
  await assert.rejects(() => runFeatureTables(`${dir}/user_daily.arrow`, `${dir}/out`, options), message);
  await assert.rejects(() => runFeatures(`${dir}/user_daily.arrow`, `${dir}/out`, options), message);
  assert.equal(await exists(`${dir}/out/user_features_daily.arrow`), false);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a grid in batches of whole users gives the same tables as one read with users carried over", async () => {
  const carried = await gridDir({ ranges: true }), whole = await gridDir({ ranges: true, wholeUsers: 70 });
  const config = loadConfig({ env: "dev", file: null });
  for (const dir of [carried, whole]) {
    const flags = { "input-dir": dir, "output-dir": `${dir}/out` };
    assert.equal(await featureTablesTask.run({ config, flags, positionals: [], log: () => {} }), 0);
  }
  for (const name of ["user_features_daily", "labels_daily", "training_dataset"]) {
    const x = await readArrowTable(`${carried}/out/${name}.arrow`),
      y = await readArrowTable(`${whole}/out/${name}.arrow`);
    assert.equal(y.length, x.length, name);
    for (const [col, c] of x.columns) {
      // Counts are exact; float sums and means may differ in the last bits with the chunking.
      const b = values(c);
      values(y.columns.get(col)!).forEach((v, i) => {
        const w = b[i];
        if (typeof v === "number" && typeof w === "number" && c.type === "f64" && !Number.isNaN(w)) {
          assert.ok(Math.abs(v - w) <= 1e-12 * Math.max(1, Math.abs(w)), `${name}.${col}[${i}]: ${v} vs ${w}`);
        } else assert.deepEqual(v, w, `${name}.${col}[${i}]`);
      });
    }
  }
  // A grid that says so but splits a user is an error, not a silently mis-aggregated user.
  const daily = await readArrowTable(`${whole}/user_daily.arrow`);
  await writeArrowTable(`${whole}/user_daily.arrow`, daily, {
    batchEnds: [5, daily.length],
    metadata: new Map([[GRID_BATCHES_KEY, WHOLE_USERS]]),
  });
  await assert.rejects(
    () => runFeatures(`${whole}/user_daily.arrow`, `${whole}/out2`, { windows: [7] }),
    /says its batches hold whole users, but user_id \d+ spans two batches/,
  );
  for (const dir of [carried, whole]) await Deno.remove(dir, { recursive: true });
});

Deno.test("a grid sorted within each record batch but not across them is rejected, naming the users", async () => {
  const dir = await Deno.makeTempDir();
  const daily = await fixtureGrid();
  const uid = (daily.columns.get("user_id") as { data: Int32Array }).data;
  const cut = uid.indexOf(uid[uid.length - 1]); // the last user's first row
  // The last user first, then the others: each batch is sorted, the grid is not.
  const swapped = concatTables([sliceTable(daily, cut, daily.length), sliceTable(daily, 0, cut)]);
  for (const wholeUsers of [false, true]) {
    await writeArrowTable(`${dir}/user_daily.arrow`, swapped, {
      batchEnds: [daily.length - cut, daily.length],
      metadata: wholeUsers ? new Map([[GRID_BATCHES_KEY, WHOLE_USERS]]) : undefined,
    });
    await assert.rejects(
      () => runFeatures(`${dir}/user_daily.arrow`, `${dir}/out`, { windows: [7] }),
      new RegExp(
        `not sorted by \\(user_id, as_of_date\\): user_id ${uid[0]} comes after user_id ${uid[uid.length - 1]}`,
      ),
      `whole users: ${wholeUsers}`,
    );
  }
  await Deno.remove(dir, { recursive: true });
});
