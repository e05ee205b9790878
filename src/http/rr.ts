/** `POST /rr/{subject}`: any caller-chosen subject that the allow/deny lists permit. */
import type { Context, Hono } from 'hono';
import { effectivePolicy } from '../config/effective.js';
import type { Config } from '../config/schema.js';
import { InvalidSubjectError, MethodNotAllowedError, SubjectForbiddenError } from '../errors.js';
import { SubjectPolicy, subjectProblem } from '../subject.js';
import type { GatewayEnv } from './context.js';
import { forward } from './forward.js';
import type { ForwardDeps } from './forward.js';

const RR_PREFIX = '/rr/';
/** The route template of `/rr`, as logs, metrics and `X-Gateway-Route` name it. */
export const RR_ROUTE = '/rr/{subject}';

/** Options for {@link mountRequestReply}. */
export interface RrOptions {
  config: Config;
  deps: ForwardDeps;
}

/** Adds `/rr/{subject}` to the app. */
export function mountRequestReply(app: Hono<GatewayEnv>, { config, deps }: RrOptions): void {
  const allowed = new SubjectPolicy(config.rr.allow, config.rr.deny);
  const policy = effectivePolicy(config);

  const handleRequestReply = async (c: Context<GatewayEnv>): Promise<Response> => {
    const exchange = c.get('exchange');
    exchange.route = RR_ROUTE;
    if (c.req.method !== 'POST') throw new MethodNotAllowedError(c.req.method, ['POST']);
    const subject = subjectFromUrl(c.env.incoming.url ?? '');
    exchange.subject = subject;
    if (!allowed.permits(subject)) throw new SubjectForbiddenError(subject);
    return forward(c, deps, { subject, policy, route: RR_ROUTE });
  };
  app.all('/rr', handleRequestReply);
  app.all('/rr/*', handleRequestReply);
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
