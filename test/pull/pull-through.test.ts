import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import pino from 'pino';
import { openDatabase } from '../../server/src/db/database.js';
import { ProviderRepository, type ProviderIdentity } from '../../server/src/db/providers.js';
import { createApp } from '../../server/src/http/app.js';
import { DownloadCounter } from '../../server/src/mirror/downloads.js';
import { MirrorService } from '../../server/src/mirror/service.js';
import { PullThrough, type PullThroughPolicy } from '../../server/src/pull/pull-through.js';
import { FilesystemStore } from '../../server/src/storage/filesystem.js';
import { FakeMetadata, FakePuller } from './fakes.js';

const nullId: ProviderIdentity = { hostname: 'registry.terraform.io', namespace: 'hashicorp', type: 'null' };
const zip = (version: string, platform: string) => Buffer.from(`zip of null ${version} ${platform} `.repeat(50));
const upstreamNull = {
  id: nullId,
  versions: {
    '3.1.0': { linux_amd64: zip('3.1.0', 'linux_amd64') },
    '3.2.0': { linux_amd64: zip('3.2.0', 'linux_amd64'), darwin_arm64: zip('3.2.0', 'darwin_arm64') },
  },
};
const allowAll: PullThroughPolicy = { enabled: true, include: ['registry.terraform.io/*/*'], exclude: [] };

function setup(opts: { policy?: PullThroughPolicy; metadataTtlMs?: number; heldWaitMs?: number } = {}) {
  const db = openDatabase(':memory:');
  const providers = new ProviderRepository(db);
  const metadata = new FakeMetadata([upstreamNull]);
  const puller = new FakePuller((_id, version, platform) => zip(version, platform));
  const seam = new PullThrough({
    policy: opts.policy ?? allowAll,
    upstreams: ['registry.terraform.io', 'registry.opentofu.org'],
    metadata,
    puller,
    metadataTtlMs: opts.metadataTtlMs,
    heldWaitMs: opts.heldWaitMs,
  });
  const mirror = new MirrorService(db, providers, { missHandler: seam });
  const hold = (version: string, platform = 'linux_amd64', id = nullId) =>
    providers.recordPackage({
      provider: id,
      version,
      origin: 'imported',
      os: platform.split('_')[0]!,
      arch: platform.split('_')[1]!,
      filename: `terraform-provider-${id.type}_${version}_${platform}.zip`,
      size: 10,
      sha256: 'a'.repeat(64),
      h1: 'h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
      objectKey: `k/${version}/${platform}`,
    });
  return { db, providers, metadata, puller, seam, mirror, hold };
}

const json = (doc: { body: Buffer }) => JSON.parse(doc.body.toString()) as Record<string, Record<string, unknown>>;

test('index.json lists the upstream versions merged with the held ones', async (t) => {
  const s = setup();
  s.hold('3.0.0');
  const doc = json(await s.mirror.index(nullId));
  t.deepEqual(Object.keys(doc.versions!).sort(), ['3.0.0', '3.1.0', '3.2.0']);
  t.is(s.seam.stats.pulled, 1);
});

test('{version}.json of a version not held lists every upstream platform with its zh and a mirror archive url', async (t) => {
  const s = setup();
  const doc = json(await s.mirror.version(nullId, '3.2.0')) as { archives: Record<string, { url: string; hashes: string[] }> };
  t.deepEqual(Object.keys(doc.archives).sort(), ['darwin_arm64', 'linux_amd64']);
  const release = (await s.metadata.release(nullId, '3.2.0')).value;
  t.deepEqual(doc.archives.linux_amd64, {
    url: `3.2.0/terraform-provider-null_3.2.0_linux_amd64.zip`,
    hashes: [`zh:${release.archives.linux_amd64!.sha256}`],
  });
});

test('{version}.json adds h1 for the platforms held, and a publish shows at once', async (t) => {
  const s = setup();
  const before = json(await s.mirror.version(nullId, '3.2.0')) as { archives: Record<string, { hashes: string[] }> };
  t.is(before.archives.linux_amd64!.hashes.length, 1);
  s.hold('3.2.0', 'linux_amd64');
  s.mirror.invalidate(); // what the puller's publish does
  const after = json(await s.mirror.version(nullId, '3.2.0')) as { archives: Record<string, { hashes: string[] }> };
  t.true(after.archives.linux_amd64!.hashes[0]!.startsWith('h1:'));
  t.deepEqual(Object.keys(after.archives).sort(), ['darwin_arm64', 'linux_amd64'], 'platforms not yet held stay listed');
});

const refusals: { name: string; policy: PullThroughPolicy; id: ProviderIdentity }[] = [
  { name: 'excluded provider (exclude wins over include)', policy: { ...allowAll, exclude: ['registry.terraform.io/hashicorp/null'] }, id: nullId },
  { name: 'provider not matching include', policy: { ...allowAll, include: ['registry.terraform.io/acme/*'] }, id: nullId },
  { name: 'pull-through disabled', policy: { ...allowAll, enabled: false }, id: nullId },
  { name: 'hostname that is not an upstream', policy: { ...allowAll, include: ['*/*/*'] }, id: { ...nullId, hostname: 'evil.example.com' } },
];
for (const c of refusals) {
  test(`${c.name} is not found, like an absent one, with no upstream call`, async (t) => {
    const s = setup({ policy: c.policy });
    await t.throwsAsync(s.mirror.index(c.id), { name: 'NotFound' });
    await t.throwsAsync(s.mirror.version(c.id, '3.2.0'), { name: 'NotFound' });
    await t.throwsAsync(s.mirror.archive(c.id, 'terraform-provider-null_3.2.0_linux_amd64.zip', '3.2.0'), { name: 'NotFound' });
    t.deepEqual(s.metadata.calls, { versions: 0, release: 0 });
    t.is(s.puller.downloads, 0);
  });
}

test('a blocked provider is not found and never reaches the seam', async (t) => {
  const s = setup();
  s.hold('3.1.0');
  s.providers.setStatus(s.providers.getProvider(nullId).id, 'blocked');
  await t.throwsAsync(s.mirror.index(nullId), { name: 'NotFound' });
  await t.throwsAsync(s.mirror.version(nullId, '3.2.0'), { name: 'NotFound' });
  await t.throwsAsync(s.mirror.archive(nullId, 'terraform-provider-null_3.2.0_linux_amd64.zip', '3.2.0'), { name: 'NotFound' });
  t.is(s.seam.stats.misses, 0);
  t.deepEqual(s.metadata.calls, { versions: 0, release: 0 });
});

test('concurrent misses of one index share one upstream lookup', async (t) => {
  const s = setup();
  s.metadata.mode = { slowMs: 50 };
  const docs = await Promise.all(Array.from({ length: 10 }, () => s.mirror.index(nullId)));
  t.is(s.metadata.calls.versions, 1);
  t.is(new Set(docs.map((d) => d.etag)).size, 1);
  t.true(s.seam.stats.coalesced >= 1);
});

test('a provider the upstream lacks is not found only for metadata_ttl, so a later upstream publish shows', async (t) => {
  const s = setup({ metadataTtlMs: 150 });
  const other = { ...nullId, type: 'random' };
  await t.throwsAsync(s.mirror.index(other), { name: 'NotFound' });
  s.metadata.add({ id: other, versions: { '1.0.0': { linux_amd64: zip('1.0.0', 'linux_amd64') } } });
  await t.throwsAsync(s.mirror.index(other), { name: 'NotFound' }, 'within metadata_ttl the answer is reused');
  await new Promise((r) => setTimeout(r, 250));
  t.deepEqual(Object.keys(json(await s.mirror.index(other)).versions!), ['1.0.0']);
});

test('a fresh upstream index is reused for what is left of metadata_ttl, then asked again', async (t) => {
  const s = setup({ metadataTtlMs: 150 });
  await s.mirror.index(nullId);
  await s.mirror.index(nullId);
  t.is(s.metadata.calls.versions, 1);
  await new Promise((r) => setTimeout(r, 250));
  await s.mirror.index(nullId);
  t.is(s.metadata.calls.versions, 2);
});

test('stale upstream metadata is served and counted as stale', async (t) => {
  const s = setup();
  s.metadata.freshness = 'stale';
  t.deepEqual(Object.keys(json(await s.mirror.index(nullId)).versions!).sort(), ['3.1.0', '3.2.0']);
  t.is(s.seam.stats.stale, 1);
});

test('with the upstream down, held versions still answer, reused only briefly', async (t) => {
  const s = setup();
  s.hold('3.1.0');
  s.metadata.mode = 'down';
  t.deepEqual(Object.keys(json(await s.mirror.index(nullId)).versions!), ['3.1.0']);
  t.true(Object.keys((json(await s.mirror.version(nullId, '3.1.0')) as { archives: object }).archives).includes('linux_amd64'));
  s.metadata.mode = 'up';
  await new Promise((r) => setTimeout(r, 1100));
  t.deepEqual(Object.keys(json(await s.mirror.index(nullId)).versions!).sort(), ['3.1.0', '3.2.0'], 'the upstream list once it is back');
});

test('a held provider the upstream does not have is answered from what is held and reused, not asked again per read', async (t) => {
  const s = setup();
  const custom = { ...nullId, namespace: 'acme' };
  s.hold('1.0.0', 'linux_amd64', custom);
  for (let i = 0; i < 3; i++) t.deepEqual(Object.keys(json(await s.mirror.index(custom)).versions!), ['1.0.0']);
  t.is(s.metadata.calls.versions, 1);
});

test('a slow upstream does not hold up index.json of a held provider', async (t) => {
  const s = setup({ heldWaitMs: 100 });
  s.hold('3.1.0');
  s.metadata.mode = { slowMs: 2000 };
  const started = Date.now();
  t.deepEqual(Object.keys(json(await s.mirror.index(nullId)).versions!), ['3.1.0']);
  t.true(Date.now() - started < 1000, `${Date.now() - started} ms`);
});

test('while one read of a held provider waits on a slow upstream, the others answer with what is held at once', async (t) => {
  const s = setup({ heldWaitMs: 1000 });
  s.hold('3.1.0');
  s.metadata.mode = { slowMs: 1500 };
  const first = s.mirror.index(nullId);
  await new Promise((r) => setTimeout(r, 20));
  const started = Date.now();
  t.deepEqual(Object.keys(json(await s.mirror.index(nullId)).versions!), ['3.1.0']);
  t.true(Date.now() - started < 300, `${Date.now() - started} ms`);
  await first;
  t.is(s.metadata.calls.versions, 1);
});

test('concurrent archive misses share one download, and joiners count as coalesced', async (t) => {
  const s = setup();
  const refs = await Promise.all(Array.from({ length: 8 }, () => s.mirror.archive(nullId, 'terraform-provider-null_3.2.0_linux_amd64.zip', '3.2.0')));
  t.is(s.puller.downloads, 1);
  for (const r of refs) t.true('pulled' in r);
  t.true(s.seam.stats.coalesced >= 7);
});

test('while the upstream is backing off, an archive miss of a cached release answers at once and downloads nothing', async (t) => {
  const s = setup();
  s.metadata.retryAt = Date.now() + 20_000;
  const started = Date.now();
  const err = await t.throwsAsync(s.mirror.archive(nullId, 'terraform-provider-null_3.2.0_linux_amd64.zip', '3.2.0'), { name: 'UpstreamBackingOff' });
  t.true((err as { retryAfterSeconds?: number }).retryAfterSeconds! >= 19);
  t.is(s.puller.downloads, 0);
  t.true(Date.now() - started < 500);
});

test('an archive named in no upstream release is not found', async (t) => {
  const s = setup();
  await t.throwsAsync(s.mirror.archive(nullId, 'terraform-provider-null_3.2.0_plan9_amd64.zip', '3.2.0'), { name: 'NotFound' });
  t.is(s.puller.downloads, 0);
});

// ---- over HTTP: status codes, Retry-After, cut connections

async function serveApp(s: ReturnType<typeof setup>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-pull-'));
  const store = new FilesystemStore({ path: dir });
  const downloads = new DownloadCounter(s.providers);
  const app = createApp({ logger: pino({ level: 'silent' }), db: s.db, store, mirror: s.mirror, downloads, presignTtl: 0 });
  const server = http.createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    downloads,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('with the upstream unreachable, a version not held answers 503 with Retry-After at once', async (t) => {
  const s = setup();
  s.metadata.mode = 'down';
  s.metadata.retryAt = Date.now() + 30_000;
  const h = await serveApp(s);
  t.teardown(() => h.close());
  const started = Date.now();
  const res = await fetch(`${h.base}/registry.terraform.io/hashicorp/null/3.2.0.json`);
  t.is(res.status, 503);
  const retryAfter = Number(res.headers.get('retry-after'));
  t.true(retryAfter >= 29 && retryAfter <= 30, `Retry-After ${retryAfter}`);
  t.true(Date.now() - started < 1000);
  t.is((await fetch(`${h.base}/registry.terraform.io/hashicorp/null/index.json`)).status, 503);
});

test('an archive not held streams the pulled bytes', async (t) => {
  const s = setup();
  const h = await serveApp(s);
  t.teardown(() => h.close());
  const res = await fetch(`${h.base}/registry.terraform.io/hashicorp/null/3.2.0/terraform-provider-null_3.2.0_linux_amd64.zip`);
  t.is(res.status, 200);
  t.deepEqual(Buffer.from(await res.arrayBuffer()), zip('3.2.0', 'linux_amd64'));
});

test('a pulled archive counts as a download of the published package once its response completes', async (t) => {
  const s = setup();
  s.puller.onPublish = (_id, version, platform) => s.hold(version, platform);
  const h = await serveApp(s);
  t.teardown(() => h.close());
  const res = await fetch(`${h.base}/registry.terraform.io/hashicorp/null/3.2.0/terraform-provider-null_3.2.0_linux_amd64.zip`);
  await res.arrayBuffer();
  await new Promise((r) => setTimeout(r, 50));
  h.downloads.flush();
  const pkg = s.providers.findPackage(nullId, '3.2.0', 'linux', 'amd64')!;
  t.is((s.db.prepare('SELECT download_count AS n FROM provider_packages WHERE id = ?').get(pkg.id) as { n: number }).n, 1);
});

test('an archive whose pull fails its digest is cut: the response never completes', async (t) => {
  const s = setup();
  s.puller.tamper = true;
  const h = await serveApp(s);
  t.teardown(() => h.close());
  const res = await fetch(`${h.base}/registry.terraform.io/hashicorp/null/3.2.0/terraform-provider-null_3.2.0_linux_amd64.zip`);
  t.is(res.status, 200);
  await t.throwsAsync(res.arrayBuffer());
});

test('excluded and unknown-host providers are 404 over HTTP', async (t) => {
  const s = setup({ policy: { ...allowAll, exclude: ['registry.terraform.io/hashicorp/*'] } });
  const h = await serveApp(s);
  t.teardown(() => h.close());
  t.is((await fetch(`${h.base}/registry.terraform.io/hashicorp/null/index.json`)).status, 404);
  t.is((await fetch(`${h.base}/nowhere.example/hashicorp/null/index.json`)).status, 404);
  t.deepEqual(s.metadata.calls, { versions: 0, release: 0 });
});
