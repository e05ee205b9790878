/**
 * The contract between the HTTP side and the NATS side. `http/` only ever sees these types and the
 * functions `main.ts` hands it, so the NATS client can change without touching a route.
 */

/** Header lines in order; a repeated name is repeated, never joined. */
export type HeaderList = Array<[name: string, value: string]>;

/** One request to send over NATS. */
export interface OutboundRequest {
  subject: string;
  payload: Uint8Array;
  headers: HeaderList;
  /** How long to wait for the reply from now. */
  timeoutMs: number;
  /** The caller's whole budget, of which `timeoutMs` is what is left; the timeout error names it. */
  budgetMs?: number | undefined;
  /**
   * Receives a function that forgets the request at once: the HTTP caller hung up (a reply that
   * comes later is late), or, with `false`, the gateway has all it wants (a cut stream, a HEAD). A plain callback
   * rather than an AbortSignal: an AbortController per request was a measurable cost.
   */
  onCancel?: ((cancel: (callerGone?: boolean) => void) => void) | undefined;
}

/** A reply to a request. */
export interface Reply {
  payload: Uint8Array;
  headers: HeaderList;
  /** The reply's own reply subject: a stream chunk that wants an acknowledgement (flow control). */
  replyTo?: string | undefined;
  /** Set on a gathered reply whose header block could not be read; its headers are then empty. */
  malformed?: boolean | undefined;
}

/** When a gather stops (the NATS request-many strategies); whichever comes first. */
export interface GatherOptions {
  /** Stop after this many replies. */
  maxReplies: number;
  /** Stop this long after the request went out; without it, only the first reply has a deadline. */
  waitMs?: number | undefined;
  /** Stop when no reply came for this long after the last one. */
  stallMs?: number | undefined;
  /** A stream: an empty message without headers ends it (and is not a reply). */
  endOnEmpty?: boolean | undefined;
  /** Stop before the replies' bytes (payload and headers) would pass this many. */
  maxBytes?: number | undefined;
}

/** How a gather or stream ended. */
export interface GatherResult {
  count: number;
  reason: 'max' | 'wait' | 'stall' | 'bytes' | 'end';
}

/** What the HTTP side needs from NATS. */
export interface RequestReply {
  /** Sends a request; rejects with a `GatewayError` (no responders, timeout, unavailable, too large). */
  request(req: OutboundRequest): Promise<Reply>;
  /**
   * Sends a request and passes every reply to `onReply` until a stop condition (`onReply` returning
   * false is one: the caller has no room for it, and the gather ends as `bytes`); resolves with how it
   * ended, rejects with NoRespondersError when there were none (a stream: RequestTimeoutError).
   */
  requestMany(
    req: OutboundRequest,
    options: GatherOptions,
    onReply: (reply: Reply) => boolean | void,
  ): Promise<GatherResult>;
  /**
   * Publishes an empty message to `subject`: the acknowledgement a stream chunk asked for. Dropped
   * silently when it cannot be sent (the responder's window then runs dry and the stream stalls).
   */
  acknowledge(subject: string): void;
  /** How long NATS has been out of reach, in ms; 0 while it serves. */
  readonly downForMs: number;
  /** Whether a request made now can reach NATS (connected, answering, not draining). */
  readonly available: boolean;
  /** Largest payload plus headers the connected server accepts, in bytes (0 before the first connect). */
  readonly maxPayloadBytes: number;
  /** The inbox prefix of the gateway's own replies; callers may never publish under it. */
  readonly inboxPrefix: string;
}
