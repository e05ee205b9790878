/** The access log's string quoting: the same JSON as JSON.stringify for every input, cheaper when nothing needs escaping. */
import { describe, expect, it } from 'vitest';
import { jsonString } from '../../src/log.js';

describe('jsonString', () => {
  const values = [
    '',
    '/rr/orders.create',
    'a "quoted" path',
    'back\\slash',
    'line\nbreak\r\ttab',
    '\u0000\u0001\u001f',
    'del\u007f',
    'naïve ünïcödé',
    '\u2028\u2029',
    'emoji 😀',
    'lone \ud800 surrogate',
    'trailing \udc00',
    '</script>',
    "it's",
  ];

  it.each(values)('quotes %j exactly as JSON.stringify does', (value) => {
    expect(jsonString(value)).toBe(JSON.stringify(value));
    expect(JSON.parse(jsonString(value))).toBe(value);
  });

  it('quotes every single UTF-16 code unit as JSON.stringify does', () => {
    for (let code = 0; code <= 0xffff; code++) {
      const value = `a${String.fromCharCode(code)}b`;
      if (jsonString(value) !== JSON.stringify(value)) {
        expect.fail(`code unit ${code.toString(16)} quoted differently`);
      }
    }
  });
});
