/**
 * Mapped routes from the config: `GET /users/:id` → `users.get.{id}`. Each path parameter becomes
 * exactly one subject token, so a caller can never reach a subject the operator did not map.
 */
import type { Context, Hono } from 'hono';
import { effectivePolicy } from '../config/effective.js';
import type { RouteConfig, Config } from '../config/schema.js';
import { parsePathTemplate, parseSubjectTemplate, renderSubject } from '../config/templates.js';
import type { PathTemplate, SubjectTemplate } from '../config/templates.js';
import { InvalidParameterError, MethodNotAllowedError } from '../errors.js';
import { tokenProblem } from '../subject.js';
import type { GatewayEnv } from './context.js';
import { forward } from './forward.js';
import type { ForwardDeps } from './forward.js';
import { pathOf } from './rr.js';

/** A route with its templates parsed. */
export interface CompiledRoute {
  index: number;
  config: RouteConfig;
  path: PathTemplate;
  subject: SubjectTemplate;
  /** Methods it answers, `ANY` expanded; HEAD is implied by GET. */
  methods: readonly string[];
}

/** Methods `ANY` stands for. */
const ANY_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
// A '%' that does not start an escape: Hono would pass it through undecoded.
const BAD_PERCENT = /%(?![0-9A-Fa-f]{2})/;

/** Parses every route of a validated config (validation already proved each template parses). */
export function compileRoutes(config: Config): CompiledRoute[] {
  return config.routes.map((route, index) => {
    const path = parsePathTemplate(route.path);
    if (typeof path === 'string') throw new Error(`route #${index}: ${path}`);
    const subject = parseSubjectTemplate(route.subject, path.params);
    if (typeof subject === 'string') throw new Error(`route #${index}: ${subject}`);
    const methods = route.method.includes('ANY') ? ANY_METHODS : route.method;
    return { index, config: route, path, subject, methods };
  });
}

/** Options for {@link mountRoutes}. */
export interface RoutesOptions {
  config: Config;
  routes: readonly CompiledRoute[];
  deps: ForwardDeps;
}

/** Adds the mapped routes, then a 405 for other methods on each of their paths. */
export function mountRoutes(app: Hono<GatewayEnv>, { config, routes, deps }: RoutesOptions): void {
  const methodsByPath = new Map<string, { path: string; methods: Set<string> }>();
  for (const route of routes) {
    const policy = effectivePolicy(config, route.config);
    const handleMappedRoute = async (c: Context<GatewayEnv>): Promise<Response> => {
      const exchange = c.get('exchange');
      exchange.route = route.path.source;
      const params = paramsOf(c, route);
      const subject = renderSubject(route.subject, (name) => params[name] as string);
      exchange.subject = subject;
      return forward(exchange, deps, { subject, policy, route: route.path.source, params });
    };
    app.on([...route.methods], route.path.source, handleMappedRoute);
    // Keyed by shape: `/users/:id` and `/users/:uid` are one path with the union of their methods.
    const known = methodsByPath.get(route.path.shapeKey) ?? {
      path: route.path.source,
      methods: new Set<string>(),
    };
    for (const method of route.methods) known.methods.add(method);
    methodsByPath.set(route.path.shapeKey, known);
  }
  for (const { path, methods } of methodsByPath.values()) {
    if (methods.has('GET')) methods.add('HEAD');
    const allow = [...methods];
    app.all(path, (c) => {
      c.get('exchange').route = path;
      throw new MethodNotAllowedError(c.req.method, allow);
    });
  }
}

/** Decoded path parameters, each checked to be exactly one subject token. */
function paramsOf(c: Context<GatewayEnv>, route: CompiledRoute): Record<string, string> {
  if (BAD_PERCENT.test(pathOf(c.env.incoming.url ?? ''))) {
    throw new InvalidParameterError(
      route.path.params[0] ?? 'path',
      'the path is not valid percent-encoding',
    );
  }
  const params: Record<string, string> = {};
  for (const name of route.path.params) {
    const value = c.req.param(name) ?? '';
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
