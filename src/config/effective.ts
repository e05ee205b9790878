/**
 * The one merge rule: a route's key over the top-level key over the built-in default (already
 * filled in by the schema). A key replaces, never merges: a route's `drop` list is the whole list.
 */
import type { Config, RouteConfig } from './schema.js';

/** The header policy and timeouts one request runs under. */
export interface EffectivePolicy {
  timeoutMs: number;
  maxTimeoutMs: number;
  headerCase: 'canonical' | 'preserve';
  /** Lowercased names not forwarded: `drop` minus `forward`. */
  drop: ReadonlySet<string>;
  /** Static headers, replacing caller headers of the same name. */
  add: ReadonlyArray<[string, string]>;
  /** The lowercased names of `add`, looked up for every request. */
  addNames: ReadonlySet<string>;
  /** `first`, `all` or `stream`, before the caller's `?replies=`. */
  replies: 'first' | 'all' | 'stream';
  /** Gather defaults before the caller's `?max=`, `?wait=`, `?stall=`; and the cap on replies. */
  gather: {
    max: number | undefined;
    waitMs: number | undefined;
    stallMs: number | undefined;
    maxReplies: number;
    maxBytes: number;
  };
  /** Streams: the slow-consumer budget and the write timeout. */
  stream: { maxBufferBytes: number; writeTimeoutMs: number };
}

/** The policy for `route`, or for `/rr` when `route` is undefined. */
export function effectivePolicy(config: Config, route?: RouteConfig): EffectivePolicy {
  const global = config.headers;
  const own = route?.headers;
  const forward = new Set(own?.forward ?? global.forward);
  const drop = new Set((own?.drop ?? global.drop).filter((name) => !forward.has(name)));
  return {
    timeoutMs: route?.timeout ?? config.requests.timeout,
    maxTimeoutMs: config.requests.maxTimeout,
    headerCase: own?.case ?? global.case,
    drop,
    add: Object.entries(own?.add ?? global.add),
    addNames: new Set(Object.keys(own?.add ?? global.add).map((name) => name.toLowerCase())),
    replies: route?.replies ?? 'first',
    gather: {
      max: route?.gather?.max,
      waitMs: route?.gather?.wait,
      stallMs: route?.gather?.stall,
      maxReplies: config.requests.maxReplies,
      maxBytes: route?.gather?.maxBytes ?? config.requests.maxGatherBytes,
    },
    stream: {
      maxBufferBytes: config.requests.maxStreamBuffer,
      writeTimeoutMs: config.requests.streamWriteTimeout,
    },
  };
}
