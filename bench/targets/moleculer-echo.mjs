// The moleculer-web peer's far side: a moleculer service node whose `bench.echo` action answers with
// the request body, reached over moleculer's NATS transporter. moleculer speaks its own protocol on
// NATS, so the raw echo responder cannot answer it; this node is that responder's counterpart.
import moleculer from 'moleculer';

const broker = new moleculer.ServiceBroker({
  nodeID: `bench-echo-${process.pid}`,
  transporter: process.env.NATS_URL,
  logLevel: 'warn',
  // It is stopped at the end of the run, with nats-server: moleculer's own SIGTERM handler would
  // send a goodbye to a server that is going away and log the failure.
  skipProcessEventRegistration: true,
});
process.once('SIGTERM', () => process.exit(0));
broker.createService({
  name: 'bench',
  actions: {
    echo: {
      handler: function echo(ctx) {
        // Sent back as the body's bytes, not as a JSON string (moleculer-web honours it).
        ctx.meta.$responseType = 'application/octet-stream';
        return ctx.params.body;
      },
    },
  },
});
await broker.start();
process.send?.({ ready: true });
