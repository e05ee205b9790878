/** The gateway's structured logger: JSON lines on stdout, one per request plus lifecycle events. */
import { pino } from 'pino';
import type { Logger } from 'pino';

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level: string;
}

/**
 * A pino logger writing JSON lines with ISO timestamps and textual levels. Writes are asynchronous
 * (sonic-boom): lines that pile up while a write is in flight go out together, instead of one
 * blocking write per request. Call {@link flushLogs} before exiting.
 */
export function createLogger({ level }: LoggerOptions): Logger {
  const destination = pino.destination({ dest: 1, sync: false });
  const logger = pino(
    {
      level,
      base: { service: 'nats-http-gateway' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  destinations.set(logger, destination);
  return logger;
}

const destinations = new WeakMap<Logger, { flushSync(): void }>();

/** Writes out whatever the logger still buffers; safe to call right before `process.exit`. */
export function flushLogs(logger: Logger): void {
  try {
    destinations.get(logger)?.flushSync();
  } catch {
    // Nothing buffered, or the stream is already closed.
  }
}
