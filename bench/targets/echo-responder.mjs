// Benchmark responder, in its own process: `bench.echo` replies with the request body at once;
// `bench.slow` replies after 1 s (for the requests-in-flight test).
import { connect } from '@nats-io/transport-node';

const nc = await connect({ servers: process.env.NATS_URL, noAsyncTraces: true });
nc.subscribe('bench.echo', { callback: (_err, msg) => msg.respond(msg.data) });
nc.subscribe('bench.slow', {
  callback: (_err, msg) => setTimeout(() => msg.respond(msg.data), 1000),
});
await nc.flush();
process.send?.({ ready: true });
