// The node:http side of the bare targets (`minimal`, `core`): collect the body, ask NATS, answer 200
// with the reply's bytes or 503 — nothing else, so the two differ only in how they ask.
import { createServer } from 'node:http';

/**
 * Serves `POST /rr/<subject>` on a free loopback port and reports the port to the orchestrator.
 * `ask(subject, body)` sends the request; `bytesOf(reply)` takes the bytes out of its reply.
 */
export function serveBare(ask, bytesOf) {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      ask(req.url.slice('/rr/'.length), body).then(
        (reply) => {
          const bytes = bytesOf(reply);
          res.writeHead(200, {
            'Content-Type': 'application/octet-stream',
            'Content-Length': bytes.length,
          });
          res.end(bytes);
        },
        () => {
          res.writeHead(503, { 'Content-Length': 0 });
          res.end();
        },
      );
    });
  });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
}
