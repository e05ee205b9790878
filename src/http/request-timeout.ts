/** The timeout a caller asks for, with `?timeout=` or `Request-Timeout`, bounded by the operator's cap. */
import { parseDurationMs } from '../duration.js';
import { InvalidTimeoutError } from '../errors.js';

/** Options for {@link requestTimeoutMs}. */
export interface TimeoutLimits {
  defaultMs: number;
  maxMs: number;
}

/**
 * The effective timeout in ms: the query parameter wins over the header, both fall back to the
 * default, and anything larger than the cap is lowered to it. Zero, negative or unparsable → 400.
 */
export function requestTimeoutMs(
  fromQuery: string | undefined,
  fromHeader: string | undefined,
  limits: TimeoutLimits,
): number {
  const asked = fromQuery ?? fromHeader;
  if (asked === undefined) return limits.defaultMs;
  const ms = parseDurationMs(asked);
  if (ms === undefined) {
    throw new InvalidTimeoutError(
      `'${asked.slice(0, 32)}' is not a duration (use 250ms, 5s, 1m or whole milliseconds)`,
    );
  }
  if (ms <= 0) throw new InvalidTimeoutError('the timeout must be greater than zero');
  return Math.min(ms, limits.maxMs);
}
