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

/**
 * What a request carries behind Kong, nginx or Envoy: a browser's headers plus the proxy's own. The
 * gateway forwards most to NATS (canonical spelling) and drops the credentials, so with them the
 * benchmark also measures the header policy; without them wrk sends only Host and Content-Length.
 */
export const PROXY_HEADERS = [
  ['User-Agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)'],
  ['Accept', 'application/json'],
  ['Accept-Encoding', 'gzip, deflate, br'],
  ['Accept-Language', 'en-GB,en;q=0.9'],
  ['X-Forwarded-For', '203.0.113.7, 10.0.0.2'],
  ['X-Forwarded-Proto', 'https'],
  ['X-Real-IP', '203.0.113.7'],
  ['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
  ['Authorization', 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiZW5jaCJ9.c2lnbmF0dXJl'],
  ['Cookie', 'session=0123456789abcdef; theme=dark'],
];

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
 * Runs one load: `connections` keep-alive connections POSTing `payloadBytes` to `url` for `durationMs`,
 * with `headers` (name/value pairs) besides Content-Type.
 * Returns { requests, errors, rps, p50Ms, p99Ms }.
 */
export async function runLoad({
  generator,
  url,
  connections,
  durationMs,
  payloadBytes,
  workDir,
  headers = [],
}) {
  const bodyFile = join(workDir, `body-${payloadBytes}.bin`);
  writeFileSync(bodyFile, Buffer.alloc(payloadBytes, 120));
  const seconds = Math.max(1, Math.round(durationMs / 1000));
  if (generator === 'wrk') {
    const script = join(workDir, 'post.lua');
    writeFileSync(
      script,
      `wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"
${headers.map(([name, value]) => `wrk.headers["${name}"] = "${value}"\n`).join('')}local f = io.open("${bodyFile}", "rb"); wrk.body = f:read("*a"); f:close()
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
      ...headers.flatMap(([name, value]) => ['-H', `${name}=${value}`]),
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
