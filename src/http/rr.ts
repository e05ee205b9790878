/** `POST /rr/{subject}`: any caller-chosen subject that the allow/deny lists permit. */
import type { Context, Hono } from 'hono';
import { effectivePolicy } from '../config/effective.js';
import type { Config } from '../config/schema.js';
import { InvalidSubjectError, MethodNotAllowedError, SubjectForbiddenError } from '../errors.js';
import { SubjectPolicy, subjectProblem } from '../subject.js';
import type { Exchange, GatewayEnv } from './context.js';
import { forward } from './forward.js';
import type { ForwardDeps } from './forward.js';

const RR_PREFIX = '/rr/';
/** The route template of `/rr`, as logs, metrics and `X-Gateway-Route` name it. */
export const RR_ROUTE = '/rr/{subject}';

/** Options for {@link createRequestReply}. */
export interface RrOptions {
  config: Config;
  deps: ForwardDeps;
}

/** Answers one request to `/rr/{subject}`; throws a `GatewayError` for anything but a good POST. */
export type RequestReplyHandler = (exchange: Exchange) => Promise<Response>;

/** The `/rr` handler for one config. */
export function createRequestReply({ config, deps }: RrOptions): RequestReplyHandler {
  const allowed = new SubjectPolicy(config.rr.allow, config.rr.deny);
  const policy = effectivePolicy(config);
  return async function handleRequestReply(exchange) {
    exchange.route = RR_ROUTE;
    const method = exchange.incoming.method ?? 'GET';
    if (method !== 'POST') throw new MethodNotAllowedError(method, ['POST']);
    const subject = subjectFromUrl(exchange.incoming.url ?? '');
    exchange.subject = subject;
    if (!allowed.permits(subject)) throw new SubjectForbiddenError(subject);
    return forward(exchange, deps, { subject, policy, route: RR_ROUTE });
  };
}

/** Adds `/rr/{subject}` to the app, for what the direct path (listener.ts) leaves to Hono. */
export function mountRequestReply(app: Hono<GatewayEnv>, handler: RequestReplyHandler): void {
  const viaHono = (c: Context<GatewayEnv>): Promise<Response> => handler(c.get('exchange'));
  app.all('/rr', viaHono);
  app.all('/rr/*', viaHono);
}

/** The path of a request target, also for the absolute form (`POST http://host/rr/x`, RFC 9112 §3.2.2). */
export function pathOf(url: string): string {
  const target = url.startsWith('/') ? url : url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?]*/i, '');
  const queryAt = target.indexOf('?');
  return queryAt === -1 ? target : target.slice(0, queryAt);
}

/**
 * The subject is everything after `/rr/` in the raw URL, percent-decoded once and then validated:
 * checking the decoded text is what stops `%0D%0A`, `%2A` or `%3E` from reaching NATS.
 */
export function subjectFromUrl(url: string): string {
  const path = pathOf(url);
  const encoded = path.startsWith(RR_PREFIX) ? path.slice(RR_PREFIX.length) : '';
  let subject: string;
  try {
    subject = decodeURIComponent(encoded);
  } catch (cause) {
    throw new InvalidSubjectError('the subject is not valid percent-encoding', { cause });
  }
  const problem = subjectProblem(subject);
  if (problem) throw new InvalidSubjectError(problem);
  return subject;
}
