/**
 * The one place where failures become HTTP: every error response is `application/problem+json`
 * (RFC 9457) with a stable `type` from {@link PROBLEM_TYPES}. `openapi.yaml` lists the same catalogue,
 * and a test holds the two together.
 */
import { GatewayError, MethodNotAllowedError, ServiceError } from '../errors.js';
import type { ProblemSlug } from '../errors.js';
import { Outcome } from '../metrics.js';

/** Every problem type the gateway emits: slug → default status and title. */
export const PROBLEM_TYPES = {
  'bad-request': { status: 400, title: 'Bad request', outcome: Outcome.rejected },
  'invalid-target': { status: 400, title: 'Invalid request target', outcome: Outcome.rejected },
  'invalid-subject': { status: 400, title: 'Invalid subject', outcome: Outcome.rejected },
  'invalid-parameter': { status: 400, title: 'Invalid path parameter', outcome: Outcome.rejected },
  'invalid-timeout': { status: 400, title: 'Invalid timeout', outcome: Outcome.rejected },
  unauthorized: { status: 401, title: 'API key required', outcome: Outcome.unauthorized },
  'key-not-permitted': {
    status: 403,
    title: 'API key not permitted here',
    outcome: Outcome.unauthorized,
  },
  'subject-forbidden': { status: 403, title: 'Subject not allowed', outcome: Outcome.rejected },
  'not-found': { status: 404, title: 'Not found', outcome: Outcome.rejected },
  'method-not-allowed': { status: 405, title: 'Method not allowed', outcome: Outcome.rejected },
  'expectation-failed': {
    status: 417,
    title: 'Expectation failed',
    outcome: Outcome.rejected,
  },
  'incomplete-request': {
    status: 408,
    title: 'Request not received in time',
    outcome: Outcome.rejected,
  },
  'payload-too-large': { status: 413, title: 'Payload too large', outcome: Outcome.tooLarge },
  'headers-too-large': {
    status: 431,
    title: 'Request header fields too large',
    outcome: Outcome.tooLarge,
  },
  'internal-error': { status: 500, title: 'Internal gateway error', outcome: Outcome.error },
  'bad-reply': {
    status: 502,
    title: 'Unusable reply from the responder',
    outcome: Outcome.badReply,
  },
  'service-error': {
    status: 502,
    title: 'The service reported an error',
    outcome: Outcome.serviceError,
  },
  'no-responders': { status: 503, title: 'No responders', outcome: Outcome.noResponders },
  'nats-unavailable': { status: 503, title: 'NATS unavailable', outcome: Outcome.unavailable },
  overloaded: { status: 503, title: 'Gateway at capacity', outcome: Outcome.overloaded },
  'shutting-down': { status: 503, title: 'Gateway shutting down', outcome: Outcome.unavailable },
  timeout: { status: 504, title: 'Timed out waiting for a reply', outcome: Outcome.timeout },
} as const satisfies Record<ProblemSlug, { status: number; title: string; outcome: Outcome }>;

export type { ProblemSlug };

/**
 * Problem type URIs are tag URIs (RFC 4151): stable identifiers we can mint without owning a domain.
 * Clients compare them as strings; the catalogue and its meaning are documented in `openapi.yaml`.
 */
export const PROBLEM_TYPE_BASE = 'tag:nats-http-gateway,2026:problem:';

/** The `type` URI of a problem slug. */
export function problemTypeUri(slug: ProblemSlug): string {
  return PROBLEM_TYPE_BASE + slug;
}

/** How long a caller should wait before retrying when NATS or the gateway is briefly unavailable. */
const RETRY_AFTER_SECONDS = '1';

/** A problem document ready to send. */
export interface Problem {
  slug: ProblemSlug;
  status: number;
  detail: string;
  headers: Array<[string, string]>;
}

// Problem types a caller may simply retry shortly.
const RETRY_AFTER: ReadonlySet<ProblemSlug> = new Set([
  'nats-unavailable',
  'overloaded',
  'shutting-down',
]);
const INTERNAL_DETAIL = 'the gateway failed to handle this request; see its logs';

/** Maps any thrown value to a problem; unknown values are 500s (their message is not shown). */
export function toProblem(err: unknown): Problem {
  if (!(err instanceof GatewayError)) return problem('internal-error', INTERNAL_DETAIL);
  const { slug } = err;
  if (slug === 'internal-error') return problem(slug, INTERNAL_DETAIL);
  const headers: Array<[string, string]> = [];
  if (RETRY_AFTER.has(slug)) headers.push(['Retry-After', RETRY_AFTER_SECONDS]);
  if (slug === 'unauthorized')
    headers.push(['WWW-Authenticate', 'Bearer realm="nats-http-gateway"']);
  if (err instanceof MethodNotAllowedError) headers.push(['Allow', err.allow.join(', ')]);
  if (err instanceof ServiceError) {
    // The services convention carries the status; only an HTTP error status may pass through.
    const status = err.code >= 400 && err.code <= 599 ? err.code : 502;
    return problem(slug, err.description, status, [...err.replyHeaders]);
  }
  return problem(slug, err.message, undefined, headers);
}

function problem(
  slug: ProblemSlug,
  detail: string,
  status: number = PROBLEM_TYPES[slug].status,
  headers: Array<[string, string]> = [],
): Problem {
  return { slug, status, detail, headers };
}

/** The problem document's JSON (RFC 9457), with the request's id so a caller can quote it. */
export function problemBody(p: Problem, requestId: string): string {
  return JSON.stringify({
    type: problemTypeUri(p.slug),
    title: PROBLEM_TYPES[p.slug].title,
    status: p.status,
    detail: p.detail,
    requestId,
  });
}
