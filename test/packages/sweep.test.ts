import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import test from 'ava';
import { openPackageDb } from '../fixtures/package-db.js';
import { ModuleRepository } from '../../server/src/db/modules.js';
import { ObjectReferenceRepository } from '../../server/src/db/object-references.js';
import { StagingArea } from '../../server/src/loads/staging.js';
import { sweepOrphans } from '../../server/src/packages/sweep.js';

const provider = { hostname: 'registry.terraform.io', namespace: 'acme', type: 'swept' };
const v1 = 'providers/registry.terraform.io/acme/swept/1.0.0/';
const v2 = 'providers/registry.terraform.io/acme/swept/2.0.0/';

async function setup(t: { teardown(fn: () => void): void }) {
  const { dir, db, store, providers } = await openPackageDb(t, 'sweep');
  const put = (key: string) => store.put(key, Readable.from([Buffer.from(key)]));
  const keys = async (prefix = '') => {
    const out: string[] = [];
    for await (const o of store.list(prefix)) out.push(o.key);
    return out.sort();
  };
  return { dir, db, store, put, keys, providers, modules: new ModuleRepository(db), references: new ObjectReferenceRepository(db) };
}

test('the sweep deletes objects no row names and keeps packages, their evidence and version files', async (t) => {
  const s = await setup(t);
  const held = `${v1}0123456789abcdef/terraform-provider-swept_1.0.0_linux_amd64.zip`;
  s.providers.recordPackage({
    provider, version: '1.0.0', origin: 'loaded', os: 'linux', arch: 'amd64', filename: 'terraform-provider-swept_1.0.0_linux_amd64.zip',
    size: 1, sha256: '0123456789abcdef'.repeat(4), h1: 'h1:x', objectKey: held,
    evidence: { shasumsKey: `${v1}terraform-provider-swept_1.0.0_SHA256SUMS`, signatureKey: `${v1}terraform-provider-swept_1.0.0_SHA256SUMS.sig`, keyIds: ['K'] },
  });
  const moduleDir = 'modules/registry.terraform.io/acme/net/aws/1.0.0/';
  const heldModule = `${moduleDir}${'a'.repeat(64)}.tar.gz`;
  s.modules.recordVersion({ hostname: 'registry.terraform.io', namespace: 'acme', name: 'net', system: 'aws' }, {
    version: '1.0.0', location: 'https://example.com/net.tar.gz', sourceKind: 'archive', archiveKey: heldModule, sha256: 'a'.repeat(64), size: 1, files: 1,
  }, { kind: 'loaded' });
  const kept = [held, `${v1}terraform-provider-swept_1.0.0_SHA256SUMS`, `${v1}terraform-provider-swept_1.0.0_SHA256SUMS.sig`, `${v1}signing-keys.json`, 'backups/b.db', heldModule];
  const orphans = [
    `${v1}fedcba9876543210/terraform-provider-swept_1.0.0_darwin_arm64.zip`, // killed after its upload, before its row
    `${v2}terraform-provider-swept_2.0.0_SHA256SUMS`, // evidence of a version whose first package never got a row
    `${v2}signing-keys.json`,
    `${moduleDir}${'b'.repeat(64)}.tar.gz`, // a module ingest killed between storing and recording
  ];
  for (const k of [...kept, ...orphans]) await s.put(k);

  const result = await sweepOrphans({ store: s.store, references: s.references, graceMs: 0, now: () => Date.now() + 1000 });
  t.like(result, { listed: 9, deleted: 4, young: 0, failed: 0, raced: 0 });
  t.deepEqual(await s.keys(), [...kept].sort());
});

test('an unreferenced object younger than the grace period is left for an ingest about to record it', async (t) => {
  const s = await setup(t);
  const fresh = `${v2}aaaaaaaaaaaaaaaa/terraform-provider-swept_2.0.0_linux_amd64.zip`;
  await s.put(fresh);
  const result = await sweepOrphans({ store: s.store, references: s.references, graceMs: 60_000 });
  t.like(result, { deleted: 0, young: 1 });
  t.deepEqual(await s.keys(), [fresh]);
  const later = await sweepOrphans({ store: s.store, references: s.references, graceMs: 60_000, now: () => Date.now() + 120_000 });
  t.like(later, { deleted: 1, young: 0 });
});

test('the sweep removes staging files of processes that no longer run and keeps live ones', async (t) => {
  const s = await setup(t);
  const staging = new StagingArea(path.join(s.dir, 'staging'));
  staging.init();
  fs.writeFileSync(path.join(staging.dir, `999999999-1-dead.zip`), 'partial');
  fs.writeFileSync(path.join(staging.dir, `${process.pid}-1-live.zip`), 'in progress');
  const result = await sweepOrphans({ store: s.store, references: s.references, staging, graceMs: 0 });
  t.is(result.staging, 1);
  t.deepEqual(fs.readdirSync(staging.dir), [`${process.pid}-1-live.zip`]);
});

test('a row that appears right after the sweep deleted its object is counted as a race, not passed over', async (t) => {
  const s = await setup(t);
  const key = `${v2}bbbbbbbbbbbbbbbb/terraform-provider-swept_2.0.0_linux_amd64.zip`;
  await s.put(key);
  const realDelete = s.store.delete.bind(s.store);
  s.store.delete = async (k: string) => {
    await realDelete(k);
    // An ingest of the same bytes recorded its row between the sweep's last look and its delete.
    s.providers.recordPackage({
      provider, version: '2.0.0', origin: 'loaded', os: 'linux', arch: 'amd64', filename: 'terraform-provider-swept_2.0.0_linux_amd64.zip',
      size: 1, sha256: 'b'.repeat(64), h1: 'h1:x', objectKey: k,
    });
  };
  const result = await sweepOrphans({ store: s.store, references: s.references, graceMs: 0, now: () => Date.now() + 1000 });
  t.like(result, { deleted: 1, raced: 1 });
});
