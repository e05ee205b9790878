/**
 * Request-reply over one shared inbox subscription (`<prefix>.*`) and a map of pending requests.
 * nats.js `request()` does the same but builds `Error` objects per call for stack traces and
 * cancellation; here an error is built only when a request actually fails.
 */
import { randomFillSync } from 'node:crypto';
import {
  InvalidArgumentError as NatsInvalidArgumentError,
  InvalidSubjectError as NatsInvalidSubjectError,
} from '@nats-io/transport-node';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import {
  BadReplyError,
  BadRequestError,
  InvalidSubjectError,
  NatsUnavailableError,
  NoRespondersError,
  PayloadTooLargeError,
  RequestTimeoutError,
} from '../errors.js';
import type { GatewayError } from '../errors.js';
import type { GatherOptions, GatherResult, OutboundRequest, Reply } from '../request-reply.js';
import { asMsgHdrs, encodeHeaderBlock, fromNatsHeaders } from './headers.js';

interface PendingRequest {
  subject: string;
  /** The caller's whole budget, as the timeout error reports it. */
  budgetMs: number;
  resolve: (reply: Reply) => void;
  reject: (err: GatewayError) => void;
  timer: NodeJS.Timeout;
  /** Set for a gather: every reply goes here until a stop condition ends the request. */
  gather: GatherState | undefined;
}

interface GatherState {
  options: GatherOptions;
  onReply: (reply: Reply) => boolean | void;
  count: number;
  /** Payload and header bytes of the replies so far, against `maxBytes`. */
  bytes: number;
  stallTimer: NodeJS.Timeout | undefined;
  done: (result: GatherResult) => void;
}

/** A publish waiting for the end of the event-loop turn. */
interface QueuedPublish {
  token: string;
  subject: string;
  payload: Uint8Array;
  headers: Uint8Array | undefined;
}

/** Status a server (or a responder) puts on an empty message when nobody listens on the subject. */
const NO_RESPONDERS_STATUS = 503;

// 96 random bits per reply subject: a NATS user who saw one reply subject cannot guess the next
// one and answer another caller's request. Drawn from a pool, refilled 4 KiB at a time.
const TOKEN_BYTES = 12;
const tokenPool = Buffer.alloc(4096 - (4096 % TOKEN_BYTES));
let tokenOffset = tokenPool.length;

/** A fresh reply token: 16 base64url characters. */
function replyToken(): string {
  if (tokenOffset === tokenPool.length) {
    randomFillSync(tokenPool);
    tokenOffset = 0;
  }
  const token = tokenPool.toString('base64url', tokenOffset, tokenOffset + TOKEN_BYTES);
  tokenOffset += TOKEN_BYTES;
  return token;
}

/**
 * How a gather ends: a stop condition (`gather.done`), or its request settling (the end marker, or a
 * failure). Built apart from `requestMany()`, whose closures would keep the request, and with it
 * the body and header list, alive for as long as a stream runs.
 */
function gatherResult(ended: Promise<Reply>, gather: GatherState): Promise<GatherResult> {
  return new Promise<GatherResult>((resolve, reject) => {
    gather.done = resolve;
    ended.then(() => resolve({ count: gather.count, reason: 'end' }), reject);
  });
}

/** How many requests that gave up are remembered, so a reply that comes for one counts as late. */
const REMEMBERED_GIVE_UPS = 10_000;

/** Pending requests keyed by the last token of their reply subject. */
export class ReplyMux {
  readonly #nc: NatsConnection;
  readonly #prefix: string;
  readonly #pending = new Map<string, PendingRequest>();
  /** Tokens of requests that timed out or whose caller left, oldest first. */
  readonly #gaveUp = new Set<string>();
  readonly #onLateReply: () => void;
  readonly #log: Logger;
  #queue: QueuedPublish[] = [];
  #flushScheduled = false;

  constructor(nc: NatsConnection, inboxPrefix: string, log: Logger, onLateReply: () => void) {
    this.#nc = nc;
    this.#onLateReply = onLateReply;
    this.#prefix = `${inboxPrefix}.`;
    this.#log = log;
    // One wildcard subscription receives every reply; it lives as long as the connection.
    nc.subscribe(`${inboxPrefix}.*`, {
      callback: (err, msg) => this.#onMessage(err, msg),
    });
  }

  request(req: OutboundRequest, maxPayloadBytes: number, gather?: GatherState): Promise<Reply> {
    const { subject, payload, timeoutMs } = req;
    let headers: Uint8Array | undefined;
    try {
      headers = encodeHeaderBlock(req.headers);
    } catch (err) {
      return Promise.reject(
        new BadRequestError(`a header cannot be sent over NATS: ${(err as Error).message}`),
      );
    }
    if (maxPayloadBytes > 0 && payload.length + (headers?.length ?? 0) > maxPayloadBytes) {
      return Promise.reject(new PayloadTooLargeError(maxPayloadBytes));
    }
    const token = replyToken();
    const reply = this.#await(
      token,
      subject,
      req.budgetMs ?? timeoutMs,
      timeoutMs,
      gather,
      req.onCancel,
    );
    this.#queue.push({ token, subject, payload, headers });
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flush);
    }
    return reply;
  }

  /**
   * The pending entry for `token`, and the promise its reply settles. Built apart from `request()`:
   * closures made there would keep its context, and with it the request's header list and body,
   * alive until the reply came, which at hundreds of requests in flight is what each scavenge copies.
   */
  #await(
    token: string,
    subject: string,
    budgetMs: number,
    timeoutMs: number,
    gather: GatherState | undefined,
    onCancel: OutboundRequest['onCancel'],
  ): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      this.#pending.set(token, {
        subject,
        budgetMs,
        resolve,
        reject,
        timer: setTimeout(this.#onTimeout, timeoutMs, token),
        gather,
      });
      // A caller that hangs up stops waiting at once, so its pending entry and timer are freed.
      // Called in here, a throw rejects this promise rather than leaving it to reject unheard.
      onCancel?.(this.#canceller(token));
    });
  }

  readonly #onTimeout = (token: string): void => this.#expire(token);

  /** What cancels the request of `token`; it holds nothing else of the request. */
  #canceller(token: string): (callerGone?: boolean) => void {
    return (callerGone = true) => {
      const pending = this.#settle(token);
      if (!pending) return;
      if (callerGone) this.#rememberGiveUp(token);
      pending.reject(new NatsUnavailableError('the caller went away'));
    };
  }

  /**
   * Sends one request and hands every reply to `onReply` until a stop condition (the NATS
   * request-many strategies): `maxReplies` reached, `waitMs` over, no reply for `stallMs`, or —
   * for a stream — the empty message that ends it. Without `waitMs`, the first reply must come
   * within the request's timeout and the stall timer governs after it.
   */
  requestMany(
    req: OutboundRequest,
    maxPayloadBytes: number,
    options: GatherOptions,
    onReply: (reply: Reply) => boolean | void,
  ): Promise<GatherResult> {
    const gather: GatherState = {
      options,
      onReply,
      count: 0,
      bytes: 0,
      stallTimer: undefined,
      done: () => undefined,
    };
    const ended = this.request(
      { ...req, timeoutMs: options.waitMs ?? req.timeoutMs },
      maxPayloadBytes,
      gather,
    );
    return gatherResult(ended, gather);
  }

  /** Rejects every pending request, e.g. when the connection is lost and their replies cannot arrive. */
  failAll(err: GatewayError): void {
    for (const token of [...this.#pending.keys()]) this.#settle(token)?.reject(err);
  }

  /**
   * Publishes everything queued during this event-loop turn in one go: nats.js buffers publishes made
   * in the same tick into one socket write, instead of one write per HTTP request.
   */
  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    for (const { token, subject, payload, headers } of queue) {
      if (!this.#pending.has(token)) continue; // Cancelled or failed while queued.
      const reply = this.#prefix + token;
      try {
        this.#nc.publish(
          subject,
          payload,
          headers ? { reply, headers: asMsgHdrs(headers) } : { reply },
        );
      } catch (err) {
        const maxPayloadBytes = this.#nc.info?.max_payload ?? 0;
        const size = payload.length + (headers?.length ?? 0);
        this.#settle(token)?.reject(publishError(err, size, maxPayloadBytes));
      }
    }
  };

  // Runs inside nats.js's read loop: it must never throw, or the connection's reader stops for good.
  #onMessage(err: Error | null, msg: Msg): void {
    try {
      if (err) {
        this.#log.error({ err: err.message }, 'reply subscription failed');
        this.failAll(
          new NatsUnavailableError(`the reply subscription failed: ${err.message}`, { cause: err }),
        );
        return;
      }
      const token = msg.subject.slice(this.#prefix.length);
      const waiting = this.#pending.get(token);
      if (waiting?.gather) {
        this.#gathered(token, waiting, waiting.gather, msg);
        return;
      }
      const pending = this.#settle(token);
      if (!pending) {
        // After its request gave up: counted. Otherwise a duplicate: the first reply already won.
        if (this.#gaveUp.delete(token)) this.#onLateReply();
        return;
      }
      let reply: Reply;
      try {
        const natsHeaders = msg.headers;
        if (msg.data.length === 0 && natsHeaders?.code === NO_RESPONDERS_STATUS) {
          pending.reject(new NoRespondersError(pending.subject));
          return;
        }
        const status = natsStatusProblem(natsHeaders?.code);
        if (status) {
          pending.reject(status);
          return;
        }
        reply = { payload: msg.data, headers: fromNatsHeaders(natsHeaders) };
      } catch (cause) {
        pending.reject(new BadReplyError('the reply has a malformed header block', { cause }));
        return;
      }
      pending.resolve(reply);
    } catch (unexpected) {
      this.#log.error({ err: String(unexpected) }, 'unexpected failure handling a reply');
    }
  }

  #rememberGiveUp(token: string): void {
    this.#gaveUp.add(token);
    if (this.#gaveUp.size > REMEMBERED_GIVE_UPS) {
      this.#gaveUp.delete(this.#gaveUp.values().next().value as string);
    }
  }

  #expire(token: string): void {
    const pending = this.#settle(token);
    if (!pending) return;
    this.#rememberGiveUp(token);
    // A stream that never started timed out like a single request; a gather just ends.
    if (pending.gather && !(pending.gather.options.endOnEmpty && pending.gather.count === 0)) {
      this.#endGather(pending, pending.gather, 'wait');
    } else {
      pending.reject(new RequestTimeoutError(pending.subject, pending.budgetMs));
    }
  }

  /** One more reply for a gather; ends it when a stop condition is met. */
  #gathered(token: string, pending: PendingRequest, gather: GatherState, msg: Msg): void {
    let reply: Reply;
    try {
      const natsHeaders = msg.headers;
      if (msg.data.length === 0 && natsHeaders?.code === NO_RESPONDERS_STATUS) {
        if (gather.count === 0) this.#settle(token)?.reject(new NoRespondersError(pending.subject));
        return;
      }
      // The NATS convention for the end of a stream: an empty message without headers.
      if (gather.options.endOnEmpty && msg.data.length === 0 && !natsHeaders) {
        if (this.#settle(token)) this.#endGather(pending, gather, 'end');
        return;
      }
      const status = natsStatusProblem(natsHeaders?.code);
      if (status) throw status;
      reply = { payload: msg.data, headers: fromNatsHeaders(natsHeaders), replyTo: msg.reply };
    } catch (cause) {
      // A stream cannot skip a chunk; a gather keeps the others and marks this one.
      if (gather.options.endOnEmpty) {
        this.#settle(token)?.reject(
          new BadReplyError('a reply has a malformed header block', { cause }),
        );
        return;
      }
      reply = { payload: msg.data, headers: [], malformed: true };
    }
    const { maxReplies, stallMs, waitMs, maxBytes } = gather.options;
    if (maxBytes !== undefined) {
      gather.bytes += replyBytes(reply);
      if (gather.bytes > maxBytes) {
        this.#settle(token);
        this.#endGather(pending, gather, 'bytes');
        return;
      }
    }
    gather.count++;
    let kept: boolean | void;
    try {
      kept = gather.onReply(reply);
    } catch (err) {
      this.#settle(token)?.reject(
        new BadReplyError('the reply could not be passed on', { cause: err }),
      );
      return;
    }
    // The caller's side may have ended the request from inside onReply (a cut, a HEAD).
    if (this.#pending.get(token) !== pending) return;
    if (kept === false) {
      gather.count--;
      this.#settle(token);
      this.#endGather(pending, gather, 'bytes');
      return;
    }
    if (gather.count >= maxReplies) {
      this.#settle(token);
      this.#endGather(pending, gather, 'max');
      return;
    }
    // Without a total wait, the first reply's deadline is over once it came: the stall timer rules.
    if (waitMs === undefined && gather.count === 1) clearTimeout(pending.timer);
    if (stallMs !== undefined) {
      clearTimeout(gather.stallTimer);
      gather.stallTimer = setTimeout(() => {
        if (this.#settle(token)) this.#endGather(pending, gather, 'stall');
      }, stallMs);
    }
  }

  #endGather(pending: PendingRequest, gather: GatherState, reason: GatherResult['reason']): void {
    clearTimeout(gather.stallTimer);
    if (gather.count === 0 && reason !== 'end' && reason !== 'bytes')
      pending.reject(new NoRespondersError(pending.subject));
    else gather.done({ count: gather.count, reason });
  }

  /** Removes a pending request and its timer; returns it unless it was already settled. */
  #settle(token: string): PendingRequest | undefined {
    const pending = this.#pending.get(token);
    if (!pending) return undefined;
    this.#pending.delete(token);
    clearTimeout(pending.timer);
    if (pending.gather) clearTimeout(pending.gather.stallTimer);
    return pending;
  }
}

/**
 * A NATS status line other than 503 (e.g. `NATS/1.0 408`) on a reply is the server or a library
 * speaking, not the responder answering: it is no reply the caller should get as a 200.
 */
function natsStatusProblem(code: number | undefined): BadReplyError | undefined {
  if (code === undefined || code === 0 || code === NO_RESPONDERS_STATUS) return undefined;
  if (code >= 200 && code < 300) return undefined;
  return new BadReplyError(`the reply is a NATS status ${code} message, not an answer`);
}

function replyBytes(reply: Reply): number {
  let bytes = reply.payload.length;
  for (const [name, value] of reply.headers) bytes += name.length + value.length + 4;
  return bytes;
}

/**
 * nats.js validates before it writes; its refusals, by class, as the gateway's own errors. The size
 * was checked before queueing, so it can only be over a limit the server lowered since.
 */
function publishError(err: unknown, sizeBytes: number, maxPayloadBytes: number): GatewayError {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof NatsInvalidArgumentError && maxPayloadBytes > 0 && sizeBytes > maxPayloadBytes)
    return new PayloadTooLargeError(maxPayloadBytes);
  if (err instanceof NatsInvalidSubjectError)
    return new InvalidSubjectError(message, { cause: err });
  return new NatsUnavailableError(`publish failed: ${message}`, { cause: err });
}
