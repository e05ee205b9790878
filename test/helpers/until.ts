/** Waiting on a condition that no event announces (bytes arriving on many raw sockets). */

/** Resolves once `predicate()` holds, checking every 10 ms; throws naming `what` after `timeoutMs`. */
export async function until(
  predicate: () => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
