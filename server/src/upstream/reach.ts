/**
 * Where upstream traffic may go. Upstream documents hand out URLs (download,
 * SHASUMS, signature, redirects); an upstream that is compromised or simply
 * hostile could point them at the mirror's own network: the cloud metadata
 * service on 169.254.169.254, an admin port on localhost, a database on
 * 10.x. So every connection is checked on the address it actually connects
 * to (after DNS, so a name that resolves differently the second time — DNS
 * rebinding — is caught too), on every redirect hop.
 *
 * The exemption: an upstream whose own configured url is on such an address
 * (a registry on the private network, a test registry on localhost) may be
 * followed to such addresses, since its operator put it there.
 */

import dns from 'node:dns';
import net, { type LookupFunction } from 'node:net';
import { UpstreamRefused, describeUrl } from './errors.js';

/** The name of the forbidden range `address` is in, or undefined when it may be reached. */
export type AddressClassifier = (address: string) => string | undefined;

export interface ReachOptions {
  /** Only https URLs are fetched (false only for an upstream configured with a plain http url). */
  requireHttps: boolean;
  /** Whether forbidden ranges may be reached anyway; asked lazily, once per connection at most. */
  allowPrivate: boolean | (() => Promise<boolean>);
  /** The resolver (default dns.lookup); tests make names resolve where they need with no real DNS. */
  lookup?: LookupFunction;
  /** Which addresses are forbidden (default forbiddenRange); tests may declare a loopback address "public". */
  classify?: AddressClassifier;
}

export const STRICT_REACH: ReachOptions = { requireHttps: true, allowPrivate: false };

const V4_RANGES: ReadonlyArray<[string, number, string]> = [
  ['0.0.0.0', 8, 'this-network'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared address space (CGNAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

/** The forbidden range of an IPv4 or IPv6 address (IPv4 embedded in IPv6 is checked as IPv4). */
export function forbiddenRange(address: string): string | undefined {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (net.isIPv4(bare)) return v4Range(v4ToInt(bare));
  if (!net.isIPv6(bare)) return 'not an IP address';
  const g = v6Groups(bare);
  const embedded = (hi: number, lo: number) => v4Range(((hi << 16) >>> 0) + lo);
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 8)) return 'unspecified';
  if (zero(0, 7) && g[7] === 1) return 'loopback';
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible), 64:ff9b::a.b.c.d (NAT64): all reach that IPv4 address.
  if (zero(0, 5) && g[5] === 0xffff) return embedded(g[6]!, g[7]!);
  if (zero(0, 6)) return embedded(g[6]!, g[7]!);
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return embedded(g[6]!, g[7]!);
  // 6to4 (2002:AABB:CCDD::/48) carries an IPv4 address in groups 1 and 2.
  if (g[0] === 0x2002) return embedded(g[1]!, g[2]!);
  if ((g[0]! & 0xffc0) === 0xfe80) return 'link-local';
  if ((g[0]! & 0xffc0) === 0xfec0) return 'site-local';
  if ((g[0]! & 0xfe00) === 0xfc00) return 'unique-local';
  if ((g[0]! & 0xff00) === 0xff00) return 'multicast';
  return undefined;
}

function v4Range(n: number): string | undefined {
  for (const [base, bits, name] of V4_RANGES) {
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    if (((n & mask) >>> 0) === v4ToInt(base)) return name;
  }
  return undefined;
}

function v4ToInt(a: string): number {
  return a.split('.').reduce((acc, part) => ((acc << 8) >>> 0) + Number(part), 0) >>> 0;
}

/** Eight 16-bit groups of a valid IPv6 address (net.isIPv6 already said it is one). */
function v6Groups(a: string): number[] {
  let text = a.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const n = v4ToInt(dotted[1]!);
    text = `${text.slice(0, dotted.index)}${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((x) => parseInt(x, 16)));
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  return [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/** Why `address` may not be reached under `reach`, or undefined when it may. */
export async function refusalOf(address: string, reach: ReachOptions): Promise<string | undefined> {
  const range = (reach.classify ?? forbiddenRange)(address);
  if (range === undefined) return undefined;
  const allowed = typeof reach.allowPrivate === 'boolean' ? reach.allowPrivate : await reach.allowPrivate();
  return allowed ? undefined : range;
}

/**
 * A `lookup` for http(s).request that resolves as usual, then fails the
 * connection when any address it would use is forbidden. Every address is
 * checked, not only the first: with Happy Eyeballs Node may try any of them.
 */
export function guardedLookup(reach: ReachOptions, refused: (hostname: string, address: string, range: string) => Error): LookupFunction {
  const resolve = reach.lookup ?? (dns.lookup as unknown as LookupFunction);
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = (Array.isArray(addresses) ? addresses : [{ address: addresses, family: net.isIPv6(addresses) ? 6 : 4 }]) as dns.LookupAddress[];
      void checkAll(list, reach).then(
        (bad) => {
          if (bad) return callback(refused(hostname, bad.address, bad.range) as NodeJS.ErrnoException, '', 0);
          if (options.all) return callback(null, list);
          const first = list[0];
          if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
          callback(null, first.address, first.family);
        },
        (checkErr: unknown) => callback(checkErr as NodeJS.ErrnoException, '', 0),
      );
    });
  };
}

async function checkAll(list: readonly dns.LookupAddress[], reach: ReachOptions): Promise<{ address: string; range: string } | undefined> {
  for (const { address } of list) {
    const range = await refusalOf(address, reach);
    if (range !== undefined) return { address, range };
  }
  return undefined;
}

/**
 * Whether the host of a configured upstream url is itself on a forbidden
 * address: an IP literal in a forbidden range, or a name any of whose
 * addresses is in one. undefined when the name does not resolve (the caller
 * asks again later; the request to it fails on its own meanwhile).
 */
export async function isOnPrivateNetwork(url: string, opts: Pick<ReachOptions, 'lookup' | 'classify'> = {}): Promise<boolean | undefined> {
  const classify = opts.classify ?? forbiddenRange;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(host)) return classify(host) !== undefined;
  const resolve = opts.lookup ?? (dns.lookup as unknown as LookupFunction);
  const addresses = await new Promise<dns.LookupAddress[] | undefined>((done) => {
    resolve(host, { all: true }, (err, list) => done(err || !Array.isArray(list) || list.length === 0 ? undefined : list));
  });
  return addresses?.some((a) => classify(a.address) !== undefined);
}

/** A URL to fetch (`base`: the answer whose Location it came from); what it says is not quoted back. */
export function parseUrl(raw: string, base?: URL): URL {
  const from = base ? ` (a redirect from ${describeUrl(base)})` : '';
  let url: URL;
  try {
    url = new URL(raw, base);
  } catch {
    throw new UpstreamRefused(`refused to fetch an invalid URL${from}`, base?.host ?? '');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new UpstreamRefused(`refused to fetch a URL that is neither https nor http${from}`, base?.host ?? url.host);
  }
  if (url.username || url.password) throw new UpstreamRefused(`refused to fetch ${describeUrl(url)}${from}: it embeds credentials`, url.host);
  url.hash = '';
  return url;
}

/** The refusal of a connection to a forbidden address. */
export function refused(host: string, address: string, range: string): UpstreamRefused {
  const where = host === address || host === `[${address}]` ? address : `${host} (${address})`;
  return new UpstreamRefused(
    `refused to connect to ${where}: a ${range} address, and this upstream is not itself on such a network ` +
      '(URLs an upstream hands out may not reach loopback, link-local or private addresses)',
    host,
  );
}
