/**
 * The gateway's HTTP side for one config: the Hono app with every route, the direct path for
 * `/rr` (listener.ts), and one error handler that turns every failure into problem+json.
 */
import type { RequestListener } from 'node:http';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Metrics } from '../metrics.js';
import { InvalidParameterError, RouteNotFoundError } from '../errors.js';
import type { RequestReply } from '../request-reply.js';
import type { GatewayEnv } from './context.js';
import { createAuthorizer } from './auth.js';
import { createCors } from './cors.js';
import { createExchanges, exchangeMiddleware } from './exchange.js';
import type { ForwardDeps } from './forward.js';
import { mountHealth } from './health.js';
import type { Lifecycle } from './lifecycle.js';
import { createListener } from './listener.js';
import { mergeRoutes } from './openapi.js';
import type { OpenApiDocument } from './openapi.js';
import { toProblem } from './problem.js';
import { compileRoutes, emptyParameterIn, mountRoutes } from './routes.js';
import type { CompiledRoute } from './routes.js';
import { createRequestReply, mountRequestReply } from './rr.js';
import { ALREADY_SENT, send, sendError, sendJson, sendProblem } from './send.js';

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
  /** Every route; requests the direct path takes never reach it. */
  hono: Hono<GatewayEnv>;
  /** What the HTTP server calls for each request. */
  listener: RequestListener;
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
  const app = new Hono<GatewayEnv>();
  const routes = compileRoutes(config);
  const deps: ForwardDeps = { nats, authorize: createAuthorizer(config) };
  const liveOpenApi = JSON.stringify(mergeRoutes(openApi, config, routes));
  const exchanges = createExchanges({ config, lifecycle, metrics, logger });
  const cors = createCors(config.http.cors);
  const requestReply = config.rr.enabled ? createRequestReply({ config, deps }) : undefined;

  app.use(exchangeMiddleware(exchanges));

  if (cors) {
    app.use(async function applyCors(c, next) {
      if (cors(c.get('exchange'))) return ALREADY_SENT;
      await next();
      return undefined;
    });
  }

  mountHealth(app, nats, lifecycle);
  if (config.metrics.enabled) {
    app.get('/metrics', async (c) => {
      const exchange = c.get('exchange');
      exchange.route = '/metrics';
      const text = await metrics.registry.metrics();
      return send(exchange, 200, [['Content-Type', metrics.registry.contentType]], text);
    });
  }
  app.get('/openapi.json', (c) => {
    const exchange = c.get('exchange');
    exchange.route = '/openapi.json';
    return sendJson(exchange, 200, liveOpenApi);
  });
  // Mapped routes first: they take precedence over /rr.
  mountRoutes(app, { config, routes, deps });
  if (requestReply) mountRequestReply(app, requestReply);

  app.notFound(function notFound(c) {
    const empty = emptyParameterIn(routes, c.req.path);
    const err = empty
      ? new InvalidParameterError(empty, 'it is empty')
      : new RouteNotFoundError(c.req.path);
    return sendProblem(c.get('exchange'), toProblem(err));
  });

  app.onError(function renderProblem(err, c) {
    return sendError(c.get('exchange'), err, logger);
  });

  const listener = createListener({
    app,
    exchanges,
    // Mapped routes take precedence: where one could match a path under /rr/, Hono decides.
    requestReply: routes.some(mayMatchUnderRr) ? undefined : requestReply,
    cors,
    logger,
  });
  return { hono: app, listener };
}

/** Whether a mapped route could match a `/rr/...` path: its first segment is `rr` or a parameter. */
function mayMatchUnderRr(route: CompiledRoute): boolean {
  const first = route.path.source.split('/')[1] ?? '';
  return first === 'rr' || first.startsWith(':');
}
