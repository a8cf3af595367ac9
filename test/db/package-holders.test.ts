import path from 'node:path';
import test from 'ava';
import { formatHolder, parseHolder, type PackageHolder } from '../../server/src/db/package-holders.js';
import { InvalidInput } from '../../server/src/errors.js';
import type { JobItem } from '../../server/src/db/jobs.js';
import { fetchPackageHandler } from '../../server/src/loads/fetch-package.js';
import { StagingArea } from '../../server/src/loads/staging.js';
import { ingestPackage, type PackageCandidate } from '../../server/src/packages/ingest.js';
import type { ProviderRegistry } from '../../server/src/upstream/registry.js';
import { openPackageDb } from '../fixtures/package-db.js';
import { writeProviderZip } from '../fixtures/zips.js';

const limits = { zipMaxEntries: 100, zipMaxUncompressedBytes: 1 << 26, zipMaxRatio: 1000, moduleMaxDownloadBytes: 1 << 24, moduleMaxTreeBytes: 1 << 26, moduleMaxEntries: 1000 };
const provider = { hostname: 'registry.terraform.io', namespace: 'acme', type: 'held' };
const filename = 'terraform-provider-held_1.0.0_linux_amd64.zip';
const teamA: PackageHolder = { kind: 'set', set: { kind: 'ProviderSet', namespace: 'team-a', name: 'core' } };

async function setup(t: { teardown(fn: () => void): void }) {
  const { dir, store, providers } = await openPackageDb(t, 'holders');
  const file = path.join(dir, filename);
  await writeProviderZip(file, { type: 'held', version: '1.0.0' });
  const candidate = (over: Partial<PackageCandidate>): PackageCandidate => ({
    provider, version: '1.0.0', os: 'linux', arch: 'amd64', filename, file, origin: 'imported', expected: {}, ...over,
  });
  const holders = () => providers.holdersOf(providers.findPackage(provider, '1.0.0', 'linux', 'amd64')!.id);
  return { dir, store, providers, candidate, holders };
}

test('the holder text form round-trips and refuses anything else', (t) => {
  const moduleSet: PackageHolder = { kind: 'set', set: { kind: 'ModuleSet', namespace: 'team-a', name: 'net' } };
  for (const h of [{ kind: 'loaded' }, { kind: 'imported' }, { kind: 'pulled' }, teamA, moduleSet] as PackageHolder[]) t.deepEqual(parseHolder(formatHolder(h)), h);
  t.is(formatHolder(teamA), 'set:ProviderSet/team-a/core');
  for (const bad of ['', 'set:', 'set:PackageSet/a/b', 'set:ProviderSet/a', 'set:ProviderSet/a/b/c', 'admin']) {
    t.throws(() => parseHolder(bad), { instanceOf: InvalidInput }, bad);
  }
});

test('an import records the package as imported', async (t) => {
  const s = await setup(t);
  await ingestPackage({ store: s.store, providers: s.providers, limits }, s.candidate({}));
  t.deepEqual(s.holders(), [{ kind: 'imported' }]);
});

test("a set's ingest records the set, and importing the same bytes later adds the import", async (t) => {
  const s = await setup(t);
  await ingestPackage({ store: s.store, providers: s.providers, limits }, s.candidate({ origin: 'loaded', holder: teamA }));
  t.deepEqual(s.holders(), [teamA]);
  const again = await ingestPackage({ store: s.store, providers: s.providers, limits }, s.candidate({ origin: 'imported' }));
  t.is(again.outcome, 'unchanged');
  t.deepEqual(s.holders(), [{ kind: 'imported' }, teamA]);
});

test('a load that finds the package held records its holder and skips without calling the upstream', async (t) => {
  const s = await setup(t);
  await ingestPackage({ store: s.store, providers: s.providers, limits }, s.candidate({}));
  const unused = new Proxy({}, { get: () => () => Promise.reject(new Error('the upstream must not be called')) }) as ProviderRegistry;
  const handler = fetchPackageHandler({
    registry: () => unused,
    store: s.store,
    providers: s.providers,
    limits: { ...limits } as never,
    staging: new StagingArea(path.join(s.dir, 'staging')),
    holderOf: (jobId) => (jobId === 7 ? teamA : { kind: 'loaded' }),
  });
  const item = { id: 1, jobId: 7, source: 'registry.terraform.io/acme/held', version: '1.0.0', platform: 'linux_amd64' } as JobItem;
  const ctx = { signal: new AbortController().signal, progress: () => undefined };
  t.is(await handler(item, ctx as never), 'skipped');
  t.is(await handler({ ...item, jobId: 8 }, ctx as never), 'skipped');
  t.deepEqual(s.holders(), [{ kind: 'imported' }, { kind: 'loaded' }, teamA]);
});
