/** Types shared by the HTTP modules: what the gateway keeps about one request, and Hono's view of it. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HttpBindings } from '@hono/node-server';
import type { Outcome } from '../metrics.js';

/**
 * What the gateway records about one request while handling it: made when the request arrives
 * (exchange.ts), filled in by handlers, read by `send` and the access log. One object rather than
 * a context variable per field: each `c.set` is a Map write, and seven of them per request showed
 * in profiles.
 */
export interface Exchange {
  /** Node's request: handlers read the head from it, never through a fetch `Request`. */
  readonly incoming: IncomingMessage;
  /** Node's response: every answer is written to it directly (send.ts). */
  readonly outgoing: ServerResponse;
  /** `performance.now()` when the request arrived, for its duration. */
  readonly startedMs: number;
  readonly requestId: string;
  /** The route template that matched (`/rr/{subject}`), for logs and metrics; never the raw path. */
  route: string;
  /** The NATS subject once known. */
  subject: string | undefined;
  /** Set while shutting down: responses carry `Connection: close`. */
  readonly closeConnection: boolean;
  /** Headers every response to this request carries (CORS); `send` appends them. */
  readonly extraHeaders: Array<[string, string]>;
  /** The caller's address under `http.trustProxy`. */
  readonly clientIp: string;
  /** How the request ended, for metrics; derived from the status when unset. */
  outcome: Outcome | undefined;
}

/** Per-request context variables. */
export interface RequestVariables {
  exchange: Exchange;
}

/** The Hono environment of the gateway's app. */
export interface GatewayEnv {
  Bindings: HttpBindings;
  Variables: RequestVariables;
}
