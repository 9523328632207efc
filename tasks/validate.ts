/**
 * `deno task validate`: the validation gate (SPEC §3). Streams `users.csv` then
 * `events.csv` through the {@link DataValidator}, writes the JSON report
 * atomically (in every case), prints a summary to stderr and exits with 1 when
 * there is any error. It writes nothing else.
 *
 * @module
 */

import { CsvParseError, type CsvRecord } from "../pipeline/csv.ts";
import { type DataFile, DataValidator, formatReport, type ValidationReport } from "../pipeline/validate.ts";
import { stringFlag, type Task, type TaskContext } from "./cli.ts";
import { joinPath, readCsvFile, writeJsonAtomic } from "./io.ts";

/** Options of {@link validateRawFiles}. */
export interface ValidateRawFilesOptions {
  /** The current time in epoch milliseconds (default `Date.now()`); later events are warned about. */
  now?: number;
  /** Examples kept per problem (default 5). */
  maxExamples?: number;
  /** Largest allowed share of non-payment events carrying an amount (default 0.02). */
  maxAmountContamination?: number;
  /** Progress messages (default: none). */
  log?: (message: string) => void;
}

/** Returns whether an error means the file cannot be read as CSV (a problem to report, not a crash). */
function isFileProblem(e: unknown): e is Error {
  return e instanceof CsvParseError || e instanceof Deno.errors.NotFound ||
    e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.IsADirectory ||
    e instanceof Deno.errors.InvalidData;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

/**
 * Validates `users.csv` and `events.csv` in `inputDir` in one streaming pass
 * each and returns the report. A missing, unreadable or non-CSV file is a
 * problem in the report, not an exception.
 */
export async function validateRawFiles(
  inputDir: string,
  options: ValidateRawFilesOptions = {},
): Promise<ValidationReport> {
  const validator = new DataValidator(options);
  const inputs: [DataFile, (r: CsvRecord) => void][] = [["users", validator.users], ["events", validator.events]];
  for (const [file, onRecord] of inputs) {
    const path = joinPath(inputDir, `${file}.csv`);
    const started = performance.now();
    try {
      const bytes = await readCsvFile(path, onRecord);
      validator.endFile(file, { path, bytes });
      const seconds = (performance.now() - started) / 1000;
      const speed = seconds >= 0.1 ? ` (${(bytes / 1e6 / seconds).toFixed(0)} MB/s)` : "";
      options.log?.(`${path}: ${(bytes / 1e6).toFixed(1)} MB checked in ${seconds.toFixed(2)} s${speed}`);
    } catch (e) {
      if (!isFileProblem(e)) throw e;
      validator.fileError(file, e, { path, bytes: await fileSize(path) });
    }
  }
  return validator.finish();
}

async function runValidate(ctx: TaskContext): Promise<number> {
  const { config, flags, log } = ctx;
  const inputDir = stringFlag(flags, "input-dir", config.paths.raw);
  const reportPath = stringFlag(flags, "report", joinPath(config.paths.reports, "data_validation_report.json"));
  const report = await validateRawFiles(inputDir, {
    maxExamples: config.validation.max_examples,
    maxAmountContamination: config.validation.max_amount_contamination,
    log,
  });
  await writeJsonAtomic(reportPath, report);
  for (const line of formatReport(report)) log(line);
  log(`Report written to ${reportPath}`);
  return report.ok ? 0 : 1;
}

/** The `validate` task: checks the raw files against the input contract. */
export const validateTask: Task = {
  name: "validate",
  summary: "Check raw users.csv and events.csv against the input contract and write a validation report",
  flags: {
    "input-dir": {
      type: "string",
      value: "DIR",
      description: "Folder holding users.csv and events.csv",
      default: "config paths.raw",
    },
    report: {
      type: "string",
      value: "FILE",
      description: "Where to write the JSON validation report",
      default: "<config paths.reports>/data_validation_report.json",
    },
  },
  run: runValidate,
};
