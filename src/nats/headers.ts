/**
 * The gateway's ordered header lists on the NATS wire. NATS header names are exact-case and repeated
 * names are separate lines, which is exactly what a `HeaderList` keeps.
 */
import type { MsgHdrs } from '@nats-io/transport-node';
import { memoizeByString } from '../memo.js';
import type { HeaderList } from '../request-reply.js';

const CR_OR_LF = /[\r\n]/;

/** Why a header name cannot go on the NATS wire, or `undefined`; names repeat, so each is checked once. */
const nameProblem = memoizeByString(function nameProblem(name: string): string | undefined {
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    // NATS (like MIME) allows printable ASCII except ':' in a name.
    if (code < 33 || code > 126 || code === 58) return `'${name}' is not a valid NATS header name`;
  }
  if (name.length === 0) return 'a header name is empty';
  return undefined;
});

/** Why a header line cannot go on the NATS wire, or `undefined`. */
function natsHeaderProblem(name: string, value: string): string | undefined {
  const problem = nameProblem(name);
  if (problem !== undefined) return problem;
  if (CR_OR_LF.test(value)) return `the value of '${name}' contains CR or LF`;
  return undefined;
}

/**
 * Encodes a list as a NATS header block (`NATS/1.0`, one line per value, blank line). Built here in
 * one string and one UTF-8 encode: nats.js `MsgHdrs` validates and re-canonicalises every append and
 * was a visible share of the gateway's CPU. Returns `undefined` for an empty list (plain PUB).
 * Throws `Error` with the problem for a name or value NATS cannot carry.
 */
export function encodeHeaderBlock(list: HeaderList): Uint8Array | undefined {
  if (list.length === 0) return undefined;
  let block = 'NATS/1.0\r\n';
  for (const [name, value] of list) {
    const problem = natsHeaderProblem(name, value);
    if (problem) throw new Error(problem);
    block += `${name}: ${trimOws(value)}\r\n`;
  }
  return Buffer.from(`${block}\r\n`, 'utf8');
}

/**
 * `value` without the spaces and tabs around it (HTTP's optional whitespace, which NATS readers drop
 * too). Not `trim()`: that also strips U+00A0, U+2028 and the other Unicode spaces, which are content.
 */
function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return start === 0 && end === value.length ? value : value.slice(start, end);
}

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/**
 * Wraps an encoded block for `publish()`, which only ever calls `encode()` on its headers option.
 */
export function asMsgHdrs(block: Uint8Array): MsgHdrs {
  return { encode: () => block } as unknown as MsgHdrs;
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
