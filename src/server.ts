/**
 * Runs the HTTP server for the app and shuts it down gracefully: readiness off, no new connections,
 * in-flight requests finish (bounded by the grace period), then NATS drains.
 */
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer } from 'node:http';
import type { IncomingMessage, RequestListener, Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Logger } from 'pino';
import type { Lifecycle } from './http/lifecycle.js';

/** Options for {@link startHttpServer}. */
export interface HttpServerOptions {
  /** What answers each request; `main.ts` points it at the current app so a reload can swap apps. */
  listener: RequestListener;
  /** What answers a request Node's parser refuses (instead of Node's bare status line). */
  clientError: (err: NodeJS.ErrnoException, socket: Duplex) => void;
  /** What answers CONNECT, which Node would otherwise drop without a word. */
  connect?: ((incoming: IncomingMessage, socket: Duplex) => void) | undefined;
  host: string;
  port: number;
  logger: Logger;
  /** PEM certificate and key: serve HTTPS. */
  tls?: { cert: Buffer; key: Buffer } | undefined;
  /** Which listener this is, in the log (`main`, `admin`). */
  name?: string;
  /** Node's own server limits; its defaults let a slow client hold a socket for 5 minutes. */
  timeouts?: { headersMs: number; requestMs: number; keepAliveMs: number };
}

/**
 * How many connections the kernel may hold for `accept()`: as many as it allows. Linux cuts the
 * number to `net.core.somaxconn` (4096 since kernel 5.4), which is also what Go servers ask for.
 * Node's default of 511 overflowed when 10 000 clients connected at once: the kernel dropped their
 * handshakes, they retried after 1, 3 and 7 s, and some gave up (ECONNRESET) or reached Node's
 * 10 s header timeout (408).
 */
export const LISTEN_BACKLOG = 65_535;

/** A listening HTTP server. */
export interface RunningServer {
  server: Server;
  port: number;
}

/** Listens on `host:port` (0 picks a free port) and resolves once the socket is bound. */
export async function startHttpServer({
  listener,
  clientError,
  connect,
  host,
  port,
  logger,
  timeouts = { headersMs: 10_000, requestMs: 30_000, keepAliveMs: 5_000 },
  tls,
  name = 'main',
}: HttpServerOptions): Promise<RunningServer> {
  const serverOptions = {
    headersTimeout: timeouts.headersMs,
    requestTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    // Node checks those timeouts only this often (30 s by default).
    connectionsCheckingInterval: Math.min(1_000, timeouts.headersMs),
    // An HTTP/1.1 request without Host gets a problem document from target.ts, not a bare 400.
    requireHostHeader: false,
  };
  // An HTTPS server is an HTTP server on TLS sockets; nothing below tells them apart. Node's header
  // and request timeouts start once TLS is up: a handshake gets the header timeout too, where
  // Node's default would let a silent connection sit for two minutes.
  const server: Server = tls
    ? createHttpsServer(
        { ...serverOptions, handshakeTimeout: timeouts.headersMs, ...tls },
        listener,
      )
    : createServer(serverOptions, listener);
  // Node tracks plain HTTP connections itself (closeAllConnections); a TLS one before its handshake is not.
  if (tls) trackConnections(server);
  // Node keeps only the first ~1 000 header lines by default but frames the body by all of them: a
  // Content-Length past that cut would go unseen, and its body unreserved in the byte budget.
  // Every line is kept instead; Node's 16 KiB limit on names and values (431) bounds them.
  server.maxHeadersCount = 0;
  server.on('clientError', clientError);
  // An Expect other than 100-continue goes to the listener, which answers it as a problem.
  server.on('checkExpectation', listener);
  // 100-continue too: the gateway sends `100 Continue` only once it has admitted the body
  // (forward.ts), so a caller past a limit is refused before it sends anything.
  server.on('checkContinue', listener);
  if (connect) server.on('connect', connect);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  logger.info({ name, host, port: address.port, scheme: tls ? 'https' : 'http' }, 'listening');
  return { server, port: address.port };
}

/**
 * Every open connection of a server, HTTP or not yet: `closeAllConnections()` reaches only sockets
 * that have carried an HTTP request, and one still in its TLS handshake would hold a shutdown up.
 */
const connections = new WeakMap<Server, Set<Socket>>();

function trackConnections(server: Server): void {
  const open = new Set<Socket>();
  connections.set(server, open);
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
}

/** Closes every connection of `server`, whatever state it is in. */
function closeEveryConnection(server: Server): void {
  server.closeAllConnections();
  for (const socket of connections.get(server) ?? []) socket.destroy();
}

/** Options for {@link shutDown}. */
export interface ShutdownOptions {
  server: Server;
  /** The admin listener: it keeps answering (`/readyz` 503) until everything else is closed. */
  admin?: Server | undefined;
  lifecycle: Lifecycle;
  delayMs: number;
  graceMs: number;
  drainNats: () => Promise<void>;
  logger: Logger;
}

/** The graceful shutdown sequence; resolves when everything is closed. */
export async function shutDown({
  server,
  admin,
  lifecycle,
  delayMs,
  graceMs,
  drainNats,
  logger,
}: ShutdownOptions): Promise<void> {
  lifecycle.beginShutdown();
  logger.info({ inFlight: lifecycle.inFlight, delayMs, graceMs }, 'shutting down');
  // Readiness is already 503; keep serving while load balancers and Kubernetes endpoints catch up.
  if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  logger.info('listener closed');
  const idle = await lifecycle.whenIdle(graceMs);
  if (!idle)
    logger.warn(
      { inFlight: lifecycle.inFlight },
      'grace period over; cutting requests still in flight',
    );
  await drainNats();
  // Draining rejected what was still pending; give those 503s a moment to reach their callers.
  await lifecycle.whenIdle(1_000);
  closeEveryConnection(server);
  await closed;
  if (admin) {
    const adminClosed = new Promise<void>((resolve) => admin.close(() => resolve()));
    closeEveryConnection(admin);
    await adminClosed;
  }
  logger.info('shutdown complete');
}
