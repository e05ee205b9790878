/** `GET /metrics`: the Prometheus exposition of the process's metrics (metrics.ts). */
import type { Metrics } from '../metrics.js';
import type { RouteEntry } from './route-table.js';
import { send } from './send.js';

/** The `/metrics` row of the route table. */
export function metricsRoute(metrics: Metrics): RouteEntry {
  return {
    template: '/metrics',
    pattern: '/metrics',
    methods: ['GET'],
    kind: 'gateway',
    async handle(exchange) {
      const text = await metrics.exposition();
      send(exchange, 200, [['Content-Type', metrics.registry.contentType]], text);
    },
  };
}
