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

/** How long a log line may wait for others before they go to stdout together. */
const FLUSH_EVERY_MS = 10;
/** Pending bytes that are written at once, without waiting for the timer. */
const FLUSH_AT_CHARS = 64 * 1024;

/**
 * Collects log lines for up to {@link FLUSH_EVERY_MS} and hands them to sonic-boom as one string.
 * sonic-boom appends each line to its pending string and re-measures it, and each asynchronous write
 * is a trip through libuv's thread pool and back: batching keeps both to about a hundred per second
 * under any load. (CPU profiles blamed the per-turn writes for ~20 % of samples; alternated runs
 * showed no throughput difference, so that was the thread being descheduled mid-call, not CPU.)
 * Lines keep their order, and {@link flushLogs} writes out what is pending before an exit.
 */
class BatchedStdout implements Destination {
  readonly #sonic = pino.destination({ dest: 1, sync: false });
  #lines: string[] = [];
  #chars = 0;
  #timer: NodeJS.Timeout | undefined;

  write(line: string): boolean {
    this.#lines.push(line);
    this.#chars += line.length;
    if (this.#chars >= FLUSH_AT_CHARS) this.#flush();
    else this.#timer ??= setTimeout(this.#flush, FLUSH_EVERY_MS);
    return true;
  }

  flushSync(): void {
    this.#flush();
    this.#sonic.flushSync();
  }

  readonly #flush = (): void => {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#lines.length === 0) return;
    const batch = this.#lines.join('');
    this.#lines = [];
    this.#chars = 0;
    this.#sonic.write(batch);
  };
}

const destinations = new WeakMap<Logger, Destination>();

/**
 * A pino logger writing JSON lines with textual levels and pino's epoch-millisecond `time` (an ISO
 * string per line cost a visible share of the hot path). Lines go out asynchronously, batched over
 * a few milliseconds. Call {@link flushLogs} before exiting.
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
  /** The normalised path (target.ts); the raw target when it could not be parsed. */
  path: string;
  route: string;
  subject: string | undefined;
  clientIp: string;
  status: number;
  durationMs: number;
}

/**
 * The per-request line, in the same shape and stream as `logger.info(entry, 'request')`, written as
 * one template: pino's generic serialiser was the largest single cost left on the hot path.
 */
export function createAccessLog(logger: Logger): (entry: AccessLogEntry) => void {
  const destination = destinations.get(logger);
  if (!destination) return (entry) => logger.info(entry, 'request');
  // The constant head is serialised once; each line adds only what varies.
  const head = `{"level":"info","time":`;
  const fixed = `,"service":${JSON.stringify(SERVICE)},"pid":${process.pid},"requestId":`;
  return function writeAccessLog(entry) {
    // pino's numeric level (its default levels: info is 30, silent is Infinity), which costs less
    // than asking by name and still follows a change of level.
    if (logger.levelVal > INFO_LEVEL) return;
    const subject = entry.subject === undefined ? '' : `,"subject":${jsonString(entry.subject)}`;
    destination.write(
      `${head}${Date.now()}${fixed}${jsonString(entry.requestId)},"method":${jsonString(entry.method)},"path":${jsonString(entry.path)},"route":${jsonString(entry.route)}${subject},"clientIp":${jsonString(entry.clientIp)},"status":${entry.status},"durationMs":${entry.durationMs},"msg":"request"}\n`,
    );
  };
}

const INFO_LEVEL = 30;
// What JSON must escape, and DEL and everything past ASCII, which are left to JSON.stringify's rules.
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f-\uffff]/;

/**
 * A string as a JSON string. The values of an access-log line almost never need escaping, and a
 * test and a template cost less than half of what JSON.stringify does per call.
 */
export function jsonString(value: string): string {
  return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
}

/** Writes out whatever the logger still buffers; safe to call right before `process.exit`. */
export function flushLogs(logger: Logger): void {
  try {
    destinations.get(logger)?.flushSync();
  } catch {
    // Nothing buffered, or the stream is already closed.
  }
}
