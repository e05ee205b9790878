/**
 * Requests Node's HTTP parser refuses before they become requests (a malformed request line or
 * header, a header block over 16 KiB, a request that did not arrive within `http.requestTimeout`).
 * Node would answer them with a bare status line; they get the same treatment as every other
 * answer: a problem document with an `X-Request-Id`, an access-log line and a metric sample.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { UnparsableRequestError } from '../errors.js';
import type { Exchanges } from './exchange.js';
import { PROBLEM_TYPES, problemBody, toProblem } from './problem.js';

/** What logs and metrics call a request that never got as far as a route. */
export const UNPARSED_ROUTE = 'unparsed';

/** The `clientError` listener of a server whose requests `exchanges` records. */
export function createClientErrorHandler(
  exchanges: Exchanges,
): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return function answerClientError(err, socket) {
    // Nobody is left to answer (Node does the same).
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const problem = toProblem(unparsable(err));
    const requestId = randomUUID();
    const body = problemBody(problem, requestId);
    socket.end(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}\r\n` +
        'Content-Type: application/problem+json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\n` +
        // What comes after a request the parser lost track of cannot be trusted to be a request.
        'Connection: close\r\n\r\n' +
        body,
    );
    exchanges.record(
      {
        requestId,
        method: 'other',
        path: '',
        route: UNPARSED_ROUTE,
        subject: undefined,
        clientIp: (socket as { remoteAddress?: string }).remoteAddress ?? '',
        status: problem.status,
        durationMs: 0,
      },
      PROBLEM_TYPES[problem.slug].outcome,
    );
  };
}

function unparsable(err: NodeJS.ErrnoException): UnparsableRequestError {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new UnparsableRequestError(
        'headers-too-large',
        'the request header block is over 16 KiB',
        { cause: err },
      );
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new UnparsableRequestError(
        'incomplete-request',
        'the request did not arrive in time',
        { cause: err },
      );
    default:
      return new UnparsableRequestError(
        'bad-request',
        `the request is not valid HTTP/1.1 (${err.code ?? 'parse error'})`,
        { cause: err },
      );
  }
}
