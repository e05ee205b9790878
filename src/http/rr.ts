/** `POST /rr/{subject}`: any caller-chosen subject that the allow/deny lists permit. */
import { effectivePolicy } from '../config/effective.js';
import type { Config } from '../config/schema.js';
import { InvalidSubjectError, SubjectForbiddenError } from '../errors.js';
import { SubjectPolicy, subjectProblem } from '../subject.js';
import { forward } from './forward.js';
import type { ForwardDeps } from './forward.js';
import type { RouteEntry } from './route-table.js';

const RR_PREFIX = '/rr/';
/** The route template of `/rr`, as logs, metrics and `X-Gateway-Route` name it. */
export const RR_ROUTE = '/rr/{subject}';

/** Options for {@link requestReplyRoute}. */
export interface RrOptions {
  config: Config;
  deps: ForwardDeps;
}

/** The `/rr` row of the route table for one config. */
export function requestReplyRoute({ config, deps }: RrOptions): RouteEntry {
  const allowed = new SubjectPolicy(config.rr.allow, config.rr.deny);
  const policy = effectivePolicy(config);
  return {
    template: RR_ROUTE,
    pattern: '/rr/*',
    methods: ['POST'],
    kind: 'nats',
    // Not async: one frame less held for every request waiting on NATS. A throw here reaches
    // the dispatcher's catch like a rejection.
    handle(exchange) {
      const subject = subjectFromPath(exchange.target.path);
      exchange.subject = subject;
      if (!allowed.permits(subject)) throw new SubjectForbiddenError(subject);
      return forward(exchange, deps, { subject, policy, route: RR_ROUTE });
    },
  };
}

/**
 * The subject is everything after `/rr/` in the normalised path, percent-decoded once and then
 * validated: checking the decoded text is what stops `%0D%0A`, `%2A` or `%3E` from reaching NATS.
 */
export function subjectFromPath(path: string): string {
  const encoded = path.startsWith(RR_PREFIX) ? path.slice(RR_PREFIX.length) : '';
  let subject: string;
  try {
    subject = encoded.includes('%') ? decodeURIComponent(encoded) : encoded;
  } catch (cause) {
    throw new InvalidSubjectError('the subject is not valid percent-encoding', { cause });
  }
  const problem = subjectProblem(subject);
  if (problem) throw new InvalidSubjectError(problem);
  return subject;
}
