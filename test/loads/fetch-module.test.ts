import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { loadConfig } from '../../server/src/config/load.js';
import { formatHolder, type PackageHolder } from '../../server/src/db/package-holders.js';
import { createLoadWorkers } from '../../server/src/loads/service.js';
import { createModuleIngest } from '../../server/src/modules/ingest.js';
import type { FetchedModule, ModuleFetcher, ModuleHolder, ModuleLocation } from '../../server/src/modules/ports.js';
import { openRuntime } from '../../server/src/runtime.js';
import { RegistryClients } from '../../server/src/upstream/registry.js';
import { startFakeRegistry } from '../fixtures/fake-registry.js';

// Compile-time: the module contracts' holder is the package holder, written out (ports.ts says why).
const sameHolder: [ModuleHolder, PackageHolder] = [{ kind: 'loaded' } as PackageHolder, { kind: 'loaded' } as ModuleHolder];
void sameHolder;

const LOCATION = 'https://archives.invalid/net-1.2.0.tar.gz//modules/sub';

/** A fetcher that stages fixed bytes for any location, reporting progress, and counts its calls. */
function countingFetcher(stagingDir: string) {
  const calls: ModuleLocation[] = [];
  const fetcher: ModuleFetcher = {
    async fetch(location, opts) {
      calls.push(location);
      const bytes = Buffer.from(`module tree of ${location.raw}`);
      opts?.onProgress?.(1000);
      opts?.onProgress?.(2500);
      fs.mkdirSync(stagingDir, { recursive: true });
      const file = path.join(stagingDir, `${process.pid}-${calls.length}.tar.gz`);
      fs.writeFileSync(file, bytes);
      const fetched: FetchedModule = { file, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, files: 3, location, subdir: 'modules/sub' };
      return fetched;
    },
    resolveRef: async () => undefined,
  };
  return { fetcher, calls };
}

async function setup() {
  const registry = await startFakeRegistry([], {
    modules: [{ namespace: 'acme', name: 'net', system: 'aws', versions: { '1.2.0': LOCATION, '1.3.0': LOCATION } }],
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfm-fetch-module-'));
  fs.writeFileSync(path.join(dir, 'tfmirror.hcl'), `data_dir = "./data"\nupstream "${registry.hostname}" {\n  url = "${registry.url}"\n}\n`);
  const config = await loadConfig({ file: path.join(dir, 'tfmirror.hcl'), env: { TFM_PULL_THROUGH_ENABLED: 'false' }, cwd: dir });
  const runtime = await openRuntime(config);
  const upstreams = new RegistryClients(config.upstreams, { ca: registry.caPem, maxAttempts: 1 });
  const { fetcher, calls } = countingFetcher(path.join(dir, 'staging'));
  const ingest = createModuleIngest({ repos: runtime.repos, leases: runtime.repos.pullLeases, store: runtime.store, fetcher, upstreams: (h) => upstreams.modules(h) });
  const source = `${registry.hostname}/acme/net/aws`;
  const load = async (versions: string[], holder: string) => {
    const jobId = runtime.repos.jobs.createJob(
      { kind: 'load', requestedBy: 'test', spec: {}, items: versions.map((version) => ({ source, version, platform: '' })), maxAttempts: 1, holder },
      Date.now(),
    );
    const workers = createLoadWorkers(runtime, config, { jobId, moduleIngest: ingest });
    try {
      await workers.pool.runUntilIdle(jobId);
    } finally {
      await workers.close();
    }
    return { ...runtime.repos.jobs.getJob(jobId), exposed: workers.moduleIngest === ingest };
  };
  const close = async () => {
    upstreams.close();
    runtime.close();
    await registry.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { registry, runtime, calls, load, close, address: { hostname: registry.hostname, namespace: 'acme', name: 'net', system: 'aws' } };
}

test('a module item runs through the module ingest: fetched once, stored, held by the job\'s holder, bytes counted; again it is skipped', async (t) => {
  const s = await setup();
  t.teardown(s.close);
  const set: PackageHolder = { kind: 'set', set: { kind: 'ModuleSet', namespace: 'team-a', name: 'net' } };
  const job = await s.load(['1.2.0'], formatHolder(set));
  t.is(job.status, 'succeeded');
  t.true(job.exposed, 'the workers expose the ingest they run, for pull-through to share');
  t.like(job.items[0], { platform: '', version: '1.2.0', status: 'succeeded', bytesDone: 2500 });
  t.is(s.calls.length, 1);
  t.is(s.calls[0]!.kind, 'archive');
  t.is(s.registry.requests('/v1/modules/acme/net/aws/1.2.0/download'), 1);
  const row = s.runtime.repos.modules.findModule(s.address)!;
  const version = s.runtime.repos.modules.findVersion(row.id, '1.2.0')!;
  t.is(version.subdir, 'modules/sub');
  t.deepEqual(s.runtime.repos.modules.holdersOf(version.id), [set]);
  t.not(await s.runtime.store.head(version.archiveKey), null, 'the archive is in the store');

  const again = await s.load(['1.2.0'], 'loaded');
  t.is(again.status, 'succeeded');
  t.like(again.items[0], { status: 'skipped' });
  t.is(s.calls.length, 1, 'a held version is not fetched again');
  t.is(s.registry.requests('/v1/modules/acme/net/aws/1.2.0/download'), 1, 'nor asked of the upstream');
  t.deepEqual(s.runtime.repos.modules.holdersOf(version.id).map((h) => h.kind).sort(), ['loaded', 'set']);
});

test('a module version the upstream does not have fails its item with the reason, and nothing is stored', async (t) => {
  const s = await setup();
  t.teardown(s.close);
  const job = await s.load(['9.9.9'], 'loaded');
  t.is(job.status, 'failed');
  t.is(job.items[0]!.status, 'failed');
  t.regex(job.items[0]!.error ?? '', /9\.9\.9|not found|404/i);
  t.is(s.calls.length, 0);
  t.is(s.runtime.repos.modules.findModule(s.address), undefined);
});
