/**
 * Streamed replies (`?replies=stream` or a route's `replies: stream`): one responder sends chunks to
 * the reply subject and ends with an empty message, the NATS convention. The HTTP response carries
 * them chunk by chunk, with the first message's headers as the HTTP headers.
 *
 * Flow control: a chunk that carries a reply subject is acknowledged with an empty message once
 * the caller's socket has taken it, so a responder that keeps at most N chunks unacknowledged is
 * paced by the slowest link. Chunks without one are written as they come; a caller that falls
 * `requests.maxStreamBuffer` behind is cut (stream-out.ts), since core NATS cannot slow them down.
 */
import { GatewayError } from '../errors.js';
import type { OutboundRequest, Reply, RequestReply } from '../request-reply.js';
import type { Exchange } from './context.js';
import { toProblem } from './problem.js';
import { replyToHttp } from './reply.js';
import { send, sendProblem } from './send.js';
import type { CutReason, StreamOutOptions } from './stream-out.js';
import { StreamOut } from './stream-out.js';

/**
 * Streams the replies to `req`; `stallMs` ends a stream whose responder went silent. Not async: the
 * request is handed to NATS and not kept, since a stream may run for minutes and its body and
 * header list are needed only until they are published.
 */
export function answerStream(
  exchange: Exchange,
  nats: RequestReply,
  req: OutboundRequest,
  stallMs: number,
  options: StreamOutOptions,
): Promise<void> {
  let cancel: ((callerGone?: boolean) => void) | undefined;
  const out = new StreamOut(exchange, options, () => cancel?.(false));
  let started = false;
  // HEAD: the first message's head is the answer; the rest of the stream is not asked for.
  const headOnly = exchange.incoming.method === 'HEAD';
  const onReply = (reply: Reply): void => {
    if (!started) {
      started = true;
      let head;
      try {
        head = replyToHttp(reply);
      } catch (err) {
        // The stream never began: its first message answers as a single reply would.
        sendProblem(exchange, toProblem(err));
        cancel?.(false);
        return;
      }
      out.start(head.status, head.headers);
      if (headOnly) {
        out.end();
        cancel?.(false);
        return;
      }
      out.write(head.body ?? new Uint8Array(0), reply.replyTo);
    } else {
      out.write(reply.payload, reply.replyTo);
    }
  };
  const ended = nats.requestMany(
    withCancelHook(req, (fn) => (cancel = fn)),
    { maxReplies: Infinity, stallMs, endOnEmpty: true },
    onReply,
  );
  return ended
    .then(({ reason }) => {
      // An empty stream (the end marker came first) is an empty 200.
      if (!started) {
        send(exchange, 200, [['Content-Type', 'application/octet-stream']], new Uint8Array(0));
        return;
      }
      if (reason === 'stall') out.cut('stalled');
      else out.end();
    })
    .catch((err: unknown) => {
      if (!started) {
        sendProblem(exchange, toProblem(err));
        return;
      }
      // Cut by the gateway (slow consumer, write timeout), or the caller left: nothing more to say.
      if (out.cutReason !== undefined || !out.open) return;
      out.cut(cutReasonOf(err));
    });
}

/**
 * `req` with a cancel hook that also gives the canceller to `keep`. The hook holds `req`'s own hook,
 * not `req`: whoever keeps the canceller does not keep the body and header list with it.
 */
export function withCancelHook(
  req: OutboundRequest,
  keep: (cancel: (callerGone?: boolean) => void) => void,
): OutboundRequest {
  const callersHook = req.onCancel;
  return {
    ...req,
    onCancel: (cancel) => {
      keep(cancel);
      callersHook?.(cancel);
    },
  };
}

/** Why a stream that had started was ended by a failure. */
function cutReasonOf(err: unknown): CutReason {
  if (!(err instanceof GatewayError)) return 'error';
  switch (err.slug) {
    case 'timeout':
      return 'timeout';
    case 'bad-reply':
      return 'bad-reply';
    case 'shutting-down':
      return 'shutting-down';
    case 'nats-unavailable':
      return 'nats-unavailable';
    default:
      return 'error';
  }
}
