/**
 * One nats-server, one or more gateways and a responder connection for a whole test file, with
 * teardown registered before anything starts and per-test cleanups run after each test.
 */
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startGateway } from './gateway.js';
import type { Gateway } from './gateway.js';
import { startNatsServer } from './nats-server.js';
import type { NatsServer } from './nats-server.js';
import { connectResponder, respond } from './responders.js';

/** Options for {@link useStack}. */
export interface StackOptions {
  /** Extra nats-server config lines. */
  natsConfig?: string;
  /** Config of each gateway; `nats.servers` is filled in. */
  gateways?: Array<Record<string, unknown>>;
  /** Extra environment for the gateways. */
  env?: Record<string, string>;
  /** Run the gateways with `npm start`'s Node flags. */
  productionFlags?: boolean;
}

/** The running parts; valid inside tests. */
export interface Stack {
  readonly nats: NatsServer;
  readonly gateways: readonly Gateway[];
  /** The first gateway. */
  readonly gateway: Gateway;
  /** A client connection for responders. */
  readonly nc: NatsConnection;
  /** Runs `undo` after the current test. */
  afterThisTest(undo: () => unknown): void;
  /**
   * Answers every request on `subject` with `answer(msg)` (default "ok") until the test ends, and
   * returns the messages received, in order.
   */
  record(subject: string, answer?: (msg: Msg) => string): Promise<Msg[]>;
}

/** Registers hooks that start the stack before the file's tests and stop it after them. */
export function useStack({
  natsConfig,
  gateways = [{}],
  env = {},
  productionFlags = false,
}: StackOptions = {}): Stack {
  let nats: NatsServer | undefined;
  let nc: NatsConnection | undefined;
  const running: Gateway[] = [];
  const cleanups: Array<() => unknown> = [];

  afterAll(async () => {
    await nc?.close();
    await Promise.all(running.map((g) => g.stop()));
    await nats?.stop();
  });
  afterEach(async () => {
    for (const undo of cleanups.splice(0)) await undo();
  });
  beforeAll(async () => {
    nats = await startNatsServer(natsConfig === undefined ? {} : { config: natsConfig });
    const url = nats.url;
    const started = await Promise.all(
      gateways.map((config) =>
        startGateway({
          config: { ...config, nats: { ...(config.nats as object), servers: [url] } },
          env,
          productionFlags,
        }),
      ),
    );
    running.push(...started);
    nc = await connectResponder(url);
  });

  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not started (use it inside a test)`);
    return value;
  };
  return {
    get nats() {
      return started(nats, 'nats-server');
    },
    get gateways() {
      return running;
    },
    get gateway() {
      return started(running[0], 'gateway');
    },
    get nc() {
      return started(nc, 'responder connection');
    },
    afterThisTest(undo) {
      cleanups.push(undo);
    },
    async record(subject, answer = () => 'ok') {
      const seen: Msg[] = [];
      const undo = await respond(started(nc, 'responder connection'), subject, (msg) => {
        seen.push(msg);
        msg.respond(answer(msg));
      });
      cleanups.push(undo);
      return seen;
    },
  };
}
