/**
 * Every request's record from arrival to access-log line, whichever way it is answered (the Hono
 * app or the direct `/rr` path, see listener.ts): its id and client address, the in-flight limit,
 * the count shutdown waits for, and the metrics and log line once it is answered.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { OverloadedError } from '../errors.js';
import { createAccessLog } from '../log.js';
import { Outcome } from '../metrics.js';
import type { Metrics } from '../metrics.js';
import { clientAddress } from './client-address.js';
import type { Exchange, GatewayEnv } from './context.js';
import type { Lifecycle } from './lifecycle.js';
import { toProblem } from './problem.js';
import { requestIdFrom } from './request-id.js';
import { sendProblem } from './send.js';

/** What {@link createExchanges} needs. */
export interface ExchangesOptions {
  config: Config;
  lifecycle: Lifecycle;
  metrics: Metrics;
  logger: Logger;
}

/** Opens a request's {@link Exchange} and runs its handler within the gateway's bookkeeping. */
export interface Exchanges {
  /** The record of a request that has just arrived. */
  open(incoming: IncomingMessage, outgoing: ServerResponse): Exchange;
  /**
   * Runs `handle` (or answers 503 past `http.maxInFlight`), then counts the request in the metrics
   * and writes its access-log line. `handle` answers every failure itself; it never rejects.
   */
  run(exchange: Exchange, handle: (exchange: Exchange) => Promise<unknown>): Promise<void>;
}

/** The bookkeeping for one config's app. */
export function createExchanges({
  config,
  lifecycle,
  metrics,
  logger,
}: ExchangesOptions): Exchanges {
  const { trustProxy, maxInFlight } = config.http;
  const accessLog = createAccessLog(logger);

  function finish(exchange: Exchange): void {
    const durationMs = performance.now() - exchange.startedMs;
    const status = exchange.outgoing.statusCode;
    const method = exchange.incoming.method ?? 'GET';
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
  }

  return {
    open(incoming, outgoing) {
      return {
        incoming,
        outgoing,
        startedMs: performance.now(),
        requestId: requestIdFrom(incoming.headers['x-request-id']),
        route: 'unmatched',
        subject: undefined,
        closeConnection: lifecycle.shuttingDown,
        outcome: undefined,
        extraHeaders: [],
        clientIp: clientAddress(incoming, trustProxy),
      };
    },
    async run(exchange, handle) {
      try {
        if (lifecycle.inFlight >= maxInFlight) {
          sendProblem(exchange, toProblem(new OverloadedError(maxInFlight)));
        } else {
          lifecycle.requestStarted();
          try {
            await handle(exchange);
          } finally {
            lifecycle.requestFinished();
          }
        }
        finish(exchange);
      } catch (err) {
        // Nobody awaits the direct path's run: a rejection here would end the process.
        logger.error({ requestId: exchange.requestId, err }, 'unexpected error around a request');
      }
    },
  };
}

/** The Hono middleware that opens each request's exchange and runs the rest of the app inside it. */
export function exchangeMiddleware(exchanges: Exchanges): MiddlewareHandler<GatewayEnv> {
  return function requestContext(c, next) {
    const exchange = exchanges.open(c.env.incoming, c.env.outgoing);
    c.set('exchange', exchange);
    return exchanges.run(exchange, next);
  };
}
