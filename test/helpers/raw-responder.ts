/**
 * A responder that speaks the NATS protocol over a bare socket, to send what no well-behaved client
 * would: malformed header blocks, subjects with control characters.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';

/** A running raw responder. */
export interface RawResponder {
  close(): void;
}

/** Protocol text that answers on `reply` with `headerBlock` (verbatim) and `body`. */
export function hpub(reply: string, headerBlock: string, body: string): string {
  const hlen = Buffer.byteLength(headerBlock, 'latin1');
  const blen = Buffer.byteLength(body, 'latin1');
  return `HPUB ${reply} ${hlen} ${hlen + blen}\r\n${headerBlock}${body}\r\n`;
}

/**
 * Subscribes to `subject` and, for every request, writes what `answer(replySubject)` returns straight
 * onto the socket. Resolves once the server has confirmed the subscription (PONG after SUB).
 */
export function startRawResponder(
  port: number,
  subject: string,
  answer: (reply: string) => string,
): Promise<RawResponder> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let buffered = '';
    let ready = false;
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (;;) {
        const end = buffered.indexOf('\r\n');
        if (end === -1) return;
        const line = buffered.slice(0, end);
        const msg = /^H?MSG (\S+) (\d+) (\S+) (?:(\d+) )?(\d+)$/.exec(line);
        if (msg) {
          const total = Number(msg[5]);
          if (buffered.length < end + 2 + total + 2) return; // Wait for the whole payload.
          buffered = buffered.slice(end + 2 + total + 2);
          socket.write(answer(msg[3] as string), 'latin1');
          continue;
        }
        buffered = buffered.slice(end + 2);
        if (line.startsWith('INFO')) {
          socket.write(
            `CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1}\r\nSUB ${subject} 1\r\nPING\r\n`,
          );
        } else if (line === 'PING') {
          socket.write('PONG\r\n');
        } else if (line === 'PONG' && !ready) {
          ready = true;
          resolve({ close: () => socket.destroy() });
        }
      }
    });
  });
}
