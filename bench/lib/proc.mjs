// Per-process CPU time and memory, read from /proc so the measuring costs the target nothing.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const TICK_MICROS = 1_000_000 / 100; // Linux USER_HZ is 100 on every mainstream build.

/** CPU time (user + system) of `pid` so far, in µs. */
export function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MICROS;
}

/** Resident set size of `pid` now, in bytes. */
export function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}

/** Samples the RSS of `pid` every `everyMs` until stopped; `stop()` returns the peak in bytes. */
export function sampleRss(pid, everyMs = 50) {
  let peak = 0;
  const take = () => {
    try {
      peak = Math.max(peak, rssBytes(pid));
    } catch {
      // The process may be gone at the very end.
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return peak;
    },
  };
}

/** `pid` and its direct children (the workers of a clustered gateway). */
export function processTree(pid) {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return [pid, ...(children ? children.split(/\s+/).map(Number) : [])];
  } catch {
    return [pid];
  }
}

/**
 * Pins every thread of `pid` to `cpus` (a taskset list such as "1" or "0-2"); threads it starts later
 * inherit the set. Returns false where taskset is missing.
 */
export function pinTo(pid, cpus) {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
