/**
 * Composition root: config → NATS → HTTP, signals, and the only `process.exit`.
 * Usage: node dist/main.js [--config file.yaml]            run the gateway
 *        node dist/main.js validate [--config file.yaml]   check a config, exit 0 or 1
 * (or GATEWAY_CONFIG; NATS_URL, PORT, HOST and LOG_LEVEL override the file)
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { loadConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import { ConfigError } from './errors.js';
import { createApp } from './http/app.js';
import type { GatewayApp } from './http/app.js';
import { Discovery } from './discovery/poller.js';
import { ByteBudget } from './http/byte-budget.js';
import { Lifecycle } from './http/lifecycle.js';
import { loadBaseOpenApi } from './http/openapi.js';
import { createLogger, flushLogs } from './log.js';
import { createMetrics, serveClusterMetrics } from './metrics.js';
import { ConnectionState, NatsClient } from './nats/client.js';
import { shutDown, startHttpServer } from './server.js';
import {
  REQUIRE_API_KEYS_ENV,
  superviseWorkers,
  WorkerCommand,
  WorkerInbox,
} from './supervisor.js';

const DEFAULT_CONFIG_PATH = 'config/gateway.yaml';
/** Sections a reload cannot change: they shape the listener, the NATS connection and the logger. */
const RESTART_ONLY = ['http', 'nats', 'log'] as const;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { config: { type: 'string', short: 'c' } },
    allowPositionals: true,
    strict: true,
  });
  const configPath = values.config ?? process.env.GATEWAY_CONFIG ?? DEFAULT_CONFIG_PATH;
  const command = positionals[0] ?? 'run';
  if (command === 'validate') return validate(configPath);
  if (command !== 'run') {
    process.stderr.write(
      `nats-http-gateway: unknown command '${command}' (use 'validate' or nothing)\n`,
    );
    process.exit(1);
  }

  const inbox = cluster.isWorker ? new WorkerInbox() : undefined;
  const config = await loadConfigOrExit(configPath);
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? config.log.level });
  if (config.http.workers > 1 && cluster.isPrimary) {
    runPrimary(config, configPath, logger);
    return;
  }
  if (process.env[REQUIRE_API_KEYS_ENV] === '1' && config.auth.apiKeys.length === 0) {
    logger.fatal(
      { configPath },
      'refusing to start: the gateway runs with API keys and this file has none; fix the file, or restart the gateway to turn them off',
    );
    flushLogs(logger);
    process.exit(1);
  }
  await runGateway(config, configPath, logger, inbox);
}

/** The primary of `http.workers > 1`: starts the workers and passes signals on to them. */
function runPrimary(config: Config, configPath: string, logger: Logger): void {
  // Once on, API keys stay on for workers started later, as a reload keeps them (fail closed).
  let apiKeysRequired = config.auth.apiKeys.length > 0;
  const supervisor = superviseWorkers({
    workers: config.http.workers,
    logger,
    apiKeysRequired: () => apiKeysRequired,
  });
  serveClusterMetrics();
  process.on('SIGHUP', () => {
    supervisor.reload();
    // Read as the workers read it: once the file has settled, not half written.
    settled(configPath)
      .then(() => loadConfig(configPath, process.env))
      .then(
        (next) => {
          if (next.auth.apiKeys.length > 0) apiKeysRequired = true;
        },
        // The workers log why a file is refused.
        () => undefined,
      );
  });
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      // As a worker takes a second signal: stop now. Workers still shutting down have theirs
      // twice and exit at once; any other exits as cluster workers do when the primary is gone.
      logger.warn({ signal }, 'second signal during shutdown; exiting now');
      supervisor.signal(signal);
      flushLogs(logger);
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'signal received; shutting down the workers');
    void supervisor.shutdown().then(() => {
      logger.info('all workers stopped');
      flushLogs(logger);
      process.exit(0);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** One gateway process: NATS connection, HTTP listener, reload and graceful shutdown. */
async function runGateway(
  config: Config,
  configPath: string,
  logger: Logger,
  inbox: WorkerInbox | undefined,
): Promise<void> {
  const openApi = await loadBaseOpenApi();
  const lifecycle = new Lifecycle();
  const budget = new ByteBudget(config.http.maxBufferedBytes);
  const metrics = createMetrics({
    inFlight: () => lifecycle.inFlight,
    bufferedBytes: () => budget.held,
    natsState: () => nats.state,
    natsStates: Object.values(ConnectionState),
  });
  const nats = NatsClient.start({
    servers: config.nats.servers,
    name: config.nats.name,
    inboxPrefix: config.nats.inboxPrefix,
    reconnectWaitMs: config.nats.reconnectWait,
    healthIntervalMs: config.nats.healthInterval,
    healthTimeoutMs: config.nats.healthTimeout,
    logger,
    onReconnect: () => metrics.countReconnect(),
    onLateReply: () => metrics.countLateReply(),
    onRedial: () => metrics.countRedial(),
    security: {
      user: config.nats.user,
      pass: config.nats.pass,
      token: config.nats.token,
      nkeySeedFile: config.nats.nkeySeedFile,
      credsFile: config.nats.credsFile,
      tls: config.nats.tls,
    },
  });
  nats.connected.catch((err: unknown) => {
    // Wrong credentials will not get better by retrying: say so and stop, so the deployment fails visibly.
    logger.fatal({ err: (err as Error).message }, 'cannot authenticate to NATS; exiting');
    flushLogs(logger);
    process.exit(1);
  });
  // Known once the listeners are bound; the apps read them when they first build /openapi.json.
  const bound: { main?: number; admin?: number } = {};
  const boundPorts = (): { main?: number; admin?: number } => bound;
  // Every app is built the same way: the running config and the routes services publish now.
  const build = (current: Config): GatewayApp =>
    createApp({
      config: current,
      nats,
      lifecycle,
      budget,
      logger,
      openApi,
      metrics,
      boundPorts,
      discovery,
    });
  let running = config;
  const discovery = new Discovery({
    nats,
    logger,
    // What services publish changed: the same swap a reload makes. A build that fails keeps
    // the app that runs.
    onRoutes: () => {
      try {
        app = build(running);
      } catch (err) {
        logger.error({ err }, 'could not apply the routes from service discovery');
      }
    },
  });
  let app = build(config);
  discovery.configure(config);
  const { server, port: mainPort } = await startHttpServer({
    // Looked up per request, so a reload swaps the app without touching the server.
    listener: (incoming, outgoing) => app.listener(incoming, outgoing),
    clientError: (err, socket) => app.clientError(err, socket),
    connect: (incoming, socket) => app.connect(incoming, socket),
    host: config.http.host,
    port: config.http.port,
    logger,
    tls: config.http.tls && {
      cert: readFileSync(config.http.tls.certFile),
      key: readFileSync(config.http.tls.keyFile),
    },
    timeouts: {
      headersMs: config.http.headersTimeout,
      requestMs: config.http.requestTimeout,
      keepAliveMs: config.http.keepAliveTimeout,
    },
  });
  const { admin: adminConfig } = config.http;
  const adminServer =
    adminConfig &&
    (await startHttpServer({
      // `http` needs a restart to change, so every app of this process has an admin listener.
      listener: (incoming, outgoing) => app.adminListener?.(incoming, outgoing),
      clientError: (err, socket) => app.clientError(err, socket),
      connect: (incoming, socket) => app.adminConnect(incoming, socket),
      host: adminConfig.host,
      port: adminConfig.port,
      logger,
      name: 'admin',
      timeouts: {
        headersMs: config.http.headersTimeout,
        requestMs: config.http.requestTimeout,
        keepAliveMs: config.http.keepAliveTimeout,
      },
    }));
  bound.main = mainPort;
  if (adminServer) bound.admin = adminServer.port;
  const admin = adminServer?.server;
  logger.info(
    { routes: config.routes.length, rr: config.rr.enabled, configPath },
    'configuration loaded',
  );

  // One reload at a time; signals that arrive meanwhile read the file once more afterwards, so
  // the file last on disk is the one applied.
  let reloading = false;
  let again = false;
  const onReload = (): void => {
    if (stopping) return;
    if (reloading) {
      again = true;
      return;
    }
    reloading = true;
    void (async () => {
      try {
        do {
          again = false;
          await reload(configPath, running, logger, (next) => {
            running = next;
            // Discovery judges what services publish by the new config first, so the app built
            // next has the routes that config allows.
            discovery.configure(next);
            app = build(next);
          });
        } while (again);
      } catch (err) {
        logger.error({ err }, 'config reload failed; keeping the running config');
      } finally {
        reloading = false;
      }
    })();
  };
  process.on('SIGHUP', onReload);

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals | 'primary'): void => {
    if (stopping) {
      // The primary's request repeats a terminal's Ctrl-C that reached this worker too.
      if (signal === 'primary') return;
      logger.warn({ signal }, 'second signal during shutdown; exiting now');
      flushLogs(logger);
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'signal received');
    discovery.stop();
    shutDown({
      server,
      admin,
      lifecycle,
      delayMs: config.http.shutdownDelay,
      graceMs: config.http.shutdownGrace,
      drainNats: () => nats.drain(),
      logger,
    }).then(
      () => {
        flushLogs(logger);
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        flushLogs(logger);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  inbox?.deliverTo((command) => {
    if (command === WorkerCommand.shutdown) onSignal('primary');
    else onReload();
  });
}

/** `validate`: the same checks and messages as start-up, for CI of the repos that hold the YAML. */
async function validate(configPath: string): Promise<void> {
  const config = await loadConfigOrExit(configPath);
  process.stdout.write(
    `nats-http-gateway: ${configPath} is valid (${config.routes.length} route${config.routes.length === 1 ? '' : 's'}, /rr ${config.rr.enabled ? 'enabled' : 'disabled'})\n`,
  );
  process.exit(0);
}

async function loadConfigOrExit(configPath: string): Promise<Config> {
  try {
    return await loadConfig(configPath, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`nats-http-gateway: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/**
 * SIGHUP: re-reads the file; a valid one replaces routes, /rr, header and timeout policy for new
 * requests (running ones finish on the old app); an invalid one changes nothing.
 */
async function reload(
  configPath: string,
  running: Config,
  logger: Logger,
  swap: (next: Config) => void,
): Promise<void> {
  let next: Config;
  try {
    await settled(configPath);
    next = await loadConfig(configPath, process.env);
  } catch (err) {
    const issues = err instanceof ConfigError ? err.issues : [String(err)];
    logger.error({ configPath, issues }, 'config reload failed; keeping the running config');
    return;
  }
  // Fail closed: a file that lost its keys (half written, or a mistake) never opens the gateway.
  if (running.auth.apiKeys.length > 0 && next.auth.apiKeys.length === 0) {
    logger.error(
      { configPath },
      'config reload refused: it turns API-key authentication off; that takes a restart',
    );
    return;
  }
  const needRestart = RESTART_ONLY.filter((key) => !isDeepStrictEqual(next[key], running[key]));
  if (needRestart.length > 0) {
    logger.warn(
      { sections: needRestart },
      'these sections changed but only take effect after a restart',
    );
  }
  // Keep the running connection-level sections so the app never disagrees with the connection.
  const effective: Config = { ...next, http: running.http, nats: running.nats, log: running.log };
  swap(Object.freeze(effective));
  logger.info({ configPath, routes: next.routes.length, rr: next.rr.enabled }, 'config reloaded');
}

/** How long a config file must keep its size and mtime before a reload reads it. */
const SETTLE_MS = 200;
/** How long a reload waits for a file that keeps changing. */
const SETTLE_GIVE_UP_MS = 5_000;

/** Resolves once `path` has not changed for {@link SETTLE_MS}: a rewrite in progress is not read. */
async function settled(path: string): Promise<void> {
  const started = Date.now();
  let last = await stat(path);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const now = await stat(path);
    if (now.size === last.size && now.mtimeMs === last.mtimeMs) return;
    if (Date.now() - started > SETTLE_GIVE_UP_MS) {
      throw new ConfigError(path, [`the file kept changing for ${SETTLE_GIVE_UP_MS} ms`]);
    }
    last = now;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `nats-http-gateway: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`,
  );
  process.exit(1);
});
