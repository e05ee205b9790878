// @ts-check
/**
 * The example responders the demo starts, so each gateway behaviour can be seen with curl:
 *   demo.echo     replies with the request body and its Content-Type
 *   demo.headers  replies with the NATS headers it received, as JSON
 *   demo.slow     replies after X-Delay-Ms milliseconds (default 2000): try ?timeout=500ms; it
 *                 stops waiting at the gateway's X-Gateway-Deadline, when nobody reads the reply
 *   demo.greet    a NATS services API endpoint: empty body → service error 400, else a greeting
 *   inventory     a NATS service that publishes its own HTTP route through discovery:
 *                 GET /inventory/:sku → inventory.stock.<sku>, with its JSON Schema in OpenAPI
 * Usage: NATS_URL=nats://127.0.0.1:4222 node examples/responders.mjs
 */
import { connect, headers } from '@nats-io/transport-node';
import { Svcm } from '@nats-io/services';

const servers = (process.env.NATS_URL ?? 'nats://127.0.0.1:4222').split(',');
const nc = await connect({ servers, name: 'example-responders', maxReconnectAttempts: -1 });

nc.subscribe('demo.echo', {
  callback: (_err, msg) => {
    const h = headers();
    const contentType = msg.headers?.get('Content-Type');
    if (contentType) h.set('Content-Type', contentType);
    msg.respond(msg.data, { headers: h });
  },
});

nc.subscribe('demo.headers', {
  callback: (_err, msg) => {
    /** @type {Record<string, string[]>} */
    const seen = {};
    for (const name of msg.headers?.keys() ?? []) seen[name] = msg.headers?.values(name) ?? [];
    const h = headers();
    h.set('Content-Type', 'application/json');
    msg.respond(JSON.stringify(seen), { headers: h });
  },
});

// How a responder honours the gateway's deadline: past X-Gateway-Deadline (Unix epoch ms) the
// gateway has answered 504 and drops the reply, so the work can stop there.
let abandoned = 0;
nc.subscribe('demo.slow', {
  callback: (_err, msg) => {
    const delayMs = Number(msg.headers?.get('X-Delay-Ms') || 2000);
    const deadline = Number(msg.headers?.get('X-Gateway-Deadline') || Infinity);
    const reply = () => msg.respond(`replied after ${delayMs} ms\n`);
    const giveUp = () => {
      abandoned += 1;
      console.log(
        JSON.stringify({ msg: 'deadline passed; not replying', subject: msg.subject, abandoned }),
      );
    };
    if (Date.now() + delayMs <= deadline) setTimeout(reply, delayMs);
    else setTimeout(giveUp, Math.max(0, deadline - Date.now()));
  },
});

const service = await new Svcm(nc).add({
  name: 'greeter',
  version: '1.0.0',
  description: 'Greets by name; shows how a service error becomes an HTTP problem',
});
service.addEndpoint('greet', {
  subject: 'demo.greet',
  handler: (_err, msg) => {
    const name = msg.string().trim();
    if (name === '') {
      msg.respondError(400, 'a name is required in the request body');
      return;
    }
    msg.respond(`hello, ${name}\n`);
  },
});

// A service that asks for its own route: the gateway's discovery reads the endpoint metadata.
const inventory = await new Svcm(nc).add({
  name: 'inventory',
  version: '1.0.0',
  description: 'Stock levels by SKU',
});
inventory.addEndpoint('stock', {
  subject: 'inventory.stock.*',
  metadata: {
    'http.method': 'GET',
    'http.path': '/inventory/:sku',
    'http.subject': 'inventory.stock.{sku}',
    description: 'How many of a SKU are in stock',
    'schema.response': JSON.stringify({
      type: 'object',
      required: ['sku', 'count'],
      properties: { sku: { type: 'string' }, count: { type: 'integer', minimum: 0 } },
    }),
  },
  handler: (_err, msg) => {
    const sku = msg.subject.split('.').pop() ?? '';
    // A stable made-up level per SKU.
    const count = [...sku].reduce((sum, c) => (sum * 31 + c.charCodeAt(0)) % 1000, 7);
    const h = headers();
    h.set('Content-Type', 'application/json');
    msg.respond(JSON.stringify({ sku, count }), { headers: h });
  },
});

// Ready once the server has every subscription: a request sent on this line must find them.
await nc.flush();
console.log(
  JSON.stringify({
    msg: 'example responders ready',
    servers,
    subjects: ['demo.echo', 'demo.headers', 'demo.slow', 'demo.greet', 'inventory.stock.*'],
  }),
);
// Drain so in-flight replies go out, but never hang on a server that is already gone.
const stop = () => {
  setTimeout(() => process.exit(0), 1000).unref();
  void nc.drain().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
