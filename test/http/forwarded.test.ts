import type { AddressInfo } from 'node:net';
import http from 'node:http';
import test from 'ava';
import Koa from 'koa';
import { forwardedHeaders, TrustedProxies } from '../../server/src/http/forwarded.js';

/** A Koa app like createApp's (proxy on, forwardedHeaders first) that echoes what it believes. */
async function echoServer(trusted: string[]): Promise<{ url: string; close(): Promise<void> }> {
  const app = new Koa({ proxy: true });
  app.use(forwardedHeaders(new TrustedProxies(trusted)));
  app.use((ctx) => {
    ctx.body = { ip: ctx.ip, protocol: ctx.protocol, host: ctx.host };
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function seen(url: string, headers: Record<string, string>): Promise<{ ip: string; protocol: string; host: string }> {
  return (await (await fetch(url, { headers })).json()) as { ip: string; protocol: string; host: string };
}

const SPOOF = { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' };

test('with no trusted proxies X-Forwarded-* from the peer is ignored', async (t) => {
  const s = await echoServer([]);
  t.teardown(() => s.close());
  const r = await seen(s.url, SPOOF);
  t.regex(r.ip, /127\.0\.0\.1$/);
  t.is(r.protocol, 'http');
  t.regex(r.host, /^127\.0\.0\.1:\d+$/);
});

test('a peer outside trusted_proxies cannot set the client address', async (t) => {
  const s = await echoServer(['10.0.0.0/8']);
  t.teardown(() => s.close());
  const r = await seen(s.url, SPOOF);
  t.regex(r.ip, /127\.0\.0\.1$/);
  t.is(r.protocol, 'http');
});

test('a trusted peer is believed: client address, scheme and host', async (t) => {
  const s = await echoServer(['127.0.0.0/8']);
  t.teardown(() => s.close());
  const r = await seen(s.url, { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'mirror.example.com' });
  t.deepEqual(r, { ip: '198.51.100.7', protocol: 'https', host: 'mirror.example.com' });
});

test('the right-most untrusted X-Forwarded-For entry is the client; what the client prepended is not', async (t) => {
  const s = await echoServer(['127.0.0.0/8', '10.0.0.0/8']);
  t.teardown(() => s.close());
  // The client claimed 1.2.3.4; the edge proxy saw 198.51.100.7; an inner proxy 10.1.1.1 forwarded to us.
  const r = await seen(s.url, { 'x-forwarded-for': '1.2.3.4, 198.51.100.7, 10.1.1.1' });
  t.is(r.ip, '198.51.100.7');
});

const walks = [
  { name: 'every hop trusted: the left-most is the client', xff: '10.0.0.5, 10.0.0.6', client: '10.0.0.5' },
  { name: 'no header: the peer itself', xff: undefined, client: '10.9.9.9' },
  { name: 'a malformed hop ends the walk at the last trusted hop', xff: '198.51.100.7, not-an-ip, 10.0.0.6', client: '10.0.0.6' },
  { name: 'an IPv4-mapped peer matches IPv4 CIDRs', xff: '198.51.100.7', client: '198.51.100.7', peer: '::ffff:10.9.9.9' },
  { name: 'IPv6 hops are walked too', xff: '2001:db8::1, fd00::2', client: '2001:db8::1' },
];
for (const c of walks) {
  test(`X-Forwarded-For walk: ${c.name}`, (t) => {
    const trusted = new TrustedProxies(['10.0.0.0/8', 'fd00::/8']);
    t.is(trusted.clientAddress(c.peer ?? '10.9.9.9', c.xff), c.client);
  });
}

test('an invalid CIDR is refused when the list is built', (t) => {
  t.throws(() => new TrustedProxies(['10.0.0.0/40']), { instanceOf: RangeError });
});
