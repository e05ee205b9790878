/**
 * Conversion between the gateway's ordered header lists and nats.js `MsgHdrs`. NATS header names are
 * exact-case and repeated names are separate lines, which is exactly what a `HeaderList` keeps.
 */
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { HeaderList } from '../request-reply.js';

/** Builds NATS headers from a list; `undefined` when empty so the message goes out as plain PUB. */
export function toNatsHeaders(list: HeaderList): MsgHdrs | undefined {
  if (list.length === 0) return undefined;
  const h = natsHeaders();
  for (const [name, value] of list) h.append(name, value);
  return h;
}

/** Flattens NATS headers into a list, keeping the responder's spelling and order of values. */
export function fromNatsHeaders(h: MsgHdrs | undefined): HeaderList {
  const list: HeaderList = [];
  if (!h) return list;
  for (const name of h.keys()) {
    for (const value of h.values(name)) list.push([name, value]);
  }
  return list;
}

const encoder = new TextEncoder();

/** Bytes the header block takes on the wire (`NATS/1.0\r\n`, one line per value, blank line). */
export function encodedHeaderBytes(list: HeaderList): number {
  if (list.length === 0) return 0;
  let bytes = 'NATS/1.0\r\n\r\n'.length;
  for (const [name, value] of list) bytes += encoder.encode(`${name}: ${value.trim()}\r\n`).length;
  return bytes;
}
