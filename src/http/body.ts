/** Reads a request body into memory, refusing more bytes than NATS could carry. */
import type { IncomingMessage } from 'node:http';
import { BadRequestError, PayloadTooLargeError } from '../errors.js';

/**
 * Collects the body, failing with {@link PayloadTooLargeError} as soon as it passes `limitBytes` —
 * at once when `Content-Length` says so, without reading. What is left unread is discarded after
 * the response by {@link discardUnreadBody} (dispatcher.ts), so the caller still sees the 413.
 */
export function readBody(incoming: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const declared = incoming.headers['content-length'];
  if (declared !== undefined && Number(declared) > limitBytes) {
    return Promise.reject(new PayloadTooLargeError(limitBytes));
  }
  if (incoming.readableEnded) return Promise.resolve(Buffer.alloc(0));
  // No shortcut for a body that came in the same packet as the head: Node's server parser emits the
  // request as soon as the head is parsed, and runs microtasks then too, before it parses the body,
  // so here the body is never complete yet.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const cleanup = (): void => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('aborted', onAborted);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > limitBytes) {
        cleanup();
        incoming.pause();
        reject(new PayloadTooLargeError(limitBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(new BadRequestError('the request body could not be read', { cause: err }));
    };
    const onAborted = (): void => onError(new Error('aborted'));
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('aborted', onAborted);
  });
}

/** How much more of an unneeded body is read and thrown away, and for how long, before giving up. */
const DISCARD_MAX_BYTES = 64 * 1024 * 1024;
const DISCARD_MAX_MS = 500;

/**
 * Reads and throws away the rest of a body the answer did not need, so that the connection can
 * carry the caller's next request; a caller still sending after 64 MiB or 500 ms loses the
 * connection instead.
 */
export function discardUnreadBody(incoming: IncomingMessage): void {
  if (incoming.readableEnded || incoming.destroyed) return;
  let discarded = 0;
  const cleanup = (): void => {
    clearTimeout(timer);
    incoming.off('data', onData);
    incoming.off('end', cleanup);
    incoming.off('error', cleanup);
  };
  const giveUp = (): void => {
    cleanup();
    incoming.socket.destroySoon();
  };
  const onData = (chunk: Buffer): void => {
    discarded += chunk.length;
    if (discarded > DISCARD_MAX_BYTES) giveUp();
  };
  const timer = setTimeout(giveUp, DISCARD_MAX_MS);
  timer.unref();
  incoming.on('data', onData);
  incoming.on('end', cleanup);
  incoming.on('error', cleanup);
  incoming.resume();
}
