/**
 * The one request-target parser (RFC 9112 §3.2). Every consumer — the route table, the subject,
 * path parameters, `X-Gateway-Path`/`-Query` and the access log — reads its result from the
 * request's record, so a path means one thing wherever it is looked at.
 *
 * The normalisation, in order:
 * 1. The absolute form (`http://host/p?q`, http or https, no userinfo) keeps its path and query;
 *    the host is ignored. `*` is accepted for OPTIONS only. Anything else must start with `/`.
 * 2. The path may hold only RFC 3986 path characters (unreserved, sub-delims, `:`, `@`, `/`) and
 *    `%XX` escapes: a `\`, `"`, `<`, `>`, `{` or `|` is refused rather than guessed at (WHATWG URL
 *    parsers turn `\` into `/`; others do not). Node's parser refuses spaces, control characters
 *    and non-ASCII bytes first; client-error.ts answers those with the same problem.
 * 3. Escapes of unreserved characters (`%65` → `e`) are decoded and the others upper-cased (RFC 3986
 *    §6.2.2); a `%` not followed by two hex digits is refused.
 * 4. Dot segments are removed (RFC 3986 §5.2.4): `/rr/a/../b` is `/rr/b`.
 * The query is kept raw, as sent; it may not hold a `#` or bytes outside visible ASCII.
 */
import type { IncomingMessage } from 'node:http';
import { InvalidTargetError } from '../errors.js';

/** A parsed and normalised request target. */
export interface RequestTarget {
  /** The normalised path, still percent-encoded apart from unreserved characters. */
  readonly path: string;
  /** The raw query without `?`, or `undefined` when the target has none. */
  readonly query: string | undefined;
  /** `OPTIONS *` (RFC 9110 §9.3.7): a question about the server, not a resource. */
  readonly asterisk: boolean;
}

// Paths that need no work beyond a dot-segment check: path characters, no escape.
const PLAIN_PATH = /^\/[\w!$&'()*+,;=:@~./-]*$/;
const PATH_CHARS = /^[\w!$&'()*+,;=:@~%./-]*$/;
const QUERY_CHARS = /^[!-"$-~]*$/;
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;
// RFC 9110 §4.2: http and https URIs; userinfo is refused (§4.2.4).
const ABSOLUTE_FORM = /^https?:\/\/[^/?#@]*(?=[/?]|$)/i;
const ESCAPE = /%(?:([0-9A-Fa-f]{2})|)/g;
const UNRESERVED = /[\w.~-]/;

/** The target of `incoming`, or why it cannot be served. */
export function parseTarget(incoming: IncomingMessage): RequestTarget | InvalidTargetError {
  // RFC 9112 §3.2: a server must answer 400 to an HTTP/1.1 request without Host (Node is told not
  // to, so that the answer is a problem document). HTTP/1.0 may omit it: nothing here needs it.
  if (incoming.headers.host === undefined && incoming.httpVersionMinor >= 1) {
    return new InvalidTargetError('an HTTP/1.1 request must carry a Host header (RFC 9112 §3.2)');
  }
  return parseTargetString(incoming.url ?? '', incoming.method ?? 'GET');
}

/** Parses a request target as it appears on the request line. */
export function parseTargetString(raw: string, method: string): RequestTarget | InvalidTargetError {
  let target = raw;
  if (target === '*') {
    if (method === 'OPTIONS') return { path: '*', query: undefined, asterisk: true };
    return new InvalidTargetError("the target '*' is only for OPTIONS");
  }
  if (!target.startsWith('/')) {
    const authority = ABSOLUTE_FORM.exec(target);
    if (authority === null) {
      return new InvalidTargetError(
        "the target must be a path starting with '/', or an http(s) URI without user information",
      );
    }
    target = target.slice(authority[0].length);
    if (!target.startsWith('/')) target = `/${target}`;
  }
  const queryAt = target.indexOf('?');
  let path = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = queryAt === -1 ? undefined : target.slice(queryAt + 1);
  if (query !== undefined && !QUERY_CHARS.test(query)) {
    return new InvalidTargetError('the query holds a character that must be percent-encoded');
  }
  if (!PLAIN_PATH.test(path)) {
    if (!PATH_CHARS.test(path)) {
      return new InvalidTargetError('the path holds a character that must be percent-encoded');
    }
    const decoded = normaliseEscapes(path);
    if (decoded === undefined)
      return new InvalidTargetError('the path is not valid percent-encoding');
    path = decoded;
  }
  if (DOT_SEGMENT.test(path)) path = removeDotSegments(path);
  return { path, query, asterisk: false };
}

/** Decodes escapes of unreserved characters and upper-cases the rest; `undefined` for a bad escape. */
function normaliseEscapes(path: string): string | undefined {
  let valid = true;
  const out = path.replace(ESCAPE, (_escape, hex: string | undefined) => {
    if (hex === undefined) {
      valid = false;
      return '';
    }
    const char = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
  return valid ? out : undefined;
}

/** RFC 3986 §5.2.4, for an absolute path. */
function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split('/').slice(1);
  segments.forEach((segment, i) => {
    const last = i === segments.length - 1;
    if (segment === '.' || segment === '..') {
      if (segment === '..') out.pop();
      // A trailing dot segment leaves the directory itself: `/a/b/..` is `/a/`.
      if (last) out.push('');
    } else {
      out.push(segment);
    }
  });
  return `/${out.join('/')}`;
}
