/**
 * CORS, answered by the gateway itself: preflights never reach NATS, and allowed origins get their
 * headers on every response. Written here rather than with `hono/cors` because responses go to Node
 * directly (see send.ts), after which that middleware can no longer add headers.
 */
import type { CorsConfig } from '../config/schema.js';
import type { Exchange } from './context.js';
import { send } from './send.js';

/**
 * Applies CORS to one request: answers a preflight (returns `true`: nothing else to do) or adds the
 * headers every response to an allowed origin carries (returns `false`). With `preflight` false a
 * preflight is not answered either: the request is refused, and its problem carries the headers.
 */
export type ApplyCors = (exchange: Exchange, preflight?: boolean) => boolean;

/** CORS for the configured origins, or `undefined` when none is configured. */
export function createCors(cors: CorsConfig): ApplyCors | undefined {
  if (cors.origins.length === 0) return undefined;
  const anyOrigin = cors.origins.includes('*');
  const origins = new Set(cors.origins);
  const methods = cors.methods.join(', ');
  const allowHeaders = cors.headers.join(', ');
  const expose = cors.exposeHeaders.join(', ');
  const maxAgeS = String(Math.floor(cors.maxAge / 1000));

  // Unless every origin gets the same `*`, the answer depends on Origin, whatever it is: a shared
  // cache must not hand one origin's answer to another.
  const variesByOrigin = !anyOrigin || cors.credentials;
  const everyOrigin: Array<[string, string]> = [['Access-Control-Allow-Origin', '*']];
  if (expose) everyOrigin.push(['Access-Control-Expose-Headers', expose]);

  return function applyCors(exchange, preflight = true) {
    const { headers: requestHeaders, method } = exchange.incoming;
    const origin = requestHeaders.origin;
    if (origin === undefined || !(anyOrigin || origins.has(origin))) {
      if (variesByOrigin) exchange.extraHeaders.push(['Vary', 'Origin']);
      // With `*` every answer says so, Origin or not: a cached one then suits any caller.
      else exchange.extraHeaders.push(...everyOrigin);
      return false;
    }
    // A wildcard may not be combined with credentials, so credentialed answers name the origin.
    const allowOrigin = anyOrigin && !cors.credentials ? '*' : origin;
    const common: Array<[string, string]> = [['Access-Control-Allow-Origin', allowOrigin]];
    if (allowOrigin !== '*') common.push(['Vary', 'Origin']);
    if (cors.credentials) common.push(['Access-Control-Allow-Credentials', 'true']);

    const requestedMethod = requestHeaders['access-control-request-method'];
    if (preflight && method === 'OPTIONS' && requestedMethod !== undefined) {
      exchange.route = 'cors-preflight';
      const requestedHeaders = requestHeaders['access-control-request-headers'];
      const headers: Array<[string, string]> = [
        ...common,
        ['Access-Control-Allow-Methods', methods],
      ];
      const allowed = allowHeaders || requestedHeaders;
      if (allowed) headers.push(['Access-Control-Allow-Headers', allowed]);
      if (!allowHeaders && requestedHeaders)
        headers.push(['Vary', 'Access-Control-Request-Headers']);
      headers.push(['Access-Control-Max-Age', maxAgeS]);
      send(exchange, 204, headers, null);
      return true;
    }
    const { extraHeaders } = exchange;
    extraHeaders.push(...common);
    if (expose) extraHeaders.push(['Access-Control-Expose-Headers', expose]);
    return false;
  };
}
