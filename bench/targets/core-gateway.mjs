// core: node:http and the gateway's own NATS layer (dist/nats/client.js: one shared reply
// subscription, publishes coalesced per event-loop turn) and nothing else — no Hono, no header
// policy, no request id, logging or metrics. Not in the default targets; `--targets ...,core`
// shows how close the gateway's NATS design alone comes to the combined floor, and so what Hono
// and the features cost on top of it. It runs with the gateway's Node flags.
import { createServer } from 'node:http';
import { pino } from 'pino';
import { NatsClient } from '../../dist/nats/client.js';

const nats = NatsClient.start({
  servers: [process.env.NATS_URL],
  name: 'bench-core',
  inboxPrefix: '_INBOX',
  reconnectWaitMs: 250,
  healthIntervalMs: 2000,
  healthTimeoutMs: 2000,
  logger: pino({ level: 'silent' }),
});
await nats.connected;
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const payload = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    nats
      .request({ subject: req.url.slice('/rr/'.length), payload, headers: [], timeoutMs: 5000 })
      .then(
        (reply) => {
          res.writeHead(200, {
            'Content-Type': 'application/octet-stream',
            'Content-Length': reply.payload.length,
          });
          res.end(reply.payload);
        },
        () => {
          res.writeHead(503, { 'Content-Length': 0 });
          res.end();
        },
      );
  });
});
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
