/**
 * Mapped routes from the config: `GET /users/:id` → `users.get.{id}`. Each path parameter becomes
 * exactly one subject token, so a caller can never reach a subject the operator did not map.
 */
import { effectivePolicy } from '../config/effective.js';
import type { RouteConfig, Config } from '../config/schema.js';
import type { DiscoveredRoute, ServiceOperation } from '../discovery/evaluate.js';
import { SubjectPolicy } from '../subject.js';
import { parsePathTemplate, parseSubjectTemplate, renderSubject } from '../config/templates.js';
import type { PathTemplate, SubjectTemplate } from '../config/templates.js';
import { InvalidParameterError, SubjectForbiddenError } from '../errors.js';
import { tokenProblem } from '../subject.js';
import { forward } from './forward.js';
import { CONTEXT_HEADER_PREFIX } from './header-policy.js';
import type { ForwardDeps } from './forward.js';
import type { RawParams, RouteEntry } from './route-table.js';

/** A route with its templates parsed. */
export interface CompiledRoute {
  index: number;
  config: RouteConfig;
  path: PathTemplate;
  subject: SubjectTemplate;
  /** Methods it answers, `ANY` expanded; HEAD is implied by GET. */
  methods: readonly string[];
  /** Set for a route a NATS service published (discovery.ts). */
  operation?: ServiceOperation;
}

/** Methods `ANY` stands for. */
const ANY_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * Parses every route of a validated config, then those services published (validation and
 * discovery already proved each template parses); YAML routes come first and so take precedence.
 */
export function compileRoutes(
  config: Config,
  discovered: readonly DiscoveredRoute[] = [],
): CompiledRoute[] {
  const all = [...config.routes.map((route) => ({ route, operation: undefined })), ...discovered];
  return all.map(({ route, operation }, index) => {
    const path = parsePathTemplate(route.path);
    if (typeof path === 'string') throw new Error(`route #${index}: ${path}`);
    const subject = parseSubjectTemplate(route.subject, path.params);
    if (typeof subject === 'string') throw new Error(`route #${index}: ${subject}`);
    const methods = route.method.includes('ANY') ? ANY_METHODS : route.method;
    return { index, config: route, path, subject, methods, ...(operation ? { operation } : {}) };
  });
}

/** Options for {@link mappedRoutes}. */
export interface RoutesOptions {
  config: Config;
  routes: readonly CompiledRoute[];
  deps: ForwardDeps;
}

/** The rows of the route table for the mapped routes, in config order. */
export function mappedRoutes({ config, routes, deps }: RoutesOptions): RouteEntry[] {
  // A service chose its own route, so the subject also passes the operator's /rr lists.
  const servicePolicy = new SubjectPolicy(config.rr.allow, config.rr.deny);
  return routes.map((route) => {
    const policy = effectivePolicy(config, route.config);
    const template = route.path.source;
    // Spelled once per route, not per request.
    const headerNames = route.path.params.map((name) => `${CONTEXT_HEADER_PREFIX}Param-${name}`);
    return {
      template,
      pattern: route.path.routerPattern,
      methods: route.methods,
      kind: 'nats',
      // Not async, like /rr's: one frame less held while waiting on NATS.
      handle(exchange, rawParams) {
        const values = decodeParams(route, rawParams);
        const subject = renderSubject(route.subject, (name) => values[name] as string);
        exchange.subject = subject;
        if (route.operation && !servicePolicy.permits(subject)) {
          throw new SubjectForbiddenError(subject);
        }
        const params = headerNames.map((header, i) => {
          return [header, values[route.path.params[i] as string] as string] as const;
        });
        return forward(exchange, deps, { subject, policy, route: template, params });
      },
    } satisfies RouteEntry;
  });
}

/** Decoded path parameters, each checked to be exactly one subject token. */
function decodeParams(route: CompiledRoute, raw: RawParams): Record<string, string> {
  const params: Record<string, string> = {};
  for (const name of route.path.params) {
    const encoded = raw[name] ?? '';
    let value: string;
    try {
      value = encoded.includes('%') ? decodeURIComponent(encoded) : encoded;
    } catch {
      throw new InvalidParameterError(name, 'it is not valid percent-encoding');
    }
    const problem = tokenProblem(value);
    if (problem) throw new InvalidParameterError(name, problem.replace(/^the subject /, 'it '));
    params[name] = value;
  }
  return params;
}

/**
 * For a path no route matched: the name of a route parameter that was left empty
 * (`/orders//5`), so the caller gets a 400 that says so rather than a bare 404.
 */
export function emptyParameterIn(
  routes: readonly CompiledRoute[],
  path: string,
): string | undefined {
  const segments = path.split('/');
  for (const route of routes) {
    const template = route.path.source.split('/');
    if (template.length !== segments.length) continue;
    let empty: string | undefined;
    let matches = true;
    for (let i = 0; i < template.length && matches; i++) {
      const part = template[i] as string;
      const actual = segments[i] as string;
      if (part.startsWith(':')) {
        if (actual === '') empty ??= part.slice(1).replace(/\{.*$/, '');
      } else if (part !== actual) {
        matches = false;
      }
    }
    if (matches && empty !== undefined) return empty;
  }
  return undefined;
}
