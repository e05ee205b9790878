/**
 * `http.workers > 1`: the primary process forks that many gateway workers (node:cluster), which
 * share the listening port and each hold their own NATS connection. The primary serves nothing; it
 * passes shutdown and reload on to the workers and replaces a worker that dies.
 */
import cluster from 'node:cluster';
import type { Worker } from 'node:cluster';
import type { Logger } from 'pino';

/** Messages the primary sends to its workers over the cluster IPC channel. */
export const WorkerCommand = { shutdown: 'gateway:shutdown', reload: 'gateway:reload' } as const;
export type WorkerCommand = (typeof WorkerCommand)[keyof typeof WorkerCommand];

/**
 * Set in a worker's environment while the gateway runs with API keys: a worker started later (a
 * replacement) refuses a config file without them rather than serve without authentication,
 * which a reload would have refused too.
 */
export const REQUIRE_API_KEYS_ENV = 'GATEWAY_REQUIRE_API_KEYS';

/** Options for {@link superviseWorkers}. */
export interface SupervisorOptions {
  workers: number;
  logger: Logger;
  /** Whether the gateway runs with API keys now: what each new worker is started under. */
  apiKeysRequired: () => boolean;
  /** Pause before replacing a worker that died, so a crash at start-up does not spin. */
  restartDelayMs?: number;
}

/** The running workers, as the primary sees them. */
export interface Supervisor {
  /** Asks every worker to shut down gracefully; resolves when all have exited. */
  shutdown(): Promise<void>;
  /** Asks every worker to reload its config file. */
  reload(): void;
  /** Sends `signal` to every worker process. */
  signal(signal: NodeJS.Signals): void;
}

/** Forks the workers and keeps them running until {@link Supervisor.shutdown}. */
export function superviseWorkers({
  workers,
  logger,
  apiKeysRequired,
  restartDelayMs = 1_000,
}: SupervisorOptions): Supervisor {
  let stopping = false;
  const live = new Set<Worker>();
  // Commands for workers not listening yet: one still loading its modules has no one to take them.
  const notYetListening = new Map<Worker, WorkerCommand[]>();

  const start = (): void => {
    const worker = cluster.fork(apiKeysRequired() ? { [REQUIRE_API_KEYS_ENV]: '1' } : {});
    live.add(worker);
    notYetListening.set(worker, []);
    worker.once('listening', () => {
      const held = notYetListening.get(worker) ?? [];
      notYetListening.delete(worker);
      for (const command of held) if (worker.isConnected()) worker.send(command);
    });
    worker.once('exit', (code, signal) => {
      live.delete(worker);
      notYetListening.delete(worker);
      if (stopping) return;
      logger.error(
        { workerPid: worker.process.pid, code, signal },
        'worker exited; starting a replacement',
      );
      setTimeout(() => {
        if (!stopping) start();
      }, restartDelayMs).unref();
    });
  };
  for (let i = 0; i < workers; i++) start();
  logger.info({ workers }, 'workers started');

  const tell = (command: WorkerCommand): void => {
    for (const worker of live) {
      const held = notYetListening.get(worker);
      if (held) held.push(command);
      else if (worker.isConnected()) worker.send(command);
    }
  };

  return {
    async shutdown() {
      stopping = true;
      const exits = [...live].map(
        (worker) => new Promise<void>((resolve) => worker.once('exit', () => resolve())),
      );
      tell(WorkerCommand.shutdown);
      await Promise.all(exits);
    },
    reload() {
      tell(WorkerCommand.reload);
    },
    signal(signal) {
      for (const worker of live) worker.process.kill(signal);
    },
  };
}

/**
 * A worker's commands from the primary, taken from the moment the worker starts: one that came while
 * the worker was still loading its config or binding its port would otherwise be lost (a shutdown
 * then never finished). They are held until {@link WorkerInbox.deliverTo} names who handles them.
 */
export class WorkerInbox {
  #held: WorkerCommand[] = [];
  #handler: ((command: WorkerCommand) => void) | undefined;

  constructor() {
    process.on('message', (message: unknown) => {
      if (message !== WorkerCommand.shutdown && message !== WorkerCommand.reload) return;
      if (this.#handler) this.#handler(message);
      else this.#held.push(message);
    });
  }

  /** Hands the commands held so far to `handler`, in order, and every later one as it comes. */
  deliverTo(handler: (command: WorkerCommand) => void): void {
    this.#handler = handler;
    for (const command of this.#held.splice(0)) handler(command);
  }
}
