/**
 * `GET /openapi.json`: the static `openapi.yaml` merged with the configured routes, so an API
 * gateway or a client generator can import the live API.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { Config } from '../config/schema.js';
import type { RouteEntry } from './route-table.js';
import type { CompiledRoute } from './routes.js';
import { sendJson } from './send.js';

/** An OpenAPI document as plain JSON. */
export type OpenApiDocument = Record<string, unknown> & {
  paths: Record<string, Record<string, unknown>>;
};

/** `openapi.yaml` sits at the package root: two levels above both `src/http/` and `dist/http/`. */
export const OPENAPI_FILE = fileURLToPath(new URL('../../openapi.yaml', import.meta.url));

/** Reads and parses the static document. */
export async function loadBaseOpenApi(file: string = OPENAPI_FILE): Promise<OpenApiDocument> {
  return parse(await readFile(file, 'utf8')) as OpenApiDocument;
}

const PROBLEM_REFS: Record<string, string> = {
  '400': 'BadRequest',
  '413': 'PayloadTooLarge',
  '500': 'InternalError',
  '502': 'BadGatewayReply',
  '503': 'Unavailable',
  '504': 'Timeout',
};
const BODYLESS = new Set(['GET', 'DELETE']);

/** Which of the gateway's own endpoints are on, and where. */
export interface GatewayEndpoints {
  /** Templates of the endpoints served (`/healthz`, `/metrics`, …). */
  paths: readonly string[];
  /** The admin listener's address when they are served there rather than on the main listener. */
  admin?: ListenerAddress | undefined;
  /** The main listener's address: the server "try it" and clients use when the document is read elsewhere. */
  main: ListenerAddress;
}

/** Where a listener is bound. */
export interface ListenerAddress {
  host: string;
  port: number;
  /** `https` for a listener with `http.tls`. */
  scheme?: 'http' | 'https';
}

/**
 * The base document with `/rr` (when enabled), the gateway endpoints that are on, and one path item
 * per configured route path.
 */
export function mergeRoutes(
  base: OpenApiDocument,
  config: Config,
  routes: readonly CompiledRoute[],
  endpoints: GatewayEndpoints,
): OpenApiDocument {
  const doc = structuredClone(base);
  // Served by the gateway itself: relative to where it is read, unless that is the admin listener.
  doc.servers = endpoints.admin
    ? [listenerServer(endpoints.main, 'the gateway')]
    : [{ url: '/', description: 'this gateway' }];
  if (!config.rr.enabled) delete doc.paths['/rr/{subject}'];
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!isGatewayEndpoint(item)) continue;
    if (!endpoints.paths.includes(path)) delete doc.paths[path];
    else if (endpoints.admin) item.servers = [listenerServer(endpoints.admin, 'admin listener')];
  }
  // Routes of one shape (/a/:id and /a/:key) share the path of the first: OpenAPI forbids two
  // templated paths that differ only in their parameters' names.
  const pathOfShape = new Map<string, string>();
  const operationIds = new Set<string>();
  const natsOperations: Array<Record<string, unknown>> = [];
  for (const route of routes) {
    const path = pathOfShape.get(route.path.shapeKey) ?? route.path.openApiPath;
    pathOfShape.set(route.path.shapeKey, path);
    const item = (doc.paths[path] ??= {
      parameters: route.path.params.map((name) => ({
        name,
        in: 'path',
        required: true,
        description:
          'Becomes one subject token: no dots, wildcards, whitespace or control characters.',
        schema: route.path.patterns[name]
          ? { type: 'string', pattern: `^(?:${route.path.patterns[name]})$` }
          : { type: 'string' },
      })),
    });
    for (const method of route.methods) {
      const op = operationFor(route, method);
      // Spelled from names with their other characters folded to `_` (`a-b`+`c` and `a`+`b-c`),
      // an id can repeat, which OpenAPI forbids: the later one is told apart by its own names.
      if (operationIds.has(op.operationId as string)) {
        op.operationId = `${op.operationId as string}_${nameHash(route, method)}`;
      }
      operationIds.add(op.operationId as string);
      natsOperations.push(op);
      item[method.toLowerCase()] = op;
    }
    const service = route.operation?.service;
    const tags = (doc.tags ??= []) as Array<{ name: string; description?: string }>;
    if (service && !tags.some((t) => t.name === service.name)) {
      tags.push({
        name: service.name,
        description: `NATS service ${service.name} ${service.version}${service.description ? `: ${service.description}` : ''}`,
      });
    }
  }
  if (config.auth.apiKeys.length > 0) requireApiKeys(doc, natsOperations);
  return doc;
}

/** Paths of the static document that take an API key when keys are configured. */
const KEYED_PATHS = ['/rr/{subject}', '/services'];

/**
 * With API keys configured: the scheme, and on every operation that asks for a key, the scheme and
 * the 401 and 403 it can answer, so the console's "Authorize" sends the key and generated clients
 * know to.
 */
function requireApiKeys(
  doc: OpenApiDocument,
  natsOperations: Array<Record<string, unknown>>,
): void {
  const components = (doc.components ??= {}) as Record<string, Record<string, unknown>>;
  components.securitySchemes = {
    ...components.securitySchemes,
    apiKey: {
      type: 'http',
      scheme: 'bearer',
      description: 'One of the keys in `auth.apiKeys`, as `Authorization: Bearer <key>`.',
    },
  };
  const keyed = [
    ...natsOperations,
    ...KEYED_PATHS.flatMap((path) =>
      Object.values(doc.paths[path] ?? {}).filter(
        (op): op is Record<string, unknown> =>
          typeof op === 'object' && op !== null && 'responses' in op,
      ),
    ),
  ];
  for (const op of keyed) {
    op.security = [{ apiKey: [] }];
    const responses = op.responses as Record<string, unknown>;
    responses['401'] ??= { $ref: '#/components/responses/Unauthorized' };
  }
  // A key limited to some subjects or routes is refused elsewhere (`/services` takes any key).
  for (const op of [...natsOperations, ...Object.values(doc.paths['/rr/{subject}'] ?? {})]) {
    const responses = (op as { responses?: Record<string, unknown> }).responses;
    if (responses) responses['403'] ??= { $ref: '#/components/responses/SubjectForbidden' };
  }
}

/** Eight hex digits that depend only on the route's service, endpoint and method names. */
function nameHash(route: CompiledRoute, method: string): string {
  const names = route.operation
    ? [route.operation.service.name, route.operation.endpoint.name, method]
    : [route.path.source, method];
  return createHash('sha256').update(names.join('\0')).digest('hex').slice(0, 8);
}

/** An OpenAPI server object for a listener; a wildcard address leaves the host to the reader. */
function listenerServer(
  { host, port, scheme = 'http' }: ListenerAddress,
  description: string,
): Record<string, unknown> {
  if (isWildcardHost(host)) {
    return {
      url: `${scheme}://{host}:${port}`,
      description,
      variables: { host: { default: 'localhost', description: "the gateway's host name" } },
    };
  }
  return { url: `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`, description };
}

/** Whether `host` listens on every interface, so it names no host a client could use. */
function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

/** The origin a browser would call a listener at (a wildcard host as `*`, as CSP allows). */
export function listenerOrigin({ host, port, scheme = 'http' }: ListenerAddress): string {
  if (isWildcardHost(host)) return `${scheme}://*:${port}`;
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The base document tags the gateway's own endpoints `operations`. */
function isGatewayEndpoint(item: Record<string, unknown>): boolean {
  const get = item.get as { tags?: unknown } | undefined;
  return Array.isArray(get?.tags) && get.tags.includes('operations');
}

/**
 * The `/openapi.json` row of the route table. The document is built on the first request, once
 * every listener is bound (the admin listener's port may have been 0), then kept for the config.
 */
export function openApiRoute(build: () => OpenApiDocument): RouteEntry {
  let json: string | undefined;
  return {
    template: '/openapi.json',
    pattern: '/openapi.json',
    methods: ['GET'],
    kind: 'gateway',
    handle(exchange) {
      json ??= JSON.stringify(build());
      sendJson(exchange, 200, json);
    },
  };
}

function operationFor(route: CompiledRoute, method: string): Record<string, unknown> {
  const { operation } = route;
  const responses: Record<string, unknown> = {
    '200': {
      description:
        'The first reply, byte for byte (a reply may set another status with Status-Code).',
      content:
        operation?.responseSchema !== undefined
          ? { 'application/json': { schema: operation.responseSchema } }
          : { '*/*': { schema: { type: 'string', format: 'binary' } } },
    },
  };
  for (const [status, ref] of Object.entries(PROBLEM_REFS)) {
    if (status === '413' && BODYLESS.has(method)) continue;
    responses[status] = { $ref: `#/components/responses/${ref}` };
  }
  const summary = `${method} ${route.path.source} → NATS ${route.subject.source}`;
  return {
    // A service's operation is named after it, so the id holds while other services come and go.
    operationId: operation
      ? `${operation.service.name}_${operation.endpoint.name}_${method.toLowerCase()}`.replace(
          /[^A-Za-z0-9_]/g,
          '_',
        )
      : `route${route.index}${method[0]}${method.slice(1).toLowerCase()}`,
    summary: operation?.description ?? summary,
    ...(operation
      ? {
          description: [
            summary,
            `Published by the NATS service ${operation.service.name} ${operation.service.version}` +
              ` (endpoint ${operation.endpoint.name}).`,
            operation.service.description,
          ]
            .filter(Boolean)
            .join('\n\n'),
        }
      : {}),
    tags: operation ? ['routes', operation.service.name] : ['routes'],
    'x-nats-subject': route.subject.source,
    ...(operation
      ? {
          'x-nats-service': {
            name: operation.service.name,
            version: operation.service.version,
            endpoint: operation.endpoint.name,
            subject: operation.endpoint.subject,
          },
        }
      : {}),
    parameters: [
      { $ref: '#/components/parameters/timeoutQuery' },
      { $ref: '#/components/parameters/requestTimeoutHeader' },
      { $ref: '#/components/parameters/requestIdHeader' },
    ],
    ...(BODYLESS.has(method)
      ? {}
      : {
          requestBody: {
            required: false,
            content:
              operation?.requestSchema !== undefined
                ? { 'application/json': { schema: operation.requestSchema } }
                : { '*/*': { schema: { type: 'string', format: 'binary' } } },
          },
        }),
    responses,
  };
}
