/**
 * Checks that need the whole config: each route's templates, duplicates, reserved paths, and
 * timeouts against the cap. Every message names the route by index, method and path.
 */
import { subjectMatches } from '../subject.js';
import { parsePathTemplate, parseSubjectTemplate, renderSubject } from './templates.js';

/**
 * Paths the gateway serves itself, whether or not they are on or on this listener; a route may not
 * take them, so that turning an endpoint on or moving it never changes what a route answers.
 */
export const RESERVED_PATHS = [
  '/healthz',
  '/readyz',
  '/metrics',
  '/openapi.json',
  // The API console (http/docs.ts) and `/`, which points at it.
  '/',
  '/docs',
  '/docs/swagger-ui.css',
  '/docs/swagger-ui-bundle.js',
  '/docs/favicon-32x32.png',
  '/docs/init.js',
  // What service discovery found (discovery.ts).
  '/services',
] as const;

interface RouteLike {
  method: string[];
  path: string;
  subject: string;
  timeout?: number | undefined;
}

interface ConfigLike {
  routes: RouteLike[];
  requests: { maxTimeout: number };
  nats: { inboxPrefix: string };
}

/** One problem of one route. */
export interface RouteProblem {
  index: number;
  key: 'path' | 'subject' | 'timeout';
  message: string;
}

/**
 * Reports each problem of the routes: for the config's refinement, and for discovery, which checks
 * a route a service publishes against the YAML ones with the same rules.
 */
export function checkRoutes(config: ConfigLike, report: (problem: RouteProblem) => void): void {
  const seen = new Map<string, { index: number; methods: string[] }>();
  config.routes.forEach((route, index) => {
    const fail = (key: RouteProblem['key'], message: string): void =>
      report({ index, key, message });

    const path = parsePathTemplate(route.path);
    if (typeof path === 'string') {
      fail('path', path);
      return;
    }
    const reserved = RESERVED_PATHS.find((p) => pathCanMatch(path.source, p));
    if (reserved) fail('path', `'${reserved}' is the gateway's own endpoint`);

    const subject = parseSubjectTemplate(route.subject, path.params);
    if (typeof subject === 'string') {
      fail('subject', subject);
    } else if (
      subjectMatches(
        `${config.nats.inboxPrefix}.>`,
        renderSubject(subject, () => 'x'),
      )
    ) {
      fail(
        'subject',
        `may not publish under the gateway's inbox prefix '${config.nats.inboxPrefix}'`,
      );
    }

    if (route.timeout !== undefined && route.timeout > config.requests.maxTimeout) {
      fail('timeout', `must not exceed requests.maxTimeout (${config.requests.maxTimeout} ms)`);
    }

    const previous = seen.get(path.shapeKey);
    if (previous) {
      const overlap =
        route.method.includes('ANY') || previous.methods.includes('ANY')
          ? route.method
          : route.method.filter((m) => previous.methods.includes(m));
      if (overlap.length > 0) {
        fail(
          'path',
          `duplicates route #${previous.index} for ${overlap.join(', ')} on the same path`,
        );
      }
      previous.methods.push(...route.method);
    } else {
      seen.set(path.shapeKey, { index, methods: [...route.method] });
    }
  });
}

/**
 * Whether a path template can match `path`: same segment count, each literal equal (case-sensitive,
 * as the router is) and each parameter non-empty and, when constrained, matching its regex.
 */
function pathCanMatch(template: string, path: string): boolean {
  const want = path.split('/');
  const have = template.split('/');
  if (want.length !== have.length) return false;
  return have.every((segment, i) => {
    const actual = want[i] as string;
    if (!segment.startsWith(':')) return segment === actual;
    const pattern = /\{(.+)\}$/.exec(segment)?.[1];
    return actual !== '' && (pattern === undefined || new RegExp(`^(?:${pattern})$`).test(actual));
  });
}
