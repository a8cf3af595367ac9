import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import pino from 'pino';
import { openDatabase } from '../../server/src/db/database.js';
import { ModuleRepository } from '../../server/src/db/modules.js';
import { ProviderRepository } from '../../server/src/db/providers.js';
import { createApp } from '../../server/src/http/app.js';
import { DownloadCounter } from '../../server/src/mirror/downloads.js';
import { moduleDownloadCounter } from '../../server/src/mirror/module-routes.js';
import { MirrorService } from '../../server/src/mirror/service.js';
import { InvalidInput } from '../../server/src/errors.js';
import type { ModuleAddress } from '../../server/src/modules/ports.js';
import { PullThrough } from '../../server/src/pull/pull-through.js';
import { FilesystemStore } from '../../server/src/storage/filesystem.js';
import { rawRequest } from '../fixtures/mirror-server.js';
import { FakeMetadata, FakePuller } from '../pull/fakes.js';
import { FakeModuleIngest, FakeModuleMetadata, holdModule, type FakePackage } from '../pull/module-fakes.js';

const vpc: ModuleAddress = { hostname: 'registry.terraform.io', namespace: 'terraform-aws-modules', name: 'vpc', system: 'aws' };
const tarball = (version: string) => Buffer.from(`normalized tar.gz of vpc ${version} `.repeat(50));
const modulesBase = 'hosts/registry.terraform.io/v1/modules/terraform-aws-modules/vpc/aws/';

interface Setup {
  enabled?: boolean;
  include?: string[];
  exclude?: string[];
  publicUrl?: string;
  presign?: boolean;
  trustedProxies?: string[];
  /** What the fake upstream serves per version (default: tarball(version) under //modules/sub). */
  packages?: (a: ModuleAddress, version: string) => FakePackage | undefined;
}

async function serve(t: ExecutionContext, s: Setup = {}) {
  const db = openDatabase(':memory:');
  const repo = new ModuleRepository(db);
  const providers = new ProviderRepository(db);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-module-routes-'));
  const filesystem = new FilesystemStore({ path: dir });
  const store = s.presign
    ? Object.assign(Object.create(filesystem) as FilesystemStore, { presignGet: async (key: string) => `https://objects.example/${key}?signature=x` })
    : filesystem;
  const metadata = new FakeModuleMetadata({ 'registry.terraform.io/terraform-aws-modules/vpc/aws': ['5.0.0', '5.1.0', '5.2.0-beta.1'] });
  let mirror: MirrorService | undefined;
  const packages = s.packages ?? ((_a: ModuleAddress, v: string) => ({ bytes: tarball(v), subdir: 'modules/sub' }));
  const ingest = new FakeModuleIngest(repo, store, packages, () => mirror?.invalidate());
  const seam = new PullThrough({
    policy: { enabled: s.enabled ?? true, include: s.include ?? ['registry.terraform.io/*/*'], exclude: s.exclude ?? [] },
    upstreams: ['registry.terraform.io'],
    metadata: new FakeMetadata(),
    puller: new FakePuller(() => Buffer.alloc(0)),
    modules: { metadata, ingest },
    heldWaitMs: 50,
  });
  mirror = new MirrorService(db, providers, { missHandler: seam, modules: repo });
  const moduleDownloads = moduleDownloadCounter(db, repo);
  const app = createApp({
    logger: pino({ level: 'silent' }),
    db,
    store,
    mirror,
    downloads: new DownloadCounter(providers),
    moduleDownloads,
    presignTtl: s.presign ? 60 : 0,
    publicUrl: s.publicUrl,
    trustedProxies: s.trustedProxies,
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  t.teardown(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const get = (p: string, init: RequestInit = {}) => fetch(new URL(p, base), { redirect: 'manual', ...init });
  const hold = (version: string, pkg: FakePackage = { bytes: tarball(version), subdir: 'modules/sub' }) => holdModule(repo, store, vpc, version, pkg);
  return { base, get, hold, metadata, ingest, repo, mirror, moduleDownloads, seam };
}

test('the versions list merges held versions with the upstream list, newest first, in the registry protocol shape', async (t) => {
  const m = await serve(t);
  await m.hold('4.0.0');
  const res = await m.get(`${modulesBase}versions`);
  t.is(res.status, 200);
  t.regex(res.headers.get('content-type') ?? '', /^application\/json/);
  t.deepEqual(await res.json(), { modules: [{ versions: [{ version: '5.2.0-beta.1' }, { version: '5.1.0' }, { version: '5.0.0' }, { version: '4.0.0' }] }] });
});

test('the versions list answers 304 to its own ETag', async (t) => {
  const m = await serve(t);
  const first = await m.get(`${modulesBase}versions`);
  const etag = first.headers.get('etag');
  t.truthy(etag);
  // Not fetch(): it adds Cache-Control: no-cache to conditional requests, which asks for a full answer.
  const again = await rawRequest(m.base, `/${modulesBase}versions`, { headers: { 'if-none-match': etag! } });
  t.is(again.status, 304);
  t.is(again.body.length, 0);
});

test('a held version downloads as 204 naming the mirror archive absolutely, with its //subdir, and asks no upstream', async (t) => {
  const m = await serve(t);
  await m.hold('5.1.0');
  const res = await m.get(`${modulesBase}5.1.0/download`);
  t.is(res.status, 204);
  t.is(res.headers.get('x-terraform-get'), `${m.base}${modulesBase}5.1.0/archive.tar.gz//modules/sub`);
  t.is(await res.text(), '');
  t.deepEqual(m.metadata.calls, { versions: 0, guarded: 0 });
  t.is(m.ingest.calls, 0);
});

test('a version held without a subdirectory is handed out as the archive alone', async (t) => {
  const m = await serve(t);
  await m.hold('5.1.0', { bytes: tarball('5.1.0') });
  const res = await m.get(`${modulesBase}5.1.0/download`);
  t.is(res.headers.get('x-terraform-get'), `${m.base}${modulesBase}5.1.0/archive.tar.gz`);
});

test('with server.public_url the download names the archive under it, path prefix kept', async (t) => {
  const m = await serve(t, { publicUrl: 'https://mirror.example.com/tf' });
  await m.hold('5.1.0');
  const res = await m.get(`${modulesBase}5.1.0/download`);
  t.is(res.headers.get('x-terraform-get'), `https://mirror.example.com/tf/${modulesBase}5.1.0/archive.tar.gz//modules/sub`);
});

test('behind a trusted proxy the archive is named on the origin the client used; an untrusted peer cannot choose it', async (t) => {
  const forwarded = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'mirror.internal:8443' };
  const behind = await serve(t, { trustedProxies: ['127.0.0.1/32'] });
  await behind.hold('5.1.0');
  const viaProxy = await behind.get(`${modulesBase}5.1.0/download`, { headers: forwarded });
  t.is(viaProxy.headers.get('x-terraform-get'), `https://mirror.internal:8443/${modulesBase}5.1.0/archive.tar.gz//modules/sub`);
  const direct = await serve(t);
  await direct.hold('5.1.0');
  const forged = await direct.get(`${modulesBase}5.1.0/download`, { headers: forwarded });
  t.is(forged.headers.get('x-terraform-get'), `${direct.base}${modulesBase}5.1.0/archive.tar.gz//modules/sub`);
});

test('the archive streams the stored tar.gz as application/gzip with ranges, and counts one download per GET', async (t) => {
  const m = await serve(t);
  const row = await m.hold('5.1.0');
  const url = `${modulesBase}5.1.0/archive.tar.gz`;
  const res = await m.get(url);
  t.is(res.status, 200);
  t.is(res.headers.get('content-type'), 'application/gzip');
  t.deepEqual(Buffer.from(await res.arrayBuffer()), tarball('5.1.0'));
  const part = await m.get(url, { headers: { range: 'bytes=10-19' } });
  t.is(part.status, 206);
  t.deepEqual(Buffer.from(await part.arrayBuffer()), tarball('5.1.0').subarray(10, 20));
  const head = await m.get(url, { method: 'HEAD' });
  t.is(head.status, 200);
  m.moduleDownloads.flush();
  t.is(m.repo.getVersionById(row.id).downloadCount, 1, 'the full GET counts; the later range and the HEAD do not');
});

test('an archive not held is a 404 without success caching headers, and is never pulled', async (t) => {
  const m = await serve(t);
  const res = await m.get(`${modulesBase}5.1.0/archive.tar.gz`);
  t.is(res.status, 404);
  t.is(res.headers.get('etag'), null);
  t.not(res.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  t.is(m.ingest.calls, 0);
  t.is(m.metadata.calls.versions, 0);
});

test('when the store presigns, the archive redirects to the presigned URL and counts the download', async (t) => {
  const m = await serve(t, { presign: true });
  const row = await m.hold('5.1.0');
  const res = await m.get(`${modulesBase}5.1.0/archive.tar.gz`);
  t.is(res.status, 302);
  t.is(res.headers.get('location'), `https://objects.example/${row.archiveKey}?signature=x`);
  m.moduleDownloads.flush();
  t.is(m.repo.getVersionById(row.id).downloadCount, 1);
});

test('a download without a version redirects to the newest version that is not a prerelease', async (t) => {
  const m = await serve(t);
  const res = await m.get(`${modulesBase}download`);
  t.is(res.status, 302);
  t.is(new URL(res.headers.get('location')!, new URL(`${modulesBase}download`, m.base)).href, new URL(`${modulesBase}5.1.0/download`, m.base).href);
});

test('a cold download pulls the version once, then answers 204 and serves the stored archive', async (t) => {
  const m = await serve(t);
  const res = await m.get(`${modulesBase}5.1.0/download`);
  t.is(res.status, 204);
  t.is(res.headers.get('x-terraform-get'), `${m.base}${modulesBase}5.1.0/archive.tar.gz//modules/sub`);
  t.is(m.ingest.calls, 1);
  const archive = await m.get(`${modulesBase}5.1.0/archive.tar.gz`);
  t.deepEqual(Buffer.from(await archive.arrayBuffer()), tarball('5.1.0'));
  const again = await m.get(`${modulesBase}5.1.0/download`);
  t.is(again.status, 204);
  t.is(m.ingest.calls, 1, 'the second download is answered from what is held');
});

test('50 concurrent cold downloads of one version share one versions lookup and one ingest', async (t) => {
  const m = await serve(t);
  m.ingest.delayMs = 100;
  const all = await Promise.all(Array.from({ length: 50 }, () => m.get(`${modulesBase}5.1.0/download`)));
  t.deepEqual([...new Set(all.map((r) => r.status))], [204]);
  t.is(new Set(all.map((r) => r.headers.get('x-terraform-get'))).size, 1);
  t.is(m.ingest.calls, 1);
  t.is(m.metadata.calls.versions, 1);
  t.true(m.seam.moduleStats.coalesced >= 49);
});

test('with the upstream down, held versions are still listed and downloaded; a version not held is a 503 with Retry-After', async (t) => {
  const m = await serve(t);
  await m.hold('5.0.0');
  m.metadata.mode = 'down';
  const list = await m.get(`${modulesBase}versions`);
  t.is(list.status, 200);
  t.deepEqual(await list.json(), { modules: [{ versions: [{ version: '5.0.0' }] }] });
  const held = await m.get(`${modulesBase}5.0.0/download`);
  t.is(held.status, 204);
  const cold = await m.get(`${modulesBase}5.1.0/download`);
  t.is(cold.status, 503);
  t.truthy(cold.headers.get('retry-after'));
  t.is(m.ingest.calls, 0);
});

test('while the upstream is backing off, a cold download is a 503 with its Retry-After and nothing is fetched', async (t) => {
  const m = await serve(t);
  m.metadata.retryAt = Date.now() + 30_000;
  const res = await m.get(`${modulesBase}5.1.0/download`);
  t.is(res.status, 503);
  t.true(Number(res.headers.get('retry-after')) >= 29);
  t.is(m.ingest.calls, 0);
});

test('a version the upstream does not list is a 404 without an ingest', async (t) => {
  const m = await serve(t);
  const res = await m.get(`${modulesBase}9.9.9/download`);
  t.is(res.status, 404);
  t.is(m.ingest.calls, 0);
});

test('a package the mirror refuses (a hostile archive) is a 502 naming the upstream and the reason', async (t) => {
  const m = await serve(t, { packages: () => ({ bytes: Buffer.alloc(0), error: new InvalidInput('archive entry "../escape" leaves the tree') }) });
  const res = await m.get(`${modulesBase}5.1.0/download`);
  t.is(res.status, 502);
  const body = (await res.json()) as { error: { message: string; upstream: string } };
  t.is(body.error.upstream, 'registry.terraform.io');
  t.regex(body.error.message, /refuses: archive entry "\.\.\/escape" leaves the tree/);
  t.is(m.repo.findModule(vpc), undefined, 'nothing is recorded');
});

const refusedCases: Array<{ name: string; setup: Setup; path: string }> = [
  { name: 'pull-through off: a module not held is a 404', setup: { enabled: false }, path: `${modulesBase}5.1.0/download` },
  { name: 'pull-through off: its versions list is a 404', setup: { enabled: false }, path: `${modulesBase}versions` },
  { name: 'an excluded module (a four-segment glob) is a 404', setup: { exclude: ['registry.terraform.io/terraform-aws-modules/vpc/aws'] }, path: `${modulesBase}5.1.0/download` },
  { name: 'a module excluded by its namespace (a three-segment glob) is a 404', setup: { exclude: ['registry.terraform.io/terraform-aws-modules/*'] }, path: `${modulesBase}versions` },
  { name: 'a module no include covers is a 404', setup: { include: ['registry.terraform.io/hashicorp/*'] }, path: `${modulesBase}versions` },
  { name: 'a host that is not an upstream is a 404', setup: {}, path: 'hosts/elsewhere.example/v1/modules/terraform-aws-modules/vpc/aws/5.1.0/download' },
  { name: 'an address that does not validate is a 404', setup: {}, path: 'hosts/registry.terraform.io/v1/modules/bad..ns/vpc/aws/versions' },
];
for (const c of refusedCases) {
  test(`${c.name}, and nothing is asked upstream`, async (t) => {
    const m = await serve(t, c.setup);
    const res = await m.get(c.path);
    t.is(res.status, 404);
    t.regex(res.headers.get('content-type') ?? '', /^application\/json/);
    t.deepEqual(m.metadata.calls, { versions: 0, guarded: 0 });
    t.is(m.ingest.calls, 0);
  });
}

test('a four-segment include covers that module alone, without covering its namespace', async (t) => {
  const m = await serve(t, { include: ['registry.terraform.io/terraform-aws-modules/vpc/aws'] });
  t.true(m.seam.coversModule(vpc));
  t.false(m.seam.coversModule({ ...vpc, name: 'eks' }));
  t.false(m.seam.covers({ hostname: 'registry.terraform.io', namespace: 'terraform-aws-modules', type: 'vpc' }), 'and no provider');
});

test('a blocked module is absent from every module route, held versions included, and the upstream is not asked', async (t) => {
  const m = await serve(t);
  const row = await m.hold('5.0.0');
  m.repo.setStatus(row.moduleId, 'blocked');
  m.mirror.invalidate();
  for (const p of ['versions', 'download', '5.0.0/download', '5.1.0/download', '5.0.0/archive.tar.gz']) {
    const res = await m.get(`${modulesBase}${p}`);
    t.is(res.status, 404, p);
  }
  t.deepEqual(m.metadata.calls, { versions: 0, guarded: 0 });
  t.is(m.ingest.calls, 0);
});

test('a deprecated module is still served, with a Warning', async (t) => {
  const m = await serve(t);
  const row = await m.hold('5.0.0');
  m.repo.setStatus(row.moduleId, 'deprecated');
  m.mirror.invalidate();
  const res = await m.get(`${modulesBase}5.0.0/download`);
  t.is(res.status, 204);
  t.regex(res.headers.get('warning') ?? '', /deprecated/);
});
