/**
 * The caller's address, as the gateway logs it and forwards it (`X-Gateway-Client-Ip`). Proxy
 * headers are believed only as far as `http.trustProxy` says; a caller can put anything in them.
 */
import type { IncomingMessage } from 'node:http';

/** `false`, `true` (trust every hop) or the number of trusted proxies in front of the gateway. */
export type TrustProxy = boolean | number;

/** Addresses named by `Forwarded` (RFC 7239 `for=`) or else `X-Forwarded-For`, client first. */
function forwardedChain(incoming: IncomingMessage): string[] {
  const forwarded = incoming.headers.forwarded;
  if (forwarded) {
    const out: string[] = [];
    for (const element of forwarded.split(',')) {
      const match = /(?:^|;)\s*for=("?)\[?([^\]";,]+)\]?(?::\d+)?\1/i.exec(element);
      if (match?.[2]) out.push(match[2]);
    }
    if (out.length > 0) return out;
  }
  const xff = incoming.headers['x-forwarded-for'];
  const list = Array.isArray(xff) ? xff.join(',') : (xff ?? '');
  return list
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
}

/** The client address under the trust setting. */
export function clientAddress(incoming: IncomingMessage, trust: TrustProxy): string {
  const socketAddress = incoming.socket.remoteAddress ?? '';
  if (trust === false) return socketAddress;
  const chain = forwardedChain(incoming);
  if (chain.length === 0) return socketAddress;
  if (trust === true) return chain[0] as string;
  // With n trusted proxies, the nth address from the right (the socket being the last hop) is the
  // last one a trusted proxy wrote; anything left of it could have been sent by the client.
  const hops = [...chain, socketAddress];
  return hops[Math.max(0, hops.length - 1 - trust)] as string;
}
