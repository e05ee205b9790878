/**
 * Turns a NATS reply into an HTTP status, headers and body, following the NATS services convention
 * (`Nats-Service-Error-Code` / `Nats-Service-Error`) and the gateway's `Status-Code` header.
 */
import { BadReplyError, ServiceError } from '../errors.js';
import type { HeaderList, Reply } from '../request-reply.js';
import { firstHeader, replyHeadersToHttp } from './header-policy.js';

/** An HTTP response made from a successful reply. */
export interface HttpReply {
  status: number;
  headers: HeaderList;
  /** `null` for statuses that may not carry a body (204, 205, 304). */
  body: Uint8Array | null;
}

const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
/** A reply's header block above this is refused rather than copied to the caller (Node's own request limit is 16 KiB). */
const MAX_REPLY_HEADER_BYTES = 64 * 1024;
const INTEGER = /^\d{1,3}$/;
// Fetch forbids a body on these; a 1xx is never a final status (RFC 9110 §15.2).
const NULL_BODY_STATUS = new Set([204, 205, 304]);
/**
 * Headers that describe the responder's body (RFC 9110 §8, RFC 9530): a service error answers
 * with a problem document instead, which none of them describes.
 */
const BODY_HEADERS = new Set([
  'content-type',
  'content-encoding',
  'content-length',
  'content-range',
  'content-location',
  'content-disposition',
  'content-md5',
  'content-digest',
  'repr-digest',
  'digest',
  'etag',
  'last-modified',
]);

/**
 * Maps a reply to HTTP; throws {@link ServiceError} for a services-convention error and
 * {@link BadReplyError} for a `Status-Code` HTTP cannot send as a final status.
 */
export function replyToHttp(reply: Reply): HttpReply {
  let headerBytes = 0;
  for (const [name, value] of reply.headers) headerBytes += name.length + value.length + 4;
  if (headerBytes > MAX_REPLY_HEADER_BYTES) {
    throw new BadReplyError(
      `the reply's headers take ${headerBytes} bytes; at most ${MAX_REPLY_HEADER_BYTES} are passed on`,
    );
  }
  const headers = replyHeadersToHttp(reply.headers);
  const serviceCode = firstHeader(reply.headers, 'nats-service-error-code');
  if (serviceCode !== undefined) {
    const code = INTEGER.test(serviceCode) ? Number(serviceCode) : 0;
    const description =
      firstHeader(reply.headers, 'nats-service-error') ?? 'the service reported an error';
    throw new ServiceError(
      code,
      description,
      headers.filter(([name]) => !BODY_HEADERS.has(name.toLowerCase())),
    );
  }
  let status = 200;
  const statusHeader = firstHeader(reply.headers, 'status-code');
  if (statusHeader !== undefined) {
    status = INTEGER.test(statusHeader) ? Number(statusHeader) : 0;
    if (status < 200 || status > 599) {
      throw new BadReplyError(
        `the reply's Status-Code '${statusHeader.slice(0, 16)}' is not an HTTP status from 200 to 599`,
      );
    }
  }
  return {
    status,
    // A 204 or 304 has no content, so no type for it either (RFC 9110 §8.3).
    headers: NULL_BODY_STATUS.has(status)
      ? headers.filter(([name]) => name.toLowerCase() !== 'content-type')
      : withOneContentType(headers),
    body: NULL_BODY_STATUS.has(status) ? null : reply.payload,
  };
}

/** Keeps the first `Content-Type` (two would be joined into nonsense) or supplies the default. */
function withOneContentType(headers: HeaderList): HeaderList {
  let seen = false;
  const out = headers.filter(([name]) => {
    if (name.toLowerCase() !== 'content-type') return true;
    if (seen) return false;
    seen = true;
    return true;
  });
  if (!seen) out.push(['Content-Type', DEFAULT_CONTENT_TYPE]);
  return out;
}
