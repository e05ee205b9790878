/**
 * The gateway's NATS connection: connects (retrying forever at start-up), tracks whether it can be
 * used right now, proves it still answers, and sends requests through one shared reply subscription.
 */
import { readFileSync } from 'node:fs';
import {
  AuthorizationError,
  connect,
  credsAuthenticator,
  nkeyAuthenticator,
  nuid,
  UserAuthenticationExpiredError,
} from '@nats-io/transport-node';
import type { ConnectionOptions, NatsConnection, Status } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { NatsUnavailableError, ShuttingDownError } from '../errors.js';
import { isUnderPrefix, subjectProblem } from '../subject.js';
import type {
  GatherOptions,
  GatherResult,
  OutboundRequest,
  Reply,
  RequestReply,
} from '../request-reply.js';
import { ReplyMux } from './reply-mux.js';

/** Options for {@link NatsClient.start}. */
export interface NatsClientOptions {
  servers: readonly string[];
  name: string;
  inboxPrefix: string;
  reconnectWaitMs: number;
  healthIntervalMs: number;
  healthTimeoutMs: number;
  logger: Logger;
  /** Called each time the connection is re-established after a loss. */
  onReconnect?: () => void;
  /** Called for each reply that arrives after its request gave up (timed out, caller gone). */
  onLateReply?: () => void;
  /** Called each time a connection that had closed for good is dialled anew. */
  onRedial?: () => void;
  /** How to authenticate and encrypt; secrets are read from their files at each (re)connect. */
  security?: NatsSecurityOptions;
}

/** Authentication and TLS towards NATS; at most one way to authenticate. */
export interface NatsSecurityOptions {
  user?: string | undefined;
  pass?: string | undefined;
  token?: string | undefined;
  nkeySeedFile?: string | undefined;
  credsFile?: string | undefined;
  tls?:
    | {
        caFile?: string | undefined;
        certFile?: string | undefined;
        keyFile?: string | undefined;
        serverName?: string | undefined;
      }
    | undefined;
}

/** NATS refused the gateway's credentials: retrying with the same ones cannot help. */
export class NatsAuthenticationError extends Error {
  constructor(options?: ErrorOptions) {
    super(
      'NATS rejected the gateway’s credentials (check nats.user/pass, token, nkeySeedFile or credsFile)',
      options,
    );
    this.name = 'NatsAuthenticationError';
  }
}

function securityOptions(s: NatsSecurityOptions | undefined): Partial<ConnectionOptions> {
  const out: Partial<ConnectionOptions> = {};
  if (!s) return out;
  if (s.user !== undefined) Object.assign(out, { user: s.user, pass: s.pass });
  if (s.token !== undefined) out.token = s.token;
  const seedFile = s.nkeySeedFile;
  if (seedFile !== undefined) {
    out.authenticator = nkeyAuthenticator(() =>
      new TextEncoder().encode(readFileSync(seedFile, 'utf8').trim()),
    );
  }
  const credsFile = s.credsFile;
  if (credsFile !== undefined)
    out.authenticator = credsAuthenticator(() => readFileSync(credsFile));
  if (s.tls) {
    const { caFile, certFile, keyFile, serverName } = s.tls;
    // Extra keys reach Node's tls.connect as they are; `servername` sets the name to verify.
    out.tls = {
      ...(caFile ? { caFile } : {}),
      ...(certFile ? { certFile } : {}),
      ...(keyFile ? { keyFile } : {}),
      ...(serverName ? { servername: serverName } : {}),
    };
  }
  return out;
}

function isAuthFailure(err: unknown): boolean {
  return err instanceof AuthorizationError || err instanceof UserAuthenticationExpiredError;
}

/** Where the connection stands; only `connected` serves requests. */
export const ConnectionState = {
  connecting: 'connecting',
  connected: 'connected',
  reconnecting: 'reconnecting',
  stalled: 'stalled',
  draining: 'draining',
  closed: 'closed',
} as const;
export type ConnectionState = (typeof ConnectionState)[keyof typeof ConnectionState];

/** Longest pause between start-up dial attempts. */
const MAX_STARTUP_BACKOFF_MS = 5_000;
/** Longest pause between dials after a connection that was up closed: back within a second of the fix. */
const MAX_REDIAL_BACKOFF_MS = 1_000;

/** A NATS connection that serves gateway requests; see the module comment. */
export class NatsClient implements RequestReply {
  readonly inboxPrefix: string;
  readonly #replyPrefix: string;
  #state: ConnectionState = ConnectionState.connecting;
  #nc: NatsConnection | undefined;
  #mux: ReplyMux | undefined;
  #healthTimer: NodeJS.Timeout | undefined;
  #stopping = false;
  #wakeStartupWait: (() => void) | undefined;
  #lastStatusError: string | undefined;
  /** `performance.now()` when the connection last stopped serving; undefined while it serves. */
  #downSince: number | undefined = performance.now();
  readonly #options: NatsClientOptions;
  readonly #log: Logger;
  readonly #connected: Promise<void>;

  private constructor(options: NatsClientOptions) {
    this.#options = options;
    this.#log = options.logger;
    this.inboxPrefix = options.inboxPrefix;
    // A random token per process keeps two gateways' replies apart and the reply subjects unguessable.
    this.#replyPrefix = `${options.inboxPrefix}.${nuid.next()}`;
    this.#connected = this.#connectUntilUp(true);
  }

  /** Starts connecting in the background; requests get 503 until the first connection is up. */
  static start(options: NatsClientOptions): NatsClient {
    return new NatsClient(options);
  }

  /**
   * Resolves once connected for the first time (or when stopped before that); rejects with
   * {@link NatsAuthenticationError} when the server refuses the credentials.
   */
  get connected(): Promise<void> {
    return this.#connected;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get available(): boolean {
    return this.#state === ConnectionState.connected;
  }

  get maxPayloadBytes(): number {
    return this.#nc?.info?.max_payload ?? 0;
  }

  request(req: OutboundRequest): Promise<Reply> {
    if (this.#state !== ConnectionState.connected || !this.#mux) {
      return Promise.reject(new NatsUnavailableError(`the connection is ${this.#state}`));
    }
    return this.#mux.request(req, this.maxPayloadBytes);
  }

  requestMany(
    req: OutboundRequest,
    options: GatherOptions,
    onReply: (reply: Reply) => boolean | void,
  ): Promise<GatherResult> {
    if (this.#state !== ConnectionState.connected || !this.#mux) {
      return Promise.reject(new NatsUnavailableError(`the connection is ${this.#state}`));
    }
    return this.#mux.requestMany(req, this.maxPayloadBytes, options, onReply);
  }

  acknowledge(subject: string): void {
    if (this.#state !== ConnectionState.connected || !this.#nc) return;
    // The gateway publishes with its own permissions: a responder may name its own inbox, never
    // a system or JetStream API subject, nor a reply subject of the gateway's other callers.
    if (
      subject.startsWith('$') ||
      isUnderPrefix(this.#replyPrefix, subject) ||
      subjectProblem(subject)
    ) {
      this.#log.debug(
        { subject },
        'stream chunk asked for an acknowledgement on a refused subject',
      );
      return;
    }
    try {
      this.#nc.publish(subject);
    } catch (err) {
      // A reply subject nats.js refuses (a wildcard, a space): the responder's window runs dry.
      this.#log.debug({ err: errorMessage(err), subject }, 'cannot acknowledge a stream chunk');
    }
  }

  /**
   * Stops taking requests, lets NATS flush what was published, then closes. Callers wait for their
   * own in-flight requests first: drain rejects whatever is still pending.
   */
  async drain(): Promise<void> {
    this.#stopping = true;
    this.#wakeStartupWait?.();
    clearInterval(this.#healthTimer);
    const nc = this.#nc;
    this.#setState(ConnectionState.draining);
    this.#mux?.failAll(new ShuttingDownError());
    if (nc && !nc.isClosed()) {
      await nc.drain().catch((err: unknown) => {
        this.#log.warn({ err: errorMessage(err) }, 'NATS drain failed; closing');
        return nc.close();
      });
    }
    this.#setState(ConnectionState.closed);
  }

  /**
   * Dials until a connection is up. At start-up, credentials the server refuses end the process
   * (they will not get better); after a connection that was up closed — a user revoked, a server
   * that closed on us — the gateway dials on, reading credential files afresh each time, so a
   * restored user or a rotated file brings it back without a restart.
   */
  async #connectUntilUp(startup: boolean): Promise<void> {
    const o = this.#options;
    let lastFailure: string | undefined;
    for (let attempt = 1; !this.#stopping; attempt++) {
      try {
        const nc = await connect({
          ...securityOptions(o.security),
          servers: [...o.servers],
          name: o.name,
          inboxPrefix: o.inboxPrefix,
          reconnect: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: o.reconnectWaitMs,
          // Pings catch a dead TCP peer; the health check below catches a stalled reader sooner.
          pingInterval: Math.max(o.healthIntervalMs * 2, 5_000),
          maxPingOut: 2,
          timeout: Math.max(o.healthTimeoutMs, 2_000),
          // Async stack traces cost two Error objects per request and tell us nothing here.
          noAsyncTraces: true,
          // A revoked user may be restored: keep redialling rather than close after two refusals.
          ignoreAuthErrorAbort: true,
        });
        if (this.#stopping) {
          await nc.close();
          return;
        }
        this.#adopt(nc);
        return;
      } catch (err) {
        if (startup && isAuthFailure(err)) throw new NatsAuthenticationError({ cause: err });
        const waitMs = Math.min(
          o.reconnectWaitMs * 2 ** Math.min(attempt - 1, 10),
          startup ? MAX_STARTUP_BACKOFF_MS : MAX_REDIAL_BACKOFF_MS,
        );
        // Once per kind of failure, not once per attempt.
        const failure = errorMessage(err);
        if (failure !== lastFailure) {
          lastFailure = failure;
          this.#log.warn(
            { err: failure, servers: o.servers, attempt, retryInMs: waitMs },
            'cannot connect to NATS; retrying',
          );
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs);
          this.#wakeStartupWait = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }

  #adopt(nc: NatsConnection): void {
    this.#nc = nc;
    this.#mux = new ReplyMux(nc, this.#replyPrefix, this.#log, () => this.#options.onLateReply?.());
    this.#setState(ConnectionState.connected);
    this.#log.info(
      { server: nc.getServer(), maxPayloadBytes: this.maxPayloadBytes },
      'connected to NATS',
    );
    // An unhandled rejection would end the process; a broken status stream is only worth a log line.
    this.#watchStatus(nc).catch((err: unknown) => {
      this.#log.error({ err: errorMessage(err) }, 'NATS status stream failed');
    });
    void nc.closed().then((err) => {
      clearInterval(this.#healthTimer);
      this.#mux?.failAll(new NatsUnavailableError('the connection closed'));
      if (this.#stopping) {
        this.#setState(ConnectionState.closed);
        return;
      }
      this.#log.error({ err: errorMessage(err) }, 'NATS connection closed; dialling again');
      this.#setState(ConnectionState.reconnecting);
      this.#options.onRedial?.();
      void this.#connectUntilUp(false);
    });
    this.#healthTimer = setInterval(
      () => void this.#checkHealth(nc),
      this.#options.healthIntervalMs,
    );
    this.#healthTimer.unref();
  }

  async #watchStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) this.#onStatus(status);
  }

  #onStatus(status: Status): void {
    switch (status.type) {
      case 'disconnect':
        this.#log.warn({ server: status.server }, 'disconnected from NATS');
        this.#lose('the connection was lost', ConnectionState.reconnecting);
        break;
      case 'staleConnection':
        this.#log.warn('NATS connection is stale (no PONG); reconnecting');
        this.#lose('the connection went stale', ConnectionState.reconnecting);
        break;
      case 'reconnect':
        if (this.#stopping) return;
        this.#lastStatusError = undefined;
        this.#log.info({ server: status.server }, 'reconnected to NATS');
        this.#options.onReconnect?.();
        this.#setState(ConnectionState.connected);
        break;
      case 'error': {
        // While a revoked user is refused at every redial, say so once, not every 250 ms.
        const err = errorMessage(status.error);
        if (err !== this.#lastStatusError) this.#log.error({ err }, 'NATS reported an error');
        this.#lastStatusError = err;
        break;
      }
      case 'slowConsumer':
        this.#log.warn(
          { pending: status.pending },
          'NATS slow consumer: replies are arriving faster than they are read',
        );
        break;
      default:
        break;
    }
  }

  /**
   * Proves the connection answers: a PING that must come back within the deadline. A reader stalled
   * by a malformed message, or a frozen server, fails this without any status event; replacing the
   * connection then turns a wall of 504s into a few fast 503s.
   */
  async #checkHealth(nc: NatsConnection): Promise<void> {
    if (this.#state !== ConnectionState.connected || this.#stopping || nc !== this.#nc) return;
    const answered = await withDeadline(nc.flush(), this.#options.healthTimeoutMs);
    // A check of a connection that was replaced meanwhile says nothing about the new one.
    if (answered || this.#stopping || nc !== this.#nc) return;
    if (this.#state !== ConnectionState.connected) return;
    this.#log.warn(
      { timeoutMs: this.#options.healthTimeoutMs },
      'NATS connection stopped answering; reconnecting',
    );
    this.#lose('the connection stopped answering', ConnectionState.stalled);
    nc.reconnect().catch((err: unknown) => {
      this.#log.error({ err: errorMessage(err) }, 'forced NATS reconnect failed');
    });
  }

  /** Marks the connection unusable and fails what waits on it: those replies can no longer arrive reliably. */
  #lose(reason: string, state: ConnectionState): void {
    this.#setState(state);
    this.#mux?.failAll(new NatsUnavailableError(reason));
  }

  #setState(state: ConnectionState): void {
    // Closed is final only once the gateway itself is stopping.
    if (this.#state === ConnectionState.closed && this.#stopping) return;
    if (state === ConnectionState.connected) this.#downSince = undefined;
    else this.#downSince ??= performance.now();
    this.#state = state;
  }

  /** How long the connection has not been serving requests, in ms (0 while it serves). */
  get downForMs(): number {
    return this.#downSince === undefined ? 0 : performance.now() - this.#downSince;
  }
}

function withDeadline(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      () => {
        clearTimeout(timer);
        resolve(false);
      },
    );
  });
}

function errorMessage(err: unknown): string | undefined {
  if (err === undefined || err === null) return undefined;
  return err instanceof Error ? err.message : JSON.stringify(err);
}
