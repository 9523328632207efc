/**
 * The task framework: each task declares its flags once; `--help` text, flag
 * parsing and config loading come from that declaration.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type Config, ConfigError, loadConfig } from "../config/mod.ts";

/** One command-line flag of a task. */
export interface FlagSpec {
  /** `string` takes a value, `boolean` is a switch. */
  type: "string" | "boolean";
  /** One line of help. */
  description: string;
  /** Placeholder shown in help (e.g. `N`, `YYYY-MM-DD`). */
  value?: string;
  /** Where the default comes from, shown in help (e.g. `config generate.seed`). */
  default?: string;
}

/** Parsed flag values. */
export type FlagValues = Record<string, string | boolean | undefined>;

/** What a task receives. */
export interface TaskContext {
  /** The validated configuration. */
  config: Config;
  /** Parsed flags. */
  flags: FlagValues;
  /** Positional arguments. */
  positionals: string[];
  /** Writes a progress line to stderr. */
  log: (message: string) => void;
}

/** A task: a named step with its flags and its body; returns the exit code. */
export interface Task {
  /** The command name (`generate`, `prepare`…). */
  name: string;
  /** One-line summary. */
  summary: string;
  /** Positional arguments in help, e.g. `[version]`. */
  args?: string;
  /** Flags. */
  flags: Record<string, FlagSpec>;
  /** Runs the task and returns its exit code. */
  run: (ctx: TaskContext) => Promise<number>;
}

/** A command-line mistake (unknown flag, bad value); exit code 2. */
export class UsageError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Flags every task accepts. */
export const COMMON_FLAGS: Record<string, FlagSpec> = {
  config: {
    type: "string",
    value: "FILE",
    description: "Extra config file merged last (default: $CHURN_MLOPS_CONFIG)",
  },
  help: { type: "boolean", description: "Show this help" },
};

/** Returns the `--help` text of a task. */
export function taskHelp(task: Task): string {
  const lines = [
    `Usage: deno task ${task.name}${task.args ? " " + task.args : ""} [flags]`,
    "",
    task.summary,
    "",
    "Flags:",
  ];
  const all = { ...task.flags, ...COMMON_FLAGS };
  const left = Object.entries(all).map(([name, f]) => `  --${name}${f.value ? " " + f.value : ""}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  Object.values(all).forEach((f, i) => {
    lines.push(`${left[i].padEnd(width)}${f.description}${f.default ? ` (default: ${f.default})` : ""}`);
  });
  return lines.join("\n");
}

/** Returns the flag as a string, or `fallback` when absent. */
export function stringFlag(flags: FlagValues, name: string, fallback: string): string {
  const v = flags[name];
  return typeof v === "string" ? v : fallback;
}

/**
 * Returns the flag as a number, or `fallback` when absent.
 *
 * @throws {UsageError} when the value is not a number (or not an integer when `integer`).
 */
export function numberFlag(flags: FlagValues, name: string, fallback: number, integer = false): number {
  const v = flags[name];
  if (typeof v !== "string") return fallback;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || (integer && !Number.isInteger(n))) {
    throw new UsageError(`Invalid value for --${name}: "${v}" (expected ${integer ? "an integer" : "a number"})`);
  }
  return n;
}

/**
 * Parses `argv` for `task`, loads the config and runs it. Prints help for
 * `--help`. Returns the exit code: the task's own, 2 for a usage or config error.
 */
export async function runTask(task: Task, argv: string[]): Promise<number> {
  let flags: FlagValues, positionals: string[];
  try {
    const options: Record<string, { type: "string" | "boolean" }> = {};
    for (const [name, f] of Object.entries({ ...task.flags, ...COMMON_FLAGS })) options[name] = { type: f.type };
    const parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    flags = parsed.values as FlagValues;
    positionals = parsed.positionals;
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${taskHelp(task)}`);
    return 2;
  }
  if (flags.help) {
    console.log(taskHelp(task));
    return 0;
  }
  let config: Config;
  try {
    config = loadConfig({ file: typeof flags.config === "string" ? flags.config : undefined });
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      return 2;
    }
    throw e;
  }
  const log = (message: string) => console.error(`[${task.name}] ${message}`);
  try {
    return await task.run({ config, flags, positionals, log });
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${e.message}\n\nRun "deno task ${task.name} --help" for usage.`);
      return 2;
    }
    console.error(`[${task.name}] failed: ${(e as Error).message ?? e}`);
    if (Deno.env.get("CHURN_DEBUG")) console.error(e);
    return 1;
  }
}
