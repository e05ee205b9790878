/** `GET /services`: what service discovery found, exposed and skipped, and why (discovery.ts). */
import type { ServicesReport } from '../discovery/evaluate.js';
import type { RouteEntry } from './route-table.js';
import { send } from './send.js';

/** The `/services` row of the route table. */
export function servicesRoute(report: () => ServicesReport): RouteEntry {
  return {
    template: '/services',
    pattern: '/services',
    methods: ['GET'],
    kind: 'gateway',
    handle(exchange) {
      send(
        exchange,
        200,
        [['Content-Type', 'application/json']],
        `${JSON.stringify(report(), null, 2)}\n`,
      );
    },
  };
}
