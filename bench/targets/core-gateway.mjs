// core: node:http and the gateway's own NATS layer (dist/nats/client.js: one shared reply
// subscription, publishes coalesced per event-loop turn) and nothing else — no Hono, no header
// policy, no request id, logging or metrics. Not in the default targets; `--targets ...,core`
// shows how close the gateway's NATS design alone comes to the combined floor, and so what the
// features (and, before `POST /rr` skipped it, Hono) cost on top of it. It runs with the gateway's
// Node flags.
import { pino } from 'pino';
import { NatsClient } from '../../dist/nats/client.js';
import { serveBare } from '../lib/bare-http.mjs';

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
serveBare(
  (subject, payload) => nats.request({ subject, payload, headers: [], timeoutMs: 5000 }),
  (reply) => reply.payload,
);
