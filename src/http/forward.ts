/**
 * The one code path that carries an HTTP request to NATS and the reply back. `/rr` and mapped routes
 * differ only in how they find the subject and which policy applies.
 */
import type { EffectivePolicy } from '../config/effective.js';
import type { Authenticator } from './auth.js';
import {
  BadRequestError,
  NatsUnavailableError,
  OverloadedError,
  PayloadTooLargeError,
  RequestTimeoutError,
  SubjectForbiddenError,
} from '../errors.js';
import type { ByteBudget } from './byte-budget.js';
import { Outcome } from '../metrics.js';
import type {
  GatherOptions,
  HeaderList,
  OutboundRequest,
  Reply,
  RequestReply,
} from '../request-reply.js';
import { isUnderPrefix } from '../subject.js';
import { readBody } from './body.js';
import { answerGather, gatherOptions, streamStallMs } from './gather.js';
import { answerStream } from './stream.js';
import type { Exchange, RoutedExchange } from './context.js';
import type { CutReason, StreamOutOptions } from './stream-out.js';
import { CONTEXT_HEADER_PREFIX, requestHeadersToNats } from './header-policy.js';
import { replyToHttp } from './reply.js';
import { budgetAsked, requestBudgetMs } from './deadline.js';
import { send } from './send.js';

/** What forwarding needs from the gateway. */
export interface ForwardDeps {
  nats: RequestReply;
  /** Present when API keys are configured; the dispatcher has authenticated the caller already. */
  auth: Authenticator | undefined;
  /** The process's byte budget: bodies, unsent replies, stream and gather buffers. */
  budget: ByteBudget;
  /** Logs and counts a stream the gateway cut short. */
  onStreamCut: (exchange: Exchange, reason: CutReason) => void;
}

/** Where and how to forward one request. */
export interface ForwardTarget {
  subject: string;
  policy: EffectivePolicy;
  /** The route template that matched, sent as `X-Gateway-Route`. */
  route: string;
  /** Decoded path parameters, each sent as `X-Gateway-Param-<name>`. */
  params?: ReadonlyArray<readonly [header: string, value: string]>;
}

// RFC 9110 §9.3: these carry no content the gateway should forward.
const BODYLESS_METHODS = new Set(['GET', 'HEAD', 'DELETE']);
const EMPTY = new Uint8Array(0);
// The context header names, spelled once rather than concatenated for every request.
const METHOD_HEADER = `${CONTEXT_HEADER_PREFIX}Method`;
const PATH_HEADER = `${CONTEXT_HEADER_PREFIX}Path`;
const QUERY_HEADER = `${CONTEXT_HEADER_PREFIX}Query`;
const ROUTE_HEADER = `${CONTEXT_HEADER_PREFIX}Route`;
const CLIENT_IP_HEADER = `${CONTEXT_HEADER_PREFIX}Client-Ip`;
const DEADLINE_HEADER = `${CONTEXT_HEADER_PREFIX}Deadline`;
const TIMEOUT_MS_HEADER = `${CONTEXT_HEADER_PREFIX}Timeout-Ms`;

/** Sends the request's body and headers to `target.subject` and answers with the first reply. */
export async function forward(
  exchange: RoutedExchange,
  deps: ForwardDeps,
  target: ForwardTarget,
): Promise<void> {
  const { nats, auth, budget } = deps;
  const { subject, policy } = target;
  const { incoming } = exchange;
  if (auth) auth.permit(exchange.apiKey ?? auth.authenticate(undefined), subject, target.route);
  // A reply subject of the gateway's own: publishing there could resolve another caller's request.
  if (isUnderPrefix(nats.inboxPrefix, subject)) throw new SubjectForbiddenError(subject);
  const query = queryOf(exchange.target.query);
  const budgetMs = requestBudgetMs(query('timeout'), incoming, {
    defaultMs: policy.timeoutMs,
    maxMs: policy.maxTimeoutMs,
  });
  const replies = query('replies') ?? policy.replies;
  if (replies !== 'first' && replies !== 'all' && replies !== 'stream') {
    throw new BadRequestError("'replies' must be first, all or stream");
  }
  const gather = replies === 'all' ? gatherOptions(query, policy, budgetMs) : undefined;
  if (!nats.available) throw new NatsUnavailableError('not connected to NATS');
  const method = incoming.method ?? 'GET';
  // Handed on, not awaited: an async frame keeps its locals alive across an await, so building the
  // publish here would hold the body and the header list until the reply came, and with hundreds
  // of requests waiting that is what each scavenge copies.
  const payload = BODYLESS_METHODS.has(method)
    ? EMPTY
    : await readAdmittedBody(exchange, budget, nats.maxPayloadBytes);
  return ask(exchange, deps, target, method, payload, query, budgetMs, replies, gather);
}

/** Publishes the request and answers with the first reply, or streams or gathers the replies. */
function ask(
  exchange: RoutedExchange,
  { nats, auth, budget, onStreamCut }: ForwardDeps,
  target: ForwardTarget,
  method: string,
  payload: Uint8Array,
  query: (name: string) => string | undefined,
  budgetMs: number,
  replies: 'first' | 'all' | 'stream',
  gather: GatherOptions | undefined,
): Promise<void> {
  const { subject, policy } = target;
  const { incoming, outgoing } = exchange;
  const headers = natsRequestHeaders(
    incoming.rawHeaders,
    exchange,
    method,
    target,
    auth !== undefined,
  );
  headers.push([CLIENT_IP_HEADER, exchange.clientIp]);
  headers.push(['X-Request-Id', exchange.requestId]);

  // The budget runs from the request's arrival: what reading the body took is already spent. The
  // gateway waits for replies until the deadline (a gather's whole wait; a stream's first chunk).
  // A gather waits no longer than a budget the caller (or its proxy) named, whatever ?wait= says.
  const windowMs = !gather
    ? budgetMs
    : budgetAsked(query('timeout'), incoming)
      ? Math.min(gather.waitMs ?? budgetMs, budgetMs)
      : (gather.waitMs ?? budgetMs);
  const leftExactMs = windowMs - (performance.now() - exchange.startedMs);
  if (leftExactMs <= 0) throw new RequestTimeoutError(subject, budgetMs);
  const leftMs = Math.ceil(leftExactMs);
  headers.push([DEADLINE_HEADER, String(Date.now() + leftMs)]);
  headers.push([TIMEOUT_MS_HEADER, String(leftMs)]);
  if (gather) gather.waitMs = leftMs;

  const request: OutboundRequest = {
    subject,
    payload,
    headers,
    timeoutMs: leftMs,
    budgetMs,
    // A caller that hangs up should not keep its pending reply (and its memory) until the timeout.
    onCancel: (cancel) =>
      // 'close' comes once per response; `on` spares the wrapper `once` would allocate.
      outgoing.on('close', () => {
        if (!outgoing.writableFinished) cancel();
      }),
  };
  if (gather || replies === 'stream') {
    const out: StreamOutOptions = {
      // A gather's replies are bounded by its byte budget; framed as JSON they take up to about
      // twice that. A caller that stops reading one is cut by the write timeout.
      maxBufferBytes: gather
        ? Math.max(policy.stream.maxBufferBytes, 2 * policy.gather.maxBytes)
        : policy.stream.maxBufferBytes,
      writeTimeoutMs: policy.stream.writeTimeoutMs,
      budget,
      acknowledge: (subject) => nats.acknowledge(subject),
      onCut: onStreamCut,
    };
    if (gather) return answerGather(exchange, nats, request, gather, out);
    return answerStream(exchange, nats, request, streamStallMs(query, policy, budgetMs), out);
  }
  return answerFirst(exchange, nats.request(request));
}

/** Answers with the first reply; while it waits, only the exchange is held. */
function answerFirst(exchange: RoutedExchange, pending: Promise<Reply>): Promise<void> {
  return pending.then((reply) => {
    const http = replyToHttp(reply);
    exchange.outcome = http.status >= 400 ? Outcome.replyError : Outcome.ok;
    send(exchange, http.status, http.headers, http.body);
  });
}

/**
 * Takes the body's bytes from the process's budget before reading any of it (its declared length,
 * or for a body of unknown length the most NATS would carry), then holds what actually came.
 */
async function readAdmittedBody(
  exchange: Exchange,
  budget: ByteBudget,
  maxBytes: number,
): Promise<Uint8Array> {
  const { headers } = exchange.incoming;
  const declared = headers['content-length'];
  // Without Content-Length or Transfer-Encoding there is no body at all (RFC 9112 §6.3).
  const claim =
    declared !== undefined
      ? Number(declared)
      : headers['transfer-encoding'] !== undefined
        ? Math.min(maxBytes, budget.limit)
        : 0;
  if (claim > maxBytes) throw new PayloadTooLargeError(maxBytes);
  // A body that could never fit is the caller's to shrink, not to retry.
  if (claim > budget.limit) throw new PayloadTooLargeError(budget.limit);
  if (!budget.tryTake(claim)) throw new OverloadedError('http.maxBufferedBytes', budget.limit);
  exchange.heldBytes += claim;
  // HTTP/1.0 knows no 100 Continue (RFC 9110 §10.1.1): it sends the body anyway.
  if (exchange.incoming.httpVersionMinor >= 1 && headers.expect?.toLowerCase() === '100-continue') {
    exchange.outgoing.writeContinue();
  }
  // A body of unknown length may grow only as far as the budget could ever hold.
  const body = await readBody(exchange.incoming, Math.min(maxBytes, budget.limit));
  budget.take(body.length - claim);
  exchange.heldBytes += body.length - claim;
  return body;
}

/**
 * The caller's headers under the policy, the policy's static headers, then the request context.
 * An `Authorization` the gateway consumed to authenticate is never forwarded, whatever the policy.
 */
function natsRequestHeaders(
  rawHeaders: string[],
  { target: { path, query }, incoming }: RoutedExchange,
  method: string,
  target: ForwardTarget,
  consumedAuthorization: boolean,
): HeaderList {
  const { policy } = target;
  let headers = requestHeadersToNats(rawHeaders, policy);
  if (consumedAuthorization)
    headers = headers.filter(([name]) => name.toLowerCase() !== 'authorization');
  appendPeer(headers, peerAddress(incoming.socket.remoteAddress));
  if (policy.add.length > 0) {
    headers = headers.filter(([name]) => !policy.addNames.has(name.toLowerCase()));
    headers.push(...policy.add);
  }
  headers.push([METHOD_HEADER, method]);
  headers.push([PATH_HEADER, path]);
  if (query) headers.push([QUERY_HEADER, query]);
  headers.push([ROUTE_HEADER, target.route]);
  if (target.params) for (const [name, value] of target.params) headers.push([name, value]);
  return headers;
}

/**
 * Appends the peer, as nginx and Envoy do: to `X-Forwarded-For` (made when absent) and, when the
 * caller sent one, to `Forwarded` (RFC 7239 §5.2). What the caller wrote stays in front, so a
 * responder that reads the last hop reads what the gateway saw, whatever `http.trustProxy` says.
 */
function appendPeer(headers: HeaderList, peer: string): void {
  let xff: string | undefined;
  let xffName = 'X-Forwarded-For';
  let forwarded: string | undefined;
  let forwardedName = 'Forwarded';
  let kept = 0;
  for (const header of headers) {
    const [name, value] = header;
    // Compared by length first: most requests carry neither, and lowering every name costs.
    const lower = name.length === 15 || name.length === 9 ? name.toLowerCase() : '';
    if (lower === 'x-forwarded-for') {
      if (xff === undefined) xffName = name;
      xff = xff === undefined ? value : `${xff}, ${value}`;
    } else if (lower === 'forwarded') {
      if (forwarded === undefined) forwardedName = name;
      forwarded = forwarded === undefined ? value : `${forwarded}, ${value}`;
    } else {
      headers[kept++] = header;
    }
  }
  headers.length = kept;
  headers.push([xffName, xff === undefined ? peer : `${xff}, ${peer}`]);
  if (forwarded !== undefined) {
    const node = peer.includes(':') ? `"[${peer}]"` : peer;
    headers.push([forwardedName, `${forwarded}, for=${node}`]);
  }
}

/** The socket's peer as proxies write it: an IPv4 client of a dual-stack listener without `::ffff:`. */
function peerAddress(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * A lookup of query parameters, percent-decoded; the query is parsed once, on the first lookup,
 * and never when the target has none (the common case).
 */
function queryOf(query: string | undefined): (name: string) => string | undefined {
  if (!query) return noQuery;
  let params: URLSearchParams | undefined;
  return (name) => (params ??= new URLSearchParams(query)).get(name) ?? undefined;
}

function noQuery(): undefined {
  return undefined;
}
