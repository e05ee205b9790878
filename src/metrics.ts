/**
 * Prometheus metrics (prom-client). Labels are route templates, methods and outcomes, never raw
 * subjects, paths or ids, so their number stays bounded whatever callers send.
 */
import cluster from 'node:cluster';
import {
  AggregatorRegistry,
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
} from 'prom-client';

/** How a request ended, for the `outcome` label. */
export const Outcome = {
  ok: 'ok',
  replyError: 'reply_error',
  noResponders: 'no_responders',
  timeout: 'timeout',
  serviceError: 'service_error',
  tooLarge: 'too_large',
  unavailable: 'unavailable',
  overloaded: 'overloaded',
  rejected: 'rejected',
  unauthorized: 'unauthorized',
  badReply: 'bad_reply',
  cut: 'cut',
  error: 'error',
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const DURATION_BUCKETS_S = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** Options for {@link createMetrics}. */
export interface MetricsOptions {
  /** Requests being handled right now; read when Prometheus scrapes. */
  inFlight: () => number;
  /** Bytes held for callers against `http.maxBufferedBytes`; read when scraped. */
  bufferedBytes: () => number;
  /** The NATS connection state right now (`connected`, `reconnecting`, …); read when scraped. */
  natsState: () => string;
  /** Every state the connection can be in, so each has a series (0 or 1). */
  natsStates: readonly string[];
}

/** The gateway's metrics. */
export interface Metrics {
  readonly registry: Registry;
  /** Counts one finished request and observes its duration. */
  observeRequest(route: string, method: string, outcome: Outcome, durationS: number): void;
  /** Counts a NATS reconnect. */
  countReconnect(): void;
  /** Counts a reply that arrived after its request gave up. */
  countLateReply(): void;
  /** Counts a dial after a connection that was up closed for good. */
  countRedial(): void;
  /** Counts a stream the gateway cut short, by reason. */
  countStreamCut(reason: string): void;
  /**
   * The exposition text for `/metrics`: with `http.workers > 1`, every worker's metrics summed by
   * the primary (a scrape reaches one worker, which would otherwise show only its own share).
   */
  exposition(): Promise<string>;
}

/** The IPC messages a worker and the primary exchange for an aggregated scrape. */
const METRICS_REQUEST = 'gateway:metrics';
const METRICS_ANSWER = 'gateway:metrics-answer';
/** The IPC messages the primary and each worker exchange to collect the workers' registries. */
const COLLECT_REQUEST = 'gateway:metrics-collect';
const COLLECT_ANSWER = 'gateway:metrics-collected';
/** How long the primary waits for the workers' registries; one that has not answered is left out. */
const COLLECT_TIMEOUT_MS = 5_000;
/** How long a worker waits for the primary's aggregate before it answers with its own metrics. */
// Longer than the primary's wait for the workers, so its answer comes first.
const AGGREGATE_TIMEOUT_MS = 7_000;

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;
// The JSON names a metric's type ('counter'); prom-client's typings call it an enum.
const MONOTONIC = new Set(['counter', 'histogram']);

/**
 * In the primary of `http.workers > 1`: answers workers' requests for the cluster's metrics with
 * the sum (prom-client's `AggregatorRegistry.aggregate`) of every worker's registry, plus the
 * counters and histograms of workers that have exited, as of their last answer: without them a
 * worker's death would take its counts out of the sums, and Prometheus would read the drop as a
 * counter reset.
 */
export function serveClusterMetrics(): void {
  const lastAnswer = new Map<number, MetricsJson>();
  const waiting = new Map<number, { pending: Set<number>; done: () => void }>();
  let retired: Promise<MetricsJson> = Promise.resolve([]);
  let nextId = 0;

  /** Asks every worker for its registry; resolves once all have answered or the wait is over. */
  const collect = (): Promise<void> =>
    new Promise((resolve) => {
      const id = nextId++;
      const workers = Object.values(cluster.workers ?? {}).filter((w) => w?.isConnected());
      const pending = new Set(workers.map((w) => w!.id));
      const done = (): void => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve();
      };
      const timer = setTimeout(done, COLLECT_TIMEOUT_MS);
      waiting.set(id, { pending, done });
      for (const worker of workers) worker!.send({ type: COLLECT_REQUEST, id });
      if (pending.size === 0) done();
    });

  cluster.on(
    'message',
    (worker, message: { type?: string; id?: number; metrics?: MetricsJson }) => {
      if (message.type === COLLECT_ANSWER && message.id !== undefined) {
        if (Array.isArray(message.metrics)) lastAnswer.set(worker.id, message.metrics);
        const round = waiting.get(message.id);
        round?.pending.delete(worker.id);
        if (round?.pending.size === 0) round.done();
        return;
      }
      if (message.type !== METRICS_REQUEST) return;
      collect()
        .then(async () =>
          AggregatorRegistry.aggregate([...lastAnswer.values(), await retired]).metrics(),
        )
        .then(
          (text) => worker.send({ type: METRICS_ANSWER, id: message.id, text }),
          (err: unknown) =>
            worker.send({ type: METRICS_ANSWER, id: message.id, error: String(err) }),
        );
    },
  );
  cluster.on('exit', (worker) => {
    // A collection waits for it no longer.
    for (const round of [...waiting.values()]) {
      round.pending.delete(worker.id);
      if (round.pending.size === 0) round.done();
    }
    const last = lastAnswer.get(worker.id);
    lastAnswer.delete(worker.id);
    if (!last) return;
    // Gauges said how the worker was; counts it made stay counted.
    const counts = last.filter((m) => MONOTONIC.has(m.type as unknown as string));
    retired = retired.then(
      (sofar) => AggregatorRegistry.aggregate([sofar, counts]).getMetricsAsJSON(),
      () => [],
    );
  });
}

/** Creates a registry with the gateway's metrics and Node's default process metrics. */
export function createMetrics({
  inFlight,
  bufferedBytes,
  natsState,
  natsStates,
}: MetricsOptions): Metrics {
  const registry = new Registry();
  const exposition = cluster.isWorker ? workerExposition(registry) : () => registry.metrics();
  collectDefaultMetrics({ register: registry, prefix: 'nhg_' });
  const requests = new Counter({
    name: 'nhg_http_requests_total',
    help: 'HTTP requests handled, by route template, method and outcome.',
    labelNames: ['route', 'method', 'outcome'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'nhg_http_request_duration_seconds',
    help: 'Time from request to response, by route template and outcome.',
    labelNames: ['route', 'outcome'] as const,
    buckets: DURATION_BUCKETS_S,
    registers: [registry],
  });
  new Gauge({
    name: 'nhg_http_requests_in_flight',
    help: 'HTTP requests being handled.',
    registers: [registry],
    collect() {
      this.set(inFlight());
    },
  });
  new Gauge({
    name: 'nhg_http_buffered_bytes',
    help: 'Bytes held for callers (bodies, unsent replies, stream and gather buffers) against http.maxBufferedBytes.',
    registers: [registry],
    collect() {
      this.set(bufferedBytes());
    },
  });
  new Gauge({
    name: 'nhg_nats_connection_state',
    help: 'NATS connection state: 1 for the current state, 0 for the others (with workers: 1 when any is in it).',
    labelNames: ['state'] as const,
    registers: [registry],
    aggregator: 'max',
    collect() {
      const current = natsState();
      for (const state of natsStates) this.set({ state }, state === current ? 1 : 0);
    },
  });
  const reconnects = new Counter({
    name: 'nhg_nats_reconnects_total',
    help: 'Times the NATS connection was re-established after a loss.',
    registers: [registry],
  });
  const streamCuts = new Counter({
    name: 'nhg_stream_cuts_total',
    help: 'Streamed answers the gateway cut short (the caller sees an incomplete body), by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const redials = new Counter({
    name: 'nhg_nats_redials_total',
    help: 'Times the gateway dialled NATS anew after a connection closed for good (a revoked user, a server that closed it).',
    registers: [registry],
  });
  const lateReplies = new Counter({
    name: 'nhg_nats_late_replies_total',
    help: 'Replies that arrived after their request gave up (timed out or the caller left); never delivered.',
    registers: [registry],
  });

  // Label lookups hash their values on every call; bound children are looked up once per key.
  const bound = new Map<string, { count: () => void; observe: (s: number) => void }>();
  return {
    registry,
    observeRequest(route, method, outcome, durationS) {
      const m = KNOWN_METHODS.has(method) ? method : 'other';
      const key = `${route}\u0000${m}\u0000${outcome}`;
      let child = bound.get(key);
      if (!child) {
        const counter = requests.labels(route, m, outcome);
        const histogram = duration.labels(route, outcome);
        child = { count: () => counter.inc(), observe: (s) => histogram.observe(s) };
        bound.set(key, child);
      }
      child.count();
      child.observe(durationS);
    },
    countReconnect() {
      reconnects.inc();
    },
    countLateReply() {
      lateReplies.inc();
    },
    countRedial() {
      redials.inc();
    },
    countStreamCut(reason) {
      streamCuts.inc({ reason });
    },
    exposition,
  };
}

/** In a worker: this registry answers the primary's collection, and a scrape asks the primary. */
function workerExposition(registry: Registry): () => Promise<string> {
  let nextId = 0;
  const waiting = new Map<number, (text: string | undefined) => void>();
  process.on('message', (message: { type?: string; id?: number; text?: string }) => {
    if (message.type === COLLECT_REQUEST) {
      registry.getMetricsAsJSON().then(
        (metrics) => process.send?.({ type: COLLECT_ANSWER, id: message.id, metrics }),
        () => process.send?.({ type: COLLECT_ANSWER, id: message.id }),
      );
      return;
    }
    if (message.type !== METRICS_ANSWER || message.id === undefined) return;
    waiting.get(message.id)?.(message.text);
  });
  return async function clusterExposition() {
    const id = nextId++;
    const text = await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), AGGREGATE_TIMEOUT_MS);
      waiting.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      process.send?.({ type: METRICS_REQUEST, id });
    });
    waiting.delete(id);
    // Without the primary's answer, this worker's own metrics are better than none.
    return text ?? registry.metrics();
  };
}
