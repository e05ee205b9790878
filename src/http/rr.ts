/** `POST /rr/{subject}`: any caller-chosen subject that the allow/deny lists permit. */
import type { Context, Hono } from 'hono';
import type { Config } from '../config/schema.js';
import { InvalidSubjectError, MethodNotAllowedError, SubjectForbiddenError } from '../errors.js';
import type { RequestReply } from '../request-reply.js';
import { SubjectPolicy, subjectMatches, subjectProblem } from '../subject.js';
import type { GatewayEnv } from './context.js';
import { forward } from './forward.js';
import type { ForwardTarget } from './forward.js';

const RR_PREFIX = '/rr/';
export const RR_ROUTE = '/rr/{subject}';

/** Options for {@link mountRequestReply}. */
export interface RrOptions {
  config: Config;
  nats: RequestReply;
}

/** Adds `/rr/{subject}` to the app. */
export function mountRequestReply(app: Hono<GatewayEnv>, { config, nats }: RrOptions): void {
  const policy = new SubjectPolicy(config.rr.allow, config.rr.deny);
  const timeouts = { defaultMs: config.requests.timeout, maxMs: config.requests.maxTimeout };
  const headers = { case: config.headers.case, drop: new Set(config.headers.drop) };

  const handleRequestReply = async (c: Context<GatewayEnv>): Promise<Response> => {
    c.set('route', RR_ROUTE);
    if (c.req.method !== 'POST') throw new MethodNotAllowedError(c.req.method, ['POST']);
    const subject = subjectFromUrl(c.env.incoming.url ?? '');
    c.set('subject', subject);
    // The gateway's own replies arrive under its inbox prefix; a request there could forge one.
    if (!policy.permits(subject) || subjectMatches(`${nats.inboxPrefix}.>`, subject)) {
      throw new SubjectForbiddenError(subject);
    }
    const target: ForwardTarget = { subject, timeouts, headers };
    return forward(c, nats, target);
  };
  app.all('/rr', handleRequestReply);
  app.all('/rr/*', handleRequestReply);
}

/**
 * The subject is everything after `/rr/` in the raw URL, percent-decoded once and then validated:
 * checking the decoded text is what stops `%0D%0A`, `%2A` or `%3E` from reaching NATS.
 */
export function subjectFromUrl(url: string): string {
  // An absolute-form target (`POST http://host/rr/x`, RFC 9112 §3.2.2) carries the path after the authority.
  const target = url.startsWith('/') ? url : url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?]*/i, '');
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
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
