/**
 * Checks that need the whole config: each route's templates, duplicates, reserved paths, and
 * timeouts against the cap. Every message names the route by index, method and path.
 */
import type { z } from 'zod';
import { subjectMatches } from '../subject.js';
import { parsePathTemplate, parseSubjectTemplate, renderSubject } from './templates.js';

/** Paths the gateway serves itself; a route may not shadow them. */
export const RESERVED_PATHS = ['/healthz', '/readyz', '/openapi.json'] as const;

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

/** zod refinement over the parsed config. */
export function checkRoutes(config: ConfigLike, ctx: z.RefinementCtx): void {
  const seen = new Map<string, { index: number; methods: string[] }>();
  config.routes.forEach((route, index) => {
    const name = `route #${index} (${route.method.join(',')} ${route.path})`;
    const fail = (key: string, message: string): void =>
      ctx.addIssue({
        code: 'custom',
        path: ['routes', index, key],
        message: `${name}: ${message}`,
      });

    const path = parsePathTemplate(route.path);
    if (typeof path === 'string') {
      fail('path', path);
      return;
    }
    if ((RESERVED_PATHS as readonly string[]).includes(route.path))
      fail('path', 'the gateway serves this path itself');

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
