/**
 * `deno task prepare`: raw CSV → users_clean, events_clean and user_daily
 * (Arrow IPC in `paths.processed`; `--csv` also writes CSV copies).
 *
 * @module
 */

import { ArrowStreamEncoder } from "../pipeline/arrow.ts";
import { CsvWriter } from "../pipeline/csv.ts";
import { formatDate } from "../pipeline/dates.ts";
import { buildUserDaily, type CleanUsers, EventsCleaner, UsersCleaner } from "../pipeline/prepare.ts";
import { CHUNK_ROWS, GRID_BATCHES_KEY, WHOLE_USERS, wholeUserBatchEnds } from "../pipeline/features.ts";
import { getColumn, integerRanges } from "../pipeline/table.ts";
import { stringFlag, type Task } from "./cli.ts";
import {
  atomicWrite,
  exists,
  joinPath,
  readCsvFile,
  writeArrowTable,
  writeCsvTable,
  writeJsonAtomic,
  writeTableCsv,
} from "./io.ts";

/** Summary of one prepare run. */
export interface PrepareSummary {
  /** Counts from cleaning users. */
  users: CleanUsers["stats"];
  /** Counts from cleaning events. */
  events: EventsCleaner["stats"];
  /** Grid counts. */
  user_daily: { rows: number; first_date: string | null; last_date: string | null; events_before_signup: number };
  /** Files written. */
  outputs: string[];
  /** Seconds taken. */
  seconds: number;
}

/** Options of {@link runPrepare}. */
export interface RunPrepareOptions {
  /** Also write CSV copies. */
  csv?: boolean;
  /** Progress lines. */
  log?: (message: string) => void;
  /** fsync the Arrow tables before their rename (default true; config `store.fsync_derived_tables`). */
  sync?: boolean;
}

/** Runs prepare from `inputDir` (users.csv, events.csv) into `outputDir`. */
export async function runPrepare(
  inputDir: string,
  outputDir: string,
  options: RunPrepareOptions = {},
): Promise<PrepareSummary> {
  const t0 = performance.now();
  const log = options.log ?? (() => {});
  const outputs: string[] = [];
  for (const name of ["users.csv", "events.csv"]) {
    if (!(await exists(joinPath(inputDir, name)))) {
      throw new Error(
        `Cannot read ${joinPath(inputDir, name)}: file not found (run "deno task generate" or add your export)`,
      );
    }
  }
  const usersCleaner = new UsersCleaner();
  await readCsvFile(joinPath(inputDir, "users.csv"), (r) => usersCleaner.push(r));
  const users = usersCleaner.finish();
  log(`users: ${users.stats.rows} rows, ${users.table.length} kept`);

  const eventsArrow = joinPath(outputDir, "events_clean.arrow");
  const eventsCsv = joinPath(outputDir, "events_clean.csv");
  let compact!: Awaited<ReturnType<EventsCleaner["finish"]>>;
  let cleaner!: EventsCleaner;
  const readEvents = async (csvWrite?: (chunk: Uint8Array) => Promise<void>) => {
    await atomicWrite(eventsArrow, async (write) => {
      const enc = new ArrowStreamEncoder();
      const csvWriter = csvWrite ? new CsvWriter(csvWrite) : null;
      let first = true;
      cleaner = new EventsCleaner(users, {
        onBatch: async (batch) => {
          for (const chunk of enc.encode(batch)) await write(chunk);
          if (csvWriter) {
            await writeTableCsv(batch, csvWriter, { header: first, close: false });
            first = false;
          }
        },
      });
      await readCsvFile(joinPath(inputDir, "events.csv"), (r) => cleaner.push(r), {
        afterChunk: async () => {
          if (cleaner.batchFull) await cleaner.flush();
        },
      });
      compact = await cleaner.finish();
      if (first) {
        // No rows: still write one empty batch so the file has its schema.
        await cleaner.flush();
      }
      for (const chunk of enc.finish()) await write(chunk);
      await csvWriter?.close();
    }, { sync: options.sync });
  };
  if (options.csv) await atomicWrite(eventsCsv, (csvWrite) => readEvents(csvWrite));
  else await readEvents();
  outputs.push(eventsArrow);
  if (options.csv) outputs.push(eventsCsv);
  log(`events: ${cleaner.stats.rows} rows, ${cleaner.stats.kept} kept`);

  const daily = buildUserDaily(users, compact);
  const tables = [["users_clean", users.table], ["user_daily", daily.table]] as const;
  for (const [name, table] of tables) {
    const path = joinPath(outputDir, `${name}.arrow`);
    // The value ranges let the feature steps store their sums as narrowly as the data allows;
    // record batches of whole users, one chunk each, let them read the grid without carrying
    // users over or cutting batches.
    const ends = name === "user_daily" ? wholeUserBatchEnds(getColumn(table, "user_id", "i32").data, CHUNK_ROWS) : null;
    await writeArrowTable(path, table, {
      sync: options.sync,
      ranges: integerRanges(table),
      batchEnds: ends ?? undefined,
      metadata: ends ? new Map([[GRID_BATCHES_KEY, WHOLE_USERS]]) : undefined,
    });
    outputs.push(path);
    if (options.csv) {
      await writeCsvTable(joinPath(outputDir, `${name}.csv`), table);
      outputs.push(joinPath(outputDir, `${name}.csv`));
    }
  }
  const s = daily.stats;
  const summary: PrepareSummary = {
    users: users.stats,
    events: cleaner.stats,
    user_daily: {
      rows: s.rows,
      first_date: s.firstDate === null ? null : formatDate(s.firstDate),
      last_date: s.lastDate === null ? null : formatDate(s.lastDate),
      events_before_signup: s.eventsBeforeSignup,
    },
    outputs,
    seconds: (performance.now() - t0) / 1000,
  };
  await writeJsonAtomic(joinPath(outputDir, "prepare_summary.json"), summary);
  log(`user_daily: ${s.rows} rows (${summary.user_daily.first_date} to ${summary.user_daily.last_date})`);
  return summary;
}

/** The `prepare` task. */
export const prepareTask: Task = {
  name: "prepare",
  summary: "Clean users and events and build the per-user daily grid (users_clean, events_clean, user_daily).",
  flags: {
    "input-dir": {
      type: "string",
      value: "DIR",
      description: "Folder with users.csv and events.csv",
      default: "config paths.raw",
    },
    "output-dir": {
      type: "string",
      value: "DIR",
      description: "Where to write the tables",
      default: "config paths.processed",
    },
    csv: { type: "boolean", description: "Also write each table as CSV" },
  },
  async run({ config, flags, log }) {
    const input = stringFlag(flags, "input-dir", config.paths.raw);
    const output = stringFlag(flags, "output-dir", config.paths.processed);
    const summary = await runPrepare(input, output, {
      csv: flags.csv === true,
      log,
      sync: config.store.fsync_derived_tables,
    });
    log(`done in ${summary.seconds.toFixed(2)} s → ${output}`);
    return 0;
  },
};
