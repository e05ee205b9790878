/** A gathered reply's JSON item, built as bytes, reads back exactly as JSON.stringify would write it. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { gatheredItemJson } from '../../src/http/gather.js';
import type { GatheredItem } from '../../src/http/gather.js';

const reply = (payload: Uint8Array, headers: Array<[string, string]> = []) => ({
  payload,
  headers,
});

describe('gatheredItemJson', () => {
  const texts = [
    '',
    'plain',
    '{"a": "quoted \\"value\\"", "path": "C:\\\\dir"}',
    'line\nbreak\ttab\rcr\bbs\fff',
    Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join('') + '\u007f',
    'ünïcödé, 漢字, emoji 🎉, separators \u2028 \u2029',
  ];

  it.each(texts)('writes UTF-8 body %j exactly as JSON.stringify does', (text) => {
    const bytes = gatheredItemJson(
      reply(Buffer.from(text), [
        ['X-A', '1'],
        ['X-A', '"2"'],
      ]),
    );
    const expected = JSON.stringify({
      status: 200,
      headers: { 'X-A': ['1', '"2"'] },
      body: text,
      encoding: 'utf8',
    });
    expect(bytes.toString('utf8')).toBe(expected);
  });

  it('keeps headers named like JavaScript object properties as headers', () => {
    const names = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'];
    const item = JSON.parse(
      gatheredItemJson(
        reply(
          Buffer.from('ok'),
          names.map((name, i) => [name, String(i)]),
        ),
      ).toString('utf8'),
    ) as GatheredItem;
    expect(item.status).toBe(200);
    expect(Object.entries(item.headers)).toEqual(names.map((name, i) => [name, [String(i)]]));
  });

  it('round-trips a megabyte of random printable and control characters', () => {
    const raw = randomBytes(1024 * 1024).map((b) => b & 0x7f);
    const item = JSON.parse(gatheredItemJson(reply(raw)).toString('utf8')) as GatheredItem;
    expect(item.encoding).toBe('utf8');
    expect(Buffer.from(item.body, 'utf8').equals(Buffer.from(raw))).toBe(true);
  });

  it('round-trips random text over all of Unicode', () => {
    for (let round = 0; round < 20; round++) {
      const points = Array.from({ length: 2000 }, () => {
        const p = Math.floor(Math.random() * 0x110000);
        return p >= 0xd800 && p <= 0xdfff ? 0x41 : p; // no lone surrogates: they are not UTF-8
      });
      const text = String.fromCodePoint(...points);
      const bytes = gatheredItemJson(reply(Buffer.from(text), [['X-Ü', 'ünï']]));
      expect(bytes.toString('utf8')).toBe(
        JSON.stringify({ status: 200, headers: { 'X-Ü': ['ünï'] }, body: text, encoding: 'utf8' }),
      );
    }
  });

  it('sends a body that is not UTF-8 as base64', () => {
    const raw = Uint8Array.from([0xff, 0xfe, 0x00, 0x41]);
    const item = JSON.parse(gatheredItemJson(reply(raw)).toString('utf8')) as GatheredItem;
    expect(item).toEqual({
      status: 200,
      headers: {},
      body: Buffer.from(raw).toString('base64'),
      encoding: 'base64',
    });
  });

  it('marks a reply whose header block could not be read as a 502 item', () => {
    const item = JSON.parse(
      gatheredItemJson({ ...reply(Buffer.from('x')), malformed: true }).toString('utf8'),
    ) as GatheredItem;
    expect(item).toEqual({ status: 502, headers: {}, body: '', encoding: 'utf8' });
  });
});
