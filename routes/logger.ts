/**
 * Structured logging for the service: one JSON object per line (or a short
 * text line with `logging.format: text`) on stderr, filtered by
 * `logging.level`. Lines are buffered and written together on a short timer
 * (or as soon as 64 KiB are waiting), so logging every request costs one write
 * per burst, not one per request; {@link Logger.flush} writes what is waiting
 * at once (shutdown calls it, so no line is lost). JSON lines are built
 * directly as text — the same text as `JSON.stringify` of
 * `{time, level, msg, ...fields}`. Secrets never reach a log line: callers
 * pass only the fields listed here.
 *
 * @module
 */

/** Log levels, least severe first (config `logging.level`). */
export type LogLevel = "DEBUG" | "INFO" | "WARNING" | "ERROR";

/** Line format (config `logging.format`). */
export type LogFormat = "json" | "text";

/** Values a log line may carry. */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

/** A structured logger. */
export interface Logger {
  /** Returns whether a line at `level` would be written. */
  enabled(level: LogLevel): boolean;
  /** Writes `message` with `fields` at `level` when the level is enabled. */
  log(level: LogLevel, message: string, fields?: LogFields): void;
  /** Writes out buffered lines now. */
  flush(): void;
}

const RANK: Record<LogLevel, number> = { DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40 };

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** The least severe level written (default `INFO`). */
  level?: LogLevel;
  /** `json` (default) or `text`. */
  format?: LogFormat;
  /** Receives each finished line without its newline (default: buffered writes to stderr). */
  write?: (line: string) => void;
  /** Returns the current time (default `new Date()`). */
  now?: () => Date;
}

/** Bytes (UTF-16 code units, near enough) of waiting lines that trigger an immediate write. */
const FLUSH_AT = 64 * 1024;

function stderrSink(): (line: string) => void {
  const encoder = new TextEncoder();
  let pending: string[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const text = pending.join("\n") + "\n";
    pending = [];
    size = 0;
    try {
      Deno.stderr.writeSync(encoder.encode(text));
    } catch {
      console.error(text.trimEnd());
    }
  };
  const sink = (line: string) => {
    pending.push(line);
    size += line.length + 1;
    if (size >= FLUSH_AT) flush();
    else if (timer === undefined) timer = setTimeout(flush, 0);
  };
  sink.flush = flush;
  return sink;
}

/** Keys that JSON.stringify of `{time, level, msg, ...fields}` would place or fill differently. */
const RESERVED_KEYS = new Set(["time", "level", "msg"]);
const ARRAY_INDEX = /^(?:0|[1-9]\d*)$/;
/** Field keys seen to be plain (neither reserved nor an array index), as JSON strings. */
const plainKeys = new Map<string, string>();

function keyJson(key: string): string | null {
  let json = plainKeys.get(key);
  if (json === undefined) {
    if (RESERVED_KEYS.has(key) || ARRAY_INDEX.test(key)) return null;
    json = JSON.stringify(key);
    if (plainKeys.size < 1000) plainKeys.set(key, json);
  }
  return json;
}

/** The JSON line: exactly `JSON.stringify({ time, level, msg: message, ...fields })`, built as text. */
function jsonLine(time: string, level: LogLevel, message: string, fields: LogFields): string {
  let line = `{"time":${JSON.stringify(time)},"level":${JSON.stringify(level)},"msg":${JSON.stringify(message)}`;
  const keys = Object.keys(fields);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const json = keyJson(k);
    if (json === null) return JSON.stringify({ time, level, msg: message, ...fields }); // key order or value differs
    const v = fields[k];
    if (v === undefined) continue;
    line += `,${json}:${JSON.stringify(v)}`;
  }
  return line + "}";
}

/** The current time as ISO-8601 text, formatted once per millisecond. */
function isoClock(): () => string {
  let last = NaN, text = "";
  return () => {
    const ms = Date.now();
    if (ms !== last) {
      last = ms;
      text = new Date(ms).toISOString();
    }
    return text;
  };
}

function textLine(time: string, level: LogLevel, message: string, fields: LogFields): string {
  const parts = [time, level.padEnd(7), message];
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) parts.push(`${k}=${v}`);
  return parts.join(" ");
}

/** Creates a logger that writes lines at `options.level` and above. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = RANK[options.level ?? "INFO"];
  const format = options.format ?? "json";
  const sink = options.write ?? stderrSink();
  const given = options.now;
  const time = given ? () => given().toISOString() : isoClock();
  return {
    enabled: (level) => RANK[level] >= min,
    log(level, message, fields = {}) {
      if (RANK[level] < min) return;
      sink(format === "json" ? jsonLine(time(), level, message, fields) : textLine(time(), level, message, fields));
    },
    flush() {
      (sink as { flush?: () => void }).flush?.();
    },
  };
}

/** A logger that writes nothing (for tests and benchmarks that do not look at logs). */
export function silentLogger(): Logger {
  return { enabled: () => false, log: () => {}, flush: () => {} };
}
