/**
 * Writes responses straight to Node's `ServerResponse`: one `writeHead` with the header lines in
 * order and one `end`. Building a fetch `Response` and `Headers` per request, and having the adapter
 * read them back, cost more CPU than the rest of a request; for bodies past a few KiB the adapter
 * even streamed them through a reader.
 */
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import type { HeaderList } from '../request-reply.js';
import type { GatewayEnv } from './context.js';
import { PROBLEM_TYPES, problemTypeUri } from './problem.js';
import type { Problem } from './problem.js';

/** What a handler returns once it has written its response to Node itself. */
export const ALREADY_SENT = RESPONSE_ALREADY_SENT;

function headLines(c: Context<GatewayEnv>, headers: HeaderList): string[] {
  const exchange = c.get('exchange');
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
  c: Context<GatewayEnv>,
  status: number,
  headers: HeaderList,
  body: Uint8Array | string | null,
): Response {
  const lines = headLines(c, headers);
  if (body !== null) {
    lines.push(
      'Content-Length',
      String(typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength),
    );
  }
  c.env.outgoing.writeHead(status, lines);
  c.env.outgoing.end(body ?? undefined);
  return RESPONSE_ALREADY_SENT;
}

/** Sends only the head of a response whose body follows in pieces (chunked). */
export function sendHead(c: Context<GatewayEnv>, status: number, headers: HeaderList): void {
  c.env.outgoing.writeHead(status, headLines(c, headers));
  // Streams should reach the caller as they are written, not after Node's first buffer fills.
  c.env.outgoing.flushHeaders();
}

/** Sends a JSON document. */
export function sendJson(c: Context<GatewayEnv>, status: number, json: string): Response {
  return send(c, status, [['Content-Type', 'application/json']], json);
}

/** Sends a problem as `application/problem+json` (RFC 9457). */
export function sendProblem(c: Context<GatewayEnv>, p: Problem): Response {
  const exchange = c.get('exchange');
  exchange.outcome = PROBLEM_TYPES[p.slug].outcome;
  const body = JSON.stringify({
    type: problemTypeUri(p.slug),
    title: PROBLEM_TYPES[p.slug].title,
    status: p.status,
    detail: p.detail,
    requestId: exchange.requestId,
  });
  return send(c, p.status, [...p.headers, ['Content-Type', 'application/problem+json']], body);
}
