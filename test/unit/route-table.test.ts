/**
 * Regex constraints on path parameters match whole segments, whichever of Hono's routers the table
 * ends up with (a constraint with a capture group or one that can match nothing sends the whole
 * table to the trie router).
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { parsePathTemplate } from '../../src/config/templates.js';
import type { PathTemplate } from '../../src/config/templates.js';
import { RouteTable } from '../../src/http/route-table.js';
import type { RouteEntry } from '../../src/http/route-table.js';
import type { ForwardDeps } from '../../src/http/forward.js';
import { compileRoutes, mappedRoutes } from '../../src/http/routes.js';

function entry(source: string): RouteEntry {
  const template = parsePathTemplate(source) as PathTemplate;
  return {
    template: source,
    pattern: template.routerPattern,
    methods: ['GET'],
    kind: 'nats',
    handle: () => undefined,
  };
}

/** The template and parameters `path` is routed to, or `undefined`. */
function routed(table: RouteTable, path: string): [string, Record<string, string>] | undefined {
  const match = table.match('GET', path);
  return match.entry ? [match.entry.template, { ...match.params }] : undefined;
}

describe.each([
  ['on its own', []],
  ['beside a constraint with a capture group', ['/q/:q{(q)|z}']],
  ['beside a constraint that can match nothing', ['/c/:c{[0-9]{0,4}}']],
])('a constraint with a top-level alternative, %s', (_name, others) => {
  const table = new RouteTable([entry('/items/:id{[0-9]+|latest}'), ...others.map(entry)]);

  it('matches either alternative as the whole segment', () => {
    expect(routed(table, '/items/12')).toEqual(['/items/:id{[0-9]+|latest}', { id: '12' }]);
    expect(routed(table, '/items/latest')).toEqual(['/items/:id{[0-9]+|latest}', { id: 'latest' }]);
  });

  it('matches no segment that only starts or ends like one', () => {
    expect(routed(table, '/items/12abc')).toBeUndefined();
    expect(routed(table, '/items/xlatest')).toBeUndefined();
    expect(routed(table, '/items/12/extra')).toBeUndefined();
  });
});

it('groups each constraint in the pattern the router gets, and leaves the rest as written', () => {
  const template = parsePathTemplate('/a/:id{[0-9]+|latest}/b/:name') as PathTemplate;
  expect(template.routerPattern).toBe('/a/:id{(?:[0-9]+|latest)}/b/:name');
  expect(template.source).toBe('/a/:id{[0-9]+|latest}/b/:name');
});

describe('the route table the gateway builds from its config', () => {
  const config = parseConfig(
    `
routes:
  - { method: GET, path: '/items/:id{[0-9]+|latest}', subject: 'items.{id}' }
  - { method: GET, path: '/q/:q{(q)|z}', subject: 'q.{q}' }
  - { method: GET, path: '/named/:constructor/:toString', subject: 'named.{constructor}.{toString}' }
`,
    'test',
  );
  const deps = {} as unknown as ForwardDeps;
  const table = new RouteTable(mappedRoutes({ config, routes: compileRoutes(config), deps }));

  it('anchors each constraint to the whole segment', () => {
    expect(routed(table, '/items/12')?.[1]).toEqual({ id: '12' });
    expect(routed(table, '/items/12abc')).toBeUndefined();
    expect(routed(table, '/items/xlatest')).toBeUndefined();
  });

  it('gives parameters named like object properties no constraint of their own', () => {
    expect(routed(table, '/named/abc/def')).toEqual([
      '/named/:constructor/:toString',
      { constructor: 'abc', toString: 'def' },
    ]);
  });
});
