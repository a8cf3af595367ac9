import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { IntegrityError } from '../../server/src/errors.js';
import { ingestPackage, sha256File, type PackageCandidate } from '../../server/src/packages/ingest.js';
import { openPackageDb } from '../fixtures/package-db.js';
import { writeProviderZip } from '../fixtures/zips.js';

const limits = { zipMaxEntries: 100, zipMaxUncompressedBytes: 1 << 26, zipMaxRatio: 1000, moduleMaxDownloadBytes: 1 << 24, moduleMaxTreeBytes: 1 << 26, moduleMaxEntries: 1000 };
const provider = { hostname: 'registry.terraform.io', namespace: 'acme', type: 'race' };
const filename = 'terraform-provider-race_1.0.0_linux_amd64.zip';

async function setup(t: { teardown(fn: () => void): void }) {
  const { dir, store, providers } = await openPackageDb(t, 'ingest-race');
  const file = path.join(dir, filename);
  await writeProviderZip(file, { type: 'race', version: '1.0.0' });
  const sha256 = await sha256File(file);
  const candidate = (expected: PackageCandidate['expected']): PackageCandidate => ({
    provider, version: '1.0.0', os: 'linux', arch: 'amd64', filename, file, origin: 'imported', expected,
  });
  /** What a concurrent ingest of the same bytes commits: a row naming the same content key. */
  const recordConcurrent = (objectKey: string) =>
    providers.recordPackage({
      provider, version: '1.0.0', origin: 'loaded', os: 'linux', arch: 'amd64', filename, size: fs.statSync(file).size, sha256, h1: 'h1:concurrent', objectKey,
    });
  return { store, providers, file, sha256, candidate, recordConcurrent };
}

test('an aborted ingest keeps the object when a concurrent ingest recorded it between the check and the delete', async (t) => {
  const s = await setup(t);
  const realDelete = s.store.delete.bind(s.store);
  let deletedKey = '';
  // The other ingest commits its row just after our "is it referenced?" check said no.
  s.store.delete = async (key: string) => {
    deletedKey = key;
    s.recordConcurrent(key);
    await realDelete(key);
  };
  await t.throwsAsync(ingestPackage({ store: s.store, providers: s.providers, limits }, s.candidate({ sha256: s.sha256, h1: ['h1:wrong'] })), { instanceOf: IntegrityError });
  t.not(deletedKey, '', 'the aborted ingest did try to remove its object');
  t.true(s.providers.isObjectKeyInUse(deletedKey));
  const held = await s.store.head(deletedKey);
  t.truthy(held, 'the row does not point at a missing object');
  const { body } = await s.store.get(deletedKey);
  const copy = path.join(path.dirname(s.file), 'copy.zip');
  await fs.promises.writeFile(copy, body);
  t.is(await sha256File(copy), s.sha256, 'the object put back is the verified bytes');
});

test('an aborted ingest deletes its object when no row references the key', async (t) => {
  const s = await setup(t);
  await t.throwsAsync(ingestPackage({ store: s.store, providers: s.providers, limits }, s.candidate({ sha256: s.sha256, h1: ['h1:wrong'] })), { instanceOf: IntegrityError });
  const left = [];
  for await (const o of s.store.list('providers/')) left.push(o.key);
  t.deepEqual(left, []);
});

test('an ingest puts its object back when it was deleted between the upload and the row commit', async (t) => {
  const s = await setup(t);
  const realRecord = s.providers.recordPackage.bind(s.providers);
  // An aborted ingest of the same bytes (or the sweep) checked the rows before ours committed, and deletes now.
  s.providers.recordPackage = (p) => {
    fs.rmSync(path.join(s.store.root, ...p.objectKey.split('/')));
    return realRecord(p);
  };
  const ingested = await ingestPackage({ store: s.store, providers: s.providers, limits }, s.candidate({ sha256: s.sha256 }));
  t.is(ingested.outcome, 'created');
  t.truthy(await s.store.head(ingested.objectKey), 'the recorded row has its object');
});
