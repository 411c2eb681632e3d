// Structured JSON logs on stderr (stdout belongs to the protocol on stdio), secrets redacted.
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

export function createLogger(options: LoggerOptions): Logger {
  const dest = options.stream ?? pino.destination({ fd: options.fd ?? 2, sync: true });
  return pino(
    {
      level: options.level,
      name: options.name ?? 'shield-mcp',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    dest as pino.DestinationStream,
  );
}
