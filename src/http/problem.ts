/**
 * The one place where failures become HTTP: every error response is `application/problem+json`
 * (RFC 9457) with a stable `type` from {@link PROBLEM_TYPES}. `openapi.yaml` lists the same catalogue,
 * and a test holds the two together.
 */
import {
  BadReplyError,
  BadRequestError,
  GatewayError,
  InvalidParameterError,
  InvalidSubjectError,
  InvalidTimeoutError,
  KeyNotPermittedError,
  MethodNotAllowedError,
  NatsUnavailableError,
  NoRespondersError,
  OverloadedError,
  PayloadTooLargeError,
  RequestTimeoutError,
  RouteNotFoundError,
  ServiceError,
  ShuttingDownError,
  SubjectForbiddenError,
  UnauthorizedError,
} from '../errors.js';
import { Outcome } from '../metrics.js';

/** Every problem type the gateway emits: slug → default status and title. */
export const PROBLEM_TYPES = {
  'bad-request': { status: 400, title: 'Bad request', outcome: Outcome.rejected },
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
  'payload-too-large': { status: 413, title: 'Payload too large', outcome: Outcome.tooLarge },
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
} as const;

export type ProblemSlug = keyof typeof PROBLEM_TYPES;

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

/** Maps any thrown value to a problem; unknown values are 500s (their message is not shown). */
export function toProblem(err: unknown): Problem {
  if (!(err instanceof GatewayError)) {
    return problem('internal-error', 'the gateway failed to handle this request; see its logs');
  }
  if (err instanceof InvalidSubjectError) return problem('invalid-subject', err.message);
  if (err instanceof InvalidParameterError) return problem('invalid-parameter', err.message);
  if (err instanceof SubjectForbiddenError) return problem('subject-forbidden', err.message);
  if (err instanceof UnauthorizedError) {
    return problem('unauthorized', err.message, undefined, [
      ['WWW-Authenticate', 'Bearer realm="nats-http-gateway"'],
    ]);
  }
  if (err instanceof KeyNotPermittedError) return problem('key-not-permitted', err.message);
  if (err instanceof InvalidTimeoutError) return problem('invalid-timeout', err.message);
  if (err instanceof BadRequestError) return problem('bad-request', err.message);
  if (err instanceof RouteNotFoundError) return problem('not-found', err.message);
  if (err instanceof MethodNotAllowedError) {
    return problem('method-not-allowed', err.message, undefined, [['Allow', err.allow.join(', ')]]);
  }
  if (err instanceof PayloadTooLargeError) return problem('payload-too-large', err.message);
  if (err instanceof NoRespondersError) return problem('no-responders', err.message);
  if (err instanceof RequestTimeoutError) return problem('timeout', err.message);
  if (err instanceof NatsUnavailableError) {
    return problem('nats-unavailable', err.message, undefined, [
      ['Retry-After', RETRY_AFTER_SECONDS],
    ]);
  }
  if (err instanceof OverloadedError) {
    return problem('overloaded', err.message, undefined, [['Retry-After', RETRY_AFTER_SECONDS]]);
  }
  if (err instanceof ShuttingDownError) {
    return problem('shutting-down', err.message, undefined, [
      ['Retry-After', RETRY_AFTER_SECONDS],
      ['Connection', 'close'],
    ]);
  }
  if (err instanceof ServiceError) {
    // The services convention carries the status; only an HTTP error status may pass through.
    const status = err.code >= 400 && err.code <= 599 ? err.code : 502;
    return problem('service-error', err.description, status, [...err.replyHeaders]);
  }
  if (err instanceof BadReplyError) return problem('bad-reply', err.message);
  return problem('internal-error', 'the gateway failed to handle this request; see its logs');
}

function problem(
  slug: ProblemSlug,
  detail: string,
  status: number = PROBLEM_TYPES[slug].status,
  headers: Array<[string, string]> = [],
): Problem {
  return { slug, status, detail, headers };
}
