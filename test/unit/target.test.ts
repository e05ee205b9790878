import { describe, expect, it } from 'vitest';
import { InvalidTargetError } from '../../src/errors.js';
import { parseTargetString } from '../../src/http/target.js';

function parsed(raw: string, method = 'POST'): { path: string; query: string | undefined } {
  const target = parseTargetString(raw, method);
  if (target instanceof InvalidTargetError) throw target;
  return { path: target.path, query: target.query };
}

describe('parseTargetString', () => {
  it('keeps a plain origin-form target as it is, the query raw', () => {
    expect(parsed('/rr/orders.eu')).toEqual({ path: '/rr/orders.eu', query: undefined });
    expect(parsed('/rr/a?timeout=1s&x=%20')).toEqual({ path: '/rr/a', query: 'timeout=1s&x=%20' });
    expect(parsed('/rr/a?')).toEqual({ path: '/rr/a', query: '' });
  });

  it('takes the path and query of the absolute form and ignores its host', () => {
    expect(parsed('http://gw.example:8080/rr/hdrs?x=1')).toEqual({
      path: '/rr/hdrs',
      query: 'x=1',
    });
    expect(parsed('HTTPS://gw.example')).toEqual({ path: '/', query: undefined });
    expect(parsed('http://gw.example?x')).toEqual({ path: '/', query: 'x' });
  });

  it('decodes escapes of unreserved characters and upper-cases the others (RFC 3986 §6.2.2)', () => {
    expect(parsed('/rr/%65cho').path).toBe('/rr/echo');
    expect(parsed('/rr/a%2eb%7E').path).toBe('/rr/a.b~');
    expect(parsed('/rr/a%2fb%2a').path).toBe('/rr/a%2Fb%2A');
    expect(parsed('/rr/a%252E').path).toBe('/rr/a%252E');
  });

  it('removes dot segments, also spelled with escapes (RFC 3986 §5.2.4)', () => {
    expect(parsed('/rr/../metrics').path).toBe('/metrics');
    expect(parsed('/rr/./a').path).toBe('/rr/a');
    expect(parsed('/a/b/../../../c').path).toBe('/c');
    expect(parsed('/a/b/..').path).toBe('/a/');
    expect(parsed('/rr/%2E%2E/metrics').path).toBe('/metrics');
    expect(parsed('/rr/a..b/.x').path).toBe('/rr/a..b/.x');
  });

  it('accepts * for OPTIONS only', () => {
    expect(parseTargetString('*', 'OPTIONS')).toMatchObject({ asterisk: true });
    expect(parseTargetString('*', 'GET')).toBeInstanceOf(InvalidTargetError);
  });

  it.each([
    ['a backslash', '/rr/a\\b'],
    ['a bad escape', '/rr/a%ZZ'],
    ['a cut escape', '/rr/a%2'],
    ['a raw quote', '/rr/a"b'],
    ['a brace', '/rr/a{b}'],
    ['a pipe', '/rr/a|b'],
    ['non-ASCII', '/rr/caf\u00e9'],
    ['a fragment', '/rr/a#b'],
    ['no leading slash', 'rr/a'],
    ['an authority form', 'gw.example:443'],
    ['another scheme', 'ftp://gw.example/rr/a'],
    ['user information', 'http://user:pw@gw.example/rr/a'],
    ['a control character in the query', '/rr/a?x=\u0001'],
  ])('refuses %s', (_name, raw) => {
    expect(parseTargetString(raw, 'POST')).toBeInstanceOf(InvalidTargetError);
  });
});
