/**
 * The gateway's configuration: one strict zod schema, so a typo in YAML is an error with a key path,
 * never a silently ignored key. Defaults live here and nowhere else.
 */
import { z } from 'zod';
import { MAX_TIMER_MS, parseDurationMs } from '../duration.js';
import { patternProblem } from '../subject.js';
import { checkRoutes } from './route-checks.js';

/** A duration (`250ms`, `5s`, `1m`, or whole ms) as positive milliseconds a timer can honour. */
const durationMs = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDurationMs(value);
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `'${value}' is not a duration (use 250ms, 5s, 1m or whole milliseconds)`,
    });
    return z.NEVER;
  }
  if (ms <= 0) {
    ctx.addIssue({ code: 'custom', message: 'must be greater than zero' });
    return z.NEVER;
  }
  if (ms > MAX_TIMER_MS) {
    ctx.addIssue({ code: 'custom', message: `must be at most ${MAX_TIMER_MS} ms (about 24 days)` });
    return z.NEVER;
  }
  return ms;
});

const SIZE_UNITS = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 } as const;
/** A size in bytes: a whole number, or `64KiB`, `16MiB`, `1GiB`. */
const byteSize = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const match = /^(\d+)(B|KiB|MiB|GiB)?$/.exec(String(value).trim());
  const bytes = match
    ? Number(match[1]) * SIZE_UNITS[(match[2] ?? 'B') as keyof typeof SIZE_UNITS]
    : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    ctx.addIssue({
      code: 'custom',
      message: `'${value}' is not a size (use whole bytes, or 64KiB, 16MiB, 1GiB)`,
    });
    return z.NEVER;
  }
  return bytes;
});

const subjectPattern = z.string().superRefine((pattern, ctx) => {
  const problem = patternProblem(pattern);
  if (problem) ctx.addIssue({ code: 'custom', message: `'${pattern}': ${problem}` });
});

const natsUrl = z
  .string()
  .regex(
    /^(nats|tls):\/\/[^\s]+$|^[^\s:/]+(:\d+)?$/,
    'must be a NATS URL such as nats://host:4222',
  );

/** Header names are compared case-insensitively, as HTTP does; store them lowercased. */
const headerName = z
  .string()
  .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a valid HTTP header name')
  .transform((name) => name.toLowerCase());

const CorsSchema = z
  .strictObject({
    /** Origins allowed to call from a browser (`https://app.example`), or `*`; empty turns CORS off. */
    origins: z
      .array(z.string().regex(/^(\*|https?:\/\/[^/\s]+)$/, "must be '*' or scheme://host[:port]"))
      .default([]),
    methods: z
      .array(z.string().regex(/^[A-Z]+$/))
      .default(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']),
    /** Request headers a browser may send; empty allows whatever the preflight asks for. */
    headers: z.array(headerName).default([]),
    /** Response headers a browser script may read. */
    exposeHeaders: z.array(headerName).default(['x-request-id']),
    credentials: z.boolean().default(false),
    /** How long a browser may cache a preflight answer. */
    maxAge: durationMs.default(600_000),
  })
  .refine((c) => !(c.credentials && c.origins.includes('*')), {
    message:
      "credentials: true cannot be combined with the '*' origin (the Fetch standard forbids it)",
    path: ['credentials'],
  });

/** CORS settings, validated. */
export type CorsConfig = z.output<typeof CorsSchema>;

const HttpSchema = z
  .strictObject({
    host: z.string().min(1).default('0.0.0.0'),
    port: z.number().int().min(0).max(65_535).default(8080),
    /** After SIGTERM, how long /readyz says 503 while new connections are still served (lets a load balancer notice). */
    shutdownDelay: z.union([z.literal(0), durationMs]).default(0),
    /** How long in-flight requests may take to finish after the listener closes before they are cut. */
    shutdownGrace: durationMs.default(10_000),
    /** Gateway processes sharing the port (node:cluster), each with its own NATS connection. */
    workers: z.number().int().min(1).max(64).default(1),
    /** Requests handled at once per process; more get 503 with Retry-After instead of unbounded memory. */
    maxInFlight: z.number().int().min(1).default(10_000),
    /**
     * Bytes held for callers at once per process (bodies being read, replies not yet taken by the
     * caller, stream and gather buffers); a request that would go past it gets 503 with Retry-After.
     */
    maxBufferedBytes: byteSize.default(256 * 1024 * 1024),
    /** How long a client may take to send the request headers (slowloris guard). */
    headersTimeout: durationMs.default(10_000),
    /** How long a client may take to send the whole request; the wait for the reply is not counted. */
    requestTimeout: durationMs.default(30_000),
    /** How long an idle keep-alive connection stays open; raise it above a load balancer's idle timeout. */
    keepAliveTimeout: durationMs.default(5_000),
    /** Serve HTTPS instead of HTTP, for deployments without a TLS-terminating proxy in front. */
    tls: z.strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1) }).optional(),
    /** Cross-origin browser access; answered by the gateway without touching NATS. */
    cors: CorsSchema.default(CorsSchema.parse({})),
    /**
     * Whether X-Forwarded-For / Forwarded are believed: false (use the socket's address), true (the
     * first address they name), or the number of trusted proxy hops in front of the gateway.
     */
    trustProxy: z.union([z.boolean(), z.number().int().min(1).max(16)]).default(false),
    /** The API console at /docs (Swagger UI over /openapi.json); on the admin listener when there is one. */
    docs: z.boolean().default(true),
    /**
     * A second, plain-HTTP listener for the gateway's own endpoints (/healthz, /readyz, /metrics,
     * /openapi.json), so they need not face the public side; without it they share the main one.
     */
    admin: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65_535),
      })
      .optional(),
  })
  .refine((h) => h.headersTimeout <= h.requestTimeout, {
    message: 'headersTimeout must not exceed requestTimeout',
    path: ['headersTimeout'],
  });

const NatsTlsSchema = z.strictObject({
  /** CA bundle that signed the server's certificate. */
  caFile: z.string().min(1).optional(),
  /** Client certificate and key, for servers that verify clients (mutual TLS). */
  certFile: z.string().min(1).optional(),
  keyFile: z.string().min(1).optional(),
  /** Name to verify the server's certificate against, when it differs from the URL's host. */
  serverName: z.string().min(1).optional(),
});

const NatsSchema = z
  .strictObject({
    servers: z.array(natsUrl).min(1).default(['nats://127.0.0.1:4222']),
    /** User and password (`pass: ${NATS_PASS}` keeps the secret in the environment). */
    user: z.string().min(1).optional(),
    pass: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
    /** An NKey seed file (`SU…`), for servers that list the user's public NKey. */
    nkeySeedFile: z.string().min(1).optional(),
    /** A credentials file (JWT and NKey seed), for servers in operator mode. */
    credsFile: z.string().min(1).optional(),
    tls: NatsTlsSchema.optional(),
    name: z.string().min(1).default('nats-http-gateway'),
    inboxPrefix: subjectPattern
      .refine((p) => !/[*>]/.test(p), 'must be a literal subject prefix, without wildcards')
      .default('_INBOX'),
    /** Pause between dial attempts; low so that failover to another server is fast. */
    reconnectWait: durationMs.default(250),
    /** How often the gateway proves the connection still answers (a PING that must come back). */
    healthInterval: durationMs.default(2_000),
    /** How long that proof may take before the connection counts as stalled and is replaced. */
    healthTimeout: durationMs.default(2_000),
    /** Off by default: how long NATS may be out of reach before /healthz says 503 (for a restart). */
    maxDownTime: durationMs.optional(),
  })
  .refine((n) => (n.user === undefined) === (n.pass === undefined), {
    message: 'user and pass go together',
    path: ['pass'],
  })
  .refine(
    (n) =>
      [n.user, n.token, n.nkeySeedFile, n.credsFile].filter((v) => v !== undefined).length <= 1,
    { message: 'use one way to authenticate: user/pass, token, nkeySeedFile or credsFile' },
  )
  .refine((n) => (n.tls?.certFile === undefined) === (n.tls?.keyFile === undefined), {
    message: 'certFile and keyFile go together',
    path: ['tls'],
  });

const RequestsSchema = z
  .strictObject({
    timeout: durationMs.default(5_000),
    maxTimeout: durationMs.default(30_000),
    /** The most replies one gather (`?replies=all`) may collect. */
    maxReplies: z.number().int().min(1).default(1_000),
    /** A gather stops before its replies' bytes would pass this (`X-Gather-End: bytes`). */
    maxGatherBytes: byteSize.default(16 * 1024 * 1024),
    /** What a stream without acknowledgements may hold for a slow caller before it is cut. */
    maxStreamBuffer: byteSize.default(8 * 1024 * 1024),
    /** A stream (or any answer) whose caller takes nothing for this long, with bytes waiting, is cut. */
    streamWriteTimeout: durationMs.default(30_000),
  })
  .refine((r) => r.timeout <= r.maxTimeout, {
    message: 'timeout must not exceed maxTimeout',
    path: ['timeout'],
  });

const RrSchema = z.strictObject({
  enabled: z.boolean().default(true),
  allow: z.array(subjectPattern).default(['>']),
  deny: z.array(subjectPattern).default(['$SYS.>', '$JS.>', '$KV.>', '$O.>', '$SRV.>', '_INBOX.>']),
});

const headerValue = z
  .string()
  .regex(/^[\t\x20-\x7e]*$/, 'must be printable ASCII (no control characters)');

/** The header policy's keys; the same at the top level and on a route (route over global over default). */
const headerPolicyShape = {
  /** How request header names are spelled on NATS. */
  case: z.enum(['canonical', 'preserve']),
  /** Request headers never forwarded. */
  drop: z.array(headerName),
  /** Names to forward even though `drop` lists them (e.g. authorization for one route). */
  forward: z.array(headerName),
  /** Static headers sent with every request; they replace caller headers of the same name. */
  add: z.record(
    z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a valid header name'),
    headerValue,
  ),
};

const HeadersSchema = z.strictObject({
  case: headerPolicyShape.case.default('canonical'),
  drop: headerPolicyShape.drop.default(['authorization', 'cookie', 'proxy-authorization']),
  forward: headerPolicyShape.forward.default([]),
  add: headerPolicyShape.add.default({}),
});

const RouteHeadersSchema = z.strictObject({
  case: headerPolicyShape.case.optional(),
  drop: headerPolicyShape.drop.optional(),
  forward: headerPolicyShape.forward.optional(),
  add: headerPolicyShape.add.optional(),
});

/** Methods a route may name; ANY matches every method. HEAD is always answered by the GET route. */
export const ROUTE_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const routeMethod = z
  .string()
  .transform((m) => m.toUpperCase())
  .pipe(z.enum([...ROUTE_METHODS, 'ANY']));

export const RouteSchema = z.strictObject({
  /** One method, a list, or ANY. */
  method: z
    .union([routeMethod, z.array(routeMethod).min(1)])
    .transform((m) => (Array.isArray(m) ? m : [m])),
  /** Hono-style path template: /users/:id, /items/:id{[0-9]+}. */
  path: z.string(),
  /** Subject template with {param} placeholders from the path. */
  subject: z.string(),
  /** Overrides requests.timeout for this route (still capped by requests.maxTimeout). */
  timeout: durationMs.optional(),
  /** `first` (default): the first reply wins; `all`: gather replies; `stream`: one responder's chunks. */
  replies: z.enum(['first', 'all', 'stream']).optional(),
  /** Defaults for a gather on this route; callers may override them within the caps. */
  gather: z
    .strictObject({
      max: z.number().int().min(1).optional(),
      wait: durationMs.optional(),
      stall: durationMs.optional(),
      /** Overrides requests.maxGatherBytes for this route. */
      maxBytes: byteSize.optional(),
    })
    .optional(),
  /** Overrides keys of the top-level header policy for this route. */
  headers: RouteHeadersSchema.optional(),
});

/** One mapped route, validated. */
export type RouteConfig = z.output<typeof RouteSchema>;

/** One caller API key: exactly one source of the key, and optional limits on what it may reach. */
const ApiKeySchema = z
  .strictObject({
    /** Shown in logs, never the key. */
    name: z.string().min(1),
    /** Hex SHA-256 of the key, so the config never holds the key itself. */
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits (the SHA-256 of the key)')
      .transform((h) => h.toLowerCase())
      .optional(),
    /** A file holding the key (e.g. a mounted secret); read at start-up and on reload. */
    keyFile: z.string().min(1).optional(),
    /** An environment variable holding the key. */
    keyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name')
      .optional(),
    /** Subject patterns this key may reach; omitted means any. */
    allow: z.array(subjectPattern).optional(),
    /** Route templates (`/orders/:id`, `/rr/{subject}`) this key may use; omitted means any. */
    routes: z.array(z.string().min(1)).optional(),
  })
  .refine((k) => [k.sha256, k.keyFile, k.keyEnv].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of sha256, keyFile or keyEnv',
  });

/** A validated API key entry (before its key file or variable is read). */
export type ApiKeyConfig = z.output<typeof ApiKeySchema>;

const AuthSchema = z.strictObject({
  /** Bearer API keys; when the list is empty, callers are not authenticated. */
  apiKeys: z.array(ApiKeySchema).default([]),
});

const MetricsSchema = z.strictObject({
  /** Serve Prometheus metrics on GET /metrics. */
  enabled: z.boolean().default(true),
});

/** A glob over service names: `*` for any run of characters, `?` for one. */
const serviceGlob = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9_*?.-]+$/, 'must be a service name or a glob such as orders-*');

const DiscoverySchema = z
  .strictObject({
    /** Turn NATS services (ADR-32: $SRV.INFO) into HTTP routes, as their endpoint metadata asks. */
    enabled: z.boolean().default(false),
    /** How often services are asked for their INFO. */
    interval: durationMs.default(30_000),
    /** The most one round waits for answers; it ends sooner once they stop coming. */
    wait: durationMs.default(500),
    /** Service names (globs) allowed to publish routes; empty publishes nothing. */
    services: z.array(serviceGlob).default([]),
  })
  .refine((d) => d.wait < d.interval, {
    message: 'wait must be shorter than interval',
    path: ['wait'],
  });

const LogSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** The whole configuration file. Every section may be omitted and takes its defaults. */
export const ConfigSchema = z
  .strictObject({
    http: HttpSchema.default(HttpSchema.parse({})),
    nats: NatsSchema.default(NatsSchema.parse({})),
    requests: RequestsSchema.default(RequestsSchema.parse({})),
    rr: RrSchema.default(RrSchema.parse({})),
    headers: HeadersSchema.default(HeadersSchema.parse({})),
    routes: z.array(RouteSchema).default([]),
    discovery: DiscoverySchema.default(DiscoverySchema.parse({})),
    log: LogSchema.default(LogSchema.parse({})),
    metrics: MetricsSchema.default(MetricsSchema.parse({})),
    auth: AuthSchema.default(AuthSchema.parse({})),
  })
  .superRefine((config, ctx) =>
    checkRoutes(config, ({ index, key, message }) => {
      const route = config.routes[index];
      ctx.addIssue({
        code: 'custom',
        path: ['routes', index, key],
        message: `route #${index} (${route?.method.join(',')} ${route?.path}): ${message}`,
      });
    }),
  );

/** Validated configuration, as the rest of the gateway sees it. */
export type Config = z.output<typeof ConfigSchema>;
