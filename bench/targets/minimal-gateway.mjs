// minimal: node:http and nats.js request() with nothing else — no framework, no logging, no metrics,
// no header policy. Not in the default targets; `--targets ...,minimal` shows what combining the two
// floors in one process costs before any gateway feature is added.
import { createServer } from 'node:http';
import { connect } from '@nats-io/transport-node';

const nc = await connect({ servers: process.env.NATS_URL, noAsyncTraces: true });
const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    nc.request(req.url.slice('/rr/'.length), body, { timeout: 5000 }).then(
      (reply) => {
        res.writeHead(200, {
          'Content-Type': 'application/octet-stream',
          'Content-Length': reply.data.length,
        });
        res.end(reply.data);
      },
      () => {
        res.writeHead(503, { 'Content-Length': 0 });
        res.end();
      },
    );
  });
});
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
