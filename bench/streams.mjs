// The streaming soak: what streams and gathers do at sizes too big for the test suite, with the
// gateway's RSS read from /proc. One nats-server, one gateway (the shipped config), and:
//   1. 1 GiB through examples/stream-file.mjs (acknowledgements, window 8 × 64 KiB) to a caller
//      reading at full speed: complete, byte-exact (SHA-256), RSS growth;
//   2. the same responder to a caller that reads 256 KiB/s for 5 s, then at full speed: nothing cut;
//   3. 50 MiB without acknowledgements to a caller that pauses: an incomplete body, the cut logged;
//   4. gathers of 100, 300 and 1000 replies × 512 KiB: X-Gather-End and RSS growth each.
//   node bench/streams.mjs [--gib 1]
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { rssBytes, sampleRss } from './lib/proc.mjs';
import { runToEnd, startGatewayProcess, startNats, waitFor } from './lib/stack.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const MiB = 1024 * 1024;
const { values: args } = parseArgs({ options: { gib: { type: 'string', default: '1' } } });
const work = mkdtempSync(join(tmpdir(), 'nhg-streams-'));
const children = [];
const log = (line) => process.stdout.write(`${line}\n`);
const mib = (bytes) => (bytes / MiB).toFixed(1);

/** Writes `bytes` of random data to a file, returning its path and SHA-256. */
async function randomFile(bytes) {
  const file = join(work, 'big.bin');
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  const block = randomBytes(4 * MiB);
  for (let written = 0; written < bytes; written += block.length) {
    const piece = block.subarray(0, Math.min(block.length, bytes - written));
    // A varying block, so the file is not one block repeated.
    piece[0] = written / block.length;
    hash.update(piece);
    if (!out.write(piece)) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
  return { file, sha256: hash.digest('hex') };
}

async function startGateway(natsUrl) {
  const gateway = await startGatewayProcess({
    root: ROOT,
    workDir: work,
    children,
    natsUrl,
    stdout: 'pipe',
  });
  const lines = [];
  createInterface({ input: gateway.child.stdout }).on('line', (l) => lines.push(l));
  return { base: gateway.base, port: gateway.port, pid: gateway.pid, lines };
}

async function startExample(natsUrl, file, subject) {
  const child = spawn(process.execPath, [join(ROOT, 'examples/stream-file.mjs'), file, subject], {
    env: { ...process.env, NATS_URL: natsUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  await new Promise((ready) =>
    createInterface({ input: child.stdout }).on('line', (l) => l.includes('ready') && ready()),
  );
}

/** Downloads a stream; reads at `bytesPerSecond` for `slowMs` first when given. */
function download(url, pace) {
  return new Promise((done, fail) => {
    const started = Date.now();
    const req = request(url, { method: 'POST' }, (res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      res.on('data', (chunk) => {
        hash.update(chunk);
        bytes += chunk.length;
        const elapsed = Date.now() - started;
        if (pace && elapsed < pace.slowMs) {
          const dueMs = (bytes / pace.bytesPerSecond) * 1000 - elapsed;
          if (dueMs > 0) {
            res.pause();
            setTimeout(() => res.resume(), Math.min(dueMs, pace.slowMs - elapsed));
          }
        }
      });
      res.on('end', () =>
        done({
          status: res.statusCode,
          bytes,
          sha256: hash.digest('hex'),
          ms: Date.now() - started,
        }),
      );
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end('go');
  });
}

async function main() {
  const natsUrl = await startNats(work, children);
  const gw = await startGateway(natsUrl);
  const nc = await connect({ servers: natsUrl });
  const size = Number(args.gib) * 1024 * MiB;
  log(`# streams soak, ${new Date().toISOString()}`);

  const { file, sha256 } = await randomFile(size);
  await startExample(natsUrl, file, 'soak.file');
  {
    const before = rssBytes(gw.pid);
    const rss = sampleRss(gw.pid, 20);
    const r = await download(`${gw.base}/rr/soak.file?replies=stream`);
    const peak = rss.stop();
    log(
      `1. ${mib(size)} MiB with acknowledgements, full speed: status ${r.status}, ${r.bytes === size ? 'complete' : `INCOMPLETE ${r.bytes}`}, ` +
        `hash ${r.sha256 === sha256 ? 'equal' : 'DIFFERENT'}, ${(r.ms / 1000).toFixed(1)} s (${mib((r.bytes / r.ms) * 1000)} MiB/s), ` +
        `gateway RSS ${mib(before)} → peak ${mib(peak)} MiB (growth ${mib(peak - before)} MiB)`,
    );
  }
  {
    const before = rssBytes(gw.pid);
    const rss = sampleRss(gw.pid, 20);
    const r = await download(`${gw.base}/rr/soak.file?replies=stream&stall=30s`, {
      bytesPerSecond: 256 * 1024,
      slowMs: 5_000,
    });
    const peak = rss.stop();
    const cut = gw.lines.some((l) => l.includes('stream cut short'));
    log(
      `2. the same, read at 256 KiB/s for 5 s then full speed: status ${r.status}, ${r.bytes === size ? 'complete' : `INCOMPLETE ${r.bytes}`}, ` +
        `hash ${r.sha256 === sha256 ? 'equal' : 'DIFFERENT'}, cut: ${cut ? 'YES' : 'no'}, ${(r.ms / 1000).toFixed(1)} s, RSS growth ${mib(peak - before)} MiB`,
    );
  }
  {
    const chunk = randomBytes(64 * 1024);
    const sub = nc.subscribe('soak.firehose', {
      callback: async (_err, msg) => {
        for (let i = 0; i < 800; i++) {
          msg.respond(chunk);
          if (i % 64 === 0) await nc.flush();
        }
        msg.respond(new Uint8Array(0));
      },
    });
    await nc.flush();
    const socket = netConnect({ port: gw.port, host: '127.0.0.1' });
    let received = 0;
    let tail = Buffer.alloc(0);
    const closed = new Promise((r) => socket.on('close', r));
    socket.on('error', () => undefined);
    socket.write(
      'POST /rr/soak.firehose?replies=stream HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n',
    );
    await new Promise((r) => socket.once('data', r));
    socket.pause();
    await waitFor(
      async () => gw.lines.some((l) => l.includes('stream cut short')),
      'the cut',
      30_000,
    );
    socket.on('data', (c) => {
      received += c.length;
      tail = Buffer.concat([tail, c]).subarray(-5);
    });
    socket.resume();
    await closed;
    const line = JSON.parse(gw.lines.find((l) => l.includes('stream cut short')));
    const metrics = await (await fetch(`${gw.base}/metrics`)).text();
    const counted = metrics
      .split('\n')
      .find((l) => l.startsWith('nhg_stream_cuts_total{reason="slow-consumer"}'));
    log(
      `3. 50 MiB without acknowledgements to a caller that pauses: received ${mib(received)} MiB, ` +
        `final chunk ${tail.toString('latin1') === '0\r\n\r\n' ? 'PRESENT' : 'absent'}; log: ${line.msg} (${line.reason}); metric: ${counted}`,
    );
    sub.unsubscribe();
  }
  for (const replies of [100, 300, 1000]) {
    const body = 'g'.repeat(512 * 1024);
    const subject = `soak.gather.${replies}`;
    const sub = nc.subscribe(subject, {
      callback: async (_err, msg) => {
        for (let i = 0; i < replies; i++) {
          msg.respond(body);
          if (i % 8 === 0) await nc.flush();
        }
      },
    });
    await nc.flush();
    const before = rssBytes(gw.pid);
    const rss = sampleRss(gw.pid, 20);
    const res = await fetch(`${gw.base}/rr/${subject}?replies=all&wait=20s`, {
      method: 'POST',
      body: 'x',
    });
    const items = await res.json();
    const peak = rss.stop();
    log(
      `4. gather of ${replies} × 512 KiB: ${res.status}, X-Gather-End: ${res.headers.get('x-gather-end')}, ${items.length} items, ` +
        `gateway RSS ${mib(before)} → peak ${mib(peak)} MiB (growth ${mib(peak - before)} MiB); ready: ${(await fetch(`${gw.base}/readyz`)).status}`,
    );
    sub.unsubscribe();
  }
  await nc.close();
}

runToEnd(main, { children, workDir: work, failure: 'streams soak failed' });
