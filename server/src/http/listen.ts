import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type Koa from 'koa';
import { InvalidInput } from '../errors.js';

export interface ListenOptions {
  listen: string;
  tls?: { certFile: string; keyFile: string };
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

export async function listen(app: Koa, opts: ListenOptions): Promise<RunningServer> {
  const handler = app.callback();
  const server: http.Server = opts.tls
    ? https.createServer({ cert: fs.readFileSync(opts.tls.certFile), key: fs.readFileSync(opts.tls.keyFile) }, handler)
    : http.createServer(handler);
  // Terraform's client times out at 10 s; keep idle sockets a little longer than
  // typical keep-alive clients expect, and bound header reading.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0; // archive downloads may take long; idle sockets are bounded above
  const { host, port } = splitHostPort(opts.listen);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host || undefined, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    server,
    host: address.address,
    port: address.port,
    close: (timeoutMs) => closeGracefully(server, timeoutMs),
  };
}

function closeGracefully(server: http.Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), timeoutMs).unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
