/**
 * Service discovery's rounds: every `discovery.interval`, a gather on `$SRV.INFO` that ends on a
 * stall (or at `wait`), the instances that answered remembered, and those that missed two rounds
 * in a row forgotten. What they publish is judged by evaluate.ts.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { NatsUnavailableError, NoRespondersError } from '../errors.js';
import type { RequestReply } from '../request-reply.js';
import { evaluate, InfoSchema } from './evaluate.js';
import type { DiscoveredRoute, Info, ServicesReport } from './evaluate.js';

interface Instance {
  info: Info;
  /** The round it last answered in. */
  seenInRound: number;
}

const INFO_SUBJECT = '$SRV.INFO';
/** How many rounds in a row an instance may miss before it is forgotten (and its routes go). */
const MISSED_ROUNDS = 2;
/** What one round may collect: more instances or bytes than any deployment means is an attack. */
const MAX_INSTANCES = 10_000;
const MAX_ROUND_BYTES = 8 * 1024 * 1024;
const EMPTY = new Uint8Array(0);

/** What {@link Discovery} needs. */
export interface DiscoveryOptions {
  nats: RequestReply;
  logger: Logger;
  /** Called with the routes whenever what services publish changes. */
  onRoutes: (routes: DiscoveredRoute[]) => void;
}

/** Asks services for their INFO every `discovery.interval` and keeps the routes they publish. */
export class Discovery {
  readonly #options: DiscoveryOptions;
  #config: Config | undefined;
  #instances = new Map<string, Instance>();
  /** Rounds that reached NATS: an instance's misses are counted in these. */
  #rounds = 0;
  /** Bumped by every stop: a round still in flight from before it changes nothing. */
  #generation = 0;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #stopped = false;
  /** A round has reached NATS since discovery was turned on: the routes are known. */
  #settled = false;
  #lastRound: ServicesReport['lastRound'];
  #report: ServicesReport = { lastRound: undefined, services: [] };
  #routes: DiscoveredRoute[] = [];
  #routesKey = '[]';
  #skipsKey = '';

  constructor(options: DiscoveryOptions) {
    this.#options = options;
  }

  /** The routes published now. */
  get routes(): DiscoveredRoute[] {
    return this.#routes;
  }

  /** Whether the routes are known: off, or a round has reached NATS since it was turned on. */
  get settled(): boolean {
    return this.#config?.discovery.enabled !== true || this.#settled;
  }

  /** What `/services` shows. */
  report(): ServicesReport {
    return this.#report;
  }

  /** Applies a config (at start and on every reload): starts, stops or re-evaluates. */
  configure(config: Config): void {
    if (this.#stopped) return;
    this.#config = config;
    if (!config.discovery.enabled) {
      this.#halt();
      this.#instances.clear();
      this.#publish();
      return;
    }
    this.#publish();
    if (!this.#running) {
      this.#running = true;
      this.#schedule(0);
    }
  }

  /** For good: shutting down. */
  stop(): void {
    this.#stopped = true;
    this.#halt();
  }

  #halt(): void {
    this.#running = false;
    this.#settled = false;
    this.#generation++;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    const generation = this.#generation;
    this.#timer = setTimeout(() => void this.#runRound(generation), delayMs);
    this.#timer.unref();
  }

  async #runRound(generation: number): Promise<void> {
    const config = this.#config;
    if (!config || generation !== this.#generation) return;
    const { interval, wait } = config.discovery;
    let next = interval;
    try {
      const reached = await this.#ask(wait, generation);
      if (generation !== this.#generation) return;
      if (reached) {
        this.#settled = true;
        this.#publish();
      } else {
        // NATS is out (or not connected yet, at start-up): nobody missed a round; ask again soon.
        next = Math.min(interval, 1_000);
      }
    } catch (err) {
      // A round must never end the process or the rounds that follow.
      this.#options.logger.error({ err }, 'service discovery round failed');
    }
    if (generation === this.#generation) this.#schedule(next);
  }

  /** One round: every INFO that comes within `waitMs`. False when NATS could not be asked. */
  async #ask(waitMs: number, generation: number): Promise<boolean> {
    const started = performance.now();
    const heard = new Map<string, Info>();
    try {
      await this.#options.nats.requestMany(
        { subject: INFO_SUBJECT, payload: EMPTY, headers: [], timeoutMs: waitMs },
        // Ends on a stall, or at `wait` at the latest.
        {
          maxReplies: MAX_INSTANCES,
          maxBytes: MAX_ROUND_BYTES,
          waitMs,
          stallMs: Math.max(50, Math.floor(waitMs / 2)),
        },
        (reply) => {
          const info = parseInfo(reply.payload);
          // By name and id: an instance of another service cannot stand in for one by its id.
          if (info) heard.set(`${info.name}\u0000${info.id}`, info);
        },
      );
    } catch (err) {
      if (!(err instanceof NoRespondersError)) {
        if (!(err instanceof NatsUnavailableError) && generation === this.#generation) {
          this.#options.logger.warn({ err: String(err) }, 'service discovery round failed');
        }
        return false;
      }
    }
    if (generation !== this.#generation) return false;
    const round = ++this.#rounds;
    for (const [key, info] of heard) this.#instances.set(key, { info, seenInRound: round });
    for (const [id, instance] of this.#instances) {
      if (round - instance.seenInRound >= MISSED_ROUNDS) this.#instances.delete(id);
    }
    this.#lastRound = {
      at: new Date().toISOString(),
      durationMs: Math.round(performance.now() - started),
      instances: heard.size,
    };
    return true;
  }

  /** Re-evaluates what is known against the config; tells `onRoutes` when the routes changed. */
  #publish(): void {
    const config = this.#config;
    if (!config) return;
    const { routes, report } = evaluate(
      [...this.#instances.values()].map((i) => i.info),
      config,
    );
    report.lastRound = this.#lastRound;
    this.#report = report;
    const skips = report.services.flatMap((s) =>
      s.listed ? s.skipped.map((k) => `${s.name}/${k.endpoint}: ${k.reason}`) : [],
    );
    const skipsKey = skips.join('\n');
    // Said once when it changes, not every round.
    if (skipsKey !== this.#skipsKey && skips.length > 0) {
      this.#options.logger.warn({ skipped: skips }, 'service endpoints not exposed');
    }
    this.#skipsKey = skipsKey;
    const key = JSON.stringify(routes);
    if (key === this.#routesKey) return;
    this.#routesKey = key;
    this.#routes = routes;
    this.#options.logger.info(
      { routes: routes.map((r) => `${r.route.method.join(',')} ${r.route.path}`) },
      'routes from service discovery',
    );
    this.#options.onRoutes(routes);
  }
}

/** An ADR-32 INFO answer, or `undefined` for anything else (it teaches nothing). */
function parseInfo(payload: Uint8Array): Info | undefined {
  try {
    return InfoSchema.parse(JSON.parse(Buffer.from(payload).toString('utf8')));
  } catch {
    return undefined;
  }
}
