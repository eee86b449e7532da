// Structured JSON logs, one object a line. Anything that looks like a credential is redacted
// by key name before it is written, wherever it sits in the record; callers never log headers.
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
}

const SECRET_KEY = /authorization|cookie|token|secret|password|passwd|api[-_]?key|^key$|credential|session/i;
export const REDACTED = '[redacted]';

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? REDACTED : redact(v, depth + 1);
  return out;
}

// One write of the finished line (console.log formats its arguments first); Deno has no process.
const proc = (globalThis as { process?: { stdout?: { write(s: string): unknown } } }).process;
const writeLine: (line: string) => void = proc?.stdout
  ? (line) => proc.stdout?.write(`${line}\n`)
  : (line) => console.log(line);

export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = writeLine,
  base: LogFields = {},
): Logger {
  const min = LOG_LEVELS.indexOf(level);
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (LOG_LEVELS.indexOf(lvl) < min) return;
    const record = redact({ time: new Date().toISOString(), level: lvl, msg, ...base, ...fields });
    write(JSON.stringify(record));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(level, write, { ...base, ...fields }),
  };
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
