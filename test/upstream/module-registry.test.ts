import anyTest, { type TestFn } from 'ava';
import { InvalidInput, NotFound } from '../../server/src/errors.js';
import type { ModuleAddress } from '../../server/src/modules/ports.js';
import { parseModuleDownload, parseModuleVersionList } from '../../server/src/upstream/documents.js';
import { InvalidUpstreamResponse, UnknownUpstream, UpstreamUnavailable } from '../../server/src/upstream/errors.js';
import { RegistryClients } from '../../server/src/upstream/registry.js';
import { type FakeRegistry, startFakeRegistry } from '../fixtures/fake-registry.js';
import { clientFor } from './helpers.js';

const test = anyTest as TestFn<{ registry: FakeRegistry }>;

const GIT = 'git::https://github.com/acme/terraform-aws-net?ref=v1.2.0';

test.before(async (t) => {
  t.context.registry = await startFakeRegistry([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64'] } }], {
    modules: [
      {
        namespace: 'acme',
        name: 'net',
        system: 'aws',
        versions: {
          '1.2.0': GIT,
          '1.3.0': { location: 'https://archives.example.com/net-1.3.0.tar.gz//modules/sub', answer: 'body' },
          '1.4.0': { location: 'git::https://github.com/acme/net?ref=v1.4.0', answer: 'both' },
          '2.0.0': './pkg/net-2.0.0.tar.gz//modules/sub?archive=tar.gz',
          '2.1.0': '/static/net-2.1.0.zip',
          '2.2.0': '../../archive.tar.gz//*?archive=tar.gz',
        },
      },
    ],
  });
});
test.afterEach.always((t) => t.context.registry.clearFaults());
test.after.always(async (t) => t.context.registry.close());

const net: ModuleAddress = { hostname: 'registry.example.com', namespace: 'acme', name: 'net', system: 'aws' };

function modulesOf(registry: FakeRegistry, options: Parameters<typeof clientFor>[1] = {}) {
  const client = clientFor(registry, { maxAttempts: 1, ...options });
  return { client, modules: client.modules() };
}

test.serial('the module client finds modules.v1 through the discovery the provider client already made', async (t) => {
  const { registry } = t.context;
  const { client, modules } = modulesOf(registry);
  t.teardown(() => client.close());
  const before = registry.requests('/.well-known/');
  await client.providersBaseUrl();
  t.is(await client.modulesBaseUrl(), `${registry.url}v1/modules/`);
  await modules.listVersions(net);
  t.is(registry.requests('/.well-known/') - before, 1, 'one discovery for both protocols');
});

test.serial('the versions list gives the version strings the upstream lists', async (t) => {
  const { client, modules } = modulesOf(t.context.registry);
  t.teardown(() => client.close());
  t.deepEqual(await modules.listVersions(net), ['1.2.0', '1.3.0', '1.4.0', '2.0.0', '2.1.0', '2.2.0']);
});

test.serial('versions that are not semantic versions are skipped and reported, duplicates kept once', async (t) => {
  const { registry } = t.context;
  const body = { modules: [{ versions: [{ version: 'v1.0.0' }, { version: '1.0.0' }, { version: 7 }, 'x', { version: '1.0.0' }, { version: '1.1.0-rc.1' }] }] };
  registry.fault({ path: '/net/aws/versions', fault: { kind: 'respond', body: JSON.stringify(body) } });
  const { client, modules } = modulesOf(registry);
  t.teardown(() => client.close());
  t.deepEqual(await modules.listVersions(net), ['1.0.0', '1.1.0-rc.1']);
  const parsed = parseModuleVersionList(body, 'https://r.example/');
  t.is(parsed.problems.length, 4);
  t.regex(parsed.problems[0]!, /modules\[0\]\.versions\[0\]: "version" is not a semantic version; skipped/);
});

const shapes: [string, unknown][] = [
  ['an array', []],
  ['an object without "modules"', { versions: [] }],
  ['a module entry without "versions"', { modules: [{}] }],
];
for (const [name, doc] of shapes) {
  test(`a versions document that is ${name} is an invalid upstream response`, (t) => {
    t.throws(() => parseModuleVersionList(doc, 'https://r.example/v'), { instanceOf: InvalidUpstreamResponse, message: /"modules" array/ });
  });
}

test('an empty "modules" array lists no versions', (t) => {
  t.deepEqual(parseModuleVersionList({ modules: [] }, 'https://r.example/v'), { versions: [], problems: [] });
});

test.serial('a module the upstream does not have is NotFound naming it', async (t) => {
  const { client, modules } = modulesOf(t.context.registry);
  t.teardown(() => client.close());
  await t.throwsAsync(modules.listVersions({ ...net, name: 'nope' }), { instanceOf: NotFound, message: 'module registry.example.com/acme/nope/aws not found upstream' });
  await t.throwsAsync(modules.downloadLocation(net, '9.9.9'), { instanceOf: NotFound, message: /version 9\.9\.9 of module registry\.example\.com\/acme\/net\/aws not found upstream/ });
});

const locations: [string, string, (base: string) => string][] = [
  ['a 204 with X-Terraform-Get, returned as written', '1.2.0', () => GIT],
  ['a 200 with only a {"location"} body (OpenTofu)', '1.3.0', () => 'https://archives.example.com/net-1.3.0.tar.gz//modules/sub'],
  ['a 200 with the header and the body', '1.4.0', () => 'git::https://github.com/acme/net?ref=v1.4.0'],
  ['a ./ location with //subdir and a query, resolved against the download URL', '2.0.0', (b) => `${b}v1/modules/acme/net/aws/2.0.0/pkg/net-2.0.0.tar.gz//modules/sub?archive=tar.gz`],
  ['a / location, resolved against the download host', '2.1.0', (b) => `${b}static/net-2.1.0.zip`],
  ['a ../ location with //*', '2.2.0', (b) => `${b}v1/modules/acme/net/archive.tar.gz//*?archive=tar.gz`],
];
for (const [name, version, expected] of locations) {
  test.serial(`the download location from ${name}`, async (t) => {
    const { registry } = t.context;
    const { client, modules } = modulesOf(registry);
    t.teardown(() => client.close());
    t.is(await modules.downloadLocation(net, version), expected(registry.url));
  });
}

test.serial('a relative location resolves against the download URL that answered after redirects', async (t) => {
  const { registry } = t.context;
  registry.fault({ path: '/net/aws/2.1.0/download', fault: { kind: 'status', status: 302, headers: { location: '/v1/modules/acme/net/aws/2.0.0/download' } } });
  const { client, modules } = modulesOf(registry);
  t.teardown(() => client.close());
  t.is(await modules.downloadLocation(net, '2.1.0'), `${registry.url}v1/modules/acme/net/aws/2.0.0/pkg/net-2.0.0.tar.gz//modules/sub?archive=tar.gz`);
});

test.serial('a download answering without X-Terraform-Get or a location is an invalid upstream response', async (t) => {
  const { registry } = t.context;
  const { client, modules } = modulesOf(registry);
  t.teardown(() => client.close());
  registry.fault({ path: '/download', fault: { kind: 'status', status: 204 }, times: 1 });
  await t.throwsAsync(modules.downloadLocation(net, '1.2.0'), { instanceOf: InvalidUpstreamResponse, message: /without an X-Terraform-Get header or a "location"/ });
  registry.fault({ path: '/download', fault: { kind: 'respond', body: '{"other":1}' }, times: 1 });
  await t.throwsAsync(modules.downloadLocation(net, '1.2.0'), { instanceOf: InvalidUpstreamResponse });
  registry.fault({ path: '/download', fault: { kind: 'status', status: 201, headers: { 'x-terraform-get': GIT } }, times: 1 });
  await t.throwsAsync(modules.downloadLocation(net, '1.2.0'), { instanceOf: InvalidUpstreamResponse, message: /answered 201, expected 204 or 200/ });
});

test('locations too long or with control characters are refused', (t) => {
  const res = (header: string) => ({ status: 204, header, body: Buffer.alloc(0), contentType: '' });
  t.throws(() => parseModuleDownload(res(`git::https://h.example/r?ref=${'a'.repeat(5000)}`), 'https://r.example/d'), { message: /more than the 4096 accepted/ });
  t.throws(() => parseModuleDownload(res('https://h.example/a\u0001.tar.gz'), 'https://r.example/d'), { message: /control characters/ });
});

test.serial('429 and 503 from the module endpoints are UpstreamUnavailable with the status, like the provider client', async (t) => {
  const { registry } = t.context;
  const { client, modules } = modulesOf(registry);
  t.teardown(() => client.close());
  registry.fault({ path: '/net/aws/versions', fault: { kind: 'status429', retryAfter: 1 }, times: 1 });
  const limited = await t.throwsAsync(modules.listVersions(net), { instanceOf: UpstreamUnavailable });
  t.is(limited.details.status, 429);
  registry.fault({ path: '/download', fault: { kind: 'status', status: 503 }, times: 1 });
  const down = await t.throwsAsync(modules.downloadLocation(net, '1.2.0'), { instanceOf: UpstreamUnavailable });
  t.is(down.details.status, 503);
});

test.serial('an invalid address or version is refused before any request', async (t) => {
  const { registry } = t.context;
  const { client, modules } = modulesOf(registry);
  t.teardown(() => client.close());
  const before = registry.requests();
  await t.throwsAsync(modules.listVersions({ ...net, namespace: '../etc' }), { instanceOf: InvalidInput });
  await t.throwsAsync(modules.downloadLocation(net, '1.0'), { instanceOf: InvalidInput });
  t.is(registry.requests(), before);
});

test.serial('a host whose discovery has no modules.v1 is NotFound naming the module protocol; its providers still work', async (t) => {
  const { registry } = t.context;
  registry.fault({ path: '/.well-known/', fault: { kind: 'respond', body: JSON.stringify({ 'providers.v1': '/v1/providers/', 'modules.v1': 42 }) }, times: 1 });
  const { client, modules } = modulesOf(registry);
  t.teardown(() => client.close());
  await t.throwsAsync(modules.listVersions(net), { instanceOf: InvalidUpstreamResponse, message: /"modules.v1" is not a string/ });
  t.is(await client.providersBaseUrl(), `${registry.url}v1/providers/`, 'a broken modules.v1 does not take providers down');

  registry.fault({ path: '/.well-known/', fault: { kind: 'respond', body: JSON.stringify({ 'providers.v1': '/v1/providers/' }) }, times: 1 });
  const other = modulesOf(registry);
  t.teardown(() => other.client.close());
  await t.throwsAsync(other.modules.listVersions(net), { instanceOf: NotFound, message: /does not offer the module registry protocol \(no "modules.v1"/ });
});

test.serial('with modules_url the module client uses it as the modules.v1 base and makes no discovery request', async (t) => {
  const { registry } = t.context;
  const clients = new RegistryClients(
    { 'registry.example.com': { url: 'https://discovery.invalid/', modulesUrl: registry.modulesUrl } },
    { ca: registry.caPem, maxAttempts: 1 },
  );
  t.teardown(() => clients.close());
  const before = registry.requests('/.well-known/');
  t.deepEqual((await clients.modules('registry.example.com').listVersions(net)).length, 6);
  t.is(await clients.modules('REGISTRY.example.com').downloadLocation(net, '1.2.0'), GIT);
  t.is(registry.requests('/.well-known/'), before);
  t.is(clients.stats()['registry.example.com']?.results.ok, 2, "modules_url's requests are counted under its upstream");
});

test.serial('RegistryClients refuses module clients for hostnames without an upstream, and for network mirrors, before any request', async (t) => {
  const { registry } = t.context;
  const clients = new RegistryClients({ 'mirror.example.com': { url: 'https://mirror.example.com/', networkMirror: registry.url } }, { ca: registry.caPem });
  t.teardown(() => clients.close());
  const before = registry.requests();
  t.throws(() => clients.modules('unknown.example.com'), { instanceOf: UnknownUpstream });
  t.throws(() => clients.modules('mirror.example.com'), { instanceOf: InvalidInput, message: 'upstream mirror.example.com is a network mirror and serves no modules' });
  t.throws(() => clients.modules('not a host'), { instanceOf: InvalidInput });
  t.is(clients.modules('registry.terraform.io'), clients.modules('registry.terraform.io'), 'one client per upstream');
  t.is(registry.requests(), before);
});
