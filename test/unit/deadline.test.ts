import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { InvalidTimeoutError } from '../../src/errors.js';
import { requestBudgetMs } from '../../src/http/deadline.js';

const limits = { defaultMs: 3_000, maxMs: 60_000 };
const budget = (headers: Record<string, string>, query?: string): number =>
  requestBudgetMs(query, { headers } as unknown as IncomingMessage, limits);

describe('requestBudgetMs', () => {
  it.each([
    ['1H', 60_000],
    ['2M', 60_000],
    ['59S', 59_000],
    ['250m', 250],
    ['1500u', 2],
    ['1u', 1],
    ['99999999n', 100],
    ['1n', 1],
    ['00000007S', 7_000],
  ])('reads grpc-timeout %s as %i ms (capped, rounded up)', (value, ms) => {
    expect(budget({ 'grpc-timeout': value })).toBe(ms);
  });

  it.each(['', 'S', '123456789m', '1s', '1.5S', ' 1S', '1 S', '0n', '0S'])(
    'refuses grpc-timeout %j',
    (value) => {
      expect(() => budget({ 'grpc-timeout': value })).toThrow(InvalidTimeoutError);
    },
  );

  it('reads X-Envoy-Expected-Rq-Timeout-Ms as whole milliseconds', () => {
    expect(budget({ 'x-envoy-expected-rq-timeout-ms': '1234' })).toBe(1_234);
    for (const value of ['1s', '1.0', '', '0', '-3', '9'.repeat(16)]) {
      expect(() => budget({ 'x-envoy-expected-rq-timeout-ms': value }), value).toThrow(
        /X-Envoy-Expected-Rq-Timeout-Ms/,
      );
    }
  });

  it('takes the smallest source, the default without any, and the cap above it', () => {
    expect(budget({})).toBe(3_000);
    expect(budget({ 'request-timeout': '5s', 'grpc-timeout': '4S' }, '6s')).toBe(4_000);
    expect(
      budget({ 'request-timeout': '5s', 'x-envoy-expected-rq-timeout-ms': '4500' }, '2s'),
    ).toBe(2_000);
    expect(budget({ 'request-timeout': '10m' })).toBe(60_000);
  });

  it('names the source that is malformed, even when another would have been smaller', () => {
    expect(() => budget({ 'request-timeout': 'soon', 'grpc-timeout': '1S' })).toThrow(
      /Request-Timeout/,
    );
    expect(() => budget({}, 'x')).toThrow(/timeout parameter/);
  });
});
