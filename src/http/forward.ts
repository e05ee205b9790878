/**
 * The one code path that carries an HTTP request to NATS and the reply back. `/rr` and mapped routes
 * differ only in how they find the subject and which limits apply.
 */
import type { Context } from 'hono';
import { NatsUnavailableError } from '../errors.js';
import type { RequestReply } from '../request-reply.js';
import { readBody } from './body.js';
import type { GatewayEnv } from './context.js';
import { requestHeadersToNats } from './header-policy.js';
import type { RequestHeaderOptions } from './header-policy.js';
import { replyToHttp } from './reply.js';
import { requestTimeoutMs } from './request-timeout.js';
import type { TimeoutLimits } from './request-timeout.js';

/** Where and how to forward one request. */
export interface ForwardTarget {
  subject: string;
  timeouts: TimeoutLimits;
  headers: RequestHeaderOptions;
}

/** Sends the request's body and headers to `target.subject` and answers with the first reply. */
export async function forward(
  c: Context<GatewayEnv>,
  nats: RequestReply,
  target: ForwardTarget,
): Promise<Response> {
  const timeoutMs = requestTimeoutMs(
    c.req.query('timeout'),
    c.req.header('request-timeout'),
    target.timeouts,
  );
  if (!nats.available) throw new NatsUnavailableError('not connected to NATS');
  const { incoming, outgoing } = c.env;
  const payload = await readBody(incoming, nats.maxPayloadBytes);
  const headers = requestHeadersToNats(incoming.rawHeaders, target.headers);
  headers.push(['X-Request-Id', c.get('requestId')]);

  // A caller that hangs up should not keep its pending reply (and its memory) until the timeout.
  const hangUp = new AbortController();
  const onClose = (): void => {
    if (!outgoing.writableFinished) hangUp.abort();
  };
  outgoing.once('close', onClose);
  try {
    const reply = await nats.request({
      subject: target.subject,
      payload,
      headers,
      timeoutMs,
      signal: hangUp.signal,
    });
    const http = replyToHttp(reply);
    const responseHeaders = new Headers();
    for (const [name, value] of http.headers) responseHeaders.append(name, value);
    return new Response(http.body, { status: http.status, headers: responseHeaders });
  } finally {
    outgoing.off('close', onClose);
  }
}
