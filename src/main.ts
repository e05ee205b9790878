/**
 * Composition root: config → NATS → HTTP, signals, and the only `process.exit`.
 * Usage: node dist/main.js [--config file.yaml]   (or GATEWAY_CONFIG; NATS_URL, PORT, HOST override)
 */
import { parseArgs } from 'node:util';
import { loadConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import { ConfigError } from './errors.js';
import { createApp } from './http/app.js';
import { Lifecycle } from './http/lifecycle.js';
import { createLogger } from './log.js';
import { NatsClient } from './nats/client.js';
import { shutDown, startHttpServer } from './server.js';

const DEFAULT_CONFIG_PATH = 'config/gateway.yaml';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { config: { type: 'string', short: 'c' } },
    strict: true,
  });
  const configPath = values.config ?? process.env.GATEWAY_CONFIG ?? DEFAULT_CONFIG_PATH;

  let config: Config;
  try {
    config = await loadConfig(configPath, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`nats-http-gateway: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }

  const logger = createLogger({ level: process.env.LOG_LEVEL ?? config.log.level });
  const nats = NatsClient.start({
    servers: config.nats.servers,
    name: config.nats.name,
    inboxPrefix: config.nats.inboxPrefix,
    reconnectWaitMs: config.nats.reconnectWait,
    healthIntervalMs: config.nats.healthInterval,
    healthTimeoutMs: config.nats.healthTimeout,
    logger,
  });
  const lifecycle = new Lifecycle();
  const app = createApp({ config, nats, lifecycle, logger });
  const { server } = await startHttpServer({
    app,
    host: config.http.host,
    port: config.http.port,
    logger,
  });

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal during shutdown; exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'signal received');
    shutDown({
      server,
      lifecycle,
      delayMs: config.http.shutdownDelay,
      graceMs: config.http.shutdownGrace,
      drainNats: () => nats.drain(),
      logger,
    }).then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `nats-http-gateway: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`,
  );
  process.exit(1);
});
