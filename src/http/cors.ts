/**
 * CORS, answered by the gateway itself: preflights never reach NATS, and allowed origins get their
 * headers on every response. Written here rather than with `hono/cors` because responses go to Node
 * directly (see send.ts), after which that middleware can no longer add headers.
 */
import type { MiddlewareHandler } from 'hono';
import type { CorsConfig } from '../config/schema.js';
import type { GatewayEnv } from './context.js';
import { send } from './send.js';

/** The CORS middleware, or `undefined` when no origin is configured. */
export function corsMiddleware(cors: CorsConfig): MiddlewareHandler<GatewayEnv> | undefined {
  if (cors.origins.length === 0) return undefined;
  const anyOrigin = cors.origins.includes('*');
  const origins = new Set(cors.origins);
  const methods = cors.methods.join(', ');
  const allowHeaders = cors.headers.join(', ');
  const expose = cors.exposeHeaders.join(', ');
  const maxAgeS = String(Math.floor(cors.maxAge / 1000));

  return async function applyCors(c, next) {
    const origin = c.env.incoming.headers.origin;
    if (origin === undefined || !(anyOrigin || origins.has(origin))) return next();
    // A wildcard may not be combined with credentials, so credentialed answers name the origin.
    const allowOrigin = anyOrigin && !cors.credentials ? '*' : origin;
    const common: Array<[string, string]> = [['Access-Control-Allow-Origin', allowOrigin]];
    if (allowOrigin !== '*') common.push(['Vary', 'Origin']);
    if (cors.credentials) common.push(['Access-Control-Allow-Credentials', 'true']);

    const requestedMethod = c.env.incoming.headers['access-control-request-method'];
    if (c.req.method === 'OPTIONS' && requestedMethod !== undefined) {
      c.get('exchange').route = 'cors-preflight';
      const requestedHeaders = c.env.incoming.headers['access-control-request-headers'];
      const headers: Array<[string, string]> = [
        ...common,
        ['Access-Control-Allow-Methods', methods],
      ];
      const allowed = allowHeaders || requestedHeaders;
      if (allowed) headers.push(['Access-Control-Allow-Headers', allowed]);
      if (!allowHeaders && requestedHeaders)
        headers.push(['Vary', 'Access-Control-Request-Headers']);
      headers.push(['Access-Control-Max-Age', maxAgeS]);
      return send(c, 204, headers, null);
    }
    const { extraHeaders } = c.get('exchange');
    extraHeaders.push(...common);
    if (expose) extraHeaders.push(['Access-Control-Expose-Headers', expose]);
    return next();
  };
}
