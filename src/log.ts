/** The gateway's structured logger: JSON lines on stdout, one per request plus lifecycle events. */
import { pino } from 'pino';
import type { Logger } from 'pino';

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level: string;
}

const SERVICE = 'nats-http-gateway';

interface Destination {
  write(line: string): boolean;
  flushSync(): void;
}

const destinations = new WeakMap<Logger, Destination>();

/**
 * A pino logger writing JSON lines with textual levels and pino's epoch-millisecond `time` (an ISO
 * string per line cost a visible share of the hot path). Writes are asynchronous (sonic-boom): lines
 * that pile up while a write is in flight go out together, instead of one blocking write per request.
 * Call {@link flushLogs} before exiting.
 */
export function createLogger({ level }: LoggerOptions): Logger {
  const destination = pino.destination({ dest: 1, sync: false });
  const logger = pino(
    {
      level,
      base: { service: SERVICE },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  destinations.set(logger, destination);
  return logger;
}

/** The fields of one access-log line. */
export interface AccessLogEntry {
  requestId: string;
  method: string;
  route: string;
  subject: string | undefined;
  status: number;
  durationMs: number;
}

/**
 * The per-request line, in the same shape and stream as `logger.info(entry, 'request')`, serialised
 * with one `JSON.stringify`: pino's generic serialiser was the largest single cost left on the hot path.
 */
export function createAccessLog(logger: Logger): (entry: AccessLogEntry) => void {
  const destination = destinations.get(logger);
  if (!destination) return (entry) => logger.info(entry, 'request');
  return function writeAccessLog(entry) {
    if (!logger.isLevelEnabled('info')) return;
    destination.write(
      `${JSON.stringify({
        level: 'info',
        time: Date.now(),
        service: SERVICE,
        requestId: entry.requestId,
        method: entry.method,
        route: entry.route,
        subject: entry.subject,
        status: entry.status,
        durationMs: entry.durationMs,
        msg: 'request',
      })}\n`,
    );
  };
}

/** Writes out whatever the logger still buffers; safe to call right before `process.exit`. */
export function flushLogs(logger: Logger): void {
  try {
    destinations.get(logger)?.flushSync();
  } catch {
    // Nothing buffered, or the stream is already closed.
  }
}
