import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { type Database, openDatabase } from '../../server/src/db/database.js';
import { ModuleRepository } from '../../server/src/db/modules.js';
import { PullLeaseRepository } from '../../server/src/db/pull-leases.js';
import { IntegrityError, InvalidInput, NotFound, Unavailable } from '../../server/src/errors.js';
import { type ModuleIngestDeps, createModuleIngest, moduleArchiveKey, moduleLeaseKey } from '../../server/src/modules/ingest.js';
import type { ModuleAddress, ModuleHolder } from '../../server/src/modules/ports.js';
import zlib from 'node:zlib';
import { createModuleFetcher } from '../../server/src/modules/fetch.js';
import { FilesystemStore } from '../../server/src/storage/filesystem.js';
import { RegistryClient } from '../../server/src/upstream/registry.js';
import { upstreamHttpClient } from '../../server/src/upstream/upstream-http.js';
import { type FakeRegistry, startFakeRegistry } from '../fixtures/fake-registry.js';
import { tarGz } from '../fixtures/module-archives.js';
import { startStaticServer } from '../fixtures/static-server.js';
import { waitFor } from '../fixtures/wait.js';
import { FakeModuleFetcher } from './fakes.js';

const test = anyTest as TestFn<{ registry: FakeRegistry }>;

const GIT = 'git::https://github.com/acme/terraform-aws-net.git//modules/sub?ref=v1.2.0';
const net: ModuleAddress = { hostname: 'registry.terraform.io', namespace: 'acme', name: 'net', system: 'aws' };
const teamA: ModuleHolder = { kind: 'set', set: { kind: 'ModuleSet', namespace: 'team-a', name: 'net' } };

test.before(async (t) => {
  t.context.registry = await startFakeRegistry([], {
    modules: [
      {
        namespace: 'acme',
        name: 'net',
        system: 'aws',
        versions: {
          '1.2.0': GIT,
          '1.3.0': './archive/net-1.3.0.tar.gz//*',
          '1.4.0': 'git::https://github.com/acme/terraform-aws-net?ref=v1.4.0',
          '9.0.0': 's3::https://s3.amazonaws.com/bucket/net.zip',
        },
      },
    ],
  });
});
test.afterEach.always((t) => t.context.registry.clearFaults());
test.after.always(async (t) => t.context.registry.close());

interface World {
  dir: string;
  dbFile: string;
  db: Database;
  modules: ModuleRepository;
  leases: PullLeaseRepository;
  store: FilesystemStore;
  fetcher: FakeModuleFetcher;
  published: number;
  ingest: ReturnType<typeof createModuleIngest>;
  /** Another ingest on its own connection to the same database: another process, as far as leases go. */
  another(over?: Partial<ModuleIngestDeps>): { ingest: ReturnType<typeof createModuleIngest>; fetcher: FakeModuleFetcher };
  stored(): Promise<string[]>;
}

async function world(t: { teardown(fn: () => void | Promise<void>): void }, registry: FakeRegistry, over: Partial<ModuleIngestDeps> = {}): Promise<World> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-module-ingest-'));
  const dbFile = path.join(dir, 'tfmirror.db');
  const db = openDatabase(dbFile);
  const store = new FilesystemStore({ path: path.join(dir, 'storage') });
  await store.init();
  const client = new RegistryClient({ hostname: 'registry.terraform.io', url: registry.url, ca: registry.caPem, maxAttempts: 1 });
  const closers: Array<() => void> = [() => client.close(), () => db.close()];
  t.teardown(() => {
    for (const c of closers.reverse()) c();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const fetcher = new FakeModuleFetcher();
  closers.unshift(() => fetcher.close());
  const modules = new ModuleRepository(db);
  const leases = new PullLeaseRepository(db);
  const w: World = {
    dir,
    dbFile,
    db,
    modules,
    leases,
    store,
    fetcher,
    published: 0,
    ingest: createModuleIngest({
      repos: { modules },
      leases,
      store,
      fetcher,
      upstreams: () => client.modules(),
      published: () => void w.published++,
      options: { peerPollMs: 20 },
      ...over,
    }),
    another(o = {}) {
      const db2 = openDatabase(dbFile);
      const f = new FakeModuleFetcher();
      closers.push(() => db2.close(), () => f.close());
      const ingest = createModuleIngest({
        repos: { modules: new ModuleRepository(db2) },
        leases: new PullLeaseRepository(db2),
        store,
        fetcher: f,
        upstreams: () => client.modules(),
        options: { peerPollMs: 20 },
        ...o,
      });
      return { ingest, fetcher: f };
    },
    async stored() {
      const keys: string[] = [];
      for await (const o of store.list('modules/')) keys.push(o.key);
      return keys.sort();
    },
  };
  return w;
}

const downloads = (registry: FakeRegistry, version: string) => registry.requests(`/v1/modules/acme/net/aws/${version}/download`);

test.serial('a cold ingest fetches once, stores the archive under its canonical key, records the row with its holder and removes the staged file', async (t) => {
  const { registry } = t.context;
  const w = await world(t, registry);
  const before = downloads(registry, '1.2.0');
  const got = await w.ingest.ingest(net, '1.2.0', { kind: 'loaded' });
  t.true(got.fetched);
  t.is(downloads(registry, '1.2.0') - before, 1);
  t.is(w.fetcher.calls, 1);
  t.like(w.fetcher.locations[0], { kind: 'git', url: 'https://github.com/acme/terraform-aws-net.git', ref: 'v1.2.0', subdir: 'modules/sub' });
  const key = moduleArchiveKey(net, '1.2.0', got.row.sha256);
  t.is(key, `modules/registry.terraform.io/acme/net/aws/1.2.0/${got.row.sha256}.tar.gz`);
  t.like(got.row, { version: '1.2.0', sourceKind: 'git', commit: 'c'.repeat(40), subdir: 'modules/sub', archiveKey: key, location: GIT, files: 2 });
  const head = await w.store.head(key);
  t.is(head?.size, got.row.size);
  t.deepEqual(await w.stored(), [key]);
  t.deepEqual(w.modules.holdersOf(got.row.id), [{ kind: 'loaded' }]);
  t.is(w.published, 1);
  t.deepEqual(w.fetcher.staged(), [], 'the staged file is removed');
  t.is(w.leases.find(moduleLeaseKey(net, '1.2.0')), undefined, 'the lease is released');
});

test.serial('a held version only gains the holder: no upstream request, no fetch', async (t) => {
  const { registry } = t.context;
  const w = await world(t, registry);
  const first = await w.ingest.ingest(net, '1.2.0', { kind: 'pulled' });
  const before = registry.requests();
  const again = await w.ingest.ingest({ ...net, namespace: 'ACME' }, '1.2.0', teamA);
  t.false(again.fetched);
  t.deepEqual(again.row, first.row);
  t.is(registry.requests(), before);
  t.is(w.fetcher.calls, 1);
  t.deepEqual(w.modules.holdersOf(first.row.id), [{ kind: 'pulled' }, teamA]);
});

test.serial("twenty concurrent ingests of one version make one download-location request and one fetch, and record each caller's holder", async (t) => {
  const { registry } = t.context;
  const w = await world(t, registry);
  w.fetcher.options.delayMs = 100;
  const before = downloads(registry, '1.2.0');
  const holders: ModuleHolder[] = Array.from({ length: 20 }, (_, i) => ({ kind: 'set', set: { kind: 'ModuleSet', namespace: `ns-${String(i).padStart(2, '0')}`, name: 'n' } }));
  const results = await Promise.all(holders.map((h) => w.ingest.ingest(net, '1.2.0', h)));
  t.is(downloads(registry, '1.2.0') - before, 1);
  t.is(w.fetcher.calls, 1);
  t.is(new Set(results.map((r) => r.row.id)).size, 1);
  t.deepEqual(w.modules.holdersOf(results[0]!.row.id), holders);
  t.is(w.published, 1);
});

test.serial('two processes on one database fetch once: the one that finds the live lease waits for the row', async (t) => {
  const { registry } = t.context;
  const w = await world(t, registry);
  w.fetcher.options.delayMs = 300;
  const other = w.another();
  const mine = w.ingest.ingest(net, '1.2.0', { kind: 'pulled' });
  await waitFor('the first process to take the lease', () => w.fetcher.calls === 1);
  const theirs = await other.ingest.ingest(net, '1.2.0', teamA);
  t.false(theirs.fetched, 'the other process waited instead of fetching');
  t.true((await mine).fetched);
  t.is(w.fetcher.calls + other.fetcher.calls, 1);
  t.deepEqual(w.modules.holdersOf(theirs.row.id), [{ kind: 'pulled' }, teamA]);
});

test.serial("a lease left by a dead process is taken over once it expires", async (t) => {
  const { registry } = t.context;
  const w = await world(t, registry);
  w.leases.acquire(moduleLeaseKey(net, '1.2.0'), 'dead-process', 300, Date.now());
  const started = Date.now();
  const got = await w.ingest.ingest(net, '1.2.0', { kind: 'pulled' });
  t.true(got.fetched);
  t.true(Date.now() - started >= 250, 'it waited for the lease to lapse');
  t.is(w.fetcher.calls, 1);
});

test.serial('a peer that never finishes makes the caller Unavailable after the peer wait, without a fetch', async (t) => {
  const { registry } = t.context;
  const w = await world(t, registry, { options: { peerPollMs: 20, peerWaitMs: 200 } });
  w.leases.acquire(moduleLeaseKey(net, '1.2.0'), 'busy-process', 60_000, Date.now());
  const err = await t.throwsAsync(w.ingest.ingest(net, '1.2.0', { kind: 'pulled' }), { instanceOf: Unavailable });
  t.regex(err.message, /another mirror process has been fetching module registry\.terraform\.io\/acme\/net\/aws 1\.2\.0/);
  t.is(w.fetcher.calls, 0);
});

test.serial('a failed fetch stores and records nothing and releases the lease; the next ingest fetches again', async (t) => {
  const { registry } = t.context;
  const w = await world(t, registry);
  w.fetcher.options.fail = new IntegrityError('archive entry ../x leaves the tree');
  await t.throwsAsync(w.ingest.ingest(net, '1.2.0', { kind: 'pulled' }), { instanceOf: IntegrityError, message: /leaves the tree/ });
  t.deepEqual(await w.stored(), []);
  t.is(w.modules.findModule(net), undefined);
  t.is(w.leases.find(moduleLeaseKey(net, '1.2.0')), undefined);
  t.is(w.published, 0);
  delete w.fetcher.options.fail;
  t.true((await w.ingest.ingest(net, '1.2.0', { kind: 'pulled' })).fetched);
  t.is(w.fetcher.calls, 2);
});

test.serial('a failed record removes the stored archive', async (t) => {
  const { registry } = t.context;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-module-ingest-db-'));
  const db = openDatabase(path.join(dir, 'x.db'));
  t.teardown(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const real = new ModuleRepository(db);
  const failing = Object.assign(Object.create(real) as ModuleRepository, {
    recordVersion: () => {
      throw new Error('disk I/O error');
    },
  });
  const w = await world(t, registry, { repos: { modules: failing } });
  await t.throwsAsync(w.ingest.ingest(net, '1.2.0', { kind: 'pulled' }), { message: 'disk I/O error' });
  t.is(w.fetcher.calls, 1);
  t.deepEqual(await w.stored(), [], 'nothing is left under a key no row names');
  t.deepEqual(w.fetcher.staged(), []);
});

test.serial('a fetched size that does not match the bytes is refused by the store and nothing is stored', async (t) => {
  const { registry } = t.context;
  const w = await world(t, registry);
  w.fetcher.options.sizeSkew = 1;
  await t.throwsAsync(w.ingest.ingest(net, '1.2.0', { kind: 'pulled' }), { instanceOf: IntegrityError });
  t.deepEqual(await w.stored(), []);
  t.is(w.modules.findModule(net), undefined);
  t.deepEqual(w.fetcher.staged(), []);
});

test.serial('an unsupported scheme is refused naming it, before any fetch', async (t) => {
  const { registry } = t.context;
  const w = await world(t, registry);
  const err = await t.throwsAsync(w.ingest.ingest(net, '9.0.0', { kind: 'pulled' }), { instanceOf: InvalidInput });
  t.regex(err.message, /s3/);
  t.is(w.fetcher.calls, 0);
  t.deepEqual(await w.stored(), []);
});

test.serial('a version the upstream does not have is NotFound and nothing is fetched; an invalid version is refused before any request', async (t) => {
  const { registry } = t.context;
  const w = await world(t, registry);
  await t.throwsAsync(w.ingest.ingest(net, '7.7.7', { kind: 'pulled' }), { instanceOf: NotFound, message: /version 7\.7\.7 of module registry\.terraform\.io\/acme\/net\/aws not found upstream/ });
  const before = registry.requests();
  await t.throwsAsync(w.ingest.ingest(net, 'v1', { kind: 'pulled' }), { instanceOf: InvalidInput });
  t.is(registry.requests(), before);
  t.is(w.fetcher.calls, 0);
});

test.serial('a relative archive location is fetched from the URL it resolves to, with the expanded //* as the subdir', async (t) => {
  const { registry } = t.context;
  const w = await world(t, registry);
  const got = await w.ingest.ingest(net, '1.3.0', { kind: 'pulled' });
  t.like(w.fetcher.locations[0], { kind: 'archive', url: `${registry.url}v1/modules/acme/net/aws/1.3.0/archive/net-1.3.0.tar.gz`, format: 'tar.gz', subdir: '*' });
  t.like(got.row, { sourceKind: 'archive', subdir: 'top', commit: null });
});

test.serial('one caller giving up does not fail the others; the last one giving up aborts the fetch', async (t) => {
  const { registry } = t.context;
  const w = await world(t, registry);
  w.fetcher.options.delayMs = 300;
  const quitter = new AbortController();
  const stays = w.ingest.ingest(net, '1.2.0', { kind: 'pulled' });
  const leaves = w.ingest.ingest(net, '1.2.0', teamA, { signal: quitter.signal });
  setTimeout(() => quitter.abort(), 50);
  await t.throwsAsync(leaves, { name: 'AbortError' });
  t.true((await stays).fetched);

  const alone = new AbortController();
  const pending = w.ingest.ingest(net, '1.4.0', { kind: 'pulled' }, { signal: alone.signal });
  setTimeout(() => alone.abort(), 50);
  await t.throwsAsync(pending, { name: 'AbortError' });
  await waitFor('the lease to be released', () => w.leases.find(moduleLeaseKey(net, '1.4.0')) === undefined);
  // Aborted during the fetch, or before it started (a slow download-location answer): either way nothing went on.
  const fetched140 = w.fetcher.locations.findIndex((l) => l.kind === 'git' && l.ref === 'v1.4.0');
  if (fetched140 !== -1) t.true(w.fetcher.signals[fetched140]?.aborted, "the fetch's signal was aborted");
  t.deepEqual(await w.stored(), [(await stays).row.archiveKey]);
  t.is(w.modules.findVersion((await stays).row.moduleId, '1.4.0'), undefined);
});

test.serial('progress reaches every caller waiting on the fetch', async (t) => {
  const { registry } = t.context;
  const w = await world(t, registry);
  w.fetcher.options.delayMs = 50;
  const seen = [0, 0];
  await Promise.all([0, 1].map((i) => w.ingest.ingest(net, '1.2.0', { kind: 'pulled' }, { onProgress: (n) => void (seen[i]! += n) })));
  t.true(seen[0]! > 0);
  t.deepEqual(seen, [w.fetcher.progressReported, w.fetcher.progressReported]);
});

test.serial('a version another writer recorded meanwhile keeps its pinned tree, and the archive this ingest stored is removed', async (t) => {
  const { registry } = t.context;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-module-ingest-db-'));
  const db = openDatabase(path.join(dir, 'x.db'));
  t.teardown(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const real = new ModuleRepository(db);
  const pinned = real.recordVersion(net, {
    version: '1.2.0', location: GIT, sourceKind: 'git', commit: 'a'.repeat(40), archiveKey: 'modules/pinned.tar.gz', sha256: 'a'.repeat(64), size: 1, files: 1,
  }, { kind: 'loaded' }).row;
  // Blind to rows until it records: the race between its check and its record, made certain.
  const blind = Object.assign(Object.create(real) as ModuleRepository, { findModule: () => undefined });
  const w = await world(t, registry, { repos: { modules: blind } });
  const got = await w.ingest.ingest(net, '1.2.0', teamA);
  t.deepEqual(got.row, pinned);
  t.deepEqual(await w.stored(), [], 'its own archive is gone; the pinned one is kept');
  t.deepEqual(real.holdersOf(pinned.id), [{ kind: 'loaded' }, teamA]);
});

test.serial('with the real fetcher an upstream tar.gz named with //* is stored re-packed, the subdir expanded, and the same tree twice gives the same archive', async (t) => {
  const { registry } = t.context;
  const www = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-module-ingest-www-'));
  fs.writeFileSync(
    path.join(www, 'net-2.0.0.tar.gz'),
    tarGz([
      { name: 'acme-net-0123abc/', type: 'directory' },
      { name: 'acme-net-0123abc/main.tf', content: 'variable "cidr" {}\n' },
      { name: 'acme-net-0123abc/modules/sub/main.tf', content: 'output "x" { value = 1 }\n' },
    ]),
  );
  const files = await startStaticServer(www);
  t.teardown(async () => {
    await files.close();
    fs.rmSync(www, { recursive: true, force: true });
  });
  registry.addModule({ namespace: 'acme', name: 'net', system: 'aws', versions: { '2.0.0': `${files.url}net-2.0.0.tar.gz//*` } });
  const ingestWithRealFetcher = async () => {
    const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-module-ingest-staging-'));
    t.teardown(() => fs.rmSync(staging, { recursive: true, force: true }));
    const http = upstreamHttpClient({ ca: files.caPem, maxAttempts: 1 }, files.url);
    t.teardown(() => http.close());
    const fetcher = createModuleFetcher({
      limits: { maxDownloadBytes: 1 << 20, maxTreeBytes: 1 << 20, maxEntries: 100 },
      stagingDir: staging,
      http,
      git: {
        checkout: () => Promise.reject(new Error('no git in this test')),
        lsRemote: () => Promise.reject(new Error('no git in this test')),
      },
    });
    const w = await world(t, registry, { fetcher });
    const got = await w.ingest.ingest(net, '2.0.0', { kind: 'loaded' });
    t.deepEqual(fs.readdirSync(staging), [], 'staging is left empty');
    return { w, got };
  };
  const first = await ingestWithRealFetcher();
  t.like(first.got.row, { sourceKind: 'archive', subdir: 'acme-net-0123abc', location: `${files.url}net-2.0.0.tar.gz//*`, commit: null });
  t.deepEqual(await first.w.stored(), [moduleArchiveKey(net, '2.0.0', first.got.row.sha256)]);
  const object = await first.w.store.get(first.got.row.archiveKey);
  const chunks: Buffer[] = [];
  for await (const c of object.body) chunks.push(c as Buffer);
  const tar = zlib.gunzipSync(Buffer.concat(chunks)).toString('latin1');
  t.true(tar.includes('acme-net-0123abc/modules/sub/main.tf') && tar.includes('variable "cidr" {}'), 'the upstream tree is what was stored');
  t.is(Buffer.concat(chunks).length, first.got.row.size);

  const second = await ingestWithRealFetcher();
  t.is(second.got.row.sha256, first.got.row.sha256, 'byte-identical archives from the same tree');
  t.is(files.requests('/net-2.0.0.tar.gz'), 2);
});
