/**
 * Streamed replies (`?replies=stream` or a route's `replies: stream`): one responder sends chunks to
 * the reply subject and ends with an empty message, the NATS convention. The HTTP response is
 * chunked, chunk by chunk, with the first message's headers as the HTTP headers. Nothing is
 * buffered beyond what the socket has not taken yet.
 */
import type { OutboundRequest, RequestReply } from '../request-reply.js';
import type { Exchange } from './context.js';
import { toProblem } from './problem.js';
import { replyToHttp } from './reply.js';
import { send, sendHead, sendProblem } from './send.js';

/** Trailer that tells the caller why a stream ended early; absent when it ended normally. */
export const STREAM_ERROR_TRAILER = 'X-Stream-Error';

/**
 * Bytes the socket may hold back before the stream counts as a slow consumer and is cut: core NATS
 * cannot slow a responder down, so the alternative would be unbounded memory.
 */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/** Streams the replies to `req`; `stallMs` ends a stream whose responder went silent. */
export async function answerStream(
  exchange: Exchange,
  nats: RequestReply,
  req: OutboundRequest,
  stallMs: number,
): Promise<void> {
  const { outgoing } = exchange;
  let cancel: (() => void) | undefined;
  let started = false;
  let cutReason: string | undefined;
  const stop = (reason: string): void => {
    cutReason = reason;
    cancel?.();
  };
  const request: OutboundRequest = {
    ...req,
    onCancel: (fn) => {
      cancel = fn;
      req.onCancel?.(fn);
    },
  };
  const endWith = (reason: string | undefined): void => {
    try {
      if (reason) outgoing.addTrailers({ [STREAM_ERROR_TRAILER]: reason });
      outgoing.end();
    } catch {
      // The caller is gone; there is nobody left to tell.
    }
  };

  try {
    const { reason } = await nats.requestMany(
      request,
      { maxReplies: Infinity, stallMs, endOnEmpty: true },
      (reply) => {
        if (cutReason) return;
        if (!started) {
          let head;
          try {
            head = replyToHttp(reply);
          } catch (err) {
            sendProblem(exchange, toProblem(err));
            started = true;
            stop('error');
            return;
          }
          started = true;
          sendHead(exchange, head.status, [...head.headers, ['Trailer', STREAM_ERROR_TRAILER]]);
          if (head.body && head.body.length > 0) outgoing.write(head.body);
        } else if (reply.payload.length > 0) {
          outgoing.write(reply.payload);
        }
        if (outgoing.writableLength > MAX_BUFFERED_BYTES) stop('slow-consumer');
      },
    );
    // An empty stream (the end marker came first) is an empty 200.
    if (!started) {
      send(exchange, 200, [['Content-Type', 'application/octet-stream']], new Uint8Array(0));
      return;
    }
    endWith(reason === 'stall' ? 'stalled' : undefined);
  } catch (err) {
    if (!started) {
      sendProblem(exchange, toProblem(err));
      return;
    }
    if (outgoing.headersSent && !outgoing.writableEnded) endWith(cutReason ?? toProblem(err).slug);
  }
}
