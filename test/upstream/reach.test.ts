/**
 * URLs an upstream hands out (download, SHA256SUMS, signature, redirects) must
 * be HTTPS and must not reach loopback, link-local or private addresses,
 * checked on the address actually connected to, unless the upstream itself is
 * on such an address. Names resolve through an injected resolver: no real DNS,
 * and no traffic leaves loopback.
 */
import anyTest, { type TestFn } from 'ava';
import http from 'node:http';
import net, { type AddressInfo, type LookupFunction } from 'node:net';
import { UpstreamRefused } from '../../server/src/upstream/errors.js';
import { HttpClient } from '../../server/src/upstream/http.js';
import { forbiddenRange, isOnPrivateNetwork } from '../../server/src/upstream/reach.js';
import { RegistryClient, UPSTREAM_LIMITS } from '../../server/src/upstream/registry.js';
import { type FakeRegistry, startFakeRegistry } from '../fixtures/fake-registry.js';
import { clientFor, recordingSleep } from './helpers.js';

const test = anyTest as TestFn<{ registry: FakeRegistry; port: number }>;

test.before(async (t) => {
  t.context.registry = await startFakeRegistry([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64'] } }]);
  t.context.port = Number(new URL(t.context.registry.url).port);
});
test.afterEach.always((t) => {
  t.context.registry.clearFaults();
  t.context.registry.resetCounters();
});
test.after.always(async (t) => t.context.registry.close());

/** A resolver from a table; a function entry answers differently on each call (DNS rebinding). */
function fakeDns(table: Record<string, string[] | (() => string[])>): LookupFunction & { asked: string[] } {
  const asked: string[] = [];
  const lookup = ((hostname, options, callback) => {
    asked.push(hostname);
    const entry = table[hostname];
    const addresses = typeof entry === 'function' ? entry() : entry;
    process.nextTick(() => {
      if (!addresses) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
      const list = addresses.map((address) => ({ address, family: net.isIPv6(address) ? 6 : 4 }));
      if (options.all) callback(null, list);
      else callback(null, list[0]!.address, list[0]!.family);
    });
  }) as LookupFunction & { asked: string[] };
  lookup.asked = asked;
  return lookup;
}

/** This test's world: 127.0.0.1 (where the fake registry listens) counts as a public address; the rest of loopback does not. */
const publicLoopback = (address: string) => (address === '127.0.0.1' ? undefined : forbiddenRange(address));

const ranges: [string, string | undefined][] = [
  ['127.0.0.1', 'loopback'],
  ['127.53.0.1', 'loopback'],
  ['10.1.2.3', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['172.32.0.1', undefined],
  ['192.168.1.1', 'private'],
  ['169.254.169.254', 'link-local'],
  ['100.64.0.1', 'shared address space (CGNAT)'],
  ['0.0.0.0', 'this-network'],
  ['224.0.0.1', 'multicast'],
  ['255.255.255.255', 'reserved'],
  ['8.8.8.8', undefined],
  ['203.0.113.7', undefined],
  ['::1', 'loopback'],
  ['[::1]', 'loopback'],
  ['::', 'unspecified'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['fc00::1', 'unique-local'],
  ['fd12:3456::1', 'unique-local'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:169.254.169.254', 'link-local'],
  ['::ffff:8.8.8.8', undefined],
  ['::127.0.0.1', 'loopback'],
  ['64:ff9b::a9fe:a9fe', 'link-local'],
  ['2002:7f00:1::1', 'loopback'],
  ['2606:4700:4700::1111', undefined],
];
for (const [address, range] of ranges) {
  test(`address ${address} is ${range ?? 'reachable'}`, (t) => {
    t.is(forbiddenRange(address), range);
  });
}

test('an upstream url on loopback, a private literal or a name resolving there is on the private network', async (t) => {
  const lookup = fakeDns({ localhost: ['127.0.0.1', '::1'], 'registry.corp': ['10.0.0.5'], 'registry.public.example': ['203.0.113.7'] });
  t.true(await isOnPrivateNetwork('https://localhost:8443/', { lookup }));
  t.true(await isOnPrivateNetwork('https://registry.corp/', { lookup }));
  t.true(await isOnPrivateNetwork('https://10.1.1.1/', { lookup }));
  t.true(await isOnPrivateNetwork('https://[fd00::5]/', { lookup }));
  t.false(await isOnPrivateNetwork('https://registry.public.example/', { lookup }));
  t.is(await isOnPrivateNetwork('https://nowhere.example/', { lookup }), undefined);
});

// An upstream on a public name (as the real resolver classes it): only a refusal can happen, no connection.
const publicUpstream = (registry: FakeRegistry, port: number) => {
  const lookup = fakeDns({ 'registry.public.example': ['203.0.113.7'], 'evil.example': ['127.0.0.1'], 'mixed.example': ['203.0.113.8', '::1'] });
  const client = new RegistryClient({ hostname: 'registry.public.example', url: 'https://registry.public.example/', ca: registry.caPem, lookup, sleep: recordingSleep().sleep });
  return { client, lookup, at: (host: string, p = '/files/x.zip') => `https://${host}:${port}${p}` };
};

const refusedTargets: [string, (port: number) => string, RegExp][] = [
  ['a name that resolves to loopback', (p) => `https://evil.example:${p}/files/x.zip`, /evil\.example \(127\.0\.0\.1\): a loopback address/],
  ['a name with one loopback address among public ones', (p) => `https://mixed.example:${p}/x`, /mixed\.example \(::1\): a loopback address/],
  ['the loopback literal 127.0.0.1', (p) => `https://127.0.0.1:${p}/files/x.zip`, /127\.0\.0\.1: a loopback address/],
  ['the IPv6 loopback [::1]', (p) => `https://[::1]:${p}/files/x.zip`, /a loopback address/],
  ['IPv4-mapped loopback [::ffff:127.0.0.1]', (p) => `https://[::ffff:127.0.0.1]:${p}/x`, /a loopback address/],
  ['the cloud metadata address', () => 'https://169.254.169.254/latest/meta-data/', /169\.254\.169\.254: a link-local address/],
  ['a private network address', () => 'https://10.0.0.1/x.zip', /a private address/],
  ['plain http', (p) => `http://registry.public.example:${p}/files/x.zip`, /must be HTTPS/],
];
for (const [name, target, message] of refusedTargets) {
  test.serial(`a public upstream's URL to ${name} is refused without connecting`, async (t) => {
    const { registry, port } = t.context;
    const { client } = publicUpstream(registry, port);
    t.teardown(() => client.close());
    const url = target(port);
    const started = Date.now();
    const err = await t.throwsAsync(client.download(url), { instanceOf: UpstreamRefused });
    t.regex(err.message, message);
    await t.throwsAsync(client.fetchBytes(url, UPSTREAM_LIMITS.shasums), { instanceOf: UpstreamRefused });
    t.true(Date.now() - started < 2000, 'refused at once, not after a connect timeout');
    t.is(registry.requests(), 0, 'nothing reached the loopback server');
    t.is(client.stats().results.refused, 2);
    t.is(client.stats().retries, 0, 'a refusal is not retried');
  });
}

test.serial("download metadata pointing at the mirror's network is refused on fetch, at every URL it names", async (t) => {
  const { registry, port } = t.context;
  const lookup = fakeDns({ localhost: ['127.0.0.1'], 'evil.example': ['127.0.0.2'] });
  const client = clientFor(registry, { lookup, classifyAddress: publicLoopback });
  t.teardown(() => client.close());
  registry.fault({
    path: '/download/',
    fault: {
      kind: 'patchJson',
      patch: {
        download_url: `https://evil.example:${port}/files/x.zip`,
        shasums_url: 'https://169.254.169.254/latest/meta-data/iam/',
        shasums_signature_url: `https://[::1]:${port}/x.sig`,
      },
    },
  });
  const info = await client.downloadInfo('hashicorp', 'null', '3.2.0', 'linux', 'amd64');
  const before = registry.requests();
  await t.throwsAsync(client.download(info.downloadUrl), { instanceOf: UpstreamRefused, message: /evil\.example \(127\.0\.0\.2\): a loopback address/ });
  await t.throwsAsync(client.fetchBytes(info.shasumsUrl, UPSTREAM_LIMITS.shasums), { instanceOf: UpstreamRefused, message: /link-local/ });
  await t.throwsAsync(client.fetchBytes(info.shasumsSignatureUrl, UPSTREAM_LIMITS.signature), { instanceOf: UpstreamRefused, message: /loopback/ });
  t.is(registry.requests(), before);
});

test.serial('a redirect to a forbidden address is refused on that hop', async (t) => {
  const { registry, port } = t.context;
  const lookup = fakeDns({ localhost: ['127.0.0.1'], 'evil.example': ['127.0.0.2'] });
  const client = clientFor(registry, { lookup, classifyAddress: publicLoopback });
  t.teardown(() => client.close());
  const info = await client.downloadInfo('hashicorp', 'null', '3.2.0', 'linux', 'amd64');
  registry.fault({ path: /\.zip$/, fault: { kind: 'status', status: 302, headers: { location: `https://evil.example:${port}/files/x.zip` } } });
  await t.throwsAsync(client.download(info.downloadUrl), { instanceOf: UpstreamRefused, message: /evil\.example/ });
  t.is(registry.requests(/\.zip$/), 1, 'only the first hop was sent');
  t.true(lookup.asked.includes('evil.example'), 'checked where the redirect led');
});

test.serial('a redirect to plain http is refused', async (t) => {
  const { registry } = t.context;
  const client = clientFor(registry);
  t.teardown(() => client.close());
  const info = await client.downloadInfo('hashicorp', 'null', '3.2.0', 'linux', 'amd64');
  registry.fault({ path: /\.zip$/, fault: { kind: 'status', status: 302, headers: { location: 'http://localhost:1/x.zip' } } });
  await t.throwsAsync(client.download(info.downloadUrl), { instanceOf: UpstreamRefused, message: /insecure/ });
});

test.serial('an upstream on loopback itself may hand out loopback URLs (a registry on the private network)', async (t) => {
  const { registry } = t.context;
  // The real classifier: 127.0.0.1 is loopback, and so is the upstream's own url.
  const client = clientFor(registry, { lookup: fakeDns({ localhost: ['127.0.0.1'] }) });
  t.teardown(() => client.close());
  const info = await client.downloadInfo('hashicorp', 'null', '3.2.0', 'linux', 'amd64');
  const download = await client.download(info.downloadUrl);
  download.body.resume();
  await new Promise((resolve) => download.body.on('end', resolve));
  t.is(client.stats().results.refused, 0);
});

test.serial('a name that resolves elsewhere on the next connection (DNS rebinding) is checked again and refused', async (t) => {
  let answers = 0;
  const server = http.createServer((_req, res) => res.writeHead(200, { connection: 'close', 'content-type': 'text/plain' }).end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  let requests = 0;
  server.on('request', () => requests++);
  const lookup = fakeDns({ 'rebind.example': () => (answers++ === 0 ? ['127.0.0.1'] : ['127.0.0.2']) });
  const client = new HttpClient({ reach: { requireHttps: false, allowPrivate: false, lookup, classify: publicLoopback }, sleep: recordingSleep().sleep });
  t.teardown(() => client.close());
  const url = `http://rebind.example:${(server.address() as AddressInfo).port}/doc`;
  t.is((await client.getBuffer(url, { limit: 100 })).body.toString(), 'ok');
  await t.throwsAsync(client.getBuffer(url, { limit: 100 }), { instanceOf: UpstreamRefused, message: /rebind\.example \(127\.0\.0\.2\)/ });
  t.is(requests, 1);
});

test.serial('a plain HttpClient is strict by default: HTTPS only, no loopback', async (t) => {
  const client = new HttpClient({ sleep: recordingSleep().sleep });
  t.teardown(() => client.close());
  await t.throwsAsync(client.getBuffer('http://127.0.0.1:1/x', { limit: 10 }), { instanceOf: UpstreamRefused, message: /must be HTTPS/ });
  await t.throwsAsync(client.getBuffer('https://127.0.0.1:1/x', { limit: 10 }), { instanceOf: UpstreamRefused, message: /loopback/ });
});

test.serial('an upstream configured with a plain http url on the private network may be fetched over http', async (t) => {
  const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('sums'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  const lookup = fakeDns({ 'registry.corp': ['10.0.0.5'], 'files.corp': ['127.0.0.1'] });
  const client = new RegistryClient({ hostname: 'registry.corp', url: 'http://registry.corp/', lookup, sleep: recordingSleep().sleep });
  t.teardown(() => client.close());
  t.is((await client.fetchBytes(`http://files.corp:${port}/SHA256SUMS`, 100)).toString(), 'sums');
});
