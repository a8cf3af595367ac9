import anyTest, { type TestFn } from 'ava';
import { openDatabase, preferNonBlockingWrites } from '../../server/src/db/database.js';
import { UpstreamCacheRepository } from '../../server/src/db/upstream-cache.js';
import { CachedUpstreamMetadata, PULL_METADATA_HTTP } from '../../server/src/pull/metadata.js';
import { RegistryClients } from '../../server/src/upstream/registry.js';
import { IntegrityError, NotFound } from '../../server/src/errors.js';
import { InvalidUpstreamResponse, UpstreamBackingOff, UpstreamTimeout, UpstreamUnavailable } from '../../server/src/upstream/errors.js';
import { type FakeRegistry, startFakeRegistry } from '../fixtures/fake-registry.js';
import { HOST, NULL_PROVIDER, STALE_MS, TTL_MS, metadataFor, removeTempDirs } from './metadata-helpers.js';

const test = anyTest as TestFn<{ registry: FakeRegistry }>;

const PLATFORMS = ['linux_amd64', 'darwin_arm64', 'windows_amd64'];

test.before(async (t) => {
  t.context.registry = await startFakeRegistry([
    { namespace: 'hashicorp', type: 'null', versions: { '3.2.0': PLATFORMS, '3.2.1': ['linux_amd64'] } },
    { namespace: 'acme', type: 'widget', versions: { '1.0.0': ['linux_amd64'] } },
  ]);
});
test.afterEach.always((t) => {
  t.context.registry.clearFaults();
  t.context.registry.resetCounters();
});
test.after.always(async (t) => {
  await t.context.registry.close();
  removeTempDirs();
});

const VERSIONS_PATH = '/v1/providers/hashicorp/null/versions';

test.serial('a versions list within metadata_ttl is reused without any upstream request', async (t) => {
  const { registry } = t.context;
  const m = await metadataFor(registry);
  const first = await m.metadata.versions(NULL_PROVIDER);
  t.is(first.freshness, 'fresh');
  t.deepEqual(first.value.map((v) => v.version).sort(), ['3.2.0', '3.2.1']);
  const before = registry.requests();
  m.clock.t += TTL_MS - 1;
  const again = await m.metadata.versions({ hostname: 'Registry.Terraform.IO', namespace: 'HashiCorp', type: 'null' });
  t.is(again.freshness, 'fresh');
  t.is(again.fetchedAt, first.fetchedAt);
  t.is(registry.requests() - before, 0, 'no upstream request within the ttl, however the address is spelled');
  await m.close();
});

test.serial('after metadata_ttl the stale list is answered at once and one background request refreshes it', async (t) => {
  const { registry } = t.context;
  const m = await metadataFor(registry);
  const first = await m.metadata.versions(NULL_PROVIDER);
  m.clock.t += TTL_MS + 1;
  registry.fault({ path: VERSIONS_PATH, fault: { kind: 'slow', ms: 400 } });
  const before = registry.requests(VERSIONS_PATH);
  const started = Date.now();
  const answers = await Promise.all(Array.from({ length: 8 }, () => m.metadata.versions(NULL_PROVIDER)));
  t.true(Date.now() - started < 200, `answered without waiting for the upstream (${Date.now() - started} ms)`);
  t.true(answers.every((a) => a.freshness === 'stale' && a.fetchedAt === first.fetchedAt));
  await m.metadata.settled();
  t.is(registry.requests(VERSIONS_PATH) - before, 1, 'one revalidation for all stale answers');
  const refreshed = await m.metadata.versions(NULL_PROVIDER);
  t.is(refreshed.freshness, 'fresh');
  t.is(refreshed.fetchedAt, m.clock.t);
  t.deepEqual(m.metadata.stats().stale, [{ hostname: HOST, count: 8 }]);
  await m.close();
});

test.serial('with the upstream stopped the stale list is served within stale_if_error, and the error beyond it', async (t) => {
  const own = await startFakeRegistry([{ namespace: 'hashicorp', type: 'null', versions: { '3.2.0': ['linux_amd64'] } }]);
  const m = await metadataFor(own);
  const first = await m.metadata.versions(NULL_PROVIDER);
  await own.close();

  m.clock.t += TTL_MS + STALE_MS;
  const stale = await m.metadata.versions(NULL_PROVIDER);
  t.is(stale.freshness, 'stale');
  t.is(stale.fetchedAt, first.fetchedAt);
  await m.metadata.settled();
  // The failed revalidation left the upstream backing off: still stale, nothing waits on it.
  t.is(m.metadata.health(HOST).state, 'backing_off');
  t.is((await m.metadata.versions(NULL_PROVIDER)).freshness, 'stale');

  m.clock.t += 1;
  await t.throwsAsync(m.metadata.versions(NULL_PROVIDER), { instanceOf: UpstreamBackingOff }, 'beyond stale_if_error while backing off');
  m.clock.t += 60_000;
  const err = await t.throwsAsync(m.metadata.versions(NULL_PROVIDER), { instanceOf: UpstreamUnavailable });
  t.regex(err.message, /ECONNREFUSED|failed/);
  await m.close();
});

test.serial('429 with Retry-After: 2 leaves the upstream alone for 2 s, and misses answer UpstreamBackingOff at once', async (t) => {
  const { registry } = t.context;
  const m = await metadataFor(registry);
  registry.fault({ path: VERSIONS_PATH, fault: { kind: 'status429', retryAfter: 2 }, times: 1 });
  const limited = await t.throwsAsync(m.metadata.versions(NULL_PROVIDER), { instanceOf: UpstreamBackingOff });
  t.is(limited.retryAfterSeconds, 2);
  const before = registry.requests();
  const limitedAt = m.clock.t;
  for (const dt of [0, 1000, 1999]) {
    m.clock.t = limitedAt + dt;
    const started = Date.now();
    await t.throwsAsync(m.metadata.versions({ hostname: HOST, namespace: 'acme', type: 'widget' }), { instanceOf: UpstreamBackingOff });
    await t.throwsAsync(m.metadata.release(NULL_PROVIDER, '3.2.1'), { instanceOf: UpstreamBackingOff });
    t.true(Date.now() - started < 100, 'refused at once');
  }
  t.is(registry.requests() - before, 0, 'nothing sent for 2 s');
  t.is(m.metadata.health(HOST).state, 'backing_off');
  m.clock.t = limitedAt + 2000;
  t.is((await m.metadata.versions(NULL_PROVIDER)).freshness, 'fresh');
  t.is(registry.requests() - before, 1);
  t.is(m.metadata.health(HOST).state, 'up');
  await m.close();
});

test.serial('32 concurrent versions() calls make one upstream request, and a caller giving up fails none of the others', async (t) => {
  const { registry } = t.context;
  const m = await metadataFor(registry);
  registry.fault({ path: VERSIONS_PATH, fault: { kind: 'slow', ms: 200 } });
  const quitter = new AbortController();
  const calls = Array.from({ length: 32 }, (_, i) => m.metadata.versions(NULL_PROVIDER, i === 0 ? quitter.signal : undefined));
  quitter.abort();
  const [first, ...rest] = await Promise.allSettled(calls);
  t.is(first?.status, 'rejected');
  t.true(rest.every((r) => r.status === 'fulfilled' && r.value.value.length === 2));
  t.is(registry.requests(VERSIONS_PATH), 1);
  await m.close();
});

test.serial('a release is fetched once for all its platforms and verified', async (t) => {
  const { registry } = t.context;
  const m = await metadataFor(registry);
  const release = (await m.metadata.release(NULL_PROVIDER, '3.2.0')).value;
  const upstream = registry.release('hashicorp', 'null', '3.2.0');
  t.deepEqual(Object.keys(release.archives).sort(), [...PLATFORMS].sort());
  for (const [platform, pkg] of upstream.packages) {
    t.like(release.archives[platform], { filename: pkg.filename, sha256: pkg.sha256 });
    t.true(release.archives[platform]!.downloadUrl.startsWith(registry.url));
  }
  t.true(release.signed);
  t.deepEqual(release.keyIds, [registry.keyId.toUpperCase()]);
  t.deepEqual(release.shasums, upstream.files.get(upstream.sumsFilename));
  t.is(registry.requests('/download/'), 3, 'one document per platform');
  t.is(registry.requests(`/${upstream.sumsFilename}`), 2, 'SHA256SUMS and its signature once each');

  const before = registry.requests();
  m.clock.t += 30 * 24 * 3600 * 1000;
  const cached = await m.metadata.release(NULL_PROVIDER, '3.2.0');
  t.is(cached.freshness, 'fresh', 'releases are immutable: cached for good');
  t.deepEqual(cached.value.shasums, release.shasums);
  t.is(registry.requests() - before, 0);
  await m.close();
});

const tampering: [string, Parameters<FakeRegistry['fault']>[0]['fault'], RegExp][] = [
  ['a signature by another key', { kind: 'badSignature' }, /signature verification failed/],
  ['a SHA256SUMS listing other digests', { kind: 'sumsMismatch' }, /checksum mismatch for terraform-provider-null_3\.2\.0_/],
];
for (const [name, fault, check] of tampering) {
  test.serial(`${name} is an IntegrityError naming the check, and nothing is cached`, async (t) => {
    const { registry } = t.context;
    const m = await metadataFor(registry);
    registry.fault({ path: '/files/hashicorp/null/3.2.0/', fault });
    const err = await t.throwsAsync(m.metadata.release(NULL_PROVIDER, '3.2.0'), { instanceOf: IntegrityError });
    t.regex(err.message, check);
    t.is(m.cache.get(HOST, 'release', 'hashicorp/null/3.2.0'), undefined);
    t.is(m.metadata.health(HOST).state, 'up', 'a bad release is not an outage');
    await m.close();
  });
}

test.serial('download documents that disagree on shasums_url are refused', async (t) => {
  const { registry } = t.context;
  const m = await metadataFor(registry);
  registry.fault({ path: '/download/darwin/arm64', fault: { kind: 'patchJson', patch: { shasums_url: '/files/hashicorp/null/3.2.0/OTHER_SHA256SUMS' } } });
  const err = await t.throwsAsync(m.metadata.release(NULL_PROVIDER, '3.2.0'), { instanceOf: InvalidUpstreamResponse });
  t.regex(err.message, /disagree on shasums_url/);
  t.is(m.cache.get(HOST, 'release', 'hashicorp/null/3.2.0'), undefined);
  await m.close();
});

test.serial('a version the upstream does not list is NotFound, and an absent provider is remembered briefly', async (t) => {
  const { registry } = t.context;
  const m = await metadataFor(registry);
  await t.throwsAsync(m.metadata.release(NULL_PROVIDER, '9.9.9'), { instanceOf: NotFound, message: /version 9\.9\.9 .* not found upstream/ });
  const absent = { hostname: HOST, namespace: 'acme', type: 'nothing' };
  await t.throwsAsync(m.metadata.versions(absent), { instanceOf: NotFound });
  await t.throwsAsync(m.metadata.versions(absent), { instanceOf: NotFound });
  t.is(registry.requests('/acme/nothing/'), 1, 'the second ask is answered from memory');
  m.clock.t += 30_001;
  await t.throwsAsync(m.metadata.versions(absent), { instanceOf: NotFound });
  t.is(registry.requests('/acme/nothing/'), 2);
  await m.close();
});

test.serial('the cache survives a restart: a new instance on the same database answers without the upstream', async (t) => {
  const { registry } = t.context;
  const m = await metadataFor(registry);
  const versions = await m.metadata.versions(NULL_PROVIDER);
  const release = await m.metadata.release(NULL_PROVIDER, '3.2.0');
  const restarted = await m.reopen();
  const before = registry.requests();
  t.deepEqual(await restarted.metadata.versions(NULL_PROVIDER), versions);
  t.deepEqual(await restarted.metadata.release(NULL_PROVIDER, '3.2.0'), release);
  t.is(registry.requests() - before, 0);
  await restarted.close();
});

test.serial('an upstream that is not configured is refused before any request', async (t) => {
  const m = await metadataFor(t.context.registry);
  await t.throwsAsync(m.metadata.versions({ hostname: 'evil.example.com', namespace: 'a', type: 'b' }), { message: /has no upstream block/ });
  t.is(t.context.registry.requests(), 0);
  await m.close();
});

test.serial("another process's write lock does not hold up the answer: the cache row is written once the lock is gone", async (t) => {
  const { registry } = t.context;
  const m = await metadataFor(registry);
  const own = openDatabase(m.dbFile);
  preferNonBlockingWrites(own);
  const other = openDatabase(m.dbFile);
  other.exec('BEGIN IMMEDIATE');
  try {
    // The instance under test writes through its own connection; make that one the non-blocking kind serve uses.
    const clients = new RegistryClients({ [HOST]: { url: registry.url } }, { ca: registry.caPem, ...PULL_METADATA_HTTP });
    const cache = new UpstreamCacheRepository(own);
    const metadata = new CachedUpstreamMetadata({ registry: (h) => clients.get(h), cache, metadataTtlMs: TTL_MS, staleIfErrorMs: STALE_MS });
    const started = Date.now();
    t.is((await metadata.versions(NULL_PROVIDER)).freshness, 'fresh');
    t.true(Date.now() - started < 1000, `answered in ${Date.now() - started} ms while the database was locked`);
    t.is(cache.get(HOST, 'versions', 'hashicorp/null'), undefined);
    other.exec('COMMIT');
    await metadata.settled();
    t.truthy(cache.get(HOST, 'versions', 'hashicorp/null'));
    await metadata.close();
    clients.close();
  } finally {
    if (other.inTransaction) other.exec('ROLLBACK');
    other.close();
    own.close();
    await m.close();
  }
});

test.serial('in real time, after a 429 with Retry-After: 2 the next request to the upstream is at least 2 s later', async (t) => {
  const { registry } = t.context;
  const m = await metadataFor(registry, { now: Date.now });
  registry.fault({ path: VERSIONS_PATH, fault: { kind: 'status429', retryAfter: 2 }, times: 1 });
  const limitedAt = Date.now();
  await t.throwsAsync(m.metadata.versions(NULL_PROVIDER), { instanceOf: UpstreamBackingOff });
  const before = registry.requests();
  let answered: number | undefined;
  while (answered === undefined && Date.now() - limitedAt < 5000) {
    try {
      await m.metadata.versions(NULL_PROVIDER);
      answered = Date.now();
    } catch (err) {
      t.true(err instanceof UpstreamBackingOff);
      t.is(registry.requests() - before, 0, 'nothing sent while backing off');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  t.truthy(answered);
  t.true(answered! - limitedAt >= 2000, `next request after ${answered! - limitedAt} ms`);
  t.is(registry.requests() - before, 1);
  await m.close();
});

test.serial('requests guarded by the same health (archive downloads) are refused while metadata backs off, and their failures count', async (t) => {
  const { registry } = t.context;
  const m = await metadataFor(registry);
  registry.fault({ path: VERSIONS_PATH, fault: { kind: 'status429', retryAfter: 5 }, times: 1 });
  await t.throwsAsync(m.metadata.versions(NULL_PROVIDER), { instanceOf: UpstreamBackingOff });
  let sent = 0;
  await t.throwsAsync(m.metadata.guarded(HOST, async () => ++sent), { instanceOf: UpstreamBackingOff });
  t.is(sent, 0);
  m.clock.t += 5000;
  const cut = new UpstreamUnavailable('GET archive: connection reset', { url: registry.url });
  await t.throwsAsync(m.metadata.guarded(HOST, () => Promise.reject(cut)), { is: cut });
  t.is(m.metadata.health(HOST).state, 'backing_off');
  await m.close();
});

test.serial('an upstream slower than the operation deadline is an UpstreamTimeout that starts a backoff', async (t) => {
  const { registry } = t.context;
  const m = await metadataFor(registry, { operationTimeoutMs: 300 });
  registry.fault({ path: VERSIONS_PATH, fault: { kind: 'slow', ms: 3000 }, times: 1 });
  const started = Date.now();
  const err = await t.throwsAsync(m.metadata.versions(NULL_PROVIDER), { instanceOf: UpstreamTimeout });
  t.true(Date.now() - started < 2000, `gave up after ${Date.now() - started} ms`);
  t.regex(err.message, /within 0\.3 s/);
  t.is(m.metadata.health(HOST).state, 'backing_off');
  await m.close();
});
