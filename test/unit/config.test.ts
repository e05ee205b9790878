import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

function issuesOf(yaml: string, env = {}): string[] {
  try {
    parseConfig(yaml, 'test.yaml', env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

/** The `requests` section an empty file gets. */
const DEFAULT_REQUESTS = {
  timeout: 5_000,
  maxTimeout: 30_000,
  maxReplies: 1_000,
  maxGatherBytes: 16 * 1024 * 1024,
  maxStreamBuffer: 8 * 1024 * 1024,
  streamWriteTimeout: 30_000,
};

describe('parseConfig', () => {
  it('fills every default from an empty file', () => {
    const config = parseConfig('', 'empty.yaml');
    expect(config.http.cors.origins).toEqual([]);
    expect(config.http.trustProxy).toBe(false);
    expect(config.http).toMatchObject({
      host: '0.0.0.0',
      port: 8080,
      shutdownDelay: 0,
      shutdownGrace: 10_000,
      workers: 1,
      maxInFlight: 10_000,
      maxBufferedBytes: 256 * 1024 * 1024,
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      keepAliveTimeout: 5_000,
    });
    expect(config.nats.servers).toEqual(['nats://127.0.0.1:4222']);
    expect(config.requests).toEqual(DEFAULT_REQUESTS);
    expect(config.rr).toEqual({
      enabled: true,
      allow: ['>'],
      deny: ['$SYS.>', '$JS.>', '$KV.>', '$O.>', '$SRV.>', '_INBOX.>'],
    });
    expect(config.headers).toEqual({
      case: 'canonical',
      drop: ['authorization', 'cookie', 'proxy-authorization'],
      forward: [],
      add: {},
    });
    expect(config.routes).toEqual([]);
  });

  it('accepts durations as text or whole milliseconds', () => {
    const config = parseConfig('requests:\n  timeout: 250ms\n  maxTimeout: 60000\n', 'x.yaml');
    expect(config.requests).toEqual({ ...DEFAULT_REQUESTS, timeout: 250, maxTimeout: 60_000 });
  });

  it('freezes the result, deeply', () => {
    const config = parseConfig('', 'x.yaml');
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.nats.servers)).toBe(true);
    expect(() => config.rr.allow.push('x')).toThrow(TypeError);
  });

  it('lowercases header names in the drop list', () => {
    expect(parseConfig('headers:\n  drop: [X-Secret]\n', 'x.yaml').headers.drop).toEqual([
      'x-secret',
    ]);
  });

  it('names unknown keys with their path and line', () => {
    expect(issuesOf('nats:\n  servers: [nats://a:4222]\n  sever: x\n')).toEqual([
      "nats: unknown key 'sever' (line 3)",
    ]);
    expect(issuesOf('htp: {}\n')).toEqual(["(top level): unknown key 'htp' (line 1)"]);
  });

  it('names bad values with their path', () => {
    const issues = issuesOf('http:\n  port: 70000\nrequests:\n  timeout: 0\n');
    expect(issues.some((i) => i.startsWith('http.port:') && i.includes('(line 2)'))).toBe(true);
    expect(issues.some((i) => i.startsWith('requests.timeout: must be greater than zero'))).toBe(
      true,
    );
  });

  it('refuses a timeout above maxTimeout, timers past 2^31 ms, and bad patterns', () => {
    expect(issuesOf('requests:\n  timeout: 1m\n  maxTimeout: 30s\n')[0]).toContain(
      'requests.timeout',
    );
    expect(issuesOf('requests:\n  maxTimeout: 30d\n')[0]).toContain('requests.maxTimeout');
    expect(issuesOf('requests:\n  maxTimeout: 2147483648\n')[0]).toContain('at most');
    expect(issuesOf('rr:\n  deny: ["a.>.b"]\n')[0]).toContain('rr.deny.0');
    // Two routes of one shape are a clash even when a constraint holds braces.
    expect(
      issuesOf(
        'routes:\n  - { method: GET, path: "/y/:a{[0-9]{4}}", subject: "y.{a}" }\n  - { method: GET, path: "/y/:b", subject: "y.{b}" }\n',
      )[0],
    ).toContain('duplicates route #0');
    // A regex that only breaks once the router groups it (`a\` escapes the closing paren).
    expect(
      issuesOf('routes:\n  - { method: GET, path: "/x/:id{a\\\\}", subject: "x.{id}" }\n')[0],
    ).toContain("has an invalid regex 'a\\'");
    expect(issuesOf('nats:\n  inboxPrefix: "_INBOX.*"\n')[0]).toContain('nats.inboxPrefix');
  });

  it('takes discovery off by default, and refuses a round longer than its interval or a bad glob', () => {
    expect(parseConfig('', 'defaults').discovery).toEqual({
      enabled: false,
      interval: 30_000,
      wait: 500,
      services: [],
    });
    expect(issuesOf('discovery:\n  interval: 1s\n  wait: 2s\n')[0]).toMatch(
      /^discovery\.wait: wait must be shorter than interval/,
    );
    expect(issuesOf('discovery:\n  services: ["orders/*"]\n')[0]).toContain('discovery.services.0');
  });

  it('reports YAML syntax errors and duplicate keys', () => {
    expect(issuesOf('http: [\n')[0]).toContain('YAML syntax');
    expect(issuesOf('http: {}\nhttp: {}\n')[0]).toContain('YAML syntax');
  });

  it('lets NATS_URL, PORT and HOST override the file', () => {
    const config = parseConfig('http:\n  port: 1\n', 'x.yaml', {
      NATS_URL: 'nats://a:4222, nats://b:4222',
      PORT: '9090',
      HOST: '127.0.0.1',
    });
    expect(config.nats.servers).toEqual(['nats://a:4222', 'nats://b:4222']);
    expect(config.http.port).toBe(9090);
    expect(config.http.host).toBe('127.0.0.1');
    expect(issuesOf('', { PORT: 'eighty' })[0]).toContain('PORT');
  });
});

describe('shipped config files', () => {
  it.each(['config/gateway.yaml', 'config/demo.yaml'])('%s is valid', async (file) => {
    const { loadConfig } = await import('../../src/config/load.js');
    await expect(loadConfig(file, {})).resolves.toBeDefined();
  });
});

describe('auth.apiKeys', () => {
  const key = (fields: string): string => `auth:\n  apiKeys:\n    - { name: k, ${fields} }\n`;

  it('needs exactly one source for each key', () => {
    expect(issuesOf(key('allow: [">"]'))[0]).toContain('exactly one of sha256, keyFile or keyEnv');
    expect(issuesOf(key(`sha256: ${'a'.repeat(64)}, keyEnv: X`))[0]).toContain('exactly one');
    expect(issuesOf(key('sha256: abc'))[0]).toContain('64 hex digits');
  });

  it('reads key files and variables at load time, naming a missing one', () => {
    expect(issuesOf(key('keyFile: /nonexistent/key'))[0]).toContain(
      "auth.apiKeys.0.keyFile: cannot read '/nonexistent/key'",
    );
    expect(issuesOf(key('keyEnv: NHG_TEST_MISSING_KEY'))[0]).toContain(
      'NHG_TEST_MISSING_KEY is not set',
    );
    const config = parseConfig(key('keyEnv: MY_KEY'), 'x', { MY_KEY: 'test' });
    expect(config.auth.apiKeys[0]?.sha256).toBe(
      '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    );
  });
});

describe('${NAME} in values', () => {
  it('reads environment variables into any string value, and $${ stays literal', () => {
    const config = parseConfig(
      'nats:\n  user: svc\n  pass: "${NATS_PASS}"\n  name: "gw-${REGION}-$${x}"\n',
      'x',
      {
        NATS_PASS: 'p@ss',
        REGION: 'eu',
      },
    );
    expect(config.nats.pass).toBe('p@ss');
    expect(config.nats.name).toBe('gw-eu-${x}');
  });

  it('names the key of an unset variable', () => {
    expect(issuesOf('nats:\n  token: "${NHG_UNSET_TOKEN}"\n')).toEqual([
      'nats.token: the environment variable NHG_UNSET_TOKEN is not set',
    ]);
  });

  it('refuses two ways to authenticate, and a user without pass', () => {
    expect(issuesOf('nats: { user: a, pass: b, token: c }\n')[0]).toContain(
      'one way to authenticate',
    );
    expect(issuesOf('nats: { user: a }\n')[0]).toContain('user and pass go together');
  });
});

describe('sizes', () => {
  it('takes whole bytes or KiB, MiB, GiB, and refuses anything else', () => {
    const sizeOf = (value: string): number =>
      parseConfig(`requests: { maxGatherBytes: ${value} }`, 'x').requests.maxGatherBytes;
    expect(sizeOf('1024')).toBe(1024);
    expect(sizeOf('64KiB')).toBe(65_536);
    expect(sizeOf('16MiB')).toBe(16 * 1024 * 1024);
    expect(sizeOf('1GiB')).toBe(1024 ** 3);
    for (const bad of ['0', '-1', '1.5MiB', '16MB', 'lots', '1 MiB x']) {
      expect(() => sizeOf(bad), bad).toThrow(/is not a size/);
    }
  });
});
