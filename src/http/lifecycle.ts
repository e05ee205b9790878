/** Tracks requests in flight and whether the gateway is shutting down, so shutdown can wait for them. */

/** Shared between the request middleware, `/readyz` and the shutdown sequence. */
export class Lifecycle {
  #inFlight = 0;
  #shuttingDown = false;
  #idleWaiters: Array<() => void> = [];

  get inFlight(): number {
    return this.#inFlight;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  /** Marks the start of shutdown: readiness turns false at once. */
  beginShutdown(): void {
    this.#shuttingDown = true;
  }

  requestStarted(): void {
    this.#inFlight++;
  }

  requestFinished(): void {
    this.#inFlight--;
    if (this.#inFlight === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const wake of waiters) wake();
    }
  }

  /** Resolves `true` once no request is in flight, or `false` when `graceMs` passes first. */
  whenIdle(graceMs: number): Promise<boolean> {
    if (this.#inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), graceMs);
      this.#idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
}
