/**
 * Raw HTTP over a socket: for requests a client library would normalise or refuse to send (no Host,
 * HTTP/1.0, absolute form, backslashes, broken request lines), and to read the answer byte for byte.
 */
import { connect } from 'node:net';

/** A response as it came off the wire. */
export interface RawResponse {
  /** Everything received, until the server closed the connection. */
  raw: string;
  status: number;
  /** Header lines in order, names as sent. */
  headers: Array<[string, string]>;
  body: string;
}

/**
 * Sends `request` as it is and reads until the server closes the connection (send
 * `Connection: close` with HTTP/1.1, or use HTTP/1.0).
 */
export function rawRequest(port: number, request: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => socket.write(request, 'latin1'));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const raw = Buffer.concat(chunks).toString('latin1');
      const split = raw.indexOf('\r\n\r\n');
      const head = (split === -1 ? raw : raw.slice(0, split)).split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '')?.[1] ?? 0);
      const headers = head.slice(1).map((line): [string, string] => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon), line.slice(colon + 1).trim()];
      });
      resolve({ raw, status, headers, body: split === -1 ? '' : raw.slice(split + 4) });
    });
  });
}

/** Every value of `name` in a raw response, case-insensitively. */
export function rawHeader(response: RawResponse, name: string): string[] {
  return response.headers.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
}
