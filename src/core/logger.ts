/**
 * A small leveled logger. Library code takes a `Logger`; only this module writes to stderr.
 * Messages often quote what peers and registries sent, so every line is escaped for the
 * terminal (no ESC sequences, carriage returns or bidi overrides from the network).
 * @module
 */
import { escapeTerminal } from "./text.ts";

/** Log levels, most severe first */
export type LogLevel = "error" | "warn" | "info" | "debug";
const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** A scoped logger */
export interface Logger {
  /** Log at error level */
  error(message: string): void;
  /** Log at warn level */
  warn(message: string): void;
  /** Log at info level */
  info(message: string): void;
  /** Log at debug level */
  debug(message: string): void;
  /** Log at a given level */
  log(level: LogLevel, message: string): void;
  /** True when lines of this level are written */
  isEnabled(level: LogLevel): boolean;
  /** A logger for a component, named after it */
  child(name: string): Logger;
}

/** Options for {@link createLogger} */
export interface LoggerInit {
  /** Log level. @default "info" */
  level?: LogLevel;
  /** Human-readable name. @default "ggen" */
  name?: string;
  /** Where lines go. @default stderr */
  sink?: (line: string) => void;
}

const encoder = new TextEncoder();
function stderrSink(line: string): void {
  try {
    Deno.stderr.writeSync(encoder.encode(line + "\n"));
  } catch {
    // stderr closed: nothing useful to do
  }
}

/** Create a logger that writes `ggen:<name> level message` lines */
export function createLogger(init: LoggerInit = {}): Logger {
  const level = init.level ?? "info";
  const name = init.name ?? "ggen";
  const sink = init.sink ?? stderrSink;
  const isEnabled = (l: LogLevel) => RANK[l] <= RANK[level];
  const log = (l: LogLevel, message: string) => {
    if (!isEnabled(l)) return;
    const safe = message.split("\n").map(escapeTerminal).join("\n");
    sink(l === "info" ? safe : `${name} ${l}: ${safe}`);
  };
  return {
    error: (m) => log("error", m),
    warn: (m) => log("warn", m),
    info: (m) => log("info", m),
    debug: (m) => log("debug", m),
    log,
    isEnabled,
    child: (child) => createLogger({ level, name: `${name}:${child}`, sink }),
  };
}

/** A logger that drops everything */
export const silentLogger: Logger = createLogger({ level: "error", sink: () => {} });
