/**
 * The process's byte budget (`http.maxBufferedBytes`): what request bodies being read, replies
 * being held and stream and gather buffers may take together. Counting requests alone let a few
 * hundred large ones take gigabytes.
 */
/** Bytes the process holds for callers, shared by every app a reload builds. */
export class ByteBudget {
  #held = 0;
  /** `http.maxBufferedBytes`: `http` takes a restart to change, so the limit never moves. */
  readonly limit: number;

  constructor(limitBytes: number) {
    this.limit = limitBytes;
  }

  get held(): number {
    return this.#held;
  }

  /** Whether the limit is reached: new work waits, streams whose callers are behind are cut. */
  get spent(): boolean {
    return this.#held >= this.limit;
  }

  /** Takes `bytes` for a request being admitted, if they fit; a request that would not fit is refused. */
  tryTake(bytes: number): boolean {
    if (this.#held + bytes > this.limit || this.spent) return false;
    this.#held += bytes;
    return true;
  }

  /**
   * Counts bytes that are here already (a reply arrived, a socket fell behind), past the limit if
   * need be: admitted work finishes, and new work waits until they are gone. Negative gives back.
   */
  take(bytes: number): void {
    this.#held += bytes;
  }

  give(bytes: number): void {
    this.#held -= bytes;
  }
}
