/** The gateway's structured logger: JSON lines on stdout, one per request plus lifecycle events. */
import { pino } from 'pino';
import type { Logger } from 'pino';

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level: string;
}

/** A pino logger writing JSON lines with ISO timestamps and textual levels. */
export function createLogger({ level }: LoggerOptions): Logger {
  return pino({
    level,
    base: { service: 'nats-http-gateway' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // Credentials must never reach the logs, even if a future field carries them.
    redact: { paths: ['*.authorization', '*.cookie', '*.pass', '*.token'], censor: '[redacted]' },
  });
}
