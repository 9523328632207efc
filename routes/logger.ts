/**
 * Structured logging for the service: one JSON object per line (or a short
 * text line with `logging.format: text`) on stderr, filtered by
 * `logging.level`. Lines are buffered and written once per event-loop turn, so
 * logging every request costs one write per burst, not one per request.
 * Secrets never reach a log line: callers pass only the fields listed here.
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

function stderrSink(): (line: string) => void {
  const encoder = new TextEncoder();
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join("\n") + "\n";
    pending = [];
    try {
      Deno.stderr.writeSync(encoder.encode(text));
    } catch {
      console.error(text.trimEnd());
    }
  };
  const sink = (line: string) => {
    pending.push(line);
    if (pending.length >= 256) flush();
    else if (!scheduled) {
      scheduled = true;
      setTimeout(flush, 0);
    }
  };
  sink.flush = flush;
  return sink;
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
  const now = options.now ?? (() => new Date());
  return {
    enabled: (level) => RANK[level] >= min,
    log(level, message, fields = {}) {
      if (RANK[level] < min) return;
      const time = now().toISOString();
      sink(
        format === "json"
          ? JSON.stringify({ time, level, msg: message, ...fields })
          : textLine(time, level, message, fields),
      );
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
