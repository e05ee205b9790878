// naive: the 30-line Hono gateway anyone would write first (POST /rr/:subject → request() → body).
import { serve } from '@hono/node-server';
import { connect } from '@nats-io/transport-node';
import { Hono } from 'hono';

const nc = await connect({ servers: process.env.NATS_URL });
const app = new Hono();

app.post('/rr/:subject', async (c) => {
  const payload = new Uint8Array(await c.req.arrayBuffer());
  try {
    const reply = await nc.request(c.req.param('subject'), payload, { timeout: 5000 });
    const contentType = reply.headers?.get('Content-Type') || 'application/octet-stream';
    return c.body(reply.data, 200, { 'Content-Type': contentType });
  } catch (err) {
    const noResponders = typeof err?.isNoResponders === 'function' && err.isNoResponders();
    return c.text(String(err?.message ?? err), noResponders ? 503 : 504);
  }
});

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  process.send?.({ port: info.port });
});
process.on('SIGTERM', () => {
  server.close();
  void nc.close().then(() => process.exit(0));
});
