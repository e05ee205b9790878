// http-floor: a bare node:http server (no NATS). It reads the request body and answers with a
// fixed, preallocated body of the same size, so its bytes on the wire match the gateway's.
import { createServer } from 'node:http';

const bodies = new Map();
const server = createServer((req, res) => {
  let length = 0;
  req.on('data', (chunk) => (length += chunk.length));
  req.on('end', () => {
    let body = bodies.get(length);
    if (!body) bodies.set(length, (body = Buffer.alloc(length, 120)));
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': length });
    res.end(body);
  });
});
server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
