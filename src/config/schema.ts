/**
 * The gateway's configuration: one strict zod schema, so a typo in YAML is an error with a key path,
 * never a silently ignored key. Defaults live here and nowhere else.
 */
import { z } from 'zod';
import { MAX_TIMER_MS, parseDurationMs } from '../duration.js';
import { patternProblem } from '../subject.js';

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

const HttpSchema = z.strictObject({
  host: z.string().min(1).default('0.0.0.0'),
  port: z.number().int().min(0).max(65_535).default(8080),
  /** After SIGTERM, how long /readyz says 503 while new connections are still served (lets a load balancer notice). */
  shutdownDelay: z.union([z.literal(0), durationMs]).default(0),
  /** How long in-flight requests may take to finish after the listener closes before they are cut. */
  shutdownGrace: durationMs.default(10_000),
});

const NatsSchema = z.strictObject({
  servers: z.array(natsUrl).min(1).default(['nats://127.0.0.1:4222']),
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
});

const RequestsSchema = z
  .strictObject({
    timeout: durationMs.default(5_000),
    maxTimeout: durationMs.default(30_000),
  })
  .refine((r) => r.timeout <= r.maxTimeout, {
    message: 'timeout must not exceed maxTimeout',
    path: ['timeout'],
  });

const RrSchema = z.strictObject({
  enabled: z.boolean().default(true),
  allow: z.array(subjectPattern).default(['>']),
  deny: z.array(subjectPattern).default(['$SYS.>', '$JS.>', '$KV.>', '$O.>', '_INBOX.>']),
});

const HeadersSchema = z.strictObject({
  case: z.enum(['canonical', 'preserve']).default('canonical'),
  drop: z.array(headerName).default(['authorization', 'cookie', 'proxy-authorization']),
});

const LogSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** The whole configuration file. Every section may be omitted and takes its defaults. */
export const ConfigSchema = z.strictObject({
  http: HttpSchema.default(HttpSchema.parse({})),
  nats: NatsSchema.default(NatsSchema.parse({})),
  requests: RequestsSchema.default(RequestsSchema.parse({})),
  rr: RrSchema.default(RrSchema.parse({})),
  headers: HeadersSchema.default(HeadersSchema.parse({})),
  log: LogSchema.default(LogSchema.parse({})),
});

/** Validated configuration, as the rest of the gateway sees it. */
export type Config = z.output<typeof ConfigSchema>;
/** Configuration as written in YAML, before defaults. */
export type ConfigInput = z.input<typeof ConfigSchema>;
