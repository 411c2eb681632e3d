// Structured JSON logs on stderr (stdout belongs to the protocol on stdio), secrets redacted.
import { writeSync } from 'node:fs';
import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths whose values never reach a log line, whatever logs them. */
export const REDACT_PATHS = [
  'password',
  'token',
  'secret',
  'authorization',
  'api_key',
  '*.password',
  '*.token',
  '*.secret',
  '*.authorization',
  '*.Authorization',
  '*.api_key',
  '*.access_token',
  '*.refresh_token',
  '*.client_secret',
  'headers.authorization',
  'req.headers.authorization',
];

export interface LoggerOptions {
  level: string;
  name?: string;
  /** Destination file descriptor; 2 (stderr) unless a test captures logs. */
  fd?: number;
  stream?: NodeJS.WritableStream;
}

/**
 * pino's isoTime formats a Date per line (2.7 us, the largest single cost of a call's log line);
 * the date and time up to the second change once a second, so only the milliseconds are formatted.
 */
let isoSecond = -1;
let isoPrefix = '';
export function isoTimestamp(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const ms = now - second * 1000;
  return `,"time":"${isoPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
}

/** Each logger's sibling for the per-call access line (same destination, no redaction pass). */
const accessLoggers = new WeakMap<Logger, Logger>();

/**
 * stderr, written once per turn of the event loop: lines logged while a call is answered are
 * written right after the answer has gone out (setImmediate), in one write(2), rather than in
 * front of it. Nothing waits on a timer or a thread, and whatever is pending is written
 * synchronously when the process exits (an uncaught exception included).
 */
export function deferredFdDestination(fd: number): pino.DestinationStream & { flushSync(): void } {
  let pending: string[] = [];
  let scheduled = false;
  const flushSync = (): void => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    try {
      writeSync(fd, text);
    } catch {
      // stderr is gone (the client closed it): there is no one left to read the line.
    }
  };
  process.once('exit', flushSync);
  return {
    write(line: string): void {
      pending.push(line);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flushSync);
      }
    },
    flushSync,
  };
}

export function createLogger(options: LoggerOptions): Logger {
  const dest = (options.stream ?? deferredFdDestination(options.fd ?? 2)) as pino.DestinationStream;
  const base = {
    level: options.level,
    name: options.name ?? 'shield-mcp',
    base: { pid: process.pid },
    timestamp: isoTimestamp,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  const logger = pino({ ...base, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, dest);
  accessLoggers.set(logger, pino(base, dest));
  return logger;
}

/**
 * The logger for the one line each tool call writes. That line has a fixed shape of non-secret
 * fields (trace id, tool, principal id, outcome, duration), so it skips the redaction pass, which
 * cost more than half of the line (7 of 12 us) on the hottest path in the server.
 */
export function accessLoggerOf(logger: Logger): Logger {
  return accessLoggers.get(logger) ?? logger;
}
