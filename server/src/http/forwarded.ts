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

/**
 * The internal hop from a read-serving worker (serving/) to this process: the
 * worker terminated the client's connection, and says in these headers who
 * the TCP peer was and over which scheme it came. They are believed only on
 * the internal listener (a socket in a directory only this user can enter),
 * where acceptHop moves them off the headers; anywhere else they are ignored.
 */
export const HOP_PEER_HEADER = 'x-tfmirror-hop-peer';
export const HOP_PROTO_HEADER = 'x-tfmirror-hop-proto';
/** The worker can stream a local file itself: an archive may be answered with HOP_FILE_* instead of its bytes. */
export const HOP_OFFLOAD_HEADER = 'x-tfmirror-hop-offload';
/** In the writer's answer: the file, first byte and length the worker sends as the body (X-Accel-Redirect's idea). */
export const HOP_FILE_HEADER = 'x-tfmirror-hop-file';
export const HOP_FILE_START_HEADER = 'x-tfmirror-hop-file-start';
export const HOP_FILE_LENGTH_HEADER = 'x-tfmirror-hop-file-length';

const HOP = Symbol('tfmirror.hop');
interface Hop {
  peer: string | undefined;
  proto: 'http' | 'https';
  offload: boolean;
}
type HopRequest = IncomingMessage & { [HOP]?: Hop };

/** On the internal listener only: takes the worker's hop headers off the request and keeps what they say beside it. */
export function acceptHop(req: IncomingMessage): void {
  const peer = req.headers[HOP_PEER_HEADER];
  const proto = req.headers[HOP_PROTO_HEADER];
  const offload = req.headers[HOP_OFFLOAD_HEADER] === 'file';
  delete req.headers[HOP_PEER_HEADER];
  delete req.headers[HOP_PROTO_HEADER];
  delete req.headers[HOP_OFFLOAD_HEADER];
  (req as HopRequest)[HOP] = { peer: typeof peer === 'string' && isIP(peer) !== 0 ? peer : undefined, proto: proto === 'https' ? 'https' : 'http', offload };
}

/** Whether the request came from a read-serving worker that streams local files itself. */
export function hopOffloads(req: IncomingMessage): boolean {
  return (req as HopRequest)[HOP]?.offload === true;
}

/** The client's TCP peer: the socket's, or the one a worker saw for a request it passed on. */
function peerOf(req: IncomingMessage): string | undefined {
  const hop = (req as HopRequest)[HOP];
  return hop ? hop.peer : req.socket.remoteAddress;
}

/** Middleware that must run before anything reads ctx.ip, ctx.protocol or ctx.host. */
export function forwardedHeaders(trusted: TrustedProxies): Koa.Middleware {
  return async (ctx, next) => {
    const headers = ctx.req.headers;
    const hop = (ctx.req as HopRequest)[HOP];
    const peer = peerOf(ctx.req);
    if (!trusted.trusts(peer)) {
      // Deleting only what is there: a delete on the headers object makes every later header read slower.
      for (const h of FORWARDED_HEADERS) if (headers[h] !== undefined) delete headers[h];
      // Koa believes X-Forwarded-* app-wide: through the hop, they carry what the worker saw.
      if (hop) {
        if (hop.peer !== undefined) headers['x-forwarded-for'] = hop.peer;
        headers['x-forwarded-proto'] = hop.proto;
      }
      return next();
    }
    headers['x-forwarded-for'] = trusted.clientAddress(peer!, joined(headers['x-forwarded-for']));
    // The nearest proxy's value: it is the one that saw the client's connection (or passed it on).
    const proto = last(joined(headers['x-forwarded-proto']))?.toLowerCase();
    if (proto === 'http' || proto === 'https') headers['x-forwarded-proto'] = proto;
    else if (hop) headers['x-forwarded-proto'] = hop.proto;
    else delete headers['x-forwarded-proto'];
    const host = last(joined(headers['x-forwarded-host']));
    if (host !== undefined && HOST.test(host)) headers['x-forwarded-host'] = host;
    else delete headers['x-forwarded-host'];
    return next();
  };
}

/** What ctx.ip says after forwardedHeaders, for code that answers before Koa (mirror/warm-path.ts). */
export function remoteAddress(trusted: TrustedProxies, req: IncomingMessage): string | undefined {
  const peer = peerOf(req);
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
