/**
 * Writes responses straight to Node's `ServerResponse`: one `writeHead` with the header lines in
 * order and one `end`. Building a fetch `Response` and `Headers` per request, and having the adapter
 * read them back, cost more CPU than the rest of a request; for bodies past a few KiB the adapter
 * even streamed them through a reader.
 */
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import type { HeaderList } from '../request-reply.js';
import type { Exchange } from './context.js';
import { PROBLEM_TYPES, problemBody, toProblem } from './problem.js';
import type { Problem } from './problem.js';

function headLines(exchange: Exchange, headers: HeaderList): string[] {
  const lines: string[] = [];
  for (const [name, value] of headers) lines.push(name, value);
  for (const [name, value] of exchange.extraHeaders) lines.push(name, value);
  lines.push('X-Request-Id', exchange.requestId);
  // Keep-alive connections outlive `server.close()`; tell their clients to reconnect elsewhere.
  if (exchange.closeConnection) lines.push('Connection', 'close');
  return lines;
}

/** Sends `status`, `headers` and `body`, adding `X-Request-Id` and, while shutting down, `Connection: close`. */
export function send(
  exchange: Exchange,
  status: number,
  headers: HeaderList,
  body: Uint8Array | string | null,
): void {
  const lines = headLines(exchange, headers);
  if (body !== null) {
    lines.push(
      'Content-Length',
      String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength),
    );
  }
  exchange.outgoing.writeHead(status, lines);
  exchange.outgoing.end(body ?? undefined);
}

/** Sends only the head of a response whose body follows in pieces (chunked). */
export function sendHead(exchange: Exchange, status: number, headers: HeaderList): void {
  exchange.outgoing.writeHead(status, headLines(exchange, headers));
  // Streams should reach the caller as they are written, not after Node's first buffer fills.
  exchange.outgoing.flushHeaders();
}

/** Sends a JSON document. */
export function sendJson(exchange: Exchange, status: number, json: string): void {
  send(exchange, status, [['Content-Type', 'application/json']], json);
}

/** Sends a problem as `application/problem+json` (RFC 9457). */
export function sendProblem(exchange: Exchange, p: Problem): void {
  exchange.outcome = PROBLEM_TYPES[p.slug].outcome;
  const body = problemBody(p, exchange.requestId);
  send(exchange, p.status, [...p.headers, ['Content-Type', 'application/problem+json']], body);
}

/**
 * Answers a failure as problem+json, whichever path the request took; an error that is not one of
 * the gateway's own is logged as a bug. Once the head is out (the caller hung up mid-body), nothing
 * more can be sent.
 */
export function sendError(exchange: Exchange, err: unknown, logger: Logger): void {
  if (!(err instanceof GatewayError)) {
    logger.error(
      { requestId: exchange.requestId, err },
      'unexpected error while handling a request',
    );
  }
  if (exchange.outgoing.headersSent) return;
  sendProblem(exchange, toProblem(err));
}
