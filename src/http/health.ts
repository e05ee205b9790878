/**
 * `/healthz` (the process runs) and `/readyz` (it can serve: connected to NATS, not shutting down,
 * and, with discovery on, the routes services publish known).
 */
import { NatsUnavailableError, ShuttingDownError } from '../errors.js';
import type { RequestReply } from '../request-reply.js';
import type { Lifecycle } from './lifecycle.js';
import type { RouteEntry } from './route-table.js';
import { sendJson } from './send.js';

/** The health endpoints' rows of the route table. */
export function healthRoutes(
  nats: RequestReply,
  lifecycle: Lifecycle,
  maxDownTimeMs: number | undefined,
  discoveryPending: () => boolean = () => false,
): RouteEntry[] {
  return [
    {
      template: '/healthz',
      pattern: '/healthz',
      methods: ['GET'],
      kind: 'gateway',
      handle(exchange) {
        // The gateway keeps dialling NATS by itself; an operator who prefers a restart sets a limit.
        if (maxDownTimeMs !== undefined && nats.downForMs > maxDownTimeMs) {
          throw new NatsUnavailableError(
            `out of reach for ${Math.round(nats.downForMs)} ms, over nats.maxDownTime`,
          );
        }
        sendJson(exchange, 200, '{"status":"ok"}');
      },
    },
    {
      template: '/readyz',
      pattern: '/readyz',
      methods: ['GET'],
      kind: 'gateway',
      handle(exchange) {
        if (lifecycle.shuttingDown) throw new ShuttingDownError();
        if (!nats.available) throw new NatsUnavailableError('not connected to NATS');
        // Ready before the first round would answer 404 for routes a moment away.
        if (discoveryPending()) {
          throw new NatsUnavailableError('service discovery has not finished its first round');
        }
        sendJson(exchange, 200, '{"status":"ready"}');
      },
    },
  ];
}
