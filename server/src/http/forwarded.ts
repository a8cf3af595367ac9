import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import type Koa from 'koa';
import { parseCidr } from '../config/cidr.js';

const FORWARDED_HEADERS = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'] as const;
const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * Which TCP peers may speak for the client through X-Forwarded-*. The app runs
 * Koa with `proxy` on and this middleware in front: for an untrusted peer the
 * headers are removed (so Koa falls back to the socket), for a trusted one they
 * are reduced to the single values Koa should believe.
 */
export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(cidrs: readonly string[]) {
    for (const text of cidrs) {
      const c = parseCidr(text);
      if ('error' in c) throw new RangeError(`trusted proxy ${c.error}`);
      this.list.addSubnet(c.address, c.prefix, c.family);
    }
    this.empty = cidrs.length === 0;
  }

  trusts(address: string | undefined): boolean {
    if (this.empty || !address) return false;
    const plain = unmapped(address);
    const family = isIP(plain);
    return family !== 0 && this.list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }

  /**
   * The client behind a trusted peer: X-Forwarded-For read from the right,
   * skipping trusted proxies, stopping at the first address that is not one
   * (nginx's real_ip_recursive). Anything left of it was written by the
   * client and proves nothing. A malformed entry ends the walk at the last
   * trusted hop.
   */
  clientAddress(peer: string, forwardedFor: string | undefined): string {
    let client = unmapped(peer);
    const hops = (forwardedFor ?? '').split(',').map((h) => h.trim()).filter((h) => h !== '');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = unmapped(hops[i]!);
      if (isIP(hop) === 0) break;
      client = hop;
      if (!this.trusts(hop)) break;
    }
    return client;
  }
}

/** Middleware that must run before anything reads ctx.ip, ctx.protocol or ctx.host. */
export function forwardedHeaders(trusted: TrustedProxies): Koa.Middleware {
  return async (ctx, next) => {
    const headers = ctx.req.headers;
    const peer = ctx.req.socket.remoteAddress;
    if (!trusted.trusts(peer)) {
      // Deleting only what is there: a delete on the headers object makes every later header read slower.
      for (const h of FORWARDED_HEADERS) if (headers[h] !== undefined) delete headers[h];
      return next();
    }
    headers['x-forwarded-for'] = trusted.clientAddress(peer!, joined(headers['x-forwarded-for']));
    // The nearest proxy's value: it is the one that saw the client's connection (or passed it on).
    const proto = last(joined(headers['x-forwarded-proto']))?.toLowerCase();
    if (proto === 'http' || proto === 'https') headers['x-forwarded-proto'] = proto;
    else delete headers['x-forwarded-proto'];
    const host = last(joined(headers['x-forwarded-host']));
    if (host !== undefined && HOST.test(host)) headers['x-forwarded-host'] = host;
    else delete headers['x-forwarded-host'];
    return next();
  };
}

/** What ctx.ip says after forwardedHeaders, for code that answers before Koa (mirror/warm-path.ts). */
export function remoteAddress(trusted: TrustedProxies, req: IncomingMessage): string | undefined {
  const peer = req.socket.remoteAddress;
  return trusted.trusts(peer) ? trusted.clientAddress(peer!, joined(req.headers['x-forwarded-for'])) : peer;
}

function joined(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}

function last(list: string | undefined): string | undefined {
  const parts = (list ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '');
  return parts.at(-1);
}

/** "::ffff:10.1.2.3" (an IPv4 peer on a dual-stack socket) is 10.1.2.3. */
function unmapped(address: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address;
}
