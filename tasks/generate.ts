/**
 * `generate`: writes the synthetic `users.csv` and `events.csv` (SPEC §2) into
 * the raw data folder.
 *
 * @module
 */

import { parseDate } from "../pipeline/dates.ts";
import { generateData, type GenerateOptions, type GenerateSummary } from "../pipeline/generate.ts";
import { numberFlag, stringFlag, type Task, type TaskContext, UsageError } from "./cli.ts";
import { atomicWrite, joinPath } from "./io.ts";

/** A sink that writes in the background while the generator fills its next buffer. */
export interface OverlappedSink {
  /** Copies the chunk, waits for the previous write, and starts writing the copy (usable as a `ByteSink`). */
  sink: (chunk: Uint8Array) => Promise<void>;
  /** Waits for the last write; rethrows its error. */
  drain: () => Promise<void>;
}

/**
 * Wraps an async `write` so that writing one chunk overlaps with producing the
 * next: each chunk is copied into one of two reusable buffers (the producer may
 * reuse its chunk right away) and at most one write is in flight.
 */
export function overlappedSink(write: (chunk: Uint8Array) => Promise<void>): OverlappedSink {
  const buffers = [new Uint8Array(0), new Uint8Array(0)];
  let which = 0;
  let pending: Promise<void> = Promise.resolve();
  return {
    sink: async (chunk) => {
      await pending;
      if (buffers[which].length < chunk.length) buffers[which] = new Uint8Array(chunk.length);
      const copy = buffers[which].subarray(0, chunk.length);
      copy.set(chunk);
      which ^= 1;
      pending = write(copy);
      // Marked as handled so a failure while the producer is busy is not an
      // unhandled rejection; the next sink call or drain() rethrows it.
      pending.catch(() => {});
    },
    drain: () => pending,
  };
}

function positiveInteger(ctx: TaskContext, flag: string, fallback: number): number {
  const v = numberFlag(ctx.flags, flag, fallback, true);
  if (v < 1 || !Number.isSafeInteger(v)) {
    throw new UsageError(`Invalid value for --${flag}: ${v} (expected an integer >= 1)`);
  }
  return v;
}

function share(ctx: TaskContext, flag: string, fallback: number): number {
  const v = numberFlag(ctx.flags, flag, fallback);
  if (v < 0 || v > 1) throw new UsageError(`Invalid value for --${flag}: ${v} (expected a number in [0, 1])`);
  return v;
}

/** Reads and checks the generator options from the flags, falling back on `config.generate`. */
function generateOptions(ctx: TaskContext): GenerateOptions {
  const g = ctx.config.generate;
  const startDate = stringFlag(ctx.flags, "start-date", g.start_date).trim();
  let start: number;
  try {
    start = parseDate(startDate);
  } catch {
    throw new UsageError(`Invalid value for --start-date: "${startDate}" (expected a date YYYY-MM-DD)`);
  }
  const seed = numberFlag(ctx.flags, "seed", g.seed, true);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`Invalid value for --seed: ${seed} (expected a safe integer)`);
  const options = {
    nUsers: positiveInteger(ctx, "n-users", g.n_users),
    days: positiveInteger(ctx, "days", g.days),
    startDate,
    seed,
    paidRatio: share(ctx, "paid-ratio", g.paid_ratio),
    churnBaseRate: share(ctx, "churn-base-rate", g.churn_base_rate),
  };
  if (options.days > 36_600) {
    throw new UsageError(`Invalid value for --days: ${options.days} (expected at most 36600, about a century)`);
  }
  if (start + options.days - 1 > parseDate("9999-12-31")) {
    throw new UsageError(
      `Invalid value for --start-date: ${startDate} (the ${options.days} days must end by 9999-12-31)`,
    );
  }
  return options;
}

/** `generate`: writes synthetic `users.csv` and `events.csv` (SPEC §2). */
export const generateTask: Task = {
  name: "generate",
  summary: "Generate synthetic users.csv and events.csv (same seed, same bytes)",
  flags: {
    "n-users": { type: "string", value: "N", description: "Number of users", default: "config generate.n_users" },
    days: {
      type: "string",
      value: "N",
      description: "Days of events from the start date",
      default: "config generate.days",
    },
    "start-date": {
      type: "string",
      value: "YYYY-MM-DD",
      description: "First day of events",
      default: "config generate.start_date",
    },
    seed: { type: "string", value: "N", description: "Random seed", default: "config generate.seed" },
    "paid-ratio": {
      type: "string",
      value: "P",
      description: "Share of users on the paid plan, in [0, 1]",
      default: "config generate.paid_ratio",
    },
    "churn-base-rate": {
      type: "string",
      value: "P",
      description: "Base churn rate of the churn model, in [0, 1]",
      default: "config generate.churn_base_rate",
    },
    "output-dir": {
      type: "string",
      value: "DIR",
      description: "Folder for users.csv and events.csv",
      default: "config paths.raw",
    },
  },
  run: async (ctx) => {
    const options = generateOptions(ctx);
    const dir = stringFlag(ctx.flags, "output-dir", ctx.config.paths.raw);
    if (dir.trim() === "") throw new UsageError(`Invalid value for --output-dir: "${dir}" (expected a folder path)`);
    const usersPath = joinPath(dir, "users.csv"), eventsPath = joinPath(dir, "events.csv");
    ctx.log(
      `Generating ${options.nUsers} users x ${options.days} days from ${options.startDate} (seed ${options.seed}) into ${dir}`,
    );
    const t0 = performance.now();
    let summary: GenerateSummary | undefined;
    await atomicWrite(usersPath, (writeUsers) =>
      atomicWrite(eventsPath, async (writeEvents) => {
        const users = overlappedSink(writeUsers), events = overlappedSink(writeEvents);
        try {
          summary = await generateData(options, { users: users.sink, events: events.sink });
        } finally {
          // Let in-flight writes settle before atomicWrite closes (or removes) the files.
          await Promise.allSettled([users.drain(), events.drain()]);
        }
        await users.drain();
        await events.drain();
      }));
    if (summary === undefined) throw new Error("Generator finished without a summary");
    const seconds = (performance.now() - t0) / 1000;
    const mb = (summary.usersBytes + summary.eventsBytes) / 1e6;
    ctx.log(
      `Wrote ${summary.users} users (${summary.paidUsers} paid, ${summary.churnedUsers} churned) to ${usersPath} and ` +
        `${summary.events} events to ${eventsPath}: ${mb.toFixed(1)} MB in ${seconds.toFixed(2)} s ` +
        `(${(mb / seconds).toFixed(0)} MB/s)`,
    );
    return 0;
  },
};
