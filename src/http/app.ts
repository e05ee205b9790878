/**
 * The Hono app: request id and access log around every request, the routes, and one error handler
 * that turns every failure into problem+json.
 */
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { createAccessLog } from '../log.js';
import { Outcome } from '../metrics.js';
import type { Metrics } from '../metrics.js';
import {
  GatewayError,
  InvalidParameterError,
  OverloadedError,
  RouteNotFoundError,
} from '../errors.js';
import type { RequestReply } from '../request-reply.js';
import type { Exchange, GatewayEnv } from './context.js';
import { createAuthorizer } from './auth.js';
import { clientAddress } from './client-address.js';
import { corsMiddleware } from './cors.js';
import type { ForwardDeps } from './forward.js';
import { mountHealth } from './health.js';
import type { Lifecycle } from './lifecycle.js';
import { mergeRoutes } from './openapi.js';
import type { OpenApiDocument } from './openapi.js';
import { toProblem } from './problem.js';
import { requestIdFrom } from './request-id.js';
import { compileRoutes, emptyParameterIn, mountRoutes } from './routes.js';
import { mountRequestReply } from './rr.js';
import { send, sendJson, sendProblem } from './send.js';

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
  metrics,
}: AppOptions): Hono<GatewayEnv> {
  const app = new Hono<GatewayEnv>();
  const routes = compileRoutes(config);
  const deps: ForwardDeps = { nats, authorize: createAuthorizer(config) };
  const liveOpenApi = JSON.stringify(mergeRoutes(openApi, config, routes));

  const accessLog = createAccessLog(logger);

  app.use(async function requestContext(c, next) {
    const started = performance.now();
    const exchange: Exchange = {
      requestId: requestIdFrom(c.env.incoming.headers['x-request-id']),
      route: 'unmatched',
      subject: undefined,
      closeConnection: lifecycle.shuttingDown,
      outcome: undefined,
      extraHeaders: [],
      clientIp: clientAddress(c.env.incoming, config.http.trustProxy),
    };
    c.set('exchange', exchange);
    if (lifecycle.inFlight >= config.http.maxInFlight) {
      sendProblem(c, toProblem(new OverloadedError(config.http.maxInFlight)));
    } else {
      lifecycle.requestStarted();
      try {
        await next();
      } finally {
        lifecycle.requestFinished();
      }
    }
    const durationMs = performance.now() - started;
    const status = c.env.outgoing.statusCode;
    const method = c.req.method;
    metrics.observeRequest(
      exchange.route,
      method,
      exchange.outcome ?? (status < 400 ? Outcome.ok : Outcome.error),
      durationMs / 1000,
    );
    accessLog({
      requestId: exchange.requestId,
      method,
      route: exchange.route,
      subject: exchange.subject,
      clientIp: exchange.clientIp,
      status,
      durationMs: Math.round(durationMs * 1000) / 1000,
    });
  });

  const cors = corsMiddleware(config.http.cors);
  if (cors) app.use(cors);

  mountHealth(app, nats, lifecycle);
  if (config.metrics.enabled) {
    app.get('/metrics', async (c) => {
      c.get('exchange').route = '/metrics';
      const text = await metrics.registry.metrics();
      return send(c, 200, [['Content-Type', metrics.registry.contentType]], text);
    });
  }
  app.get('/openapi.json', (c) => {
    c.get('exchange').route = '/openapi.json';
    return sendJson(c, 200, liveOpenApi);
  });
  // Mapped routes first: they take precedence over /rr.
  mountRoutes(app, { config, routes, deps });
  if (config.rr.enabled) mountRequestReply(app, { config, deps });

  app.notFound(function notFound(c) {
    const empty = emptyParameterIn(routes, c.req.path);
    const err = empty
      ? new InvalidParameterError(empty, 'it is empty')
      : new RouteNotFoundError(c.req.path);
    return sendProblem(c, toProblem(err));
  });

  app.onError(function renderProblem(err, c) {
    const problem = toProblem(err);
    if (!(err instanceof GatewayError)) {
      logger.error(
        { requestId: c.get('exchange').requestId, err },
        'unexpected error while handling a request',
      );
    }
    // A failure after the head went out (the caller hung up mid-body) cannot become a problem response.
    if (c.env.outgoing.headersSent) return RESPONSE_ALREADY_SENT;
    return sendProblem(c, problem);
  });

  return app;
}
