import { describe, expect, it } from 'vitest';
import {
  parsePathTemplate,
  parseSubjectTemplate,
  renderSubject,
} from '../../src/config/templates.js';
import type { PathTemplate, SubjectTemplate } from '../../src/config/templates.js';

describe('parsePathTemplate', () => {
  it('reads parameters, constraints, shape and OpenAPI form', () => {
    const t = parsePathTemplate('/orders/:region/:id{[0-9]+}') as PathTemplate;
    expect(t.params).toEqual(['region', 'id']);
    expect(t.patterns).toEqual({ id: '[0-9]+' });
    expect(t.shapeKey).toBe('/orders/:/:');
    expect(t.openApiPath).toBe('/orders/{region}/{id}');
  });

  it('keeps shape and OpenAPI form whole when a constraint holds braces of its own', () => {
    const t = parsePathTemplate('/years/:year{[0-9]{4}}/report') as PathTemplate;
    expect(t.patterns).toEqual({ year: '[0-9]{4}' });
    expect(t.shapeKey).toBe('/years/:/report');
    expect(t.openApiPath).toBe('/years/{year}/report');
  });

  it.each([
    ['users/:id', "start with '/'"],
    ['/users/*', 'wildcards'],
    ['/users/:id/:id', 'twice'],
    ['/users/x:id', 'whole segment'],
    ['/users/:1d', "':name'"],
    ['/users/:id{[}', 'invalid regex'],
    ['/users?x', '?'],
    ['/%7Euser', 'plain path characters'],
    ['/a%2fb', 'plain path characters'],
    ['/x/./y', 'dot segments'],
    ['/x/../y', 'dot segments'],
    ['/caf\u00e9', 'plain path characters'],
    ['/a|b', 'plain path characters'],
  ])('refuses %j', (path, reason) => {
    expect(parsePathTemplate(path)).toContain(reason);
  });
});

describe('parseSubjectTemplate', () => {
  it('splits literal parts and names, and renders', () => {
    const t = parseSubjectTemplate('orders.{region}.upsert.{id}', [
      'region',
      'id',
    ]) as SubjectTemplate;
    expect(t.parts).toEqual(['orders.', '.upsert.', '']);
    expect(renderSubject(t, (n) => ({ region: 'eu', id: '42' })[n] as string)).toBe(
      'orders.eu.upsert.42',
    );
  });

  it('allows a placeholder inside a token', () => {
    const t = parseSubjectTemplate('users.user-{id}', ['id']) as SubjectTemplate;
    expect(renderSubject(t, () => '7')).toBe('users.user-7');
  });

  it.each([
    ['users.{uid}', ['id'], 'no matching path parameter'],
    ['users.{}', ['id'], 'not a parameter name'],
    ['users..{id}', ['id'], 'empty token'],
    ['users.*.{id}', ['id'], 'wildcards'],
    ['users.{id}.>', ['id'], 'wildcards'],
    ['users {id}', ['id'], 'printable ASCII'],
    ['users.{id', ['id'], 'unbalanced'],
    ['.{id}', ['id'], 'empty token'],
  ])('refuses %j', (subject, params, reason) => {
    expect(parseSubjectTemplate(subject, params)).toContain(reason);
  });
});
