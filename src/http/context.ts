/** What the gateway keeps about one request while it handles it. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InvalidTargetError } from '../errors.js';
import type { Outcome } from '../metrics.js';
import type { ApiKey } from './auth.js';
import type { RequestTarget } from './target.js';

/**
 * One request's record: made when the request arrives (exchange.ts), filled in by the dispatcher
 * and the handler, read by `send` and the access log.
 */
export interface Exchange {
  /** Node's request: handlers read the head from it. */
  readonly incoming: IncomingMessage;
  /** Node's response: every answer is written to it directly (send.ts). */
  readonly outgoing: ServerResponse;
  /** `performance.now()` when the request arrived, for its duration. */
  readonly startedMs: number;
  readonly requestId: string;
  /** The parsed target (target.ts), or why it cannot be served. */
  readonly target: RequestTarget | InvalidTargetError;
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
  /** The caller's API key, once authenticated (when `auth.apiKeys` is configured). */
  apiKey: ApiKey | undefined;
  /** Bytes of the process's budget this request holds (its body, a JSON gather's items); given back when it finishes. */
  heldBytes: number;
  /** Set once a StreamOut writes the answer: it counts and times what the socket holds itself. */
  streamed: boolean;
}

/** An exchange whose target parsed: what route handlers receive. */
export interface RoutedExchange extends Exchange {
  readonly target: RequestTarget;
}
