/**
 * Service discovery: NATS services (ADR-32, `$SRV.INFO`) that describe an HTTP route in their
 * endpoint metadata (`http.method`, `http.path`, …) become routes, checked by the same rules as
 * YAML ones, while the operator decides which services may publish (`discovery.services`).
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { RouteSchema } from './config/schema.js';
import type { Config, RouteConfig } from './config/schema.js';
import { checkRoutes } from './config/route-checks.js';
import { parsePathTemplate, parseSubjectTemplate, renderSubject } from './config/templates.js';
import { NatsUnavailableError, NoRespondersError } from './errors.js';
import type { RequestReply } from './request-reply.js';
import { SubjectPolicy, subjectMatches } from './subject.js';

/** What an HTTP operation knows of the service behind it, for OpenAPI and `/services`. */
export interface ServiceOperation {
  service: { name: string; version: string; description: string };
  endpoint: { name: string; subject: string };
  description: string | undefined;
  /** JSON Schemas from `schema.request` and `schema.response`, parsed. */
  requestSchema: unknown;
  responseSchema: unknown;
}

/** A route a service published: exactly a YAML route, plus where it came from. */
export interface DiscoveredRoute {
  route: RouteConfig;
  operation: ServiceOperation;
}

/** What `GET /services` shows: every service seen, what it exposes and what was skipped, and why. */
export interface ServicesReport {
  lastRound: { at: string; durationMs: number; instances: number } | undefined;
  services: Array<{
    name: string;
    version: string;
    description: string;
    /** Listed in `discovery.services`: its endpoints may become routes. */
    listed: boolean;
    instances: Array<{ id: string; version: string }>;
    routes: Array<{ method: string[]; path: string; subject: string; endpoint: string }>;
    skipped: Array<{ endpoint: string; reason: string }>;
  }>;
}

/** ADR-32's INFO answer, as far as discovery reads it; unknown fields are ignored. */
const InfoSchema = z.looseObject({
  name: z.string().min(1),
  id: z.string().min(1),
  version: z.string().default(''),
  description: z.string().nullish(),
  endpoints: z
    .array(
      z.looseObject({
        name: z.string(),
        subject: z.string(),
        // Values are checked one by one: a bad one spoils its endpoint, not the service.
        metadata: z.record(z.string(), z.unknown()).nullish(),
      }),
    )
    .nullish(),
});
type Info = z.output<typeof InfoSchema>;

interface Instance {
  info: Info;
  /** The round it last answered in. */
  seenInRound: number;
}

const INFO_SUBJECT = '$SRV.INFO';
/** How many rounds in a row an instance may miss before it is forgotten (and its routes go). */
const MISSED_ROUNDS = 2;
/** A stand-in for any path parameter when a subject template is checked against its endpoint. */
const SAMPLE_TOKEN = '__param__';
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
  #round = 0;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
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

  /** What `/services` shows. */
  report(): ServicesReport {
    return this.#report;
  }

  /** Applies a config (at start and on every reload): starts, stops or re-evaluates. */
  configure(config: Config): void {
    const wasEnabled = this.#config?.discovery.enabled === true;
    this.#config = config;
    if (!config.discovery.enabled) {
      this.stop();
      this.#instances.clear();
      this.#publish();
      return;
    }
    this.#publish();
    if (!wasEnabled || !this.#running) {
      this.#running = true;
      this.#schedule(0);
    }
  }

  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#runRound(), delayMs);
    this.#timer.unref();
  }

  async #runRound(): Promise<void> {
    const config = this.#config;
    if (!this.#running || !config) return;
    const { interval, wait } = config.discovery;
    const answered = await this.#ask(wait);
    if (!this.#running) return;
    if (answered === undefined) {
      // NATS is out: nobody missed a round; ask again soon.
      this.#schedule(Math.min(interval, 1_000));
      return;
    }
    this.#publish();
    this.#schedule(interval);
  }

  /** One round: every INFO that comes within `waitMs`; `undefined` when NATS could not be asked. */
  async #ask(waitMs: number): Promise<number | undefined> {
    const started = performance.now();
    const round = ++this.#round;
    let count = 0;
    try {
      await this.#options.nats.requestMany(
        { subject: INFO_SUBJECT, payload: EMPTY, headers: [], timeoutMs: waitMs },
        // Ends on a stall, or at `wait` at the latest.
        { maxReplies: 100_000, waitMs, stallMs: Math.max(50, Math.floor(waitMs / 2)) },
        (reply) => {
          count++;
          this.#heard(reply.payload, round);
        },
      );
    } catch (err) {
      if (err instanceof NatsUnavailableError) return undefined;
      if (!(err instanceof NoRespondersError)) {
        this.#options.logger.warn({ err: String(err) }, 'service discovery round failed');
        return undefined;
      }
    }
    for (const [id, instance] of this.#instances) {
      if (round - instance.seenInRound >= MISSED_ROUNDS) this.#instances.delete(id);
    }
    this.#lastRound = {
      at: new Date().toISOString(),
      durationMs: Math.round(performance.now() - started),
      instances: count,
    };
    return count;
  }

  #heard(payload: Uint8Array, round: number): void {
    let info: Info;
    try {
      info = InfoSchema.parse(JSON.parse(Buffer.from(payload).toString('utf8')));
    } catch {
      return; // Not an ADR-32 INFO answer: nothing to learn from it.
    }
    this.#instances.set(info.id, { info, seenInRound: round });
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

/**
 * The routes the known instances publish under `config`, and the report of every service. A pure
 * function of its inputs, so that a reload can re-evaluate without asking NATS again.
 */
export function evaluate(
  infos: readonly Info[],
  config: Config,
): { routes: DiscoveredRoute[]; report: ServicesReport } {
  const byService = new Map<string, Info[]>();
  for (const info of infos) {
    const list = byService.get(info.name) ?? [];
    list.push(info);
    byService.set(info.name, list);
  }
  const listed = globsMatcher(config.discovery.services);
  const policy = new SubjectPolicy(config.rr.allow, config.rr.deny);
  const routes: DiscoveredRoute[] = [];
  const report: ServicesReport = { lastRound: undefined, services: [] };
  for (const name of [...byService.keys()].sort()) {
    const instances = (byService.get(name) ?? []).sort(
      (a, b) => compareVersions(b.version, a.version) || a.id.localeCompare(b.id),
    );
    // The newest version speaks for the service while a rollout runs.
    const info = instances[0] as Info;
    const entry: ServicesReport['services'][number] = {
      name,
      version: info.version,
      description: info.description ?? '',
      listed: listed(name),
      instances: instances.map((i) => ({ id: i.id, version: i.version })),
      routes: [],
      skipped: [],
    };
    report.services.push(entry);
    for (const endpoint of info.endpoints ?? []) {
      const outcome = endpointRoute(info, endpoint, config, policy, [
        ...config.routes,
        ...routes.map((r) => r.route),
      ]);
      if (outcome === undefined) continue; // No HTTP metadata: not meant for HTTP.
      if (typeof outcome === 'string') {
        entry.skipped.push({ endpoint: endpoint.name, reason: outcome });
      } else if (!entry.listed) {
        entry.skipped.push({
          endpoint: endpoint.name,
          reason: `the service is not listed in discovery.services`,
        });
      } else {
        routes.push(outcome);
        entry.routes.push({
          method: outcome.route.method,
          path: outcome.route.path,
          subject: outcome.route.subject,
          endpoint: endpoint.name,
        });
      }
    }
  }
  return { routes, report };
}

type Endpoint = NonNullable<Info['endpoints']>[number];

/** The route an endpoint's metadata asks for, why it cannot have it, or `undefined` for none. */
function endpointRoute(
  info: Info,
  endpoint: Endpoint,
  config: Config,
  policy: SubjectPolicy,
  existing: readonly RouteConfig[],
): DiscoveredRoute | string | undefined {
  const metadata = endpoint.metadata ?? {};
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') return `metadata '${key}' is not a string`;
  }
  const meta = metadata as Record<string, string>;
  const method = meta['http.method'];
  const path = meta['http.path'];
  if (method === undefined && path === undefined) return undefined;
  if (method === undefined) return "'http.path' is set but 'http.method' is not";
  if (path === undefined) return "'http.method' is set but 'http.path' is not";
  const raw = {
    method: method.split(',').map((m) => m.trim()),
    path,
    subject: meta['http.subject'] ?? endpoint.subject,
    ...(meta['http.timeout'] !== undefined ? { timeout: meta['http.timeout'] } : {}),
    ...(meta['http.replies'] !== undefined ? { replies: meta['http.replies'] } : {}),
  };
  const parsed = RouteSchema.safeParse(raw);
  if (!parsed.success) {
    return parsed.error.issues
      .map((i) => `'http.${String(i.path[0] ?? 'metadata')}': ${i.message}`)
      .join('; ');
  }
  const route = parsed.data;
  // The same checks as a YAML route, against the YAML routes (which win) and those found so far.
  const problems: string[] = [];
  checkRoutes(
    { routes: [...existing, route], requests: config.requests, nats: config.nats },
    (index, _key, message) => {
      if (index === existing.length) problems.push(message.replace(/^route #\d+ \([^)]*\): /, ''));
    },
  );
  if (problems.length > 0) {
    const [first] = problems;
    const clash = /duplicates route #(\d+)/.exec(first ?? '');
    if (clash && Number(clash[1]) < config.routes.length) {
      return `a YAML route already answers ${route.method.join(',')} ${route.path}`;
    }
    return problems.join('; ');
  }
  const template = parsePathTemplate(route.path);
  const subject =
    typeof template === 'string' ? template : parseSubjectTemplate(route.subject, template.params);
  if (typeof subject === 'string') return subject;
  const sample = renderSubject(subject, () => SAMPLE_TOKEN);
  if (!subjectMatches(endpoint.subject, sample)) {
    return `'http.subject' ${route.subject} does not fit the endpoint's subject ${endpoint.subject}`;
  }
  if (!policy.permits(sample)) return `${route.subject} is outside rr.allow / rr.deny`;
  const schemas: Record<string, unknown> = {};
  for (const key of ['schema.request', 'schema.response']) {
    const text = meta[key];
    if (text === undefined) continue;
    try {
      schemas[key] = JSON.parse(text);
    } catch {
      return `'${key}' is not JSON`;
    }
  }
  return {
    route,
    operation: {
      service: { name: info.name, version: info.version, description: info.description ?? '' },
      endpoint: { name: endpoint.name, subject: endpoint.subject },
      description: meta.description,
      requestSchema: schemas['schema.request'],
      responseSchema: schemas['schema.response'],
    },
  };
}

/** Whether a service name matches any of the globs (`*`: any run of characters, `?`: one). */
function globsMatcher(globs: readonly string[]): (name: string) => boolean {
  const patterns = globs.map(
    (glob) =>
      new RegExp(
        `^${glob
          .split('')
          .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.\\-]/g, '\\$&')))
          .join('')}$`,
      ),
  );
  return (name) => patterns.some((p) => p.test(name));
}

/** Semantic-version order on the numeric parts (1.10.0 after 1.9.2); anything else compares as text. */
function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/).map(Number);
  const pb = b.split(/[.+-]/).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (Number.isNaN(x) || Number.isNaN(y)) return a.localeCompare(b);
    if (x !== y) return x - y;
  }
  return 0;
}
