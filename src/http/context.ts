/** Types shared by the HTTP modules: what the Hono context carries for one request. */
import type { HttpBindings } from '@hono/node-server';
import type { Outcome } from '../metrics.js';

/** Per-request values set by the request middleware and read by handlers and the access log. */
export interface RequestVariables {
  requestId: string;
  /** The route template that matched (`/rr/{subject}`), for logs and metrics; never the raw path. */
  route: string;
  /** The NATS subject once known. */
  subject: string | undefined;
  /** Set while shutting down: responses carry `Connection: close`. */
  closeConnection: boolean;
  /** Headers every response to this request carries (CORS); `send` appends them. */
  extraHeaders: Array<[string, string]>;
  /** The caller's address under `http.trustProxy`. */
  clientIp: string;
  /** How the request ended, for metrics; derived from the status when unset. */
  outcome: Outcome | undefined;
}

/** The Hono environment of the gateway's app. */
export interface GatewayEnv {
  Bindings: HttpBindings;
  Variables: RequestVariables;
}
