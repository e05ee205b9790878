/**
 * Which headers cross the gateway, in each direction. HTTP names are case-insensitive and NATS names
 * are exact-case, so the policy decides the spelling NATS sees; repeated headers stay repeated.
 */
import { memoizeByString } from '../memo.js';
import type { HeaderList } from '../request-reply.js';

/** How request header names are spelled on NATS. */
export type HeaderCase = 'canonical' | 'preserve';

/** Options for {@link requestHeadersToNats}. */
export interface RequestHeaderOptions {
  headerCase: HeaderCase;
  /** Lowercased names never forwarded (credentials by default). */
  drop: ReadonlySet<string>;
}

/**
 * Prefix of the request-context headers the gateway itself sends to NATS (method, path, query,
 * route, parameters). Callers cannot send names under it, so a responder can trust them.
 */
export const CONTEXT_HEADER_PREFIX = 'X-Gateway-';
const CONTEXT_PREFIX_LOWER = CONTEXT_HEADER_PREFIX.toLowerCase();

// Per RFC 9110 §7.6.1 these describe one hop (or the framing of this message), not the request.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'http2-settings',
]);

/** Request headers the gateway itself consumes. */
const CONSUMED_REQUEST = new Set([
  'request-timeout',
  'grpc-timeout',
  'x-envoy-expected-rq-timeout-ms',
  'x-request-id',
]);

/** Reply headers the gateway consumes to choose the HTTP status, or replaces with its own. */
const CONSUMED_REPLY = new Set([
  'nats-service-error',
  'nats-service-error-code',
  'status-code',
  'x-request-id',
]);

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// What Node will write in a header value once the text is in its byte form (Latin-1 string).
const HTTP_VALUE_BYTES = /^[\t\x20-\x7e\x80-\xff]*$/;
const NON_ASCII = /[\u0080-\uffff]/;
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name) || name.startsWith('proxy-');
}

/** `x-request-id` → `X-Request-Id`, the MIME canonical form Go and nats.go use. */
export const canonicalHeaderName = memoizeByString(function canonicalHeaderName(name: string) {
  let out = '';
  let upper = true;
  for (let i = 0; i < name.length; i++) {
    const ch = name[i] as string;
    out += upper ? ch.toUpperCase() : ch.toLowerCase();
    upper = ch === '-';
  }
  return out;
});

/**
 * Node decodes header bytes as Latin-1; a caller who sent UTF-8 gets it back as the same text here.
 * Bytes that are not UTF-8 keep their Latin-1 reading rather than turning into U+FFFD.
 */
function latin1ToText(value: string): string {
  if (!NON_ASCII.test(value)) return value;
  try {
    return utf8Strict.decode(Buffer.from(value, 'latin1'));
  } catch {
    return value;
  }
}

/** The inverse of {@link latin1ToText}: the text's UTF-8 bytes as a Latin-1 string Node writes verbatim. */
function textToLatin1(value: string): string {
  return NON_ASCII.test(value) ? Buffer.from(value, 'utf8').toString('latin1') : value;
}

/**
 * Request headers to send to NATS, from Node's `rawHeaders` (the caller's own spelling and order):
 * drops hop-by-hop and framing headers (and those `Connection` names), the drop list, headers the
 * gateway consumes, client-sent `Nats-*` names (reserved by NATS) and `X-Gateway-*` names (ours).
 */
export function requestHeadersToNats(
  rawHeaders: readonly string[],
  options: RequestHeaderOptions,
): HeaderList {
  const out: HeaderList = [];
  let connectionNamed: Set<string> | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const lower = name.toLowerCase();
    if (lower === 'connection') {
      connectionNamed ??= new Set();
      for (const named of (rawHeaders[i + 1] as string).split(','))
        connectionNamed.add(named.trim().toLowerCase());
    }
    if (
      isHopByHop(lower) ||
      CONSUMED_REQUEST.has(lower) ||
      options.drop.has(lower) ||
      lower.startsWith('nats-') ||
      lower.startsWith(CONTEXT_PREFIX_LOWER)
    ) {
      continue;
    }
    out.push([
      options.headerCase === 'canonical' ? canonicalHeaderName(name) : name,
      latin1ToText(rawHeaders[i + 1] as string),
    ]);
  }
  if (connectionNamed) return out.filter(([name]) => !connectionNamed.has(name.toLowerCase()));
  return out;
}

/**
 * Reply headers that may become HTTP response headers: never the ones the gateway consumes, hop-by-hop
 * or framing headers (a copied `Content-Length` would split the response), nor names or values HTTP
 * cannot carry. Values are returned in the byte form Node writes, so UTF-8 text survives.
 */
export function replyHeadersToHttp(reply: HeaderList): HeaderList {
  const out: HeaderList = [];
  for (const [name, value] of reply) {
    if (!TOKEN.test(name)) continue;
    const lower = name.toLowerCase();
    if (isHopByHop(lower) || CONSUMED_REPLY.has(lower)) continue;
    // CORS is the gateway's: a responder's Access-Control-* would override or duplicate it.
    if (lower.startsWith('access-control-')) continue;
    const bytes = textToLatin1(value);
    if (!HTTP_VALUE_BYTES.test(bytes)) continue;
    out.push([name, bytes]);
  }
  return out;
}

/** The first value of a header, by case-insensitive name. */
export function firstHeader(list: HeaderList, lowerName: string): string | undefined {
  for (const [name, value] of list) if (name.toLowerCase() === lowerName) return value;
  return undefined;
}
