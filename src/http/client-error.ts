/**
 * What never reaches a route: requests Node's HTTP parser refuses (a malformed request line or
 * header, a header block over 16 KiB, a request that did not arrive within `http.requestTimeout`)
 * and CONNECT, which Node hands out as a raw socket. Node would answer with a bare status line or
 * nothing; they get the same treatment as every other answer: a problem document with an
 * `X-Request-Id`, an access-log line and a metric sample.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { MethodNotAllowedError, UnparsableRequestError } from '../errors.js';
import type { GatewayError } from '../errors.js';
import type { Exchanges } from './exchange.js';
import { PROBLEM_TYPES, problemBody, toProblem } from './problem.js';
import { sendProblem } from './send.js';

/** What logs and metrics call a request that never got as far as a route. */
export const UNPARSED_ROUTE = 'unparsed';

/** The `clientError` listener of a server whose requests `exchanges` records. */
export function createClientErrorHandler(
  exchanges: Exchanges,
): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return function answerClientError(err, socket) {
    const inFlight = exchanges.onSocket(socket);
    const last = inFlight[inFlight.length - 1];
    if (last && !last.incoming.complete) {
      // The request being read on this connection is cut short (it timed out, or its body is
      // garbage): it answers, and records, for the connection.
      if (!last.outgoing.headersSent && socket.writable && err.code !== 'ECONNRESET') {
        const problem = toProblem(unparsable(err));
        if (!last.closeConnection) problem.headers.push(['Connection', 'close']);
        sendProblem(last, problem);
        // Node's parser is done with this connection: end it once the answer is out.
        last.outgoing.once('finish', () => endExchange(last.incoming, socket, err));
      } else {
        endExchange(last.incoming, socket, err);
      }
      return;
    }
    // Nobody is left to answer (Node does the same), or no HTTP can be spoken: the TLS handshake
    // failed or timed out, and an answer written there would wait for ever behind it.
    if (err.code === 'ECONNRESET' || isTlsFailure(err) || !socket.writable) {
      socket.destroy();
      return;
    }
    if (last) {
      // What follows whole requests still being answered is what the parser refused: they keep
      // their own answers, and the refusal goes out after them, in order.
      if (answerAfter.has(socket)) return;
      answerAfter.add(socket);
      const refuse = (): void => {
        if (socket.writable) answerRaw(exchanges, socket, unparsable(err), 'other');
        else socket.destroy();
      };
      // Its answer may be written already, the exchange not yet closed.
      if (last.outgoing.writableFinished) {
        refuse();
        return;
      }
      last.outgoing.once('finish', refuse);
      last.outgoing.once('close', () => {
        if (!last.outgoing.writableFinished) socket.destroy();
      });
      return;
    }
    answerRaw(exchanges, socket, unparsable(err), 'other');
  };
}

/** Node's errors for a TLS handshake that failed or took too long (`tlsClientError`). */
function isTlsFailure(err: NodeJS.ErrnoException): boolean {
  return err.code?.startsWith('ERR_TLS_') === true || err.code?.startsWith('ERR_SSL_') === true;
}

/** Connections whose parser refused what followed requests still being answered. */
const answerAfter = new WeakSet<Duplex>();

/**
 * Closes the connection and ends the request's body with the error: without a parser, Node tells
 * the request nothing, and a handler still reading the body would wait for ever.
 */
function endExchange(incoming: IncomingMessage, socket: Duplex, err: Error): void {
  socket.destroy();
  if (!incoming.complete) incoming.destroy(err);
}

/** The `connect` listener: the gateway is no proxy, so CONNECT is a 405 like any other method. */
export function createConnectHandler(
  exchanges: Exchanges,
  allow: readonly string[],
): (incoming: IncomingMessage, socket: Duplex) => void {
  return function answerConnect(incoming, socket) {
    answerRaw(exchanges, socket, new MethodNotAllowedError('CONNECT', allow), 'CONNECT');
  };
}

/** Writes a problem straight to a socket that has no response object, closes it, and records it. */
function answerRaw(exchanges: Exchanges, socket: Duplex, err: GatewayError, method: string): void {
  const problem = toProblem(err);
  const requestId = randomUUID();
  const body = problemBody(problem, requestId);
  let head = `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status] ?? ''}\r\n`;
  for (const [name, value] of problem.headers) head += `${name}: ${value}\r\n`;
  socket.end(
    `${head}Content-Type: application/problem+json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\n` +
      // What comes after a request the parser lost track of cannot be trusted to be a request.
      'Connection: close\r\n\r\n' +
      body,
  );
  exchanges.record(
    {
      requestId,
      method,
      path: '',
      route: UNPARSED_ROUTE,
      subject: undefined,
      clientIp: (socket as { remoteAddress?: string }).remoteAddress ?? '',
      status: problem.status,
      durationMs: 0,
    },
    PROBLEM_TYPES[problem.slug].outcome,
  );
}

function unparsable(err: NodeJS.ErrnoException): GatewayError {
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
    case 'HPE_INVALID_URL':
      // Spaces, control characters and non-ASCII bytes: refused by Node before target.ts sees them.
      return new UnparsableRequestError(
        'invalid-target',
        'the request target holds a character that must be percent-encoded',
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
