/**
 * Every request's record from arrival to access-log line: its id, client address and parsed target,
 * the count shutdown waits for, and the metrics and log line once it is answered.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { InvalidTargetError, OverloadedError } from '../errors.js';
import { createAccessLog } from '../log.js';
import type { AccessLogEntry } from '../log.js';
import { Outcome } from '../metrics.js';
import type { Metrics } from '../metrics.js';
import { clientAddress } from './client-address.js';
import type { ByteBudget } from './byte-budget.js';
import type { Exchange } from './context.js';
import type { Lifecycle } from './lifecycle.js';
import { requestIdFrom } from './request-id.js';
import { parseTarget } from './target.js';

const IN_FLIGHT = Symbol('exchanges in flight');
const ON_CLOSE = Symbol('what queued answers give back when the connection ends');
const NONE: readonly Exchange[] = Object.freeze([]);
/**
 * A socket that carries the exchanges of its requests being handled, in arrival order (pipelining),
 * and what their queued answers give back when it closes.
 */
type ExchangeSocket = object & { [IN_FLIGHT]?: Exchange[]; [ON_CLOSE]?: Set<() => void> };

/**
 * Runs `release` when `socket` closes. One listener per socket, however many answers are queued on
 * it: a listener each would trip Node's leak warning at ten pipelined requests.
 */
function releaseOnClose(socket: Duplex, release: () => void): void {
  const queued = socket as Duplex & ExchangeSocket;
  let releases = queued[ON_CLOSE];
  if (!releases) {
    const all = (releases = queued[ON_CLOSE] = new Set());
    socket.once('close', () => {
      for (const each of all) each();
    });
  }
  releases.add(release);
}

/** What {@link createExchanges} needs. */
export interface ExchangesOptions {
  config: Config;
  lifecycle: Lifecycle;
  /** The process's byte budget: what a request holds is given back when it finishes. */
  budget: ByteBudget;
  metrics: Metrics;
  logger: Logger;
}

/** Opens a request's {@link Exchange} and runs its handler within the gateway's bookkeeping. */
export interface Exchanges {
  /** The record of a request that has just arrived. */
  open(incoming: IncomingMessage, outgoing: ServerResponse): Exchange;
  /**
   * Runs `handle`, counted as in flight, then counts the request in the metrics and writes its
   * access-log line. `handle` answers every failure itself; it never rejects.
   */
  run(exchange: Exchange, handle: (exchange: Exchange) => Promise<void>): Promise<void>;
  /** The exchanges in flight on `socket`, oldest first (more than one when pipelined). */
  onSocket(socket: object): readonly Exchange[];
  /**
   * Counts and logs an answer given without an exchange: a request Node's parser refused
   * (client-error.ts). Same metric and log line as every other request.
   */
  record(entry: AccessLogEntry, outcome: Outcome | undefined): void;
  /** Throws {@link OverloadedError} when a request that reaches NATS would go past `http.maxInFlight`. */
  admitToNats(): void;
}

/** The bookkeeping for one config's app. */
export function createExchanges({
  config,
  lifecycle,
  budget,
  metrics,
  logger,
}: ExchangesOptions): Exchanges {
  const { trustProxy, maxInFlight } = config.http;
  const writeTimeoutMs = config.requests.streamWriteTimeout;
  const accessLog = createAccessLog(logger);

  function record(entry: AccessLogEntry, outcome: Outcome | undefined): void {
    metrics.observeRequest(
      entry.route,
      entry.method,
      outcome ?? (entry.status < 400 ? Outcome.ok : Outcome.error),
      entry.durationMs / 1000,
    );
    accessLog(entry);
  }

  function finish(exchange: Exchange): void {
    const { target } = exchange;
    record(
      {
        requestId: exchange.requestId,
        method: exchange.incoming.method ?? 'GET',
        path: target instanceof InvalidTargetError ? (exchange.incoming.url ?? '') : target.path,
        route: exchange.route,
        subject: exchange.subject,
        clientIp: exchange.clientIp,
        status: exchange.outgoing.statusCode,
        durationMs: Math.round((performance.now() - exchange.startedMs) * 1000) / 1000,
      },
      exchange.outcome,
    );
  }

  /**
   * Counts what an answer still holds once written, until the socket has taken it or the connection
   * ends: a reply to a caller that reads slowly stays in the process meanwhile. A caller that takes
   * nothing for `requests.streamWriteTimeout` loses the connection, so a stalled one cannot keep it.
   */
  function holdUnsent({ outgoing, incoming }: Exchange): void {
    const unsent = outgoing.destroyed ? 0 : outgoing.writableLength;
    const { socket } = incoming;
    // A connection already gone sends nothing more: what the answer holds is garbage, not held.
    if (unsent === 0 || socket.destroyed) return;
    budget.take(unsent);
    let left = unsent;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      outgoing.off('close', release);
      (socket as ExchangeSocket)[ON_CLOSE]?.delete(release);
      budget.give(unsent);
    };
    const check = (): void => {
      if (socket.destroyed) {
        release();
        return;
      }
      const now = outgoing.writableLength;
      if (now === 0) return;
      // A response queued behind another (pipelining) waits for its turn, not for the caller.
      if (now === left && outgoing.socket !== null) {
        socket.destroy();
        return;
      }
      left = now;
      timer = setTimeout(check, writeTimeoutMs);
    };
    let timer = setTimeout(check, writeTimeoutMs);
    outgoing.once('close', release);
    // A queued response gets no 'close' of its own when the connection ends before its turn; one
    // at the head of the line does, so only a queued one listens on the socket.
    if (outgoing.socket === null) releaseOnClose(socket, release);
  }

  return {
    record,
    onSocket(socket) {
      return (socket as ExchangeSocket)[IN_FLIGHT] ?? NONE;
    },
    open(incoming, outgoing) {
      const exchange: Exchange = {
        incoming,
        outgoing,
        startedMs: performance.now(),
        requestId: requestIdFrom(incoming.headers['x-request-id']),
        target: parseTarget(incoming),
        route: 'unmatched',
        subject: undefined,
        closeConnection: lifecycle.shuttingDown,
        outcome: undefined,
        extraHeaders: [],
        clientIp: clientAddress(incoming, trustProxy),
        apiKey: undefined,
        heldBytes: 0,
        streamed: false,
      };
      // A pipelined request waits behind the ones before it; a parser error on the connection
      // interrupts the last, or comes after them all (client-error.ts).
      const socket = incoming.socket as ExchangeSocket;
      (socket[IN_FLIGHT] ??= []).push(exchange);
      return exchange;
    },
    admitToNats() {
      // The request asking is already counted.
      if (lifecycle.inFlight > maxInFlight)
        throw new OverloadedError('http.maxInFlight', maxInFlight);
    },
    async run(exchange, handle) {
      try {
        lifecycle.requestStarted();
        try {
          await handle(exchange);
        } finally {
          lifecycle.requestFinished();
          if (exchange.heldBytes !== 0) budget.give(exchange.heldBytes);
        }
        if (!exchange.streamed) holdUnsent(exchange);
        const queue = (exchange.incoming.socket as ExchangeSocket)[IN_FLIGHT];
        if (queue) {
          const at = queue.indexOf(exchange);
          if (at === 0) queue.shift();
          else if (at > 0) queue.splice(at, 1);
        }
        finish(exchange);
      } catch (err) {
        // Nobody awaits a request's run (dispatcher.ts): a rejection here would end the process.
        logger.error({ requestId: exchange.requestId, err }, 'unexpected error around a request');
      }
    },
  };
}
