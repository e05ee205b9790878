/**
 * Durations as operators and callers write them: `250ms`, `5s`, `1m`, `1h`, or whole milliseconds.
 * One parser serves the YAML config and the per-request `timeout`, so both accept the same forms.
 */

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const WHOLE_MS = /^\d+$/;

/** Longest delay a Node timer honours; larger values fire after about 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Parses a duration to whole milliseconds, or returns `undefined` when the text is not one.
 * Zero is returned as 0; callers decide whether zero is acceptable.
 */
export function parseDurationMs(input: string | number): number | undefined {
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  }
  const text = input.trim();
  if (WHOLE_MS.test(text)) return safeMs(Number(text));
  const match = DURATION.exec(text);
  if (!match) return undefined;
  const [, amount, unit] = match as unknown as [string, string, keyof typeof UNIT_MS];
  return safeMs(Math.round(Number(amount) * UNIT_MS[unit]));
}

function safeMs(ms: number): number | undefined {
  return Number.isSafeInteger(ms) ? ms : undefined;
}
