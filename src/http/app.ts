/**
 * The gateway's HTTP side for one config: the route tables of the main listener and of the optional
 * admin listener, and the dispatcher that serves each (dispatcher.ts).
 */
import type { RequestListener } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Metrics } from '../metrics.js';
import { InvalidParameterError, RouteNotFoundError } from '../errors.js';
import type { RequestReply } from '../request-reply.js';
import { createAuthorizer } from './auth.js';
import { createClientErrorHandler } from './client-error.js';
import { createCors } from './cors.js';
import { createDispatcher } from './dispatcher.js';
import { createExchanges } from './exchange.js';
import type { ForwardDeps } from './forward.js';
import { healthRoutes } from './health.js';
import type { Lifecycle } from './lifecycle.js';
import { metricsRoute } from './metrics-route.js';
import { mergeRoutes, openApiRoute } from './openapi.js';
import type { OpenApiDocument } from './openapi.js';
import { RouteTable } from './route-table.js';
import type { RouteEntry } from './route-table.js';
import { compileRoutes, emptyParameterIn, mappedRoutes } from './routes.js';
import { requestReplyRoute } from './rr.js';

/** Everything the app needs, handed in by `main.ts`. */
export interface AppOptions {
  config: Config;
  nats: RequestReply;
  lifecycle: Lifecycle;
  logger: Logger;
  /** The static `openapi.yaml`, merged with the routes for `/openapi.json`. */
  openApi: OpenApiDocument;
  /** Prometheus metrics, served on `/metrics` when `metrics.enabled`. */
  metrics: Metrics;
}

/** One config's HTTP side. */
export interface GatewayApp {
  /** The main listener's request listener. */
  listener: RequestListener;
  /** The admin listener's, when `http.admin` is set. */
  adminListener: RequestListener | undefined;
  /** Answers what Node's parser refuses, on either listener (client-error.ts). */
  clientError: (err: NodeJS.ErrnoException, socket: Duplex) => void;
  /** The rows of each table, in precedence order, for tests and diagnostics. */
  tables: { main: readonly RouteEntry[]; admin: readonly RouteEntry[] | undefined };
}

/**
 * Builds the gateway's HTTP side for one config. A reload builds a new one and swaps it in;
 * requests already running finish in the app they started in.
 */
export function createApp({
  config,
  nats,
  lifecycle,
  logger,
  openApi,
  metrics,
}: AppOptions): GatewayApp {
  const routes = compileRoutes(config);
  const deps: ForwardDeps = { nats, authorize: createAuthorizer(config) };
  const exchanges = createExchanges({ config, lifecycle, metrics, logger });
  const cors = createCors(config.http.cors);
  const { admin } = config.http;

  const endpointPaths = ['/healthz', '/readyz', '/openapi.json'];
  if (config.metrics.enabled) endpointPaths.push('/metrics');
  const doc = mergeRoutes(openApi, config, routes, {
    paths: endpointPaths,
    adminUrl: admin && `http://${admin.host}:${admin.port}`,
  });
  const endpoints: RouteEntry[] = [
    ...healthRoutes(nats, lifecycle),
    ...(config.metrics.enabled ? [metricsRoute(metrics)] : []),
    openApiRoute(doc),
  ];
  // Mapped routes before /rr: they take precedence over it.
  const natsRoutes: RouteEntry[] = [
    ...mappedRoutes({ config, routes, deps }),
    ...(config.rr.enabled ? [requestReplyRoute({ config, deps })] : []),
  ];
  const main = admin ? natsRoutes : [...endpoints, ...natsRoutes];

  const listener = createDispatcher({
    table: new RouteTable(main),
    exchanges,
    cors,
    explainMiss(path) {
      const empty = emptyParameterIn(routes, path);
      return empty ? new InvalidParameterError(empty, 'it is empty') : new RouteNotFoundError(path);
    },
    logger,
  });
  const adminListener =
    admin &&
    createDispatcher({
      table: new RouteTable(endpoints),
      exchanges,
      cors: undefined,
      explainMiss: (path) => new RouteNotFoundError(path),
      logger,
    });
  return {
    listener,
    adminListener,
    clientError: createClientErrorHandler(exchanges),
    tables: { main, admin: admin && endpoints },
  };
}
