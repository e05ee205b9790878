/**
 * What services' INFO answers (ADR-32) ask for, judged against the config: an endpoint whose
 * metadata describes an HTTP route (`http.method`, `http.path`, …) becomes one, checked by the same
 * rules as YAML routes, when the operator lists the service (`discovery.services`). Pure, so that a
 * reload can re-evaluate without asking NATS again.
 */
import { z } from 'zod';
import { RouteSchema } from '../config/schema.js';
import type { Config, RouteConfig } from '../config/schema.js';
import { checkRoutes } from '../config/route-checks.js';
import { parsePathTemplate, parseSubjectTemplate, renderSubject } from '../config/templates.js';
import { SubjectPolicy, subjectMatches } from '../subject.js';

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
export const InfoSchema = z.looseObject({
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
export type Info = z.output<typeof InfoSchema>;

/** The routes the known instances publish under `config`, and the report of every service. */
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
  // Paths taken so far, by shape: the YAML routes first, which win.
  const taken: Taken = new Map();
  for (const route of config.routes) take(taken, route, undefined);
  let considered = 0;
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
      const metadata = endpoint.metadata ?? {};
      if (!('http.method' in metadata) && !('http.path' in metadata)) continue; // Not for HTTP.
      if (!entry.listed) {
        // Not judged further: an unlisted service costs a round nothing and takes no place.
        entry.skipped.push({
          endpoint: endpoint.name,
          reason: 'the service is not listed in discovery.services',
        });
        continue;
      }
      if (considered++ >= MAX_ENDPOINTS) {
        entry.skipped.push({
          endpoint: endpoint.name,
          reason: `more than ${MAX_ENDPOINTS} endpoints of listed services with HTTP metadata`,
        });
        continue;
      }
      const outcome = endpointRoute(info, endpoint, config, policy, taken);
      if (outcome === undefined) continue; // No HTTP metadata: not meant for HTTP.
      if (typeof outcome === 'string') {
        entry.skipped.push({ endpoint: endpoint.name, reason: outcome });
      } else {
        routes.push(outcome);
        take(taken, outcome.route, `${name}/${endpoint.name}`);
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

/** A stand-in for any path parameter when a subject template is checked against its endpoint. */
const SAMPLE_TOKEN = '__param__';

type Endpoint = NonNullable<Info['endpoints']>[number];

/** What a round may turn into routes at most; each is checked once, against a map of the others. */
const MAX_ENDPOINTS = 2_000;

/** Methods taken on each path shape, and by whom: `undefined` for a YAML route. */
type Taken = Map<string, Array<{ methods: string[]; owner: string | undefined }>>;

function take(taken: Taken, route: RouteConfig, owner: string | undefined): void {
  const template = parsePathTemplate(route.path);
  if (typeof template === 'string') return;
  const list = taken.get(template.shapeKey) ?? [];
  list.push({ methods: route.method, owner });
  taken.set(template.shapeKey, list);
}

/** Who already answers one of `route`'s methods on its path: a clash, as `validate` sees one. */
function clashOf(
  taken: Taken,
  shapeKey: string,
  methods: string[],
): { owner: string | undefined } | undefined {
  for (const other of taken.get(shapeKey) ?? []) {
    const overlap =
      methods.includes('ANY') ||
      other.methods.includes('ANY') ||
      methods.some((m) => other.methods.includes(m));
    if (overlap) return other;
  }
  return undefined;
}

/** The route an endpoint's metadata asks for, why it cannot have it, or `undefined` for none. */
function endpointRoute(
  info: Info,
  endpoint: Endpoint,
  config: Config,
  policy: SubjectPolicy,
  taken: Taken,
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
  // The same checks as a YAML route on its own; clashes against the map of those taken so far.
  const problems: string[] = [];
  checkRoutes({ routes: [route], requests: config.requests, nats: config.nats }, (problem) =>
    problems.push(problem.message),
  );
  if (problems.length > 0) return problems.join('; ');
  const template = parsePathTemplate(route.path);
  if (typeof template === 'string') return template;
  const clash = clashOf(taken, template.shapeKey, route.method);
  if (clash) {
    const what = `${route.method.join(',')} ${route.path}`;
    return clash.owner === undefined
      ? `a YAML route already answers ${what}`
      : `${clash.owner} already answers ${what}`;
  }
  // A service may not take /rr's paths, nor make every caller's path run a regex of its own.
  if (template.source === '/rr' || template.source.startsWith('/rr/')) {
    return "paths under /rr are the gateway's request-reply endpoint";
  }
  if (Object.keys(template.patterns).length > 0) {
    return "'http.path' may not constrain parameters with a pattern";
  }
  const subject = parseSubjectTemplate(route.subject, template.params);
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
    let schema: unknown;
    try {
      schema = JSON.parse(text);
    } catch {
      return `'${key}' is not JSON`;
    }
    // A JSON Schema is an object or a boolean; anything else would make /openapi.json invalid.
    if (
      typeof schema !== 'boolean' &&
      (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    ) {
      return `'${key}' is not a JSON Schema (an object)`;
    }
    schemas[key] = schema;
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

/**
 * Semantic-version order on the numeric parts (1.10.0 after 1.9.2), a pre-release before its
 * release (1.0.0-rc.1 before 1.0.0), so that a canary does not take a service's routes over.
 */
export function compareVersions(a: string, b: string): number {
  const [coreA = '', preA] = splitVersion(a);
  const [coreB = '', preB] = splitVersion(b);
  const pa = coreA.split('.').map(Number);
  const pb = coreB.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (Number.isNaN(x) || Number.isNaN(y)) return a.localeCompare(b);
    if (x !== y) return x - y;
  }
  if (preA === undefined || preB === undefined)
    return preA === preB ? 0 : preA === undefined ? 1 : -1;
  return preA.localeCompare(preB);
}

/** `1.2.3-rc.1+build` → ['1.2.3', 'rc.1']; build metadata does not order. */
function splitVersion(version: string): [string, string | undefined] {
  const core = version.split('+')[0] ?? '';
  const dash = core.indexOf('-');
  return dash === -1 ? [core, undefined] : [core.slice(0, dash), core.slice(dash + 1)];
}
