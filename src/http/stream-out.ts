/**
 * The caller's side of a streamed answer (a stream or a streamed gather): chunks written as they
 * come, acknowledgements for responders that pace themselves, and a cut that no client can mistake
 * for the end — the response stops without its final chunk, or, for a caller that asked with
 * `TE: trailers`, ends with an `X-Stream-Error` trailer.
 */
import type { ByteBudget } from './byte-budget.js';
import type { Exchange } from './context.js';
import type { HeaderList } from '../request-reply.js';
import { sendHead } from './send.js';

/** Trailer that tells a caller who accepts trailers why a stream was cut. */
export const STREAM_ERROR_TRAILER = 'X-Stream-Error';

/** Why the gateway cut a stream short. */
export type CutReason =
  | 'slow-consumer'
  | 'overloaded'
  | 'write-timeout'
  | 'stalled'
  | 'timeout'
  | 'bad-reply'
  | 'nats-unavailable'
  | 'shutting-down'
  | 'error';

/** What a stream needs from the gateway. */
export interface StreamOutOptions {
  /** Most bytes the socket may hold back before the stream is cut as a slow consumer. */
  maxBufferBytes: number;
  /** How long the caller may take nothing, with bytes waiting, before the stream is cut. */
  writeTimeoutMs: number;
  /** The process's byte budget: what the socket holds back is counted in it. */
  budget: ByteBudget;
  /** Publishes an acknowledgement to a responder's reply subject. */
  acknowledge: (subject: string) => void;
  /** Logs and counts a cut. */
  onCut: (exchange: Exchange, reason: CutReason) => void;
}

/**
 * How far behind a caller may fall while the process's byte budget is spent: a few socket
 * high-water marks, so a caller that reads keeps its stream and one that stopped does not.
 */
const BEHIND_WHEN_SPENT_BYTES = 64 * 1024;

/** One streamed answer. */
export class StreamOut {
  readonly #exchange: Exchange;
  readonly #options: StreamOutOptions;
  /** The caller takes a chunked body and said it reads trailers: a cut can say why. */
  #trailers: boolean;
  /** Bytes handed to Node so far; what Node still holds is `outgoing.writableLength`. */
  #written = 0;
  /** Acknowledgements owed once the socket has taken what was written before them. */
  #owed: string[] = [];
  #writeTimer: NodeJS.Timeout | undefined;
  #writtenAtArm = 0;
  #cut: CutReason | undefined;
  /** What the socket holds back, as counted in the byte budget. */
  #held = 0;
  #closed = false;
  readonly #onStop: () => void;

  /** `onStop` stops the source of the chunks when the stream is cut. */
  constructor(exchange: Exchange, options: StreamOutOptions, onStop: () => void) {
    this.#exchange = exchange;
    this.#options = options;
    this.#onStop = onStop;
    const { incoming } = exchange;
    const te = incoming.headers.te ?? '';
    this.#trailers =
      incoming.httpVersionMinor >= 1 &&
      incoming.method !== 'HEAD' &&
      /\btrailers\b/i.test(String(te));
    exchange.outgoing.on('drain', this.#onDrain);
    exchange.outgoing.once('close', this.#onClose);
    const { socket } = exchange.incoming;
    // A connection already gone takes nothing: the stream is closed from the start.
    if (socket.destroyed) this.#closed = true;
    // A response queued behind another on the connection gets no 'close' of its own when the
    // connection ends before its turn: the socket's tells.
    else if (exchange.outgoing.socket === null) socket.once('close', this.#onClose);
  }

  /** Why the stream was cut, once it was. */
  get cutReason(): CutReason | undefined {
    return this.#cut;
  }

  /** Whether the caller still takes data: not cut, not ended, not gone. */
  get open(): boolean {
    const { outgoing } = this.#exchange;
    return (
      this.#cut === undefined && !this.#closed && !outgoing.writableEnded && !outgoing.destroyed
    );
  }

  /** Sends the head; the body follows chunk by chunk. */
  start(status: number, headers: HeaderList): void {
    // From here the stream counts and times what the socket holds (not exchange.run).
    this.#exchange.streamed = true;
    const head = this.#trailers
      ? [...headers, ['Trailer', STREAM_ERROR_TRAILER] as const]
      : headers;
    sendHead(this.#exchange, status, head as HeaderList);
  }

  /**
   * Writes a chunk; `ackTo` is acknowledged once the socket has taken it. Cuts the stream when the
   * caller has fallen `maxBufferBytes` behind.
   */
  write(chunk: Uint8Array | string, ackTo?: string): void {
    if (!this.open) return;
    const { outgoing } = this.#exchange;
    // An empty chunk writes nothing; it is taken once what came before it is.
    const taken = chunk.length === 0 ? !outgoing.writableNeedDrain : outgoing.write(chunk);
    this.#written += chunk.length;
    if (ackTo !== undefined) this.#owed.push(ackTo);
    this.#countHeld();
    if (taken) {
      this.#payOwed();
    } else {
      const behind = outgoing.writableLength;
      if (behind > this.#options.maxBufferBytes) {
        this.cut('slow-consumer');
        return;
      }
      if (behind > BEHIND_WHEN_SPENT_BYTES && this.#options.budget.spent) {
        this.cut('overloaded');
        return;
      }
      this.#armWriteTimer();
    }
  }

  /** Ends the answer normally: the final chunk goes out. */
  end(last?: string): void {
    if (!this.open) return;
    const { outgoing } = this.#exchange;
    if (last !== undefined) this.#written += Buffer.byteLength(last);
    outgoing.end(last);
    this.#countHeld();
    // A caller that never reads what is left must not pin the socket and its buffer for ever.
    if (outgoing.writableLength > 0) this.#armWriteTimer();
    else this.#stopTimer();
  }

  /** Ends the answer so that the caller sees it is incomplete; logged and counted once. */
  cut(reason: CutReason): void {
    if (!this.open) return;
    this.#cut = reason;
    this.#stopTimer();
    this.#owed = [];
    const { outgoing } = this.#exchange;
    this.#options.onCut(this.#exchange, reason);
    this.#onStop();
    if (this.#trailers) {
      outgoing.addTrailers({ [STREAM_ERROR_TRAILER]: reason });
      outgoing.end();
      this.#countHeld();
      // A caller that stopped reading must not keep what is left (and its budget) for ever.
      if (outgoing.writableLength > 0) this.#armWriteTimer();
      return;
    }
    // The request's socket: a pipelined response not yet at the head of the line has none.
    const { socket } = this.#exchange.incoming;
    if (outgoing.chunkedEncoding) {
      // No final zero-length chunk: every HTTP/1.1 client reports an incomplete body.
      socket?.destroy();
    } else {
      // A body delimited by the connection's end (HTTP/1.0): only a reset tells it apart.
      socket?.resetAndDestroy();
    }
    this.#countHeld();
  }

  readonly #onDrain = (): void => {
    this.#stopTimer();
    this.#countHeld();
    this.#payOwed();
  };

  readonly #onClose = (): void => {
    if (this.#closed) return;
    this.#exchange.incoming.socket.off('close', this.#onClose);
    this.#closed = true;
    // Nothing more is written (`open` is false), so what the source still sends is dropped.
    this.#stopTimer();
    this.#options.budget.give(this.#held);
    this.#held = 0;
  };

  /** Brings the byte budget up to date with what the socket holds back now. */
  #countHeld(): void {
    if (this.#closed) return;
    const { outgoing } = this.#exchange;
    const held = outgoing.destroyed ? 0 : outgoing.writableLength;
    this.#options.budget.take(held - this.#held);
    this.#held = held;
  }

  /** Bytes the caller's socket has taken so far. */
  #taken(): number {
    return this.#written - this.#exchange.outgoing.writableLength;
  }

  #payOwed(): void {
    if (this.#owed.length === 0) return;
    const owed = this.#owed;
    this.#owed = [];
    for (const subject of owed) this.#options.acknowledge(subject);
  }

  #armWriteTimer(): void {
    if (this.#writeTimer !== undefined) return;
    this.#writtenAtArm = this.#taken();
    this.#writeTimer = setTimeout(this.#checkProgress, this.#options.writeTimeoutMs);
  }

  readonly #checkProgress = (): void => {
    this.#writeTimer = undefined;
    if (this.#closed) return;
    const { outgoing } = this.#exchange;
    if (outgoing.destroyed || outgoing.writableLength === 0) return;
    // Bytes still waiting and none taken since the timer was armed: the caller stopped reading.
    // Not so a response queued behind another on the connection (pipelining): its turn has not come.
    if (this.#taken() === this.#writtenAtArm && outgoing.socket !== null) {
      if (outgoing.writableEnded) this.#exchange.incoming.socket.destroy();
      else this.cut('write-timeout');
    } else {
      this.#armWriteTimer();
    }
  };

  #stopTimer(): void {
    clearTimeout(this.#writeTimer);
    this.#writeTimer = undefined;
  }
}
