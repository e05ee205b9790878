/** NATS responders for tests, on their own connection to the test's nats-server. */
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import type { Msg, MsgHdrs, NatsConnection } from '@nats-io/transport-node';

let counter = 0;

/** A subject no other test uses, so tests can share a server and run in parallel. */
export function uniqueSubject(prefix = 'test'): string {
  counter += 1;
  return `${prefix}.${process.pid}.${counter}.${Math.random().toString(36).slice(2, 8)}`;
}

/** Connects a responder client to `url`. */
export function connectResponder(url: string): Promise<NatsConnection> {
  return connect({ servers: url, name: 'test-responder' });
}

/** Builds NATS headers from `[name, value]` pairs, keeping repeats and exact case. */
export function replyHeaders(pairs: Array<[string, string]>): MsgHdrs {
  const h = natsHeaders();
  for (const [name, value] of pairs) h.append(name, value);
  return h;
}

/** Subscribes `handler` to `subject` and resolves once the server has the subscription. */
export async function respond(
  nc: NatsConnection,
  subject: string,
  handler: (msg: Msg) => void,
  queue?: string,
): Promise<() => void> {
  const sub = nc.subscribe(subject, {
    callback: (_err, msg) => handler(msg),
    ...(queue ? { queue } : {}),
  });
  await nc.flush();
  return () => sub.unsubscribe();
}

/** Received NATS headers as `[name, value]` pairs, in order. */
export function headerPairs(msg: Msg): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const name of msg.headers?.keys() ?? [])
    for (const value of msg.headers?.values(name) ?? []) out.push([name, value]);
  return out;
}

/**
 * Answers each request on `subject` with `count` chunks of `chunk` as fast as NATS takes them, no
 * acknowledgements asked, then the end of the stream (an empty message). Returns the unsubscribe.
 */
export function firehose(
  nc: NatsConnection,
  subject: string,
  chunk: Uint8Array,
  count: number,
): Promise<() => void> {
  return respond(nc, subject, (msg) => {
    void (async () => {
      for (let i = 0; i < count; i++) {
        msg.respond(chunk);
        // Now and then, so the chunks go out while the loop runs rather than all at the end.
        if (i % 16 === 0) await nc.flush();
      }
      msg.respond(new Uint8Array(0));
    })();
  });
}
