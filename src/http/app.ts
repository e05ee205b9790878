/**
 * The gateway's HTTP side for one config: the route tables of the main listener and of the optional
 * admin listener, and the dispatcher that serves each (dispatcher.ts).
 */
import type { IncomingMessage, RequestListener } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { Outcome } from '../metrics.js';
import type { Metrics } from '../metrics.js';
import { InvalidParameterError, RouteNotFoundError } from '../errors.js';
import type { RequestReply } from '../request-reply.js';
import { createAuthenticator } from './auth.js';
import { createClientErrorHandler, createConnectHandler } from './client-error.js';
import { createCors } from './cors.js';
import { createDispatcher, serverMethods } from './dispatcher.js';
import { createExchanges } from './exchange.js';
import type { ForwardDeps } from './forward.js';
import { healthRoutes } from './health.js';
import type { ByteBudget } from './byte-budget.js';
import type { Lifecycle } from './lifecycle.js';
import { metricsRoute } from './metrics-route.js';
import { docsRoutes } from './docs.js';
import { listenerOrigin, mergeRoutes, openApiRoute } from './openapi.js';
import type { ListenerAddress, OpenApiDocument } from './openapi.js';
import { RouteTable } from './route-table.js';
import { servicesRoute } from './services-route.js';
import type { DiscoveredRoute, ServicesReport } from '../discovery/evaluate.js';
import type { RouteEntry } from './route-table.js';
import { compileRoutes, emptyParameterIn, mappedRoutes } from './routes.js';
import { requestReplyRoute } from './rr.js';

/** Everything the app needs, handed in by `main.ts`. */
export interface AppOptions {
  config: Config;
  nats: RequestReply;
  lifecycle: Lifecycle;
  /** The process's byte budget; one for the process, so a reload's app shares what the old one holds. */
  budget: ByteBudget;
  logger: Logger;
  /** The static `openapi.yaml`, merged with the routes for `/openapi.json`. */
  openApi: OpenApiDocument;
  /** Prometheus metrics, served on `/metrics` when `metrics.enabled`. */
  metrics: Metrics;
  /** The ports the listeners are bound to, once they are (a configured port may be 0). */
  boundPorts?: () => { main?: number; admin?: number };
  /** Service discovery, when on: the routes services publish now, and `/services`. */
  discovery?:
    | { routes: readonly DiscoveredRoute[]; report(): ServicesReport; readonly settled: boolean }
    | undefined;
}

/** One config's HTTP side. */
export interface GatewayApp {
  /** The main listener's request listener. */
  listener: RequestListener;
  /** The admin listener's, when `http.admin` is set. */
  adminListener: RequestListener | undefined;
  /** Answers what Node's parser refuses, on either listener (client-error.ts). */
  clientError: (err: NodeJS.ErrnoException, socket: Duplex) => void;
  /** Answers CONNECT on the main listener (client-error.ts). */
  connect: (incoming: IncomingMessage, socket: Duplex) => void;
  /** The same on the admin listener. */
  adminConnect: (incoming: IncomingMessage, socket: Duplex) => void;
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
  budget,
  logger,
  openApi,
  metrics,
  boundPorts = () => ({}),
  discovery,
}: AppOptions): GatewayApp {
  const { admin } = config.http;
  const mainAddress = (): ListenerAddress => ({
    host: config.http.host,
    port: boundPorts().main ?? config.http.port,
    scheme: config.http.tls ? 'https' : 'http',
  });
  const routes = compileRoutes(config, discovery?.routes);
  const auth = createAuthenticator(config);
  const deps: ForwardDeps = {
    nats,
    auth,
    budget,
    onStreamCut(exchange, reason) {
      exchange.outcome = Outcome.cut;
      metrics.countStreamCut(reason);
      logger.warn(
        { requestId: exchange.requestId, subject: exchange.subject, reason },
        'stream cut short',
      );
    },
  };
  const exchanges = createExchanges({ config, lifecycle, budget, metrics, logger });
  const cors = createCors(config.http.cors);

  const endpoints: RouteEntry[] = [
    ...healthRoutes(
      nats,
      lifecycle,
      config.nats.maxDownTime,
      () => config.discovery.enabled && discovery?.settled === false,
    ),
    ...(config.metrics.enabled ? [metricsRoute(metrics)] : []),
    ...(config.discovery.enabled && discovery
      ? [servicesRoute(() => discovery.report(), auth)]
      : []),
    openApiRoute(() =>
      mergeRoutes(openApi, config, routes, {
        paths: endpoints.map((e) => e.template),
        main: mainAddress(),
        admin: admin && { host: admin.host, port: boundPorts().admin ?? admin.port },
      }),
    ),
    ...(config.http.docs
      ? docsRoutes({ tryItOrigin: () => (admin ? listenerOrigin(mainAddress()) : undefined) })
      : []),
  ];
  // YAML routes before /rr, which they take precedence over; what services publish comes last.
  const natsRoutes: RouteEntry[] = [
    ...mappedRoutes({ config, routes: routes.filter((r) => !r.operation), deps }),
    ...(config.rr.enabled ? [requestReplyRoute({ config, deps })] : []),
    ...mappedRoutes({ config, routes: routes.filter((r) => r.operation), deps }),
  ];
  const main = admin ? natsRoutes : [...endpoints, ...natsRoutes];

  const mainTable = new RouteTable(main);
  const listener = createDispatcher({
    table: mainTable,
    exchanges,
    cors,
    explainMiss(path) {
      const empty = emptyParameterIn(routes, path);
      return empty ? new InvalidParameterError(empty, 'it is empty') : new RouteNotFoundError(path);
    },
    auth,
    logger,
  });
  const adminTable = new RouteTable(endpoints);
  const adminListener =
    admin &&
    createDispatcher({
      table: adminTable,
      exchanges,
      cors: undefined,
      explainMiss: (path) => new RouteNotFoundError(path),
      logger,
    });
  return {
    listener,
    adminListener,
    clientError: createClientErrorHandler(exchanges),
    connect: createConnectHandler(exchanges, serverMethods(mainTable, cors !== undefined)),
    adminConnect: createConnectHandler(exchanges, serverMethods(adminTable, false)),
    tables: { main, admin: admin && endpoints },
  };
}
