/**
 * The route table: every path the gateway answers — `/rr/{subject}`, the mapped routes and the
 * gateway's own endpoints — in one place, matched by Hono's router on the normalised path
 * (target.ts). Nothing else decides where a request goes.
 */
import { RegExpRouter } from 'hono/router/reg-exp-router';
import { SmartRouter } from 'hono/router/smart-router';
import { TrieRouter } from 'hono/router/trie-router';
import type { Router } from 'hono/router';
import type { RoutedExchange } from './context.js';

/** Path parameters as they appear in the path (still percent-encoded). */
export type RawParams = Readonly<Record<string, string>>;

/** Answers one request; writes its response to Node itself and throws a `GatewayError` on failure. */
export type RouteHandler = (exchange: RoutedExchange, params: RawParams) => Promise<void> | void;

/** One row of the table. */
export interface RouteEntry {
  /** How logs, metrics and `X-Gateway-Route` name the route (`/rr/{subject}`, `/users/:id`). */
  readonly template: string;
  /** The pattern Hono's router matches (`/rr/*`, `/users/:id{[0-9]+}`). */
  readonly pattern: string;
  /** The methods it answers; GET implies HEAD. */
  readonly methods: readonly string[];
  /**
   * `gateway` for the gateway's own endpoints (health, metrics, OpenAPI), `nats` for routes that
   * reach NATS: only those are refused past `http.maxInFlight` (every request is counted in it).
   */
  readonly kind: 'gateway' | 'nats';
  readonly handle: RouteHandler;
}

/** What {@link RouteTable.match} found. */
export type RouteMatch =
  | { readonly entry: RouteEntry; readonly params: RawParams }
  | {
      readonly entry: undefined;
      /** Methods the path allows; empty when no route has the path. */
      readonly allow: readonly string[];
      /** The template of the first route with the path, for logs and metrics. */
      readonly template: string | undefined;
    };

const NO_PARAMS: RawParams = Object.freeze({});

/** The routes of one listener, in precedence order: the first row that matches wins. */
export class RouteTable {
  readonly entries: readonly RouteEntry[];
  readonly #byMethod: Router<RouteEntry>;
  readonly #anyMethod: Router<RouteEntry>;

  constructor(entries: readonly RouteEntry[]) {
    this.entries = entries;
    this.#byMethod = newRouter();
    this.#anyMethod = newRouter();
    for (const entry of entries) {
      for (const method of methodsOf(entry)) this.#byMethod.add(method, entry.pattern, entry);
      this.#anyMethod.add('ALL', entry.pattern, entry);
    }
  }

  /**
   * The route for `method` on `path`, or — when the path exists for other methods only — the
   * methods it allows (empty: no such path).
   */
  match(method: string, path: string): RouteMatch {
    const found = firstMatch(this.#byMethod, method, path);
    if (found) return found;
    const allow = new Set<string>();
    const [matches] = this.#anyMethod.match(method, path);
    for (const [entry] of matches) for (const m of methodsOf(entry)) allow.add(m);
    return { entry: undefined, allow: [...allow], template: matches[0]?.[0].template };
  }
}

function newRouter(): Router<RouteEntry> {
  // What Hono's app uses: the fastest router that can take every pattern, the trie where not.
  return new SmartRouter({ routers: [new RegExpRouter(), new TrieRouter()] });
}

function methodsOf(entry: RouteEntry): readonly string[] {
  return entry.methods.includes('GET') && !entry.methods.includes('HEAD')
    ? [...entry.methods, 'HEAD']
    : entry.methods;
}

function firstMatch(
  router: Router<RouteEntry>,
  method: string,
  path: string,
): { entry: RouteEntry; params: RawParams } | undefined {
  const [matches, stash] = router.match(method, path);
  const first = matches[0];
  if (first === undefined) return undefined;
  const [entry, indexOrParams] = first;
  // Hono's routers return either the values themselves or their indexes into a stash.
  if (stash === undefined) return { entry, params: indexOrParams as Record<string, string> };
  let params: Record<string, string> | undefined;
  for (const name in indexOrParams) {
    params ??= {};
    params[name] = stash[(indexOrParams as Record<string, number>)[name] as number] as string;
  }
  return { entry, params: params ?? NO_PARAMS };
}
