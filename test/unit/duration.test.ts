import { describe, expect, it } from 'vitest';
import { parseDurationMs } from '../../src/duration.js';

describe('parseDurationMs', () => {
  it.each([
    ['250ms', 250],
    ['5s', 5_000],
    ['1.5s', 1_500],
    ['1m', 60_000],
    ['2h', 7_200_000],
    ['1500', 1_500],
    [' 30s ', 30_000],
    ['0', 0],
    [750, 750],
  ] as const)('reads %j as %i ms', (input, ms) => {
    expect(parseDurationMs(input)).toBe(ms);
  });

  it.each(['', 'soon', '5 s', '-5', '-5s', '1.5.2s', '5sec', '1e3', 'Infinity', '5S', '.5s'])(
    'refuses %j',
    (input) => {
      expect(parseDurationMs(input)).toBeUndefined();
    },
  );

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses the number %d', (input) => {
    expect(parseDurationMs(input)).toBeUndefined();
  });

  it('refuses durations past safe integers', () => {
    expect(parseDurationMs('9'.repeat(30))).toBeUndefined();
  });
});
