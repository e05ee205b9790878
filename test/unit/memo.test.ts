import { describe, expect, it } from 'vitest';
import { memoizeByString } from '../../src/memo.js';

describe('memoizeByString', () => {
  it('computes each key once, remembering undefined results too', () => {
    const calls: string[] = [];
    const lengthOrUndefined = memoizeByString((key) => {
      calls.push(key);
      return key.length > 0 ? key.length : undefined;
    });
    expect([lengthOrUndefined('abc'), lengthOrUndefined(''), lengthOrUndefined('abc')]).toEqual([
      3,
      undefined,
      3,
    ]);
    expect(lengthOrUndefined('')).toBeUndefined();
    expect(calls).toEqual(['abc', '']);
  });

  it('stays correct and bounded when callers send ever-new keys', () => {
    let calls = 0;
    const upper = memoizeByString((key) => {
      calls += 1;
      return key.toUpperCase();
    }, 4);
    for (let i = 0; i < 10; i++) expect(upper(`k${i}`)).toBe(`K${i}`);
    // Ten distinct keys through a 4-entry cache: the last batch is still remembered.
    expect(upper('k9')).toBe('K9');
    expect(calls).toBe(10);
    // An evicted key is computed again, with the same answer.
    expect(upper('k0')).toBe('K0');
    expect(calls).toBe(11);
  });
});
