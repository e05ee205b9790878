// moleculer-web: the peer for Node users of moleculer. An API gateway node whose alias
// `POST /rr/bench.echo` calls the `bench.echo` action on another node (targets/moleculer-echo.mjs)
// over moleculer's NATS transporter: moleculer-web's own shape. The body is read as text, which is
// what moleculer's default JSON serializer carries at its size (a Buffer would cross as an array of
// numbers). Request logging is off, as in the Go peer.
import moleculer from 'moleculer';
import ApiGateway from 'moleculer-web';

const broker = new moleculer.ServiceBroker({
  nodeID: `bench-api-${process.pid}`,
  transporter: process.env.NATS_URL,
  logLevel: 'warn',
  // The other targets give up after 5 s; moleculer's default is to wait forever.
  requestTimeout: 5000,
});
const api = broker.createService({
  name: 'api',
  mixins: [ApiGateway],
  settings: {
    port: 0,
    ip: '127.0.0.1',
    logRequest: null,
    logResponse: null,
    routes: [
      {
        path: '/rr',
        mappingPolicy: 'restrict',
        mergeParams: false,
        aliases: { 'POST /bench.echo': 'bench.echo' },
        bodyParsers: { json: false, text: { type: () => true, limit: '1mb' } },
      },
    ],
  },
});
await broker.start();
await broker.waitForServices('bench', 15_000);
process.send?.({ port: api.server.address().port });
