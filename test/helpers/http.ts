/**
 * A plain node:http client for tests: it sends repeated headers as separate lines and returns the raw
 * header list, which `fetch` would join or normalise away.
 */
import { request as httpRequest } from 'node:http';
import type { Agent, OutgoingHttpHeaders } from 'node:http';

/** A received response. */
export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Header lines as sent, `[name, value, name, value, …]`. */
  rawHeaders: string[];
  body: Buffer;
  text: string;
  /** The body parsed as JSON (throws when it is not). */
  json<T = Record<string, unknown>>(): T;
}

/** Options for {@link send}. */
export interface SendOptions {
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer | Uint8Array | undefined;
  /** Send the body in chunks without Content-Length. */
  chunked?: boolean;
  agent?: Agent;
}

/** Sends one HTTP request to `url` and collects the whole response. */
export function send(url: string, options: SendOptions = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: options.method ?? 'POST', headers: options.headers, agent: options.agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body,
            text: body.toString('utf8'),
            json: <T>() => JSON.parse(body.toString('utf8')) as T,
          });
        });
      },
    );
    req.on('error', reject);
    if (options.body !== undefined) {
      if (options.chunked) {
        const bytes = Buffer.from(options.body);
        for (let i = 0; i < bytes.length; i += 1024) req.write(bytes.subarray(i, i + 1024));
      } else {
        // A Buffer, never a string: Node writes the header block in the first string chunk's encoding
        // (UTF-8), which would double-encode Latin-1 header bytes.
        const bytes = Buffer.from(options.body);
        req.setHeader('Content-Length', bytes.length);
        req.write(bytes);
      }
    }
    req.end();
  });
}

/** Every value of a response header, in the order received, by case-insensitive name. */
export function headerValues(result: HttpResult, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < result.rawHeaders.length; i += 2) {
    if ((result.rawHeaders[i] as string).toLowerCase() === name.toLowerCase())
      out.push(result.rawHeaders[i + 1] as string);
  }
  return out;
}
