import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import { InvalidInput } from '../errors.js';
import type { Logger } from '../log.js';
import { acceptHop } from './forwarded.js';

/** Bounds on what one client can hold: sockets, time to send a request, time without traffic. */
export interface ConnectionLimits {
  /** Request headers (and, over TLS, the handshake) must arrive within this. */
  headerTimeoutMs: number;
  /** The whole request, body included, must arrive within this (the response is not counted). */
  requestTimeoutMs: number;
  /** A socket with no bytes moving either way for this long is destroyed, mid-response too. */
  idleTimeoutMs: number;
  /** Open connections on this listener; the next ones are closed on accept. */
  maxConnections: number;
}

export const DEFAULT_LIMITS: ConnectionLimits = {
  headerTimeoutMs: 30_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  maxConnections: 1024,
};

export interface ListenOptions {
  /** host:port; ignored with socketPath. */
  listen: string;
  /** A Unix socket to listen on instead (the internal listener read-serving workers pass requests to). */
  socketPath?: string;
  /** Believe the hop headers of read-serving workers (http/forwarded.ts acceptHop): only on the internal listener. */
  acceptHop?: boolean;
  /** ticketKeys: shared by every process serving one listener, so a TLS session resumes on whichever answers. */
  tls?: { certFile: string; keyFile: string; ticketKeys?: Buffer };
  limits?: Partial<ConnectionLimits>;
  /** Called when a connection is refused because maxConnections are open. */
  onDrop?: () => void;
  /** Tried before the app on every request; true when it answered (mirror/warm-path.ts). */
  warmPath?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
}

export interface RunningServer {
  server: http.Server;
  /** Bound address, e.g. 127.0.0.1:8443 (the real port when 0 was asked). */
  host: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish for up to timeoutMs, then cuts what is left. */
  close(timeoutMs: number): Promise<void>;
}

export function splitHostPort(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  if (!m) throw new InvalidInput(`server.listen: expected host:port, got "${listen}"`, { key: 'server.listen' });
  return { host: m[1] ?? m[2] ?? '', port: Number(m[3]) };
}

/** Node's options for the limits: its defaults let a stalled request hold a socket for 300 s. */
function serverOptions(limits: ConnectionLimits): http.ServerOptions {
  return {
    headersTimeout: limits.headerTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Keep idle keep-alive sockets a little longer than load balancers in front
    // typically do (60 s), so the balancer, not we, closes them: no reuse race.
    keepAliveTimeout: 65_000,
    // Node checks the header and request deadlines on this interval (30 s by
    // default, which would let a stalled request live up to twice as long).
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(Math.min(limits.headerTimeoutMs, limits.requestTimeoutMs) / 4))),
  };
}

export async function listen(app: Koa, opts: ListenOptions): Promise<RunningServer> {
  const limits: ConnectionLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const koa = app.callback();
  const warm = opts.warmPath;
  const answer: http.RequestListener = warm ? (req, res) => void (warm(req, res) || koa(req, res)) : koa;
  const handler: http.RequestListener = opts.acceptHop ? (req, res) => (acceptHop(req), answer(req, res)) : answer;
  const server = createServer(handler, limits, opts.tls);
  if (opts.onDrop) server.on('drop', opts.onDrop);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const listening = () => {
      server.off('error', reject);
      resolve();
    };
    if (opts.socketPath !== undefined) server.listen(opts.socketPath, listening);
    else {
      const { host, port } = splitHostPort(opts.listen);
      server.listen(port, host || undefined, listening);
    }
  });
  const address = server.address();
  return {
    server,
    host: typeof address === 'string' || address === null ? (opts.socketPath ?? '') : address.address,
    port: typeof address === 'string' || address === null ? 0 : (address as AddressInfo).port,
    close: (timeoutMs) => closeGracefully(server, timeoutMs),
  };
}

/**
 * An HTTP(S) server with the connection limits, not yet listening: `listen`
 * binds it, and a read-serving worker (serving/reader.ts) attaches it to the
 * listening socket it was handed.
 */
export function createServer(handler: http.RequestListener, limits: ConnectionLimits, tls?: ListenOptions['tls']): http.Server {
  const server: http.Server = tls
    ? https.createServer(
        {
          ...serverOptions(limits),
          cert: fs.readFileSync(tls.certFile),
          key: fs.readFileSync(tls.keyFile),
          // Node derives the session id context from the process's argv, which differs between the
          // writer and its workers; OpenSSL refuses to resume a session from another context.
          ...(tls.ticketKeys ? { ticketKeys: Buffer.from(tls.ticketKeys), sessionIdContext: 'terraform-mirror' } : {}),
          // Before the handshake there is no HTTP parser, so the header deadline would not apply.
          handshakeTimeout: limits.headerTimeoutMs,
        },
        handler,
      )
    : http.createServer(serverOptions(limits), handler);
  // With no 'timeout' listener Node destroys the socket; a response piping a
  // store stream then closes, and Koa destroys the stream (its file handle).
  server.timeout = limits.idleTimeoutMs;
  server.maxConnections = limits.maxConnections;
  return server;
}

export function closeGracefully(server: http.Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), timeoutMs).unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/** One warning per burst: a flood of refused connections must not become a flood of log lines. */
export function dropLogger(logger: Logger): () => void {
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;
  return () => {
    dropped++;
    timer ??= setTimeout(() => {
      logger.warn({ dropped }, 'connections refused: server.max_connections reached');
      dropped = 0;
      timer = undefined;
    }, 10_000).unref();
  };
}
