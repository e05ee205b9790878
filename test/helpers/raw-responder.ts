/**
 * A responder that speaks the NATS protocol over a bare socket, to send replies no well-behaved
 * client would: malformed header blocks, header names with spaces.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';

/** Options for {@link startRawResponder}. */
export interface RawResponder {
  close(): void;
}

/**
 * Subscribes to `subject` and answers every request with `headerBlock` (sent verbatim) and `body`.
 * Resolves once the server has confirmed the subscription (PONG after SUB).
 */
export function startRawResponder(
  port: number,
  subject: string,
  headerBlock: string,
  body: string,
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
        if (line.startsWith('INFO')) {
          buffered = buffered.slice(end + 2);
          socket.write(
            `CONNECT {"verbose":false,"headers":true,"no_responders":true,"protocol":1}\r\nSUB ${subject} 1\r\nPING\r\n`,
          );
          continue;
        }
        if (line === 'PING') {
          buffered = buffered.slice(end + 2);
          socket.write('PONG\r\n');
          continue;
        }
        if (line === 'PONG') {
          buffered = buffered.slice(end + 2);
          if (!ready) {
            ready = true;
            resolve({ close: () => socket.destroy() });
          }
          continue;
        }
        const msg = /^H?MSG (\S+) (\d+) (\S+) (?:(\d+) )?(\d+)$/.exec(line);
        if (msg) {
          const total = Number(msg[5]);
          if (buffered.length < end + 2 + total + 2) return; // Wait for the whole payload.
          buffered = buffered.slice(end + 2 + total + 2);
          const reply = msg[3] as string;
          const hlen = Buffer.byteLength(headerBlock, 'latin1');
          const blen = Buffer.byteLength(body, 'latin1');
          socket.write(
            `HPUB ${reply} ${hlen} ${hlen + blen}\r\n${headerBlock}${body}\r\n`,
            'latin1',
          );
          continue;
        }
        buffered = buffered.slice(end + 2); // +OK, -ERR and anything else: not needed here.
      }
    });
  });
}
