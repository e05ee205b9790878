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

/**
 * Collects log lines for one event-loop turn and hands them to sonic-boom as one string. sonic-boom
 * appends each line to its pending string and measures it again, which under load allocated more than
 * everything else in the process together; one write per turn also keeps every line in order.
 */
class BatchedStdout implements Destination {
  readonly #sonic = pino.destination({ dest: 1, sync: false });
  #lines: string[] = [];
  #scheduled = false;

  write(line: string): boolean {
    this.#lines.push(line);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
    return true;
  }

  flushSync(): void {
    this.#flush();
    this.#sonic.flushSync();
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    if (this.#lines.length === 0) return;
    const batch = this.#lines.join('');
    this.#lines = [];
    this.#sonic.write(batch);
  };
}

const destinations = new WeakMap<Logger, Destination>();

/**
 * A pino logger writing JSON lines with textual levels and pino's epoch-millisecond `time` (an ISO
 * string per line cost a visible share of the hot path). Lines go out asynchronously, batched per
 * event-loop turn. Call {@link flushLogs} before exiting.
 */
export function createLogger({ level }: LoggerOptions): Logger {
  const destination = new BatchedStdout();
  const logger = pino(
    {
      level,
      base: { service: SERVICE, pid: process.pid },
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
  clientIp: string;
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
  // The constant head is serialised once; each line adds only what varies.
  const head = `{"level":"info","time":`;
  const fixed = `,"service":${JSON.stringify(SERVICE)},"pid":${process.pid},"requestId":`;
  return function writeAccessLog(entry) {
    if (!logger.isLevelEnabled('info')) return;
    const subject =
      entry.subject === undefined ? '' : `,"subject":${JSON.stringify(entry.subject)}`;
    destination.write(
      `${head}${Date.now()}${fixed}${JSON.stringify(entry.requestId)},"method":${JSON.stringify(entry.method)},"route":${JSON.stringify(entry.route)}${subject},"clientIp":${JSON.stringify(entry.clientIp)},"status":${entry.status},"durationMs":${entry.durationMs},"msg":"request"}\n`,
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
