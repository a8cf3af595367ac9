import test from 'ava';
import { openDatabase } from '../../server/src/db/database.js';
import { ModuleRepository, type NewModuleVersion } from '../../server/src/db/modules.js';
import { ObjectReferenceRepository } from '../../server/src/db/object-references.js';
import type { SetIdentity } from '../../server/src/db/package-holders.js';
import { NotFound } from '../../server/src/errors.js';
import type { ModuleAddress, ModuleHolder } from '../../server/src/modules/ports.js';

const vpc: ModuleAddress = { hostname: 'registry.terraform.io', namespace: 'terraform-aws-modules', name: 'vpc', system: 'aws' };
const teamA: SetIdentity = { kind: 'ModuleSet', namespace: 'team-a', name: 'net' };
const teamB: SetIdentity = { kind: 'ModuleSet', namespace: 'team-b', name: 'net' };
const setA: ModuleHolder = { kind: 'set', set: teamA };
const setB: ModuleHolder = { kind: 'set', set: teamB };

function open(t: { teardown(fn: () => void): void }) {
  const db = openDatabase(':memory:');
  t.teardown(() => db.close());
  return { db, modules: new ModuleRepository(db), references: new ObjectReferenceRepository(db) };
}

let recorded = 0;

/** A version to record; each call names its own archive (as fetches of different trees do). */
function version(v: string, over: Partial<NewModuleVersion> = {}): NewModuleVersion {
  const sha256 = (String(++recorded) + 'a'.repeat(64)).slice(0, 64);
  return {
    version: v,
    location: `git::https://github.com/terraform-aws-modules/terraform-aws-vpc?ref=v${v}`,
    sourceKind: 'git',
    commit: 'c'.repeat(40),
    archiveKey: `modules/registry.terraform.io/terraform-aws-modules/vpc/aws/${v}/${sha256}.tar.gz`,
    sha256,
    size: 100,
    files: 3,
    ...over,
  };
}

test('recordVersion creates the module and version with its holder in one go, and records the same version again as unchanged', (t) => {
  const { modules } = open(t);
  const first = modules.recordVersion(vpc, version('5.1.0', { subdir: 'modules/sub' }), { kind: 'loaded' }, 1000);
  t.is(first.outcome, 'created');
  t.like(first.row, { version: '5.1.0', sourceKind: 'git', commit: 'c'.repeat(40), subdir: 'modules/sub', size: 100, files: 3, downloadCount: 0, lastDownloadAt: null, createdAt: 1000, driftCommit: null });
  const module = modules.findModule(vpc)!;
  t.like(module, { ...vpc, status: 'active', createdAt: 1000 });
  t.is(first.row.moduleId, module.id);

  // A second fetch (a tag that moved meanwhile) does not replace the pinned tree.
  const again = modules.recordVersion(vpc, version('5.1.0', { commit: 'd'.repeat(40), sha256: 'e'.repeat(64), archiveKey: 'modules/other.tar.gz' }), setA, 2000);
  t.is(again.outcome, 'unchanged');
  t.deepEqual(again.row, first.row);
  t.deepEqual(modules.holdersOf(first.row.id), [{ kind: 'loaded' }, setA]);
});

test('a module address matches whatever its case, and keeps the first spelling', (t) => {
  const { modules } = open(t);
  modules.recordVersion({ ...vpc, namespace: 'Terraform-AWS-Modules' }, version('5.0.0'), { kind: 'pulled' });
  const row = modules.findModule({ ...vpc, hostname: 'REGISTRY.terraform.io', name: 'VPC' })!;
  t.is(row.namespace, 'Terraform-AWS-Modules');
  t.is(modules.recordVersion(vpc, version('5.0.0'), { kind: 'loaded' }).outcome, 'unchanged');
  t.is(modules.listModules({ limit: 10, offset: 0 }).total, 1);
});

test('listVersions sorts by semver precedence, newest first, and findVersion finds one', (t) => {
  const { modules } = open(t);
  for (const v of ['5.2.0', '5.10.0', '5.10.0-beta.1', '4.9.9', '5.9.0']) modules.recordVersion(vpc, version(v), { kind: 'pulled' });
  const id = modules.findModule(vpc)!.id;
  t.deepEqual(modules.listVersions(id).map((v) => v.version), ['5.10.0', '5.10.0-beta.1', '5.9.0', '5.2.0', '4.9.9']);
  t.is(modules.findVersion(id, '5.9.0')?.version, '5.9.0');
  t.is(modules.findVersion(id, '6.0.0'), undefined);
});

test('listModules filters by query, status and hostname, pages, and totals every match with usage', (t) => {
  const { modules } = open(t);
  const names = ['vpc', 'eks', 'iam', 'rds', 's3-bucket'];
  for (const name of names) modules.recordVersion({ ...vpc, name }, version('1.0.0', { size: 10 }), { kind: 'pulled' });
  modules.recordVersion({ ...vpc, name: 'vpc' }, version('1.1.0', { size: 5 }), { kind: 'pulled' });
  modules.recordVersion({ hostname: 'registry.opentofu.org', namespace: 'acme', name: 'net', system: 'google' }, version('2.0.0'), { kind: 'pulled' });

  const page = modules.listModules({ limit: 2, offset: 1, hostname: 'registry.terraform.io' });
  t.is(page.total, 5);
  t.deepEqual(page.items.map((m) => m.name), ['iam', 'rds']);
  const vpcRow = modules.listModules({ query: 'AWS-MODULES/VPC', limit: 10, offset: 0 });
  t.is(vpcRow.total, 1);
  t.like(vpcRow.items[0], { name: 'vpc', versions: 2, bytes: 15, downloads: 0, lastDownloadAt: null });

  modules.setStatus(modules.findModule({ ...vpc, name: 'eks' })!.id, 'blocked');
  t.deepEqual(modules.listModules({ status: 'blocked', limit: 10, offset: 0 }).items.map((m) => m.name), ['eks']);
  t.is(modules.listModules({ query: 'google', limit: 10, offset: 0 }).items[0]?.hostname, 'registry.opentofu.org');
});

test('getModule and setStatus of a missing id are NotFound; setStatus returns the updated row', (t) => {
  const { modules } = open(t);
  t.throws(() => modules.getModule(42), { instanceOf: NotFound });
  t.throws(() => modules.setStatus(42, 'blocked'), { instanceOf: NotFound });
  const { row } = modules.recordVersion(vpc, version('1.0.0'), { kind: 'pulled' });
  t.like(modules.setStatus(row.moduleId, 'deprecated'), { id: row.moduleId, status: 'deprecated' });
  t.is(modules.getModule(row.moduleId).status, 'deprecated');
});

test('countDownload adds one and moves the last download only forward; setDrift records and clears drift', (t) => {
  const { modules } = open(t);
  const { row } = modules.recordVersion(vpc, version('1.0.0'), { kind: 'pulled' });
  modules.countDownload(row.id, 5000);
  modules.countDownload(row.id, 4000);
  t.like(modules.getVersionById(row.id), { downloadCount: 2, lastDownloadAt: 5000 });
  t.like(modules.setDrift(row.id, 'f'.repeat(40), 6000), { driftCommit: 'f'.repeat(40), driftCheckedAt: 6000, commit: 'c'.repeat(40) });
  t.like(modules.setDrift(row.id, null, 7000), { driftCommit: null, driftCheckedAt: 7000 });
});

test('deleteVersion removes one version and hands back its archive key; the module row stays', (t) => {
  const { modules } = open(t);
  const a = modules.recordVersion(vpc, version('1.0.0'), { kind: 'pulled' }).row;
  modules.recordVersion(vpc, version('1.1.0'), { kind: 'pulled' });
  const removed = modules.deleteVersion(a.moduleId, '1.0.0');
  t.deepEqual(removed.archiveKeys, [a.archiveKey]);
  t.deepEqual(modules.listVersions(a.moduleId).map((v) => v.version), ['1.1.0']);
  t.throws(() => modules.deleteVersion(a.moduleId, '1.0.0'), { instanceOf: NotFound });
  t.deepEqual(modules.holdersOf(a.id), [], 'its holders went with it');
});

test('deleteModule removes its versions and holders and returns only keys no other row names', (t) => {
  const { modules } = open(t);
  const shared = 'modules/shared.tar.gz';
  const a = modules.recordVersion(vpc, version('1.0.0', { archiveKey: shared }), { kind: 'pulled' }).row;
  const b = modules.recordVersion(vpc, version('1.1.0'), setA).row;
  // Another module whose version names the same bytes (identical trees share a key only by construction; rows are data).
  modules.recordVersion({ ...vpc, name: 'other' }, version('1.0.0', { archiveKey: shared }), { kind: 'pulled' });
  const removed = modules.deleteModule(a.moduleId);
  t.is(removed.module.id, a.moduleId);
  t.deepEqual(removed.archiveKeys, [b.archiveKey]);
  t.is(modules.findModule(vpc), undefined);
  t.deepEqual(modules.holdersOf(b.id), []);
  t.throws(() => modules.deleteModule(a.moduleId), { instanceOf: NotFound });
});

test('removeHolder deletes only the versions that set alone held, and keeps blocked modules', (t) => {
  const { modules } = open(t);
  const onlyA = modules.recordVersion(vpc, version('1.0.0'), setA).row;
  const alsoB = modules.recordVersion(vpc, version('1.1.0'), setA).row;
  modules.addHolder(alsoB.id, setB);
  const alsoPulled = modules.recordVersion(vpc, version('1.2.0'), setA).row;
  modules.addHolder(alsoPulled.id, { kind: 'pulled' });
  const eks = { ...vpc, name: 'eks' };
  const blocked = modules.recordVersion(eks, version('2.0.0'), setA).row;
  modules.setStatus(blocked.moduleId, 'blocked');

  const removed = modules.removeHolder(teamA);
  t.deepEqual(removed.versions, [
    { source: 'registry.terraform.io/terraform-aws-modules/vpc/aws', version: '1.0.0' },
    { source: 'registry.terraform.io/terraform-aws-modules/eks/aws', version: '2.0.0' },
  ]);
  t.deepEqual(removed.archiveKeys.sort(), [onlyA.archiveKey, blocked.archiveKey].sort());
  t.deepEqual(modules.listVersions(onlyA.moduleId).map((v) => v.version), ['1.2.0', '1.1.0']);
  t.deepEqual(modules.holdersOf(alsoB.id), [setB]);
  t.deepEqual(modules.holdersOf(alsoPulled.id), [{ kind: 'pulled' }]);
  t.like(modules.findModule(eks), { status: 'blocked' }, 'a blocked module keeps its row when emptied');
  t.deepEqual(modules.removeHolder(teamA), { versions: [], archiveKeys: [] });
});

test('removeHolder empties an active module away, and keeps what another set desires or a pending load will store', (t) => {
  const { db, modules } = open(t);
  const iam = { ...vpc, name: 'iam' };
  const gone = modules.recordVersion(iam, version('1.0.0'), setA).row;
  const desired = modules.recordVersion(vpc, version('1.0.0'), setA).row;
  const loading = modules.recordVersion(vpc, version('1.1.0'), setA).row;
  db.exec(`
    INSERT INTO provider_sets (id, namespace, name, uid, kind, generation, spec, created_at, updated_at) VALUES (1, 'team-b', 'net', 'u', 'ModuleSet', 1, '{}', 0, 0);
    INSERT INTO provider_set_items (set_id, source, version, platform) VALUES (1, 'registry.terraform.io/terraform-aws-modules/vpc/aws', '1.0.0', '');
    INSERT INTO jobs (id, kind, requested_by, created_at) VALUES (1, 'load', 'admin', 0);
    INSERT INTO job_items (job_id, source, version, platform, status, max_attempts, next_attempt_at)
      VALUES (1, 'registry.terraform.io/terraform-aws-modules/vpc/aws', '1.1.0', '', 'pending', 1, 0);
  `);
  const removed = modules.removeHolder(teamA);
  t.deepEqual(removed.archiveKeys, [gone.archiveKey], 'the loading version row goes, but its key is left for the load');
  t.deepEqual(removed.versions.map((v) => v.version).sort(), ['1.0.0', '1.1.0']);
  t.is(modules.findModule(iam), undefined, 'an active module left empty is removed');
  t.truthy(modules.findVersion(desired.moduleId, '1.0.0'), 'another set desires it');
  t.is(modules.findVersion(loading.moduleId, '1.1.0'), undefined);
});

test('addHolder of a missing version is false; holders are listed in a stable order without duplicates', (t) => {
  const { modules } = open(t);
  t.false(modules.addHolder(99, { kind: 'loaded' }));
  const { row } = modules.recordVersion(vpc, version('1.0.0'), setB);
  t.true(modules.addHolder(row.id, { kind: 'pulled' }));
  t.true(modules.addHolder(row.id, setA));
  t.true(modules.addHolder(row.id, setA));
  t.deepEqual(modules.holdersOf(row.id), [{ kind: 'pulled' }, setA, setB]);
});

test('stats counts modules, versions and stored bytes', (t) => {
  const { modules } = open(t);
  t.deepEqual(modules.stats(), { modules: 0, versions: 0, bytes: 0 });
  modules.recordVersion(vpc, version('1.0.0', { size: 7 }), { kind: 'pulled' });
  modules.recordVersion(vpc, version('1.1.0', { size: 8 }), { kind: 'pulled' });
  modules.recordVersion({ ...vpc, name: 'iam' }, version('1.0.0', { size: 9 }), { kind: 'pulled' });
  t.deepEqual(modules.stats(), { modules: 2, versions: 3, bytes: 24 });
});

test("the orphan sweep's reference check counts a module version's archive as referenced until the version is deleted", (t) => {
  const { modules, references } = open(t);
  const { row } = modules.recordVersion(vpc, version('1.0.0'), { kind: 'pulled' });
  t.true(references.isReferenced(row.archiveKey));
  t.true(modules.isArchiveKeyReferenced(row.archiveKey));
  modules.deleteVersion(row.moduleId, '1.0.0');
  t.false(references.isReferenced(row.archiveKey));
});
