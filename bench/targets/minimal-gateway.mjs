// minimal: node:http and nats.js request() with nothing else — no framework, no logging, no metrics,
// no header policy. Not in the default targets; `--targets ...,minimal` shows what a gateway costs
// that calls request() from its HTTP handlers: each publish is its own socket write (`core` is the
// same with the gateway's batching NATS layer).
import { connect } from '@nats-io/transport-node';
import { serveBare } from '../lib/bare-http.mjs';

const nc = await connect({ servers: process.env.NATS_URL, noAsyncTraces: true });
serveBare(
  (subject, body) => nc.request(subject, body, { timeout: 5000 }),
  (reply) => reply.data,
);
