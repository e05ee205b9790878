/**
 * The one front door: every request to a listener passes here. The target is parsed once when the
 * request's record is opened (exchange.ts); then CORS, the route table, the in-flight limit, the
 * handler and the one error renderer, in that order, whatever the route.
 */
import type { RequestListener } from 'node:http';
import type { Logger } from 'pino';
import { ExpectationFailedError, InvalidTargetError, MethodNotAllowedError } from '../errors.js';
import type { GatewayError } from '../errors.js';
import { discardUnreadBody } from './body.js';
import type { Exchange, RoutedExchange } from './context.js';
import type { Authenticator } from './auth.js';
import type { ApplyCors } from './cors.js';
import type { Exchanges } from './exchange.js';
import type { RouteTable } from './route-table.js';
import { send, sendError } from './send.js';

/** Options for {@link createDispatcher}. */
export interface DispatcherOptions {
  table: RouteTable;
  exchanges: Exchanges;
  cors: ApplyCors | undefined;
  /** Why no route has the path: a 404, or something more precise (an empty path parameter). */
  explainMiss: (path: string) => GatewayError;
  /** Authenticates callers of the routes that reach NATS, when API keys are configured. */
  auth?: Authenticator | undefined;
  logger: Logger;
}

/** The Node request listener for one route table. */
export function createDispatcher({
  table,
  exchanges,
  cors,
  explainMiss,
  auth,
  logger,
}: DispatcherOptions): RequestListener {
  // `OPTIONS *` asks what the server supports (RFC 9110 §9.3.7).
  const serverAllow = serverMethods(table, cors !== undefined).join(', ');

  function route(exchange: Exchange): Promise<void> | void {
    const { target, incoming } = exchange;
    // Node hands requests with another Expect here rather than answering a bare 417.
    const { expect } = incoming.headers;
    const unmet = expect !== undefined && expect.toLowerCase() !== '100-continue';
    // A refused request is no preflight, but its problem carries CORS headers: a browser script
    // reads why rather than an opaque network error.
    if (cors?.(exchange, !(unmet || target instanceof InvalidTargetError)) === true) return;
    if (target instanceof InvalidTargetError) throw target;
    if (unmet) throw new ExpectationFailedError(expect);
    if (target.asterisk) {
      exchange.route = '*';
      send(exchange, 204, [['Allow', serverAllow]], null);
      return;
    }
    const method = incoming.method ?? 'GET';
    const found = table.match(method, target.path);
    if (found.entry === undefined) {
      if (found.template === undefined) throw explainMiss(target.path);
      exchange.route = found.template;
      throw new MethodNotAllowedError(method, found.allow);
    }
    exchange.route = found.entry.template;
    if (found.entry.kind === 'nats') {
      // Who is asking comes before anything about where the request goes.
      if (auth) exchange.apiKey = auth.authenticate(first(incoming.headers.authorization));
      exchanges.admitToNats();
    }
    return found.entry.handle(exchange as RoutedExchange, found.params);
  }

  // Defined once, not per request: `run` hands it the exchange.
  async function dispatch(exchange: Exchange): Promise<void> {
    try {
      await route(exchange);
    } catch (err) {
      sendError(exchange, err, logger);
    }
    // An answer that did not need the body (a 413, a 401) leaves it unread on the connection.
    if (!exchange.incoming.readableEnded) discardUnreadBody(exchange.incoming);
  }

  return function handleRequest(incoming, outgoing) {
    void exchanges.run(exchanges.open(incoming, outgoing), dispatch);
  };
}

/** The methods a table serves, as `OPTIONS *` and a refused CONNECT report them. */
export function serverMethods(table: RouteTable, corsPreflights: boolean): string[] {
  const methods = new Set(table.entries.flatMap((e) => e.methods));
  if (methods.has('GET')) methods.add('HEAD');
  if (corsPreflights) methods.add('OPTIONS');
  return [...methods];
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
