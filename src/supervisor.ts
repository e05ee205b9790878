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

/** Options for {@link superviseWorkers}. */
export interface SupervisorOptions {
  workers: number;
  logger: Logger;
  /** Pause before replacing a worker that died, so a crash at start-up does not spin. */
  restartDelayMs?: number;
}

/** The running workers, as the primary sees them. */
export interface Supervisor {
  /** Asks every worker to shut down gracefully; resolves when all have exited. */
  shutdown(): Promise<void>;
  /** Asks every worker to reload its config file. */
  reload(): void;
}

/** Forks the workers and keeps them running until {@link Supervisor.shutdown}. */
export function superviseWorkers({
  workers,
  logger,
  restartDelayMs = 1_000,
}: SupervisorOptions): Supervisor {
  let stopping = false;
  const live = new Set<Worker>();

  const start = (): void => {
    const worker = cluster.fork();
    live.add(worker);
    worker.once('exit', (code, signal) => {
      live.delete(worker);
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
    for (const worker of live) if (worker.isConnected()) worker.send(command);
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
  };
}
