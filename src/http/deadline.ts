/**
 * The caller's time budget: what it asks for with `?timeout=` or `Request-Timeout`, or what a proxy
 * in front says is left (`grpc-timeout`, Envoy's `X-Envoy-Expected-Rq-Timeout-Ms`). The smallest
 * wins, the route's timeout is the default and `requests.maxTimeout` the cap. The budget runs from
 * the request's arrival; responders get the deadline that follows (see forward.ts).
 */
import type { IncomingMessage } from 'node:http';
import { parseDurationMs } from '../duration.js';
import { InvalidTimeoutError } from '../errors.js';

/** Options for {@link requestBudgetMs}. */
export interface TimeoutLimits {
  defaultMs: number;
  maxMs: number;
}

// gRPC over HTTP/2: "TimeoutValue TimeoutUnit", at most 8 digits (grpc/doc/PROTOCOL-HTTP2.md).
const GRPC_TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const GRPC_UNIT_MS = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 } as const;
const WHOLE_MS = /^\d{1,15}$/;

/**
 * The effective budget in ms. Every source the caller sent must be valid (else 400 naming it);
 * the smallest wins; without any, the default; never above the cap.
 */
export function requestBudgetMs(
  queryTimeout: string | undefined,
  incoming: IncomingMessage,
  limits: TimeoutLimits,
): number {
  const { headers } = incoming;
  let budgetMs = Infinity;
  if (queryTimeout !== undefined) budgetMs = duration('the timeout parameter', queryTimeout);
  const requestTimeout = first(headers['request-timeout']);
  if (requestTimeout !== undefined)
    budgetMs = Math.min(budgetMs, duration('Request-Timeout', requestTimeout));
  const grpc = first(headers['grpc-timeout']);
  if (grpc !== undefined) budgetMs = Math.min(budgetMs, grpcTimeoutMs(grpc));
  const envoy = first(headers['x-envoy-expected-rq-timeout-ms']);
  if (envoy !== undefined) budgetMs = Math.min(budgetMs, envoyTimeoutMs(envoy));
  if (budgetMs === Infinity) return limits.defaultMs;
  return Math.min(budgetMs, limits.maxMs);
}

/** Whether the caller, or a proxy for it, named a budget (rather than leaving the route's default). */
export function budgetAsked(queryTimeout: string | undefined, incoming: IncomingMessage): boolean {
  const { headers } = incoming;
  return (
    queryTimeout !== undefined ||
    headers['request-timeout'] !== undefined ||
    headers['grpc-timeout'] !== undefined ||
    headers['x-envoy-expected-rq-timeout-ms'] !== undefined
  );
}

function duration(source: string, text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined) {
    throw new InvalidTimeoutError(
      `${source} '${text.slice(0, 32)}' is not a duration (use 250ms, 5s, 1m or whole milliseconds)`,
    );
  }
  return positive(source, ms);
}

/** `grpc-timeout`, rounded up to whole milliseconds: a budget of 500u still leaves 1 ms. */
function grpcTimeoutMs(text: string): number {
  const match = GRPC_TIMEOUT.exec(text);
  if (!match) {
    throw new InvalidTimeoutError(
      `grpc-timeout '${text.slice(0, 32)}' is not 1-8 digits followed by H, M, S, m, u or n`,
    );
  }
  const [, amount, unit] = match as unknown as [string, string, keyof typeof GRPC_UNIT_MS];
  return positive('grpc-timeout', Math.ceil(Number(amount) * GRPC_UNIT_MS[unit]));
}

function envoyTimeoutMs(text: string): number {
  if (!WHOLE_MS.test(text)) {
    throw new InvalidTimeoutError(
      `X-Envoy-Expected-Rq-Timeout-Ms '${text.slice(0, 32)}' is not whole milliseconds`,
    );
  }
  return positive('X-Envoy-Expected-Rq-Timeout-Ms', Number(text));
}

function positive(source: string, ms: number): number {
  if (ms <= 0) throw new InvalidTimeoutError(`${source} must be greater than zero`);
  return ms;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
