// Opens `count` requests at once, each on its own connection, and reports how many succeeded.
import { Agent, request } from 'node:http';

process.once('message', ({ url, count }) => {
  const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
  const statuses = {};
  let ok = 0;
  let done = 0;
  const started = performance.now();
  const body = Buffer.alloc(128, 120);
  const finish = (status) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status === 200) ok++;
    if (++done === count) {
      process.send({ count, ok, statuses, elapsedMs: performance.now() - started }, () =>
        process.exit(0),
      );
    }
  };
  for (let i = 0; i < count; i++) {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'Content-Length': body.length, 'Request-Timeout': '20s' },
      },
      (res) => {
        res.resume();
        res.on('end', () => finish(res.statusCode));
      },
    );
    req.on('error', (err) => finish(err.code ?? 'error'));
    req.end(body);
  }
});
