/**
 * Scatter-gather (`?replies=all` or a route's `replies: all`): every reply until a stop condition,
 * as one JSON array, or streamed one per reply as Server-Sent Events or NDJSON when the caller
 * asks for `text/event-stream` or `application/x-ndjson`.
 */
import type { EffectivePolicy } from '../config/effective.js';
import { parseDurationMs } from '../duration.js';
import {
  BadReplyError,
  BadRequestError,
  InvalidTimeoutError,
  OverloadedError,
  ServiceError,
} from '../errors.js';
import type { GatherOptions, OutboundRequest, Reply, RequestReply } from '../request-reply.js';
import type { Exchange } from './context.js';
import { toProblem } from './problem.js';
import { replyToHttp } from './reply.js';
import { send, sendHead, sendProblem } from './send.js';
import { StreamOut } from './stream-out.js';
import { isUtf8 } from 'node:buffer';
import type { StreamOutOptions } from './stream-out.js';
import { withCancelHook } from './stream.js';
import type { ByteBudget } from './byte-budget.js';

/** One gathered reply, as the caller receives it. */
export interface GatheredItem {
  status: number;
  headers: Record<string, string[]>;
  body: string;
  encoding: 'utf8' | 'base64';
}

/**
 * A reply as a JSON item (a {@link GatheredItem}): status as for a single reply, body as text when
 * it is UTF-8. Built as bytes: a large body turned into strings would sit in V8's heap until a
 * full collection, and a flood of gathers would hold several times its bytes.
 */
export function gatheredItemJson(reply: Reply): Buffer {
  let status: number;
  if (reply.malformed) {
    // One unreadable reply spoils nothing: it is an item of its own, as a bad Status-Code is.
    return Buffer.from(JSON.stringify({ status: 502, headers: {}, body: '', encoding: 'utf8' }));
  }
  try {
    status = replyToHttp(reply).status;
  } catch (err) {
    if (err instanceof ServiceError) status = err.code >= 400 && err.code <= 599 ? err.code : 502;
    else if (err instanceof BadReplyError) status = 502;
    else throw err;
  }
  // No prototype: a responder's header named `__proto__` or `constructor` is a header like any other.
  const headers = Object.create(null) as Record<string, string[]>;
  for (const [name, value] of reply.headers) (headers[name] ??= []).push(value);
  const head = `{"status":${status},"headers":${JSON.stringify(headers)},"body":`;
  const { payload } = reply;
  if (isUtf8(payload)) {
    const headBytes = Buffer.byteLength(head);
    const tail = ',"encoding":"utf8"}';
    const size = headBytes + jsonStringBytes(payload) + tail.length;
    const out = Buffer.allocUnsafe(size);
    // The head may hold non-ASCII header values: written as the UTF-8 it was measured in.
    out.write(head, 0, 'utf8');
    const at = writeJsonString(payload, out, headBytes);
    out.write(tail, at, 'latin1');
    return out;
  }
  return Buffer.from(
    `${head}"${Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('base64')}","encoding":"base64"}`,
  );
}

/**
 * The letter after `\` for each byte JSON escapes (`u` for `\u00XX`), 0 for a byte it copies:
 * the control characters, `"` and `\`, as JSON.stringify escapes them.
 */
const ESCAPE = new Uint8Array(256);
for (let b = 0; b < 0x20; b++) ESCAPE[b] = 0x75; // u
for (const [b, letter] of [
  [0x08, 'b'],
  [0x09, 't'],
  [0x0a, 'n'],
  [0x0c, 'f'],
  [0x0d, 'r'],
  [0x22, '"'],
  [0x5c, '\\'],
] as const)
  ESCAPE[b] = letter.charCodeAt(0);
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** Bytes of the JSON string (quotes included) that holds UTF-8 `text`. */
function jsonStringBytes(text: Uint8Array): number {
  let size = text.length + 2;
  for (let i = 0; i < text.length; i++) {
    const letter = ESCAPE[text[i]!]!;
    if (letter !== 0) size += letter === 0x75 ? 5 : 1;
  }
  return size;
}

/** Writes UTF-8 `text` as a JSON string at `at`; returns where it ends. As JSON.stringify escapes. */
function writeJsonString(text: Uint8Array, out: Buffer, at: number): number {
  out[at++] = 0x22;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const b = text[i]!;
    const letter = ESCAPE[b]!;
    if (letter === 0) continue;
    out.set(text.subarray(from, i), at);
    at += i - from;
    from = i + 1;
    out[at++] = 0x5c;
    out[at++] = letter;
    if (letter === 0x75) {
      out[at++] = 0x30;
      out[at++] = 0x30;
      out[at++] = HEX[b >> 4]!;
      out[at++] = HEX[b & 15]!;
    }
  }
  out.set(text.subarray(from), at);
  at += text.length - from;
  out[at++] = 0x22;
  return at;
}

/** A duration query parameter, positive and capped; `undefined` when absent. */
function durationParam(
  query: (name: string) => string | undefined,
  name: string,
  maxMs: number,
): number | undefined {
  const text = query(name);
  if (text === undefined) return undefined;
  const ms = parseDurationMs(text);
  if (ms === undefined || ms <= 0)
    throw new InvalidTimeoutError(`'${name}' must be a positive duration`);
  return Math.min(ms, maxMs);
}

/**
 * The gather stop conditions for this request: the caller's `?max=`, `?wait=`, `?stall=` over the
 * route's defaults, within the caps; the total wait defaults to the request's own timeout.
 */
export function gatherOptions(
  query: (name: string) => string | undefined,
  policy: EffectivePolicy,
  requestTimeoutMs: number,
): GatherOptions {
  const { gather, maxTimeoutMs } = policy;
  const maxText = query('max');
  if (maxText !== undefined && !/^[1-9]\d{0,8}$/.test(maxText)) {
    throw new BadRequestError("'max' must be a whole number of at least 1");
  }
  const maxReplies = maxText !== undefined ? Number(maxText) : (gather.max ?? gather.maxReplies);
  const stallMs = durationParam(query, 'stall', maxTimeoutMs) ?? gather.stallMs;
  return {
    maxReplies: Math.min(maxReplies, gather.maxReplies),
    waitMs: durationParam(query, 'wait', maxTimeoutMs) ?? gather.waitMs ?? requestTimeoutMs,
    maxBytes: gather.maxBytes,
    ...(stallMs !== undefined ? { stallMs } : {}),
  };
}

/** How long a stream may go silent: `?stall=`, else the route's gather stall, else the request timeout. */
export function streamStallMs(
  query: (name: string) => string | undefined,
  policy: EffectivePolicy,
  requestTimeoutMs: number,
): number {
  return (
    durationParam(query, 'stall', policy.maxTimeoutMs) ?? policy.gather.stallMs ?? requestTimeoutMs
  );
}

type Framing = 'json' | 'sse' | 'ndjson';

function framingOf(accept: string | undefined): Framing {
  if (accept?.includes('text/event-stream')) return 'sse';
  if (accept?.includes('application/x-ndjson')) return 'ndjson';
  return 'json';
}

/**
 * Response header that says why a gather stopped collecting: max, wait, stall or bytes (its own
 * byte limit, or the process's `http.maxBufferedBytes`).
 */
export const GATHER_END_HEADER = 'X-Gather-End';

/**
 * Runs a gather and answers it in the framing the caller asked for. Not async, nor are the two
 * answers: the request is handed to NATS and not kept while the replies come in.
 */
export function answerGather(
  exchange: Exchange,
  nats: RequestReply,
  req: OutboundRequest,
  options: GatherOptions,
  streamOptions: StreamOutOptions,
): Promise<void> {
  const framing = framingOf(exchange.incoming.headers.accept);
  if (framing === 'json') return answerAsArray(exchange, nats, req, options, streamOptions.budget);
  return answerAsStream(exchange, nats, req, options, streamOptions, framing === 'sse');
}

/**
 * Buffered, so the head can say how the collection ended; written item by item rather than joined,
 * so the answer is not held twice.
 */
function answerAsArray(
  exchange: Exchange,
  nats: RequestReply,
  req: OutboundRequest,
  options: GatherOptions,
  budget: ByteBudget,
): Promise<void> {
  const items: Buffer[] = [];
  let bytes = 1;
  let refused = false;
  const ended = nats.requestMany(req, options, (reply) => {
    const item = gatheredItemJson(reply);
    const size = item.length + 1;
    // Held until the answer is written: a process out of room ends the gather as its own limit would.
    refused = !budget.tryTake(size);
    if (refused) return false;
    exchange.heldBytes += size;
    bytes += size;
    items.push(item);
  });
  return ended.then(({ reason }) => {
    // Replies came but the process had room for none: that is no answer, and worth a retry.
    if (refused && items.length === 0) {
      throw new OverloadedError('http.maxBufferedBytes', budget.limit);
    }
    sendHead(exchange, 200, [
      ['Content-Type', 'application/json'],
      [GATHER_END_HEADER, reason],
      ['Content-Length', String(Math.max(bytes, 2))],
    ]);
    const { outgoing } = exchange;
    items.forEach((item, i) => {
      outgoing.write(i === 0 ? '[' : ',');
      outgoing.write(item);
    });
    outgoing.end(items.length === 0 ? '[]' : ']');
  });
}

/** Streamed: the head goes out with the first reply, so zero replies can still be a 503 problem. */
function answerAsStream(
  exchange: Exchange,
  nats: RequestReply,
  req: OutboundRequest,
  options: GatherOptions,
  streamOptions: StreamOutOptions,
  sse: boolean,
): Promise<void> {
  let cancel: ((callerGone?: boolean) => void) | undefined;
  const out = new StreamOut(exchange, streamOptions, () => cancel?.(false));
  let started = false;
  const write = (item: Buffer): void => {
    if (!started) {
      started = true;
      out.start(200, [
        ['Content-Type', sse ? 'text/event-stream' : 'application/x-ndjson'],
        ['Cache-Control', 'no-cache'],
      ]);
    }
    if (sse) out.write('event: reply\ndata: ');
    out.write(item);
    out.write(sse ? '\n\n' : '\n');
  };
  const ended = nats.requestMany(
    withCancelHook(req, (fn) => (cancel = fn)),
    options,
    (reply) => write(gatheredItemJson(reply)),
  );
  return ended
    .then(({ count, reason }) => {
      if (!started) {
        // Only a byte budget smaller than the first reply ends a gather with nothing in it.
        send(
          exchange,
          200,
          [
            ['Content-Type', 'application/json'],
            [GATHER_END_HEADER, reason],
          ],
          '[]',
        );
        return;
      }
      const end = JSON.stringify({ end: reason, replies: count });
      out.end(sse ? `event: end\ndata: ${end}\n\n` : `${end}\n`);
    })
    .catch((err: unknown) => {
      if (!started) {
        sendProblem(exchange, toProblem(err));
        return;
      }
      if (out.cutReason !== undefined || !out.open) return;
      // The head is out: the failure travels as a last event or line, as documented.
      const problem = toProblem(err);
      const json = JSON.stringify({
        error: { type: problem.slug, status: problem.status, detail: problem.detail },
      });
      out.end(sse ? `event: error\ndata: ${json}\n\n` : `${json}\n`);
    });
}
