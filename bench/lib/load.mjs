// Load generators: wrk when installed (C, one thread: leaves the most CPU to the target), else
// autocannon (Node, in its own process). Both POST the same body and report req/s and latency.
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Which generator this machine has. */
export function loadGenerator() {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return 'wrk';
  } catch (err) {
    // wrk --version exits 1 after printing; only a missing binary throws ENOENT.
    return err?.code === 'ENOENT' ? 'autocannon' : 'wrk';
  }
}

function collect(child) {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`load generator failed (${code}): ${err}`)),
    );
  });
}

/**
 * Runs one load: `connections` keep-alive connections POSTing `payloadBytes` to `url` for `durationMs`.
 * Returns { requests, errors, rps, p50Ms, p99Ms }.
 */
export async function runLoad({ generator, url, connections, durationMs, payloadBytes, workDir }) {
  const bodyFile = join(workDir, `body-${payloadBytes}.bin`);
  writeFileSync(bodyFile, Buffer.alloc(payloadBytes, 120));
  const seconds = Math.max(1, Math.round(durationMs / 1000));
  if (generator === 'wrk') {
    const script = join(workDir, 'post.lua');
    writeFileSync(
      script,
      `wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"
local f = io.open("${bodyFile}", "rb"); wrk.body = f:read("*a"); f:close()
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format('RESULT {"requests":%d,"errors":%d,"durationUs":%d,"p50Us":%d,"p99Us":%d}\\n',
    summary.requests, errors, summary.duration, latency:percentile(50), latency:percentile(99)))
end
`,
    );
    const out = await collect(
      spawn('wrk', [
        '-t1',
        `-c${connections}`,
        `-d${seconds}s`,
        '--timeout',
        '10s',
        '-s',
        script,
        url,
      ]),
    );
    const r = JSON.parse(/RESULT (.*)/.exec(out)?.[1] ?? '{}');
    return {
      requests: r.requests,
      errors: r.errors,
      rps: r.requests / (r.durationUs / 1e6),
      p50Ms: r.p50Us / 1000,
      p99Ms: r.p99Us / 1000,
    };
  }
  const bin = join(import.meta.dirname, '../../node_modules/autocannon/autocannon.js');
  const out = await collect(
    spawn(process.execPath, [
      bin,
      '--json',
      '-c',
      String(connections),
      '-d',
      String(seconds),
      '-m',
      'POST',
      '-H',
      'Content-Type=application/octet-stream',
      '-i',
      bodyFile,
      url,
    ]),
  );
  const r = JSON.parse(out);
  return {
    requests: r.requests.total,
    errors: r.errors + r.non2xx + r.timeouts,
    rps: r.requests.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
  };
}
