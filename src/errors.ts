/**
 * The gateway's failures, one class each. They carry the facts a caller or an operator needs
 * (subject, timeout, limit) and never a payload or a secret. `http/problem.ts` is the only place
 * that turns them into HTTP responses.
 */

/** The stable names of the problem types (RFC 9457) the gateway answers with; `http/problem.ts` maps each to HTTP. */
export type ProblemSlug =
  | 'bad-request'
  | 'invalid-target'
  | 'invalid-subject'
  | 'invalid-parameter'
  | 'invalid-timeout'
  | 'unauthorized'
  | 'key-not-permitted'
  | 'subject-forbidden'
  | 'not-found'
  | 'method-not-allowed'
  | 'expectation-failed'
  | 'incomplete-request'
  | 'payload-too-large'
  | 'headers-too-large'
  | 'internal-error'
  | 'bad-reply'
  | 'service-error'
  | 'no-responders'
  | 'nats-unavailable'
  | 'overloaded'
  | 'shutting-down'
  | 'timeout';

/**
 * Base class: every gateway failure is one of these, so the HTTP layer can tell them from bugs.
 * Each class names its problem type, so mapping one to HTTP is a table lookup.
 */
export abstract class GatewayError extends Error {
  abstract readonly slug: ProblemSlug;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The subject in the URL is not a valid NATS subject (after percent-decoding). */
export class InvalidSubjectError extends GatewayError {
  readonly slug = 'invalid-subject';
  constructor(
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`invalid subject: ${reason}`, options);
  }
}

/** A path parameter of a mapped route cannot be one subject token (dots, wildcards, control characters, empty). */
export class InvalidParameterError extends GatewayError {
  readonly slug = 'invalid-parameter';
  constructor(
    readonly parameter: string,
    readonly reason: string,
  ) {
    super(`path parameter '${parameter}' cannot be used: ${reason}`);
  }
}

/** API keys are configured and the request carries none, or an unknown one. */
export class UnauthorizedError extends GatewayError {
  readonly slug = 'unauthorized';
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** The caller's API key is valid but not allowed to reach this subject or route. */
export class KeyNotPermittedError extends GatewayError {
  readonly slug = 'key-not-permitted';
  constructor(
    readonly keyName: string,
    readonly target: string,
  ) {
    super(`the API key '${keyName}' may not reach '${target}'`);
  }
}

/** The subject is valid but the configuration does not let callers reach it. */
export class SubjectForbiddenError extends GatewayError {
  readonly slug = 'subject-forbidden';
  constructor(readonly subject: string) {
    super(`subject '${subject}' is not allowed by this gateway`);
  }
}

/** The caller asked for a timeout that is not a positive duration. */
export class InvalidTimeoutError extends GatewayError {
  readonly slug = 'invalid-timeout';
  constructor(readonly reason: string) {
    super(`invalid timeout: ${reason}`);
  }
}

/** Request body plus NATS headers exceed the server's `max_payload`. */
export class PayloadTooLargeError extends GatewayError {
  readonly slug = 'payload-too-large';
  constructor(readonly limitBytes: number) {
    super(`request body and headers exceed the NATS server's max_payload of ${limitBytes} bytes`);
  }
}

/** Nobody subscribes to the subject: NATS answered with its 503 status at once. */
export class NoRespondersError extends GatewayError {
  readonly slug = 'no-responders';
  constructor(readonly subject: string) {
    super(`no responders are listening on '${subject}'`);
  }
}

/** No reply arrived within the request's timeout. */
export class RequestTimeoutError extends GatewayError {
  readonly slug = 'timeout';
  constructor(
    readonly subject: string,
    readonly timeoutMs: number,
  ) {
    super(`no reply on '${subject}' within ${timeoutMs} ms`);
  }
}

/** The gateway has no working NATS connection right now (connecting, reconnecting, stalled, draining). */
export class NatsUnavailableError extends GatewayError {
  readonly slug = 'nats-unavailable';
  constructor(
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`NATS is not available: ${reason}`, options);
  }
}

/**
 * The process already handles `http.maxInFlight` requests, or holds `http.maxBufferedBytes`: taking
 * more would grow memory without bound.
 */
export class OverloadedError extends GatewayError {
  readonly slug = 'overloaded';
  constructor(
    readonly limit: 'http.maxInFlight' | 'http.maxBufferedBytes',
    readonly value: number,
  ) {
    super(
      `the gateway is holding its maximum of ${value} ${limit === 'http.maxInFlight' ? 'requests' : 'buffered bytes'} (${limit}); retry shortly`,
    );
  }
}

/** The gateway is shutting down and takes no new work. */
export class ShuttingDownError extends GatewayError {
  readonly slug = 'shutting-down';
  constructor() {
    super('the gateway is shutting down');
  }
}

/** The responder answered with an error under the NATS services convention (`Nats-Service-Error-Code`). */
export class ServiceError extends GatewayError {
  readonly slug = 'service-error';
  constructor(
    readonly code: number,
    readonly description: string,
    /** Headers of the reply that HTTP can carry, so callers still see e.g. `Retry-After`. */
    readonly replyHeaders: ReadonlyArray<[string, string]> = [],
  ) {
    super(`service error ${code}: ${description}`);
  }
}

/** The responder's reply cannot be turned into an HTTP response (bad status header, malformed headers). */
export class BadReplyError extends GatewayError {
  readonly slug = 'bad-reply';
  constructor(
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`unusable reply: ${reason}`, options);
  }
}

/** The request target cannot be served: bad percent-encoding, a character that must be escaped, no Host. */
export class InvalidTargetError extends GatewayError {
  readonly slug = 'invalid-target';
  constructor(readonly reason: string) {
    super(`invalid request target: ${reason}`);
  }
}

/** Node's HTTP parser refused the request before it became one (see `http/client-error.ts`). */
export class UnparsableRequestError extends GatewayError {
  constructor(
    readonly slug: 'bad-request' | 'invalid-target' | 'headers-too-large' | 'incomplete-request',
    reason: string,
    options?: ErrorOptions,
  ) {
    super(reason, options);
  }
}

/** The request itself is malformed in a way no other class names (bad percent-encoding, unreadable body). */
export class BadRequestError extends GatewayError {
  readonly slug = 'bad-request';
  constructor(
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(reason, options);
  }
}

/** No route matches the path. */
export class RouteNotFoundError extends GatewayError {
  readonly slug = 'not-found';
  constructor(readonly path: string) {
    super(`no route for '${path}'`);
  }
}

/** The path exists but not for this method. */
export class MethodNotAllowedError extends GatewayError {
  readonly slug = 'method-not-allowed';
  constructor(
    readonly method: string,
    readonly allow: readonly string[],
  ) {
    super(`method ${method} is not allowed here`);
  }
}

/** The request carries an `Expect` the gateway cannot meet (only `100-continue` is known, RFC 9110 §10.1.1). */
export class ExpectationFailedError extends GatewayError {
  readonly slug = 'expectation-failed';
  constructor(readonly expectation: string) {
    super(
      `the expectation '${expectation.slice(0, 64)}' cannot be met; only 100-continue is known`,
    );
  }
}

/** The configuration is invalid; `issues` name the key path and the reason of each problem. */
export class ConfigError extends GatewayError {
  readonly slug = 'internal-error';
  constructor(
    readonly source: string,
    readonly issues: readonly string[],
  ) {
    super(`invalid configuration in ${source}:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
  }
}
