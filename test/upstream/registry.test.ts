import anyTest, { type TestFn } from 'ava';
import { InvalidInput, NotFound, UpstreamError } from '../../server/src/errors.js';
import { InvalidUpstreamResponse, UnknownUpstream, UpstreamUnavailable } from '../../server/src/upstream/errors.js';
import { RegistryClients } from '../../server/src/upstream/registry.js';
import { type FakeRegistry, startFakeRegistry } from '../fixtures/fake-registry.js';
import { clientFor } from './helpers.js';

const test = anyTest as TestFn<{ registry: FakeRegistry }>;

test.before(async (t) => {
  t.context.registry = await startFakeRegistry([
    { namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64', 'darwin_arm64'], '3.2.1': ['linux_amd64'] }, protocols: ['5.0'] },
    { namespace: 'acme', type: 'widget', versions: { '1.0.0': ['linux_amd64'] }, protocols: ['6.0'] },
  ]);
});
test.afterEach.always((t) => t.context.registry.clearFaults());
test.after.always(async (t) => t.context.registry.close());

test.serial('discovery resolves a relative providers.v1 against the discovery URL', async (t) => {
  const { registry } = t.context;
  t.is(await clientFor(registry).providersBaseUrl(), `${registry.url}v1/providers/`);
});

const discoveryForms: [string, string, (base: string) => string][] = [
  ['without a trailing slash', '/api/providers', (base) => `${base}api/providers/`],
  ['relative to the .well-known directory', 'p/', (base) => `${base}.well-known/p/`],
  ['dot-relative', '../v2/p/', (base) => `${base}v2/p/`],
  ['absolute', 'https://elsewhere.example/registry/v1/', () => 'https://elsewhere.example/registry/v1/'],
];
for (const [name, value, expected] of discoveryForms) {
  test.serial(`discovery accepts a providers.v1 URL ${name}`, async (t) => {
    const { registry } = t.context;
    registry.fault({ path: '/.well-known/', fault: { kind: 'respond', body: JSON.stringify({ 'providers.v1': value }) } });
    t.is(await clientFor(registry).providersBaseUrl(), expected(registry.url));
  });
}

test.serial('discovery is cached for an hour, then asked again', async (t) => {
  const { registry } = t.context;
  let now = 1_000_000;
  const client = clientFor(registry, { now: () => now });
  const before = registry.requests('/.well-known/');
  await Promise.all([client.providersBaseUrl(), client.providersBaseUrl()]);
  await client.listVersions('hashicorp', 'null');
  t.is(registry.requests('/.well-known/') - before, 1, 'one request for concurrent callers and later calls');
  now += 60 * 60 * 1000 + 1;
  await client.providersBaseUrl();
  t.is(registry.requests('/.well-known/') - before, 2);
});

test.serial('a host without a discovery document offers no services', async (t) => {
  const { registry } = t.context;
  registry.fault({ path: '/.well-known/', fault: { kind: 'status', status: 404 } });
  const err = await t.throwsAsync(clientFor(registry).listVersions('hashicorp', 'null'), { instanceOf: NotFound });
  t.regex(err.message, /offers no services/);
});

test.serial('a discovery document without providers.v1 is NotFound naming the protocol', async (t) => {
  const { registry } = t.context;
  registry.fault({ path: '/.well-known/', fault: { kind: 'respond', body: JSON.stringify({ 'modules.v1': '/m/' }) } });
  const err = await t.throwsAsync(clientFor(registry).providersBaseUrl(), { instanceOf: NotFound });
  t.regex(err.message, /does not offer the provider registry protocol/);
});

test.serial('a discovery document not served as JSON is rejected', async (t) => {
  const { registry } = t.context;
  registry.fault({ path: '/.well-known/', fault: { kind: 'respond', body: '{"providers.v1":"/v1/providers/"}', contentType: 'text/html' } });
  const err = await t.throwsAsync(clientFor(registry).providersBaseUrl(), { instanceOf: InvalidUpstreamResponse });
  t.regex(err.message, /discovery document has text\/html, expected application\/json/);
});

test.serial('a failed discovery is not cached', async (t) => {
  const { registry } = t.context;
  const client = clientFor(registry, { maxAttempts: 1 });
  registry.fault({ path: '/.well-known/', fault: { kind: 'status500' }, times: 1 });
  await t.throwsAsync(client.providersBaseUrl(), { instanceOf: UpstreamUnavailable });
  t.is(await client.providersBaseUrl(), `${registry.url}v1/providers/`);
});

test.serial('discovery follows three redirects but not four', async (t) => {
  const { registry } = t.context;
  registry.fault({ path: '/.well-known/', fault: { kind: 'redirect' }, times: 3 });
  t.is(await clientFor(registry).providersBaseUrl(), `${registry.url}v1/providers/`);
  registry.fault({ path: '/.well-known/', fault: { kind: 'redirect' }, times: 4 });
  const err = await t.throwsAsync(clientFor(registry).providersBaseUrl(), { instanceOf: UpstreamUnavailable });
  t.regex(err.message, /more than 3 redirects/);
});

test.serial('the versions list gives versions with their protocols and platforms', async (t) => {
  const list = await clientFor(t.context.registry).listVersions('hashicorp', 'null');
  t.deepEqual(list.versions, [
    { version: '3.2.0', protocols: ['5.0'], platforms: [{ os: 'linux', arch: 'amd64' }, { os: 'darwin', arch: 'arm64' }] },
    { version: '3.2.1', protocols: ['5.0'], platforms: [{ os: 'linux', arch: 'amd64' }] },
  ]);
  t.deepEqual(list.problems, []);
});

test.serial('a provider unknown upstream is NotFound', async (t) => {
  const err = await t.throwsAsync(clientFor(t.context.registry).listVersions('hashicorp', 'nope'), { instanceOf: NotFound });
  t.regex(err.message, /provider localhost:\d+\/hashicorp\/nope not found upstream/);
});

test.serial('an invalid namespace is refused before any request', async (t) => {
  const { registry } = t.context;
  const before = registry.requests();
  await t.throwsAsync(clientFor(registry).listVersions('../etc', 'null'), { instanceOf: InvalidInput });
  t.is(registry.requests(), before);
});

test.serial('malformed entries of the versions list are skipped and reported', async (t) => {
  const { registry } = t.context;
  const versions = [
    { version: '1.0.0', protocols: ['5.0'], platforms: [{ os: 'linux', arch: 'amd64' }, { os: 'plan9', arch: 'amd64' }] },
    { version: 'v1.0.1', protocols: ['5.0'], platforms: [] },
    { version: '1.0.2', protocols: [5], platforms: [] },
    { version: '1.0.0', protocols: ['5.0'], platforms: [] },
    'garbage',
  ];
  registry.fault({ path: '/versions', fault: { kind: 'patchJson', patch: { versions, warnings: ['deprecated: use acme/other'] } } });
  const list = await clientFor(registry).listVersions('hashicorp', 'null');
  t.deepEqual(list.versions, [{ version: '1.0.0', protocols: ['5.0'], platforms: [{ os: 'linux', arch: 'amd64' }] }]);
  t.deepEqual(list.warnings, ['deprecated: use acme/other']);
  t.is(list.problems.length, 5);
  t.regex(list.problems.join('\n'), /versions\[0\] \(1.0.0\): a platform is not an object with a known "os" and "arch"/);
  t.regex(list.problems.join('\n'), /versions\[1\]: "version" is not a semantic version/);
  t.false(/plan9|v1\.0\.1|garbage/.test(list.problems.join('\n')), 'the upstream values are not quoted back');
  t.regex(list.problems.join('\n'), /listed twice/);
});

test.serial('a versions answer without a versions array is rejected', async (t) => {
  const { registry } = t.context;
  registry.fault({ path: '/versions', fault: { kind: 'respond', body: '{"modules":[]}' } });
  await t.throwsAsync(clientFor(registry).listVersions('hashicorp', 'null'), { instanceOf: InvalidUpstreamResponse, message: /"versions" array/ });
});

test.serial('a release published upstream appears in the next versions list', async (t) => {
  const { registry } = t.context;
  const client = clientFor(registry);
  t.deepEqual((await client.listVersions('acme', 'widget')).versions.map((v) => v.version), ['1.0.0']);
  await registry.addProvider({ namespace: 'acme', type: 'widget', versions: { '1.1.0': ['linux_amd64', 'windows_amd64'] } });
  t.deepEqual((await client.listVersions('acme', 'widget')).versions.map((v) => v.version), ['1.0.0', '1.1.0']);
  const info = await client.downloadInfo('acme', 'widget', '1.1.0', 'windows', 'amd64');
  t.is(info.filename, 'terraform-provider-widget_1.1.0_windows_amd64.zip');
});

test.serial('download metadata is typed, with URLs resolved against the response URL', async (t) => {
  const { registry } = t.context;
  const info = await clientFor(registry).downloadInfo('hashicorp', 'null', '3.2.0', 'darwin', 'arm64');
  const release = registry.release('hashicorp', 'null', '3.2.0');
  t.like(info, {
    protocols: ['5.0'],
    os: 'darwin',
    arch: 'arm64',
    filename: 'terraform-provider-null_3.2.0_darwin_arm64.zip',
    downloadUrl: `${registry.url}files/hashicorp/null/3.2.0/terraform-provider-null_3.2.0_darwin_arm64.zip`,
    shasumsUrl: `${registry.url}files/hashicorp/null/3.2.0/terraform-provider-null_3.2.0_SHA256SUMS`,
    shasumsSignatureUrl: `${registry.url}files/hashicorp/null/3.2.0/terraform-provider-null_3.2.0_SHA256SUMS.sig`,
    shasum: release.packages.get('darwin_arm64')!.sha256,
  });
  t.deepEqual(info.signingKeys.map((k) => k.key_id), [registry.keyId]);
  t.true(info.signingKeys[0]!.ascii_armor.startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----'));
});

test.serial('a platform the version does not ship is NotFound: platform not supported', async (t) => {
  const err = await t.throwsAsync(clientFor(t.context.registry).downloadInfo('hashicorp', 'null', '3.2.1', 'darwin', 'arm64'), {
    instanceOf: NotFound,
  });
  t.regex(err.message, /platform darwin_arm64 not supported/);
});

const badMetadata: [string, Record<string, unknown>, RegExp][] = [
  ['a shasum of 63 hex digits', { shasum: 'a'.repeat(63) }, /"shasum" .* \(exactly 64 hex digits\)/],
  ['a non-hex shasum', { shasum: 'z'.repeat(64) }, /"shasum"/],
  ['an os that does not echo the request', { os: 'windows' }, /not the requested linux_amd64/],
  ['an arch that does not echo the request', { arch: 'arm64' }, /not the requested linux_amd64/],
  ['only protocol 4', { protocols: ['4.0'] }, /protocol 4.0, but Terraform supports only major versions 5 and 6/],
  ['protocol 7 only', { protocols: ['7.0'] }, /major versions 5 and 6/],
  ['malformed protocols', { protocols: 'five' }, /"protocols"/],
  ['a filename with a path', { filename: '../evil.zip' }, /"filename" is not a valid package file name/],
  ['a filename that is not a zip', { filename: 'x.tar.gz' }, /not a valid package file name/],
  ['no signing keys', { signing_keys: { gpg_public_keys: [] } }, /no signing keys/],
  ['signing keys missing', { signing_keys: undefined }, /no signing keys/],
  ['a key without armor', { signing_keys: { gpg_public_keys: [{ key_id: 'ABCD' }] } }, /lacks a string "key_id" or "ascii_armor"/],
  ['a download URL with another scheme', { download_url: 'ftp://example.com/x.zip' }, /"download_url" is not an http or https URL/],
  ['no shasums URL', { shasums_url: '' }, /"shasums_url" is missing/],
];
for (const [name, patch, message] of badMetadata) {
  test.serial(`download metadata with ${name} is rejected`, async (t) => {
    const { registry } = t.context;
    registry.fault({ path: '/download/', fault: { kind: 'patchJson', patch } });
    const err = await t.throwsAsync(clientFor(registry).downloadInfo('hashicorp', 'null', '3.2.0', 'linux', 'amd64'), {
      instanceOf: UpstreamError,
    });
    t.true(err instanceof InvalidUpstreamResponse);
    t.regex(err.message, message);
    for (const value of Object.values(patch)) {
      if (typeof value === 'string' && value !== '') t.false(err.message.includes(value), 'the value that came is not quoted');
    }
    t.regex(err.message, /invalid response from https:\/\/localhost:\d+\/v1\/providers\/hashicorp\/null\/3.2.0\/download\/linux\/amd64/);
  });
}

test.serial('empty protocols are accepted (older registries omit them)', async (t) => {
  const { registry } = t.context;
  registry.fault({ path: '/download/', fault: { kind: 'patchJson', patch: { protocols: [] } } });
  const info = await clientFor(registry).downloadInfo('hashicorp', 'null', '3.2.0', 'linux', 'amd64');
  t.deepEqual(info.protocols, []);
});

test.serial('RegistryClients uses the configured URL, knows the built-in upstreams, and refuses any other hostname by name', (t) => {
  const clients = new RegistryClients({ 'registry.terraform.io': { url: 'https://mirror.internal/tf/' }, 'Tf.Example.COM': { url: 'https://tf.example.com/' } });
  t.is(clients.get('registry.terraform.io').discoveryUrl, 'https://mirror.internal/tf/.well-known/terraform.json');
  t.is(clients.get('registry.opentofu.org').discoveryUrl, 'https://registry.opentofu.org/.well-known/terraform.json');
  t.is(clients.get('tf.example.com'), clients.get('TF.example.com'));
  const err = t.throws(() => clients.get('Example.COM'), { instanceOf: UnknownUpstream });
  t.true(err instanceof InvalidInput);
  t.is(err.message, 'hostname example.com has no upstream block; add `upstream "example.com" {}` to mirror it');
  t.throws(() => clients.get('bad/host'), { instanceOf: InvalidInput });
  t.deepEqual(Object.keys(clients.stats()).sort(), ['registry.opentofu.org', 'registry.terraform.io', 'tf.example.com']);
  clients.close();
});
