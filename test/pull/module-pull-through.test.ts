/**
 * Module pull-through over real peers: the fake registry over HTTPS (module
 * registry protocol), the real module client, the SQLite metadata cache with
 * upstream health, the real ModuleIngest with its leases, the read path and
 * its routes. Only the fetcher is a fake (it counts fetches and stages bytes):
 * fetching git and archives is tested with the fetcher itself.
 */

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import pino from 'pino';
import { openDatabase } from '../../server/src/db/database.js';
import { LimitExceeded, NotFound } from '../../server/src/errors.js';
import { Metrics } from '../../server/src/metrics/index.js';
import { createApp } from '../../server/src/http/app.js';
import { DownloadCounter } from '../../server/src/mirror/downloads.js';
import { moduleDownloadCounter } from '../../server/src/mirror/module-routes.js';
import { MirrorService } from '../../server/src/mirror/service.js';
import { createModuleFetcher } from '../../server/src/modules/fetch.js';
import { createModuleIngest } from '../../server/src/modules/ingest.js';
import type { FetchedModule, ModuleFetcher, ModuleLocation } from '../../server/src/modules/ports.js';
import { CachedUpstreamMetadata, PULL_METADATA_HTTP } from '../../server/src/pull/metadata.js';
import { PullThrough, type PullThroughPolicy } from '../../server/src/pull/pull-through.js';
import { createRepositories } from '../../server/src/runtime.js';
import { FilesystemStore } from '../../server/src/storage/filesystem.js';
import { RegistryClients } from '../../server/src/upstream/registry.js';
import { upstreamHttpClient } from '../../server/src/upstream/upstream-http.js';
import { startFakeRegistry, type FakeRegistry } from '../fixtures/fake-registry.js';
import { readTarGz, tarGz } from '../fixtures/module-archives.js';
import { startStaticServer } from '../fixtures/static-server.js';
import { FakeMetadata, FakePuller } from './fakes.js';

const HOST = 'registry.terraform.io';
const TTL_MS = 10 * 60 * 1000;
const STALE_MS = 60 * 60 * 1000;
const modulesBase = `hosts/${HOST}/v1/modules/terraform-aws-modules/vpc/aws/`;

const test = anyTest as TestFn<{ registry: FakeRegistry }>;

test.before(async (t) => {
  t.context.registry = await startFakeRegistry([], {
    modules: [
      {
        namespace: 'terraform-aws-modules',
        name: 'vpc',
        system: 'aws',
        versions: {
          '5.0.0': 'git::https://github.example/terraform-aws-modules/terraform-aws-vpc?ref=v5.0.0',
          '5.1.0': 'git::https://github.example/terraform-aws-modules/terraform-aws-vpc//modules/sub?ref=v5.1.0',
          '5.2.0': 'https://codeload.example/terraform-aws-modules/terraform-aws-vpc/tar.gz/v5.2.0//*?archive=tar.gz',
          '5.3.0': 's3::https://s3.amazonaws.com/modules/vpc-5.3.0.zip',
        },
      },
    ],
  });
});
test.after.always(async (t) => t.context.registry?.close());
test.beforeEach((t) => {
  t.context.registry.clearFaults();
  t.context.registry.resetCounters();
});

/** Stages a small tarball per location; `*` expands to a directory name, as the real fetcher does from the archive. */
class CountingFetcher implements ModuleFetcher {
  calls = 0;
  delayMs = 0;
  error: Error | undefined;

  constructor(private readonly dir: string) {}

  async fetch(location: ModuleLocation): Promise<FetchedModule> {
    this.calls++;
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.error) throw this.error;
    const bytes = Buffer.from(`normalized tree of ${location.raw}`);
    const file = path.join(this.dir, `fetched-${this.calls}.tar.gz`);
    fs.writeFileSync(file, bytes);
    const subdir = location.subdir === '*' ? 'terraform-aws-vpc-5.2.0' : location.subdir;
    return {
      file,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: bytes.length,
      files: 1,
      location,
      commit: location.kind === 'git' ? 'c'.repeat(40) : undefined,
      subdir,
    };
  }

  async resolveRef(): Promise<string | undefined> {
    return undefined;
  }
}

async function mirrorOver(t: ExecutionContext<{ registry: FakeRegistry }>, policy: Partial<PullThroughPolicy> = {}, realFetcher?: (stagingDir: string) => ModuleFetcher) {
  const { registry } = t.context;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-module-pull-'));
  const clock = { t: 1_700_000_000_000 };
  const db = openDatabase(path.join(dir, 'tfmirror.db'));
  const repos = createRepositories(db);
  const store = new FilesystemStore({ path: path.join(dir, 'storage') });
  const clients = new RegistryClients({ [HOST]: { url: registry.url } }, { ca: registry.caPem, ...PULL_METADATA_HTTP });
  const metadata = new CachedUpstreamMetadata({
    registry: (h) => clients.get(h),
    moduleRegistry: (h) => clients.modules(h),
    cache: repos.upstreamCache,
    metadataTtlMs: TTL_MS,
    staleIfErrorMs: STALE_MS,
    now: () => clock.t,
  });
  fs.mkdirSync(path.join(dir, 'staging'));
  const fetcher = new CountingFetcher(path.join(dir, 'staging'));
  let mirror: MirrorService | undefined;
  const ingest = createModuleIngest({ repos, leases: repos.pullLeases, store, fetcher: realFetcher?.(path.join(dir, 'staging')) ?? fetcher, upstreams: (h) => clients.modules(h), published: () => mirror?.invalidate() });
  const seam = new PullThrough({
    policy: { enabled: true, include: [`${HOST}/*/*`], exclude: [], ...policy },
    upstreams: [HOST],
    metadata: new FakeMetadata(),
    puller: new FakePuller(() => Buffer.alloc(0)),
    modules: { metadata, ingest },
    metadataTtlMs: TTL_MS,
    heldWaitMs: 200,
    now: () => clock.t,
  });
  mirror = new MirrorService(db, repos.providers, { missHandler: seam, modules: repos.modules });
  const app = createApp({
    logger: pino({ level: 'silent' }),
    db,
    store,
    mirror,
    downloads: new DownloadCounter(repos.providers),
    moduleDownloads: moduleDownloadCounter(db, repos.modules),
    presignTtl: 0,
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  t.teardown(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await metadata.close();
    clients.close();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const get = (p: string) => fetch(new URL(p, base), { redirect: 'manual' });
  const versionsOf = async () => {
    const res = await get(`${modulesBase}versions`);
    t.is(res.status, 200);
    return ((await res.json()) as { modules: [{ versions: { version: string }[] }] }).modules[0].versions.map((v) => v.version);
  };
  const storedKeys = async () => {
    const keys: string[] = [];
    for await (const o of store.list('modules/')) keys.push(o.key);
    return keys;
  };
  return { base, get, versionsOf, storedKeys, clock, metadata, fetcher, repos, mirror, seam };
}

const versionsPath = /\/v1\/modules\/terraform-aws-modules\/vpc\/aws\/versions$/;
const downloadPath = (v: string) => new RegExp(`/v1/modules/terraform-aws-modules/vpc/aws/${v.replace(/\./g, '\\.')}/download$`);

test.serial('the versions list is asked upstream once within metadata_ttl, and held versions are merged in', async (t) => {
  const m = await mirrorOver(t);
  t.deepEqual(await m.versionsOf(), ['5.3.0', '5.2.0', '5.1.0', '5.0.0']);
  t.is((await m.get(`${modulesBase}4.0.0/download`)).status, 404, 'a version the upstream does not list');
  t.deepEqual(await m.versionsOf(), ['5.3.0', '5.2.0', '5.1.0', '5.0.0']);
  t.is(t.context.registry.requests(versionsPath), 1);
  t.is(t.context.registry.requests(/\/download$/), 0, 'the absent version was refused from the cached list');
});

test.serial('past metadata_ttl the list is answered stale at once and revalidated once in the background', async (t) => {
  const m = await mirrorOver(t);
  await m.versionsOf();
  t.context.registry.addModule({ namespace: 'terraform-aws-modules', name: 'vpc', system: 'aws', versions: { '5.4.0': 'git::https://github.example/x?ref=v5.4.0' } });
  m.clock.t += TTL_MS + 1;
  m.mirror.invalidate();
  t.false((await m.versionsOf()).includes('5.4.0'), 'the stale list first');
  await m.metadata.settled();
  m.mirror.invalidate();
  t.true((await m.versionsOf()).includes('5.4.0'), 'then the revalidated one');
  t.is(t.context.registry.requests(versionsPath), 2);
});

test.serial('50 concurrent cold downloads of one version make one download-location request and one fetch, and all get the same answer', async (t) => {
  const m = await mirrorOver(t);
  m.fetcher.delayMs = 150;
  const all = await Promise.all(Array.from({ length: 50 }, () => m.get(`${modulesBase}5.1.0/download`)));
  t.deepEqual([...new Set(all.map((r) => r.status))], [204]);
  t.deepEqual([...new Set(all.map((r) => r.headers.get('x-terraform-get')))], [`${m.base}${modulesBase}5.1.0/archive.tar.gz//modules/sub`]);
  t.is(t.context.registry.requests(downloadPath('5.1.0')), 1);
  t.is(t.context.registry.requests(versionsPath), 1);
  t.is(m.fetcher.calls, 1);
  const archive = await m.get(`${modulesBase}5.1.0/archive.tar.gz`);
  t.is(archive.status, 200);
  t.is(Buffer.from(await archive.arrayBuffer()).toString(), 'normalized tree of git::https://github.example/terraform-aws-modules/terraform-aws-vpc//modules/sub?ref=v5.1.0');
});

test.serial('the scrape counts module misses and answers apart from the provider series', async (t) => {
  const m = await mirrorOver(t);
  await Promise.all([m.get(`${modulesBase}5.1.0/download`), m.get(`${modulesBase}5.1.0/download`)]);
  await m.get(`${modulesBase}9.9.9/download`);
  const metrics = new Metrics({ defaultMetrics: false, pullSeam: () => ({ seam: m.seam.stats, modules: m.seam.moduleStats }) });
  const text = await metrics.scrape();
  t.regex(text, /^pull_module_misses_total 3$/m);
  t.regex(text, /^pull_module_answers_total\{answer="pulled"\} 2$/m);
  t.regex(text, /^pull_module_answers_total\{answer="refused"\} 1$/m);
  t.regex(text, /^pull_module_coalesced_waiters_total [1-9]/m);
  t.regex(text, /^pull_misses_total 0$/m, 'no provider read was counted');
});

test.serial('an upstream //* is handed out as the directory it expanded to, never as //*', async (t) => {
  const m = await mirrorOver(t);
  const res = await m.get(`${modulesBase}5.2.0/download`);
  t.is(res.status, 204);
  t.is(res.headers.get('x-terraform-get'), `${m.base}${modulesBase}5.2.0/archive.tar.gz//terraform-aws-vpc-5.2.0`);
});

test.serial('with the upstream down, held versions are still listed and downloaded, from the list cached before', async (t) => {
  const m = await mirrorOver(t);
  t.is((await m.get(`${modulesBase}5.0.0/download`)).status, 204);
  const listed = await m.versionsOf();
  t.context.registry.fault({ fault: { kind: 'status500' } });
  m.clock.t += TTL_MS + 1;
  m.mirror.invalidate();
  t.deepEqual(await m.versionsOf(), listed, 'the cached list, stale');
  const held = await m.get(`${modulesBase}5.0.0/download`);
  t.is(held.status, 204);
  const cold = await m.get(`${modulesBase}5.1.0/download`);
  t.is(cold.status, 503);
  t.truthy(cold.headers.get('retry-after'));
  t.is(m.fetcher.calls, 1, 'only the first, held version was ever fetched');
});

test.serial('an upstream answering 429 with Retry-After is left alone: the next cold download is a 503 at once with no request', async (t) => {
  const m = await mirrorOver(t);
  t.context.registry.fault({ fault: { kind: 'status429', retryAfter: 120 }, path: '/versions' });
  const first = await m.get(`${modulesBase}5.1.0/download`);
  t.is(first.status, 503);
  t.true(Number(first.headers.get('retry-after')) >= 100);
  const sent = t.context.registry.requests();
  const second = await m.get(`${modulesBase}5.0.0/download`);
  t.is(second.status, 503);
  t.is(t.context.registry.requests(), sent, 'nothing sent while backing off');
  t.is(m.fetcher.calls, 0);
});

test.serial('an unsupported source scheme is a 502 naming it; nothing is fetched or stored', async (t) => {
  const m = await mirrorOver(t);
  const res = await m.get(`${modulesBase}5.3.0/download`);
  t.is(res.status, 502);
  t.regex(((await res.json()) as { error: { message: string } }).error.message, /s3/);
  t.is(m.fetcher.calls, 0);
  t.deepEqual(await m.storedKeys(), []);
});

test.serial('a package the fetcher refuses (a bomb past the limits) is a 502 with the reason; nothing is stored or recorded', async (t) => {
  const m = await mirrorOver(t);
  m.fetcher.error = new LimitExceeded('the module tree is larger than limits.module_max_tree_bytes (256 MiB)');
  const res = await m.get(`${modulesBase}5.1.0/download`);
  t.is(res.status, 502);
  const body = (await res.json()) as { error: { message: string; upstream: string } };
  t.regex(body.error.message, /module_max_tree_bytes/);
  t.is(body.error.upstream, HOST);
  t.deepEqual(await m.storedKeys(), []);
  t.is(m.repos.modules.findModule({ hostname: HOST, namespace: 'terraform-aws-modules', name: 'vpc', system: 'aws' }), undefined);
});

test.serial('with the real fetcher, an upstream tarball named //* is served as the normalized archive of its one directory', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-module-files-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.writeFileSync(
    path.join(root, 'vpc-5.5.0.tar.gz'),
    tarGz([
      { name: 'terraform-aws-vpc-5.5.0/main.tf', content: 'resource "null_resource" "x" {}\n', mtime: 1_600_000_000 },
      { name: 'terraform-aws-vpc-5.5.0/modules/sub/main.tf', content: 'output "y" { value = 1 }\n', mtime: 1_650_000_000 },
    ]),
  );
  const files = await startStaticServer(root);
  t.teardown(() => files.close());
  t.context.registry.addModule({ namespace: 'terraform-aws-modules', name: 'vpc', system: 'aws', versions: { '5.5.0': `${files.url}vpc-5.5.0.tar.gz//*` } });
  const limits = { maxDownloadBytes: 1 << 20, maxTreeBytes: 1 << 20, maxEntries: 100 };
  const noGit = { checkout: () => Promise.reject(new Error('no git here')), lsRemote: () => Promise.reject(new Error('no git here')) };
  const m = await mirrorOver(t, {}, (stagingDir) => createModuleFetcher({ limits, stagingDir, http: upstreamHttpClient({ ca: files.caPem }, files.url), git: noGit }));
  const res = await m.get(`${modulesBase}5.5.0/download`);
  t.is(res.status, 204);
  t.is(res.headers.get('x-terraform-get'), `${m.base}${modulesBase}5.5.0/archive.tar.gz//terraform-aws-vpc-5.5.0`);
  const archive = await m.get(`${modulesBase}5.5.0/archive.tar.gz`);
  t.is(archive.headers.get('content-type'), 'application/gzip');
  const file = path.join(root, 'served.tar.gz');
  fs.writeFileSync(file, Buffer.from(await archive.arrayBuffer()));
  t.deepEqual(await readTarGz(file), {
    'terraform-aws-vpc-5.5.0/': 'dir',
    'terraform-aws-vpc-5.5.0/main.tf': '644 resource "null_resource" "x" {}\n',
    'terraform-aws-vpc-5.5.0/modules/': 'dir',
    'terraform-aws-vpc-5.5.0/modules/sub/': 'dir',
    'terraform-aws-vpc-5.5.0/modules/sub/main.tf': '644 output "y" { value = 1 }\n',
  });
  t.is(files.requests('/vpc-5.5.0.tar.gz'), 1);
});

test.serial('a listed version whose source is gone upstream (a deleted git tag) is a 502 naming what is missing, not a 404', async (t) => {
  const m = await mirrorOver(t);
  m.fetcher.error = new NotFound('ref v5.1.0 not found in https://github.example/terraform-aws-modules/terraform-aws-vpc');
  const res = await m.get(`${modulesBase}5.1.0/download`);
  t.is(res.status, 502);
  t.regex(((await res.json()) as { error: { message: string } }).error.message, /lists version 5\.1\.0 .* but its package is missing: ref v5\.1\.0 not found/);
});

const refused: Array<{ name: string; policy: Partial<PullThroughPolicy>; path: string }> = [
  { name: 'pull-through off', policy: { enabled: false }, path: `${modulesBase}5.1.0/download` },
  { name: 'an excluded module', policy: { exclude: [`${HOST}/terraform-aws-modules/vpc/aws`] }, path: `${modulesBase}5.1.0/download` },
  { name: 'a module outside every include', policy: { include: [`${HOST}/hashicorp/*`] }, path: `${modulesBase}versions` },
  { name: 'a host that is not an upstream', policy: {}, path: 'hosts/modules.example.com/v1/modules/terraform-aws-modules/vpc/aws/5.1.0/download' },
];
for (const c of refused) {
  test.serial(`${c.name}: a cold module read is a 404 and the upstream gets no request`, async (t) => {
    const m = await mirrorOver(t, c.policy);
    t.is((await m.get(c.path)).status, 404);
    t.is(t.context.registry.requests(), 0);
    t.is(m.fetcher.calls, 0);
  });
}
