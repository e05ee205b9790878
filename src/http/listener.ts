/**
 * The gateway's Node request listener. `POST /rr/{subject}`, the request the gateway exists for, is
 * answered here directly; every other request goes through the Hono app and its Node adapter. Both
 * ways run the same bookkeeping (exchange.ts), CORS, handler and error mapping. Counted with
 * callgrind, the adapter and Hono's dispatch cost about 37 000 instructions per request, some 15 %
 * of the gateway's (bench/README.md, "The direct path").
 */
import type { RequestListener } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import type { HttpBindings } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Logger } from 'pino';
import { discardUnreadBody } from './body.js';
import type { Exchange, GatewayEnv } from './context.js';
import type { ApplyCors } from './cors.js';
import type { Exchanges } from './exchange.js';
import type { RequestReplyHandler } from './rr.js';
import { ALREADY_SENT, sendError } from './send.js';

// The Hono adapter passes request targets outside this character set, and those with dot segments,
// through `new URL()`, which rewrites them (`/rr/../metrics` is `/metrics` there). Such targets go
// through Hono, so that every path means the same whichever way it is answered.
const PLAIN_RR_TARGET = /^\/rr\/[!#$&-;=?-[\]_a-z~]*$/;
const DOT_SEGMENT = /\/\.\.?(?:[/?#]|$)/;

/** Options for {@link createListener}. */
export interface ListenerOptions {
  app: Hono<GatewayEnv>;
  exchanges: Exchanges;
  /** Serves `/rr` directly; `undefined` when `/rr` is off or a mapped route may claim paths under it. */
  requestReply: RequestReplyHandler | undefined;
  cors: ApplyCors | undefined;
  logger: Logger;
}

/** The listener for one config's app. */
export function createListener({
  app,
  exchanges,
  requestReply,
  cors,
  logger,
}: ListenerOptions): RequestListener {
  const viaHono = getRequestListener(async function fetchAndSettle(
    request: Request,
    env: HttpBindings,
  ): Promise<Response> {
    const response = await app.fetch(request, env);
    // Handlers write to Node directly; Hono re-wraps HEAD answers in a new Response, which the
    // adapter would try to write a second time. Once the head is out, nothing else may be written.
    return env.outgoing.headersSent ? ALREADY_SENT : response;
  } as (request: Request, env: unknown) => Promise<Response>);

  if (requestReply === undefined) {
    return function handleRequest(incoming, outgoing) {
      void viaHono(incoming, outgoing);
    };
  }
  const answerRequestReply = requestReply;

  // Defined once, not per request: `run` hands it the exchange.
  async function answerDirectly(exchange: Exchange): Promise<void> {
    try {
      if (cors?.(exchange) !== true) await answerRequestReply(exchange);
    } catch (err) {
      sendError(exchange, err, logger);
    }
    // An answer that did not need the body (a 413, a 401) leaves it unread on the connection.
    if (!exchange.incoming.readableEnded) discardUnreadBody(exchange.incoming);
  }

  return function handleRequest(incoming, outgoing) {
    const target = incoming.url ?? '';
    if (incoming.method !== 'POST' || !PLAIN_RR_TARGET.test(target) || DOT_SEGMENT.test(target)) {
      void viaHono(incoming, outgoing);
      return;
    }
    void exchanges.run(exchanges.open(incoming, outgoing), answerDirectly);
  };
}
