import { describe, expect, it } from 'vitest';
import {
  canonicalHeaderName,
  replyHeadersToHttp,
  requestHeadersToNats,
} from '../../src/http/header-policy.js';

const canonical = { headerCase: 'canonical' as const, drop: new Set(['authorization']) };

describe('canonicalHeaderName', () => {
  it.each([
    ['x-request-id', 'X-Request-Id'],
    ['CONTENT-TYPE', 'Content-Type'],
    ['etag', 'Etag'],
    ['x--y', 'X--Y'],
  ])('%s → %s', (input, output) => {
    expect(canonicalHeaderName(input)).toBe(output);
  });
});

describe('requestHeadersToNats', () => {
  it('keeps order and repeats, drops what the policy names', () => {
    const raw = [
      'Host',
      'x',
      'x-a',
      '1',
      'Authorization',
      's',
      'X-A',
      '2',
      'Nats-Msg-Id',
      'n',
      'Proxy-Foo',
      'p',
    ];
    expect(requestHeadersToNats(raw, canonical)).toEqual([
      ['X-A', '1'],
      ['X-A', '2'],
    ]);
  });

  it('drops the headers that Connection names, in any case', () => {
    const raw = ['Connection', 'X-Hop, keep-alive', 'x-hop', 'gone', 'x-stay', 'here'];
    expect(requestHeadersToNats(raw, canonical)).toEqual([['X-Stay', 'here']]);
  });

  it('restores UTF-8 text from the Latin-1 reading Node gives, and keeps real Latin-1 as text', () => {
    const utf8 = Buffer.from('größe', 'utf8').toString('latin1');
    const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]).toString('latin1'); // "café" in ISO-8859-1
    expect(requestHeadersToNats(['x-u', utf8, 'x-l', latin1], canonical)).toEqual([
      ['X-U', 'größe'],
      ['X-L', 'café'],
    ]);
  });

  it('preserves spelling when asked', () => {
    expect(
      requestHeadersToNats(['x-MiXeD', 'v'], { headerCase: 'preserve', drop: new Set() }),
    ).toEqual([['x-MiXeD', 'v']]);
  });
});

describe('replyHeadersToHttp', () => {
  it('drops consumed, framing and invalid headers, keeps the rest in byte form', () => {
    const out = replyHeadersToHttp([
      ['Content-Length', '3'],
      ['Transfer-Encoding', 'chunked'],
      ['Status-Code', '201'],
      ['Nats-Service-Error', 'x'],
      ['X-Request-Id', 'forged'],
      ['Bad Name', 'x'],
      ['X-Nul', 'a\u0000'],
      ['X-Ok', 'ok'],
      ['X-Utf', 'ü'],
    ]);
    expect(out).toEqual([
      ['X-Ok', 'ok'],
      ['X-Utf', Buffer.from('ü', 'utf8').toString('latin1')],
    ]);
  });
});
