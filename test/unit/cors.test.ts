/** Which CORS headers an answer carries, by configuration and by the caller's Origin. */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { Exchange } from '../../src/http/context.js';
import { createCors } from '../../src/http/cors.js';

function headersFor(corsYaml: string, origin: string | undefined): Array<[string, string]> {
  const cors = createCors(parseConfig(`http: { cors: ${corsYaml} }`, 'test').http.cors)!;
  const exchange = {
    incoming: { method: 'GET', headers: origin === undefined ? {} : { origin } },
    extraHeaders: [],
  } as unknown as Exchange;
  expect(cors(exchange)).toBe(false);
  return exchange.extraHeaders;
}

describe('CORS headers on answers', () => {
  it('with origins [*] and no credentials: * on every answer, Origin or not, and no Vary', () => {
    for (const origin of [undefined, 'https://any.example']) {
      const headers = headersFor("{ origins: ['*'] }", origin);
      expect(headers).toContainEqual(['Access-Control-Allow-Origin', '*']);
      expect(headers.filter(([name]) => name === 'Vary')).toEqual([]);
    }
  });

  it('with named origins: the origin for an allowed one, Vary: Origin for every answer', () => {
    const allowed = headersFor("{ origins: ['https://app.example'] }", 'https://app.example');
    expect(allowed).toContainEqual(['Access-Control-Allow-Origin', 'https://app.example']);
    expect(allowed).toContainEqual(['Vary', 'Origin']);
    for (const origin of [undefined, 'https://evil.example']) {
      const other = headersFor("{ origins: ['https://app.example'] }", origin);
      expect(other).toEqual([['Vary', 'Origin']]);
    }
  });
});
