/** The request id that follows a request to NATS, into every log line, and back to the caller. */
import { randomUUID } from 'node:crypto';

// Visible ASCII only and short: the id lands in logs and in a NATS header.
const SANE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The caller's `X-Request-Id` when it is sane, else a fresh UUID. */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && SANE_ID.test(header) ? header : randomUUID();
}
