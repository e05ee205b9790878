/** `/healthz` (the process runs) and `/readyz` (it can serve: connected to NATS, not shutting down). */
import type { Hono } from 'hono';
import { NatsUnavailableError, ShuttingDownError } from '../errors.js';
import type { RequestReply } from '../request-reply.js';
import type { GatewayEnv } from './context.js';
import type { Lifecycle } from './lifecycle.js';
import { sendJson } from './send.js';

/** Adds the health endpoints to the app. */
export function mountHealth(app: Hono<GatewayEnv>, nats: RequestReply, lifecycle: Lifecycle): void {
  app.get('/healthz', (c) => {
    const exchange = c.get('exchange');
    exchange.route = '/healthz';
    return sendJson(exchange, 200, '{"status":"ok"}');
  });
  app.get('/readyz', (c) => {
    const exchange = c.get('exchange');
    exchange.route = '/readyz';
    if (lifecycle.shuttingDown) throw new ShuttingDownError();
    if (!nats.available) throw new NatsUnavailableError('not connected to NATS');
    return sendJson(exchange, 200, '{"status":"ready"}');
  });
}
