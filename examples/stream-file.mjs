// @ts-check
/**
 * A responder that streams a file through the gateway, paced end to end by acknowledgements:
 *   curl -sS -X POST 'localhost:8080/rr/demo.file?replies=stream' -o copy.bin
 *
 * The protocol, for responder authors (README, "Streams"):
 * - answer on the request's reply subject, one message per chunk, then an empty message without
 *   headers to end the stream; the first message's headers become the HTTP headers;
 * - give each chunk a reply subject of your own: the gateway publishes an empty message to it once
 *   the caller's socket has taken that chunk;
 * - keep at most WINDOW chunks unacknowledged. The gateway then never holds more than WINDOW chunks
 *   for this caller, and nothing is cut however slowly it reads.
 * Usage: NATS_URL=nats://127.0.0.1:4222 node examples/stream-file.mjs FILE [SUBJECT]
 */
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { connect, createInbox, headers } from '@nats-io/transport-node';

const CHUNK_BYTES = 64 * 1024;
const WINDOW = 8;
/** With no acknowledgement for this long, the caller is gone (or the gateway cut it): stop. */
const ACK_TIMEOUT_MS = 30_000;

const file = process.argv[2];
const subject = process.argv[3] ?? 'demo.file';
if (!file) {
  console.error('usage: node examples/stream-file.mjs FILE [SUBJECT]');
  process.exit(2);
}
const servers = (process.env.NATS_URL ?? 'nats://127.0.0.1:4222').split(',');
const nc = await connect({ servers, name: 'example-stream-file' });

nc.subscribe(subject, {
  callback: (_err, msg) => {
    if (!msg.reply) return;
    void streamTo(msg.reply).catch((err) => {
      console.log(JSON.stringify({ msg: 'stream stopped', reason: String(err) }));
    });
  },
});

/** Sends the file to `replyTo` in chunks, never more than WINDOW of them unacknowledged. */
async function streamTo(replyTo) {
  const acks = createInbox();
  let unacked = 0;
  /** @type {(() => void) | undefined} */
  let wake;
  const sub = nc.subscribe(acks, {
    callback: () => {
      unacked -= 1;
      wake?.();
    },
  });
  const handle = await open(file);
  try {
    const first = headers();
    first.set('Content-Type', 'application/octet-stream');
    first.set('Content-Disposition', `attachment; filename="${basename(file)}"`);
    let sent = 0;
    for (;;) {
      while (unacked >= WINDOW) await windowOpens();
      // A fresh buffer per chunk: the client may hold on to it until its next socket write.
      const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) break;
      unacked += 1;
      const chunk = buffer.subarray(0, bytesRead);
      nc.publish(replyTo, chunk, sent === 0 ? { reply: acks, headers: first } : { reply: acks });
      sent += 1;
    }
    nc.publish(replyTo); // The end of the stream: an empty message without headers.
    console.log(JSON.stringify({ msg: 'stream complete', chunks: sent }));
  } finally {
    sub.unsubscribe();
    await handle.close();
  }

  /** Resolves at the next acknowledgement, or rejects when none comes in time. */
  function windowOpens() {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error('no acknowledgement in time')),
        ACK_TIMEOUT_MS,
      );
      wake = () => {
        clearTimeout(timer);
        wake = undefined;
        resolve(undefined);
      };
    });
  }
}

// Ready once the server has the subscription: a request sent on this line must find it.
await nc.flush();
console.log(JSON.stringify({ msg: 'stream-file responder ready', subject, file }));
const stop = () => {
  setTimeout(() => process.exit(0), 1000).unref();
  void nc.drain().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
