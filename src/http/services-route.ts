/** `GET /services`: what service discovery found, exposed and skipped, and why (discovery/). */
import type { ServicesReport } from '../discovery/evaluate.js';
import type { Authenticator } from './auth.js';
import type { RouteEntry } from './route-table.js';
import { send } from './send.js';

/**
 * The `/services` row of the route table. With API keys configured it asks for one (any): it names
 * every service on NATS and why each endpoint was skipped, the allow and deny lists included.
 */
export function servicesRoute(
  report: () => ServicesReport,
  auth: Authenticator | undefined,
): RouteEntry {
  return {
    template: '/services',
    pattern: '/services',
    methods: ['GET'],
    kind: 'gateway',
    handle(exchange) {
      const { authorization } = exchange.incoming.headers;
      auth?.authenticate(authorization);
      send(
        exchange,
        200,
        [['Content-Type', 'application/json']],
        `${JSON.stringify(report(), null, 2)}\n`,
      );
    },
  };
}
