/** The NATS header block the gateway writes: one line per value, spelled and ordered as listed. */
import { describe, expect, it } from 'vitest';
import { encodeHeaderBlock } from '../../src/nats/headers.js';

const decoded = (list: Array<[string, string]>): string =>
  Buffer.from(encodeHeaderBlock(list) ?? new Uint8Array(0)).toString('utf8');

describe('encodeHeaderBlock', () => {
  it('writes each value on a line of its own, in order, repeats kept', () => {
    expect(
      decoded([
        ['X-A', '1'],
        ['x-b', 'two words'],
        ['X-A', '3'],
      ]),
    ).toBe('NATS/1.0\r\nX-A: 1\r\nx-b: two words\r\nX-A: 3\r\n\r\n');
    expect(encodeHeaderBlock([])).toBeUndefined();
  });

  it('drops the spaces and tabs around a value, and nothing else', () => {
    expect(decoded([['X-Ows', ' \t padded \t ']])).toBe('NATS/1.0\r\nX-Ows: padded\r\n\r\n');
    // Unicode spaces are content: a non-breaking space, a line separator, an ideographic space.
    for (const value of ['a\u00a0', '\u2028b', '\u3000c\u3000']) {
      expect(decoded([['X-Text', value]])).toBe(`NATS/1.0\r\nX-Text: ${value}\r\n\r\n`);
    }
  });

  it('refuses a value with CR or LF and a name NATS cannot carry', () => {
    expect(() => encodeHeaderBlock([['X-Split', 'a\r\nX-Injected: 1']])).toThrow(/CR or LF/);
    expect(() => encodeHeaderBlock([['Bad:Name', 'v']])).toThrow(/not a valid NATS header name/);
    expect(() => encodeHeaderBlock([['', 'v']])).toThrow(/empty/);
  });
});
