/**
 * The Hono app: request id and access log around every request, the routes, and one error handler
 * that turns every failure into problem+json.
 */
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { GatewayError, InvalidParameterError, RouteNotFoundError } from '../errors.js';
import type { RequestReply } from '../request-reply.js';
import type { GatewayEnv } from './context.js';
import { mountHealth } from './health.js';
import type { Lifecycle } from './lifecycle.js';
import { mergeRoutes } from './openapi.js';
import type { OpenApiDocument } from './openapi.js';
import { problemResponse, toProblem } from './problem.js';
import { requestIdFrom } from './request-id.js';
import { compileRoutes, emptyParameterIn, mountRoutes } from './routes.js';
import { mountRequestReply } from './rr.js';

/** Everything the app needs, handed in by `main.ts`. */
export interface AppOptions {
  config: Config;
  nats: RequestReply;
  lifecycle: Lifecycle;
  logger: Logger;
  /** The static `openapi.yaml`, merged with the routes for `/openapi.json`. */
  openApi: OpenApiDocument;
}

/**
 * Builds the gateway's HTTP app for one config. A reload builds a new app and swaps it in; requests
 * already running finish in the app they started in.
 */
export function createApp({
  config,
  nats,
  lifecycle,
  logger,
  openApi,
}: AppOptions): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const routes = compileRoutes(config);
  const liveOpenApi = JSON.stringify(mergeRoutes(openApi, config, routes));

  app.use(async function accessLog(c, next) {
    const started = performance.now();
    const requestId = requestIdFrom(c.req.header('x-request-id'));
    const log = logger.child({ requestId });
    c.set('requestId', requestId);
    c.set('log', log);
    c.set('route', 'unmatched');
    c.set('subject', undefined);
    lifecycle.requestStarted();
    try {
      await next();
    } finally {
      lifecycle.requestFinished();
    }
    c.res.headers.set('X-Request-Id', requestId);
    // Keep-alive connections outlive `server.close()`; tell their clients to reconnect elsewhere.
    if (lifecycle.shuttingDown) c.res.headers.set('Connection', 'close');
    log.info(
      {
        method: c.req.method,
        route: c.get('route'),
        subject: c.get('subject'),
        status: c.res.status,
        durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      },
      'request',
    );
  });

  mountHealth(app, nats, lifecycle);
  app.get('/openapi.json', (c) => {
    c.set('route', '/openapi.json');
    return c.body(liveOpenApi, 200, { 'Content-Type': 'application/json' });
  });
  // Mapped routes first: they take precedence over /rr.
  mountRoutes(app, { config, routes, nats });
  if (config.rr.enabled) mountRequestReply(app, { config, nats });

  app.notFound(function notFound(c) {
    const empty = emptyParameterIn(routes, c.req.path);
    const err = empty
      ? new InvalidParameterError(empty, 'it is empty')
      : new RouteNotFoundError(c.req.path);
    return problemResponse(toProblem(err), c.get('requestId'));
  });

  app.onError(function renderProblem(err, c) {
    const problem = toProblem(err);
    if (!(err instanceof GatewayError)) {
      c.get('log').error({ err }, 'unexpected error while handling a request');
    }
    return problemResponse(problem, c.get('requestId'));
  });

  return app;
}
