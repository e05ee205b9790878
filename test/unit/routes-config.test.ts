import { describe, expect, it } from 'vitest';
import { effectivePolicy } from '../../src/config/effective.js';
import { parseConfig } from '../../src/config/load.js';
import { RESERVED_PATHS } from '../../src/config/route-checks.js';
import { DOCS_PATHS } from '../../src/http/docs.js';
import { ConfigError } from '../../src/errors.js';
import { compileRoutes, emptyParameterIn } from '../../src/http/routes.js';

function issuesOf(yaml: string): string[] {
  try {
    parseConfig(yaml, 'routes.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

const route = (lines: string): string => `routes:\n${lines}`;

describe('route validation', () => {
  it('accepts methods as one, a list or ANY, case-insensitively', () => {
    const config = parseConfig(
      route(
        '  - { method: get, path: /a/:id, subject: "a.{id}" }\n  - { method: [POST, put], path: /b, subject: b }\n  - { method: ANY, path: /c, subject: c }\n',
      ),
      'x',
    );
    expect(config.routes.map((r) => r.method)).toEqual([['GET'], ['POST', 'PUT'], ['ANY']]);
  });

  it('names the route by index, method and path, with the file line', () => {
    const issues = issuesOf(
      route('  - method: GET\n    path: /users/:id\n    subject: users.get.{uid}\n'),
    );
    expect(issues).toEqual([
      "routes.0.subject: route #0 (GET /users/:id): placeholder '{uid}' has no matching path parameter (the path has :id) (line 4)",
    ]);
  });

  it('refuses a subject template that can never be valid', () => {
    expect(
      issuesOf(route('  - { method: GET, path: /x/:id, subject: "x.*.{id}" }\n'))[0],
    ).toContain('can never be a valid subject');
  });

  it('refuses two routes with the same method and path shape', () => {
    const issues = issuesOf(
      route(
        '  - { method: GET, path: /u/:id, subject: "a.{id}" }\n  - { method: [POST, GET], path: /u/:uid, subject: "b.{uid}" }\n',
      ),
    );
    expect(issues[0]).toContain(
      'routes.1.path: route #1 (POST,GET /u/:uid): duplicates route #0 for GET',
    );
  });

  it('treats ANY as overlapping every method', () => {
    const issues = issuesOf(
      route(
        '  - { method: ANY, path: /u, subject: a }\n  - { method: DELETE, path: /u, subject: b }\n',
      ),
    );
    expect(issues[0]).toContain('duplicates route #0');
  });

  it('allows different methods on one path', () => {
    expect(() =>
      parseConfig(
        route(
          '  - { method: GET, path: /u, subject: a }\n  - { method: POST, path: /u, subject: b }\n',
        ),
        'x',
      ),
    ).not.toThrow();
  });

  it('refuses reserved paths, timeouts over the cap, the inbox prefix, HEAD and unknown keys', () => {
    expect(issuesOf(route('  - { method: GET, path: /healthz, subject: a }\n'))[0]).toContain(
      "'/healthz' is the gateway's own endpoint",
    );
    expect(
      issuesOf(route('  - { method: GET, path: /a, subject: a, timeout: 1h }\n'))[0],
    ).toContain('requests.maxTimeout');
    expect(
      issuesOf(route('  - { method: GET, path: /a/:x, subject: "_INBOX.{x}" }\n'))[0],
    ).toContain('inbox prefix');
    expect(issuesOf(route('  - { method: HEAD, path: /a, subject: a }\n'))[0]).toContain(
      'routes.0.method',
    );
    expect(issuesOf(route('  - { method: GET, path: /a, subject: a, subjet: b }\n'))[0]).toContain(
      "unknown key 'subjet'",
    );
  });
});

describe('reserved paths', () => {
  it('covers every path the console serves', () => {
    for (const path of DOCS_PATHS) expect(RESERVED_PATHS, path).toContain(path);
  });

  it.each(['/healthz', '/readyz', '/metrics', '/openapi.json'])(
    'refuses a route on %s, whether or not the endpoint is on',
    (path) => {
      for (const extra of ['', 'metrics: { enabled: false }\n', 'http: { admin: { port: 0 } }\n']) {
        const issues = issuesOf(
          `${extra}${route(`  - { method: GET, path: ${path}, subject: a }\n`)}`,
        );
        expect(issues[0], extra).toContain(`'${path}' is the gateway's own endpoint`);
      }
    },
  );

  it('refuses a parameter that could take a reserved path, and allows one whose pattern cannot', () => {
    expect(
      issuesOf(route('  - { method: GET, path: "/:name", subject: "a.{name}" }\n'))[0],
    ).toContain("'/healthz' is the gateway's own endpoint");
    for (const path of ['/:id{[0-9]+}', '/metrics/:x']) {
      const yaml = route(
        `  - { method: GET, path: "${path}", subject: "a.{${path.includes('id') ? 'id' : 'x'}}" }\n`,
      );
      expect(() => parseConfig(yaml, 'x'), path).not.toThrow();
    }
  });
});

describe('effectivePolicy', () => {
  const config = parseConfig(
    [
      'requests: { timeout: 3s, maxTimeout: 10s }',
      'headers: { drop: [cookie, x-internal], add: { X-Env: prod } }',
      'routes:',
      '  - { method: GET, path: /a, subject: a }',
      '  - method: GET',
      '    path: /b',
      '    subject: b',
      '    timeout: 500ms',
      '    headers: { case: preserve, forward: [cookie], add: { X-Team: b } }',
      '',
    ].join('\n'),
    'x',
  );

  it('uses the global policy for /rr and routes without overrides', () => {
    for (const policy of [effectivePolicy(config), effectivePolicy(config, config.routes[0])]) {
      expect(policy).toEqual({
        timeoutMs: 3000,
        maxTimeoutMs: 10_000,
        headerCase: 'canonical',
        drop: new Set(['cookie', 'x-internal']),
        add: [['X-Env', 'prod']],
        addNames: new Set(['x-env']),
        replies: 'first',
        gather: {
          max: undefined,
          waitMs: undefined,
          stallMs: undefined,
          maxReplies: 1_000,
          maxBytes: 16 * 1024 * 1024,
        },
        stream: { maxBufferBytes: 8 * 1024 * 1024, writeTimeoutMs: 30_000 },
      });
    }
  });

  it('lets each route key replace the global one', () => {
    expect(effectivePolicy(config, config.routes[1])).toEqual({
      timeoutMs: 500,
      maxTimeoutMs: 10_000,
      headerCase: 'preserve',
      drop: new Set(['x-internal']),
      add: [['X-Team', 'b']],
      addNames: new Set(['x-team']),
      replies: 'first',
      gather: {
        max: undefined,
        waitMs: undefined,
        stallMs: undefined,
        maxReplies: 1_000,
        maxBytes: 16 * 1024 * 1024,
      },
      stream: { maxBufferBytes: 8 * 1024 * 1024, writeTimeoutMs: 30_000 },
    });
  });
});

describe('emptyParameterIn', () => {
  const routes = compileRoutes(
    parseConfig(
      route('  - { method: GET, path: /orders/:region/:id, subject: "o.{region}.{id}" }\n'),
      'x',
    ),
  );
  it('names the empty parameter of a path that would match otherwise', () => {
    expect(emptyParameterIn(routes, '/orders//5')).toBe('region');
    expect(emptyParameterIn(routes, '/orders/eu/')).toBe('id');
    expect(emptyParameterIn(routes, '/other//5')).toBeUndefined();
    expect(emptyParameterIn(routes, '/orders/eu/5')).toBeUndefined();
  });
});
